"""`conformance run`: one command that says whether a deployment honours the contract."""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from conformance.core.errors import EXIT_UNREACHABLE, EXIT_USAGE, ConfigError, ConformanceError
from conformance.core.options import OPTION_SPECS, RunOptions
from conformance.core.printable import one_line
from conformance.frontends.local import open_session
from conformance.results.verdict import Verdict
from conformance.session.config import CONFIG_SPECS, resolve_options
from conformance.session.open import refuse_run
from conformance.session.plan import QRCODE_IMAGE

DEMO_DECLARATION = (
    f"{QRCODE_IMAGE}=the demo replays a recording, which holds no QR code image; live runs judge them "
    "(conformance run --target reference)"
)

# The run could not judge the target as configured, or could not write its files (disk full): the cause
# and the fix in one line, never a matrix of what it did not get to judge.
ONE_LINE_EXITS = (EXIT_UNREACHABLE, EXIT_USAGE)


def run_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a click command with every run option (the same ones the pytest plugin offers)."""
    for spec in reversed((*OPTION_SPECS, *CONFIG_SPECS)):
        if spec.flag:
            function = click.option(spec.name, spec.field, is_flag=True, default=None, help=spec.help)(
                function
            )
        else:
            kind = click.Path(path_type=Path) if spec.kind is Path else spec.kind
            function = click.option(
                spec.name,
                spec.field,
                type=kind,
                default=None,
                metavar=spec.metavar,
                help=spec.help,
                multiple=spec.multiple,
            )(function)
    return function


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
    raise KeyboardInterrupt


@click.command("run")
@run_options
@click.option("-k", "keyword", default=None, metavar="EXPR", help="Only the conformance tests matching EXPR.")
@click.option("-q", "--quiet", is_flag=True, help="Only the verdict line.")
@click.option(
    "--demo",
    is_flag=True,
    help="Replay the demo cassettes installed with the suite (a recording of the embedded reference).",
)
def run_command(keyword: str | None, quiet: bool, demo: bool, **values: Any) -> int:
    """Run the conformance suite against --target, or replay --cassettes offline."""
    from conformance.frontends.cli.console import ProgressReporter, print_header, print_outcome
    from conformance.frontends.cli.hints import failure_hints
    from conformance.frontends.runner import check_keyword, execute
    from conformance.results.report.ci import append_step_summary

    # SIGTERM (CI cancelling a job) ends the run like Ctrl-C: an incomplete summary.json, exit 130.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        if demo:
            values = {**values, "cassettes": _demo_cassettes(values)}
        options = resolve_options(values)  # command line > config file's [env.NAME] > config file > defaults
        if demo:
            options = _demo_declaration(options)
    except ConformanceError as exc:
        refuse_run(values.get("report_dir") or RunOptions().report_dir, exc)
        raise
    with open_session(options, keyword=keyword) as session:  # a ConformanceError: its line in main
        check_keyword(keyword)  # inside the session: its error summary replaces the earlier verdict
        session.check_partial_recording()
        if not quiet:
            print_header(session)
        progress = ProgressReporter(session, quiet=quiet)
        try:
            summary = execute(session, plugins=[progress])
        finally:
            progress.close()
    if summary.verdict is Verdict.ERROR and (summary.exit_code in ONE_LINE_EXITS or not summary.requirements):
        # the run never got to judge the target: the cause and the fix, not an empty matrix
        click.echo(f"conformance: error: {one_line(summary.error or '')}", err=True)
        return summary.exit_code
    hints = failure_hints(summary, options, session.run.builder.users)
    print_outcome(summary, report_dir=options.report_dir, quiet=quiet, hints=hints)
    # GitHub Actions' job summary, when $GITHUB_STEP_SUMMARY is set
    append_step_summary(summary, secrets=session.secrets)
    return summary.exit_code


def _demo_declaration(options: RunOptions) -> RunOptions:
    """The demo replays a recording, which holds no QR code image: --demo declares LT-QRCODE-IMAGE not
    applicable, visibly (the header, summary.json and the sign-off name --demo as the declarer)."""
    if any(entry.split("=", 1)[0].strip() == QRCODE_IMAGE for entry in options.not_applicable):
        return options
    # Declarations share one source: the user's own (if any) and --demo, named together.
    by = (
        "--demo"
        if not options.not_applicable
        else f"{options.provenance.source('not_applicable')} and --demo"
    )
    provenance = dataclasses.replace(
        options.provenance, sources=(*options.provenance.sources, ("not_applicable", by))
    )
    return dataclasses.replace(
        options, not_applicable=(*options.not_applicable, DEMO_DECLARATION), provenance=provenance
    )


def _demo_cassettes(values: dict[str, Any]) -> Path:
    """The demo cassettes: packaged with the wheel (conformance/_cassettes), or a checkout's cassettes/."""
    if values.get("target") is not None or values.get("cassettes") is not None:
        raise ConfigError("--demo replays the demo cassettes: drop --target and --cassettes")
    package = Path(__file__).resolve().parents[2]
    for candidate in (package / "_cassettes", package.parent / "cassettes"):
        if any(candidate.glob("*.yaml")):
            return candidate
    raise ConfigError(
        "no demo cassettes are installed with this suite; reinstall it from its wheel (make dist)"
    )
