"""`conformance run`: one command that says whether a deployment honours the contract."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from conformance.options import OPTION_SPECS, options_from
from conformance.report.junit import JUNIT_OPTIONS
from conformance.session import ConfigError, Session, open_session
from conformance.verdict import EXIT_INTERRUPTED, EXIT_SUITE_ERROR

SUITE_DIR = Path(__file__).resolve().parent.parent / "suite"
# pytest's own exit codes that mean the suite, not the target, went wrong.
PYTEST_BROKEN = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}


def run_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a click command with every run option (the same ones the pytest plugin offers)."""
    for spec in reversed(OPTION_SPECS):
        if spec.flag:
            function = click.option(spec.name, spec.field, is_flag=True, default=None, help=spec.help)(
                function
            )
        else:
            kind = click.Path(path_type=Path) if spec.kind is Path else spec.kind
            function = click.option(
                spec.name, spec.field, type=kind, default=None, metavar=spec.metavar, help=spec.help
            )(function)
    return function


def pytest_args(session: Session, *, keyword: str | None) -> list[str]:
    """The pytest command line for the conformance tests of one session."""
    report_dir = session.options.report_dir
    args = [
        str(SUITE_DIR),
        "-c",
        str(SUITE_DIR / "pytest.ini"),
        "--rootdir",
        str(SUITE_DIR),
        "-p",
        "no:terminal",
        "--alluredir",
        str(report_dir / "allure-results"),
        "--clean-alluredir",
        "--junitxml",
        str(report_dir / "junit.xml"),
        *JUNIT_OPTIONS,
    ]
    if keyword:
        args += ["-k", keyword]
    return args


def execute(session: Session, *, keyword: str | None = None, quiet: bool = False) -> dict[str, Any]:
    """Run the conformance tests in-process against an open session; returns the written summary."""
    import pytest

    from conformance.cli.console import ProgressReporter
    from conformance.plugin import SessionProvider
    from conformance.publish import publish

    session.options.report_dir.mkdir(parents=True, exist_ok=True)
    progress = ProgressReporter(session, quiet=quiet)
    try:
        status = pytest.main(
            pytest_args(session, keyword=keyword), plugins=[SessionProvider(session), progress]
        )
    except KeyboardInterrupt:
        status = 2
    finally:
        progress.close()
    error, code = None, None
    if progress.interrupted or (status == 2 and session.run.aborted is None):
        error, code = "interrupted before the run completed", EXIT_INTERRUPTED
    elif int(status) in PYTEST_BROKEN and int(status) != 2:
        error, code = (
            f"the conformance tests could not run (pytest: {PYTEST_BROKEN[int(status)]})",
            EXIT_SUITE_ERROR,
        )
    elif progress.suite_errors:
        error, code = f"suite error in {progress.suite_errors[0]}", EXIT_SUITE_ERROR
    summary = session.finish(error=error, error_code=code)
    publish(session, summary)
    return summary


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
    raise KeyboardInterrupt


@click.command("run")
@run_options
@click.option("-k", "keyword", default=None, metavar="EXPR", help="Only the conformance tests matching EXPR.")
@click.option("-q", "--quiet", is_flag=True, help="Only the verdict line.")
def run_command(keyword: str | None, quiet: bool, **values: Any) -> int:
    """Run the conformance suite against --target, or replay --cassettes offline."""
    from conformance.cli.console import print_header, print_outcome

    options = options_from(values)
    # SIGTERM (CI cancelling a job) ends the run like Ctrl-C: an incomplete summary.json, exit 130.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        with open_session(options) as session:
            session.full_run = keyword is None
            if not quiet:
                print_header(session)
            summary = execute(session, keyword=keyword, quiet=quiet)
    except ConfigError as exc:
        click.echo(f"conformance: error: {exc}", err=True)
        return exc.exit_code
    print_outcome(summary, report_dir=options.report_dir, quiet=quiet)
    return int(summary["exit_code"])
