"""`conformance diff`: replay the cassettes, send the same recorded inputs live, list what changed."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from conformance.config import CONFIG_SPECS, resolve_options
from conformance.local import open_session
from conformance.options import OPTION_SPECS, RunOptions
from conformance.printable import one_line
from conformance.session import ConfigError
from conformance.summary import Summary
from conformance.verdict import EXIT_CASSETTE_MISS, EXIT_UNREACHABLE, EXIT_USAGE

EXIT_NO_DRIFT = 0
EXIT_DRIFT = 1
# The exit codes of `conformance diff` (README "Exit codes"); an error on either side keeps its own code.
DIFF_EXIT_CODES = {
    EXIT_NO_DRIFT: "no drift: the live target answers the recorded inputs as recorded",
    EXIT_DRIFT: "drift: a requirement outcome or an answer changed",
    EXIT_USAGE: "usage or configuration error (either side), e.g. an option that differs from the recording",
    EXIT_UNREACHABLE: "the live target is unreachable",
    EXIT_CASSETTE_MISS: "the replay of the cassettes is incomplete (re-record them)",
}
# What a diff is told: where the recording is, how to reach the live target. The seed, examples and
# users come from the recording; reports, recording and sign-off options do not apply.
DIFF_FIELDS = (
    "target",
    "fault",
    "cassettes",
    "api_key_env",
    "user_id",
    "foreign_user_id",
    "unknown_user_id",
    "timeout",
    "profile",
    "rate",
    "max_requests",
    "max_body_bytes",
    "allow_http",
    "allow_production",
    "ca_bundle",
)
REPLAY_FIELDS = ("cassettes", "profile", "user_id", "foreign_user_id", "unknown_user_id")


def diff_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The run options that apply to a diff, spelt as `conformance run` spells them."""
    specs = {spec.field: spec for spec in (*OPTION_SPECS, *CONFIG_SPECS)}
    for field in reversed((*DIFF_FIELDS, *(spec.field for spec in CONFIG_SPECS))):
        spec = specs[field]
        if spec.flag:
            function = click.option(spec.name, field, is_flag=True, default=None, help=spec.help)(function)
        else:
            kind = click.Path(path_type=Path) if spec.kind is Path else spec.kind
            function = click.option(
                spec.name,
                field,
                type=kind,
                default=None,
                metavar=spec.metavar,
                help=spec.help,
                multiple=spec.multiple,
            )(function)
    return function


class SideError(Exception):
    """One side of the diff could not be judged; the message says which side and why."""

    def __init__(self, side: str, message: str, exit_code: int) -> None:
        super().__init__(f"{side}: {message}")
        self.exit_code = exit_code


def _run(side: str, options: RunOptions, *, inputs_from: Path | None = None) -> tuple[Summary, list[Any]]:
    from conformance.runner import execute

    try:
        with open_session(options, inputs_from=inputs_from) as session:
            summary = execute(session)
            log = list(session.run.log)
    except ConfigError as exc:
        raise SideError(side, str(exc), exc.exit_code) from None
    if summary.error:
        raise SideError(side, summary.error, summary.exit_code)
    return summary, log


@click.command("diff")
@diff_options
def diff_command(**values: Any) -> int:
    """Compare a live --target with the --cassettes: the recorded inputs sent again, the answers judged.

    Exit codes: 0 no drift, 1 drift, 2 usage, 3 unreachable, 4 replay incomplete.
    """
    from conformance.cli.console import console
    from conformance.drift import compare

    try:
        options = resolve_options(values)
    except ConfigError as exc:
        click.echo(f"conformance: error: {exc}", err=True)
        return exc.exit_code
    if options.target is None:
        raise click.UsageError("diff needs --target (the live deployment to compare with the cassettes)")
    out = console()
    with tempfile.TemporaryDirectory(prefix="conformance-diff-") as scratch:
        try:
            replay_options = RunOptions(
                **{name: getattr(options, name) for name in REPLAY_FIELDS}, report_dir=Path(scratch) / "r"
            )
            recorded, recorded_log = _run("recorded side (replay of the cassettes)", replay_options)
            live_options = RunOptions(
                **{name: getattr(options, name) for name in DIFF_FIELDS},
                report_dir=Path(scratch) / "l",
                seed=recorded.facts.seed,
                max_examples=recorded.facts.max_examples,
            )
            recording = recorded.facts.recording or {}
            live_options = _with_recorded_users(live_options, cassettes=options.cassettes)
            now, live_log = _run(f"live side ({options.target})", live_options, inputs_from=options.cassettes)
        except SideError as exc:
            click.echo(f"conformance: error: {one_line(str(exc))}", err=True)
            return exc.exit_code
    drift = compare(recorded.outcomes(), now.outcomes(), recorded_log, live_log)
    when = f" of {recording['target']} at {recording['recorded_at']}" if recording else ""
    out.print(
        one_line(
            f"recording{when}: {recorded.verdict} ({recorded.requests} requests) · live {now.facts.target}: "
            f"{now.verdict} ({now.requests} requests)"
        ),
        markup=False,
    )
    for line in drift.lines(live_stopped=now.facts.stopped_early):
        out.print(one_line(line), markup=False)
    if not drift.drifted:
        out.print("no drift: the live target answers the recorded inputs as recorded")
    return EXIT_DRIFT if drift.drifted else EXIT_NO_DRIFT


def _with_recorded_users(options: RunOptions, *, cassettes: Path) -> RunOptions:
    """Users not given on the command line are the recording's (the recorded forms name them)."""
    import dataclasses

    from conformance.cassettes import CassetteBook

    header = CassetteBook(cassettes, mode="replay").header
    return dataclasses.replace(
        options,
        user_id=header.user_id if options.user_id is None else options.user_id,
        foreign_user_id=header.foreign_user_id
        if options.foreign_user_id is None
        else options.foreign_user_id,
        unknown_user_id=options.unknown_user_id or header.unknown_user_ids,
    )
