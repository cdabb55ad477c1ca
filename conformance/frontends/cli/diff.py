"""`conformance diff`: replay the cassettes, send the same recorded inputs live, list what changed."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from conformance.core.errors import (
    EXIT_CASSETTE_MISS,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    ConformanceError,
)
from conformance.core.options import OPTION_SPECS, RunOptions
from conformance.core.printable import one_line
from conformance.frontends.local import open_session
from conformance.results.summary import Summary
from conformance.session.config import CONFIG_SPECS, resolve_options

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
# The recorded side replays as recorded: its users are the recording's. The users given name the live side's
# (another deployment has other users), and the recorded inputs are mapped onto them.
REPLAY_FIELDS = ("cassettes", "profile")


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


class SideError(ConformanceError):
    """One side of the diff could not be judged; the message says which side and why (its exit code)."""

    def __init__(self, side: str, message: str, *, exit_code: int) -> None:
        super().__init__(f"{side}: {message}", exit_code=exit_code)


def _run(side: str, options: RunOptions, *, inputs_from: Path | None = None) -> tuple[Summary, list[Any]]:
    from conformance.frontends.runner import execute

    try:
        with open_session(options, inputs_from=inputs_from) as session:
            summary = execute(session)
            log = list(session.run.log)
    except ConformanceError as exc:
        raise SideError(side, str(exc), exit_code=exc.exit_code) from None
    if summary.error:
        raise SideError(side, summary.error, exit_code=summary.exit_code)
    return summary, log


@click.command("diff")
@diff_options
def diff_command(**values: Any) -> int:
    """Compare a live --target with the --cassettes: the recorded inputs sent again, the answers judged.

    Exit codes: 0 no drift, 1 drift, 2 usage, 3 unreachable, 4 replay incomplete.
    """
    from conformance.frontends.cli.console import console
    from conformance.run.drift import compare

    options = resolve_options(values)
    if options.target is None:
        raise click.UsageError("diff needs --target (the live deployment to compare with the cassettes)")
    out = console()
    with tempfile.TemporaryDirectory(prefix="conformance-diff-") as scratch:
        try:
            replay_options = RunOptions(
                **{name: getattr(options, name) for name in REPLAY_FIELDS}, report_dir=Path(scratch) / "r"
            )
            users = live_users(options)  # before either side sends: a mapping that cannot be made is refused
            recorded, recorded_log = _run("recorded side (replay of the cassettes)", replay_options)
            live_options = RunOptions(
                **{name: getattr(options, name) for name in DIFF_FIELDS},
                report_dir=Path(scratch) / "l",
                seed=recorded.facts.seed,
                max_examples=recorded.facts.max_examples,
            )
            recording = recorded.facts.recording or {}
            live_options = dataclasses.replace(live_options, **users)
            now, live_log = _run(f"live side ({options.target})", live_options, inputs_from=options.cassettes)
        except SideError as exc:
            click.echo(f"conformance: error: {one_line(str(exc))}", err=True)
            return exc.exit_code
    drift = compare(
        recorded.outcomes(), now.outcomes(), _mapped(recorded_log, options, now, live_log), live_log
    )
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


def live_users(options: RunOptions) -> dict[str, Any]:
    """The live side's users (RunOptions fields): those given, else the recording's; a SideError when the
    recording cannot be mapped onto them (each recorded user needs a live counterpart)."""
    from conformance.cassettes import CassetteBook, CassetteError

    try:
        header = CassetteBook(options.cassettes, mode="replay").header
    except CassetteError:
        return {}  # the recorded side names what is wrong with the cassettes
    other_users = options.user_id is not None and options.user_id != header.user_id
    problem = None
    if options.foreign_user_id is not None and header.foreign_user_id is None:
        problem = "--foreign-user-id: the recording has no foreign user to compare with; drop it"
    elif other_users and header.foreign_user_id is not None and options.foreign_user_id is None:
        problem = (
            f"the recording has a foreign user ({header.foreign_user_id}); name the live target's with "
            "--foreign-user-id, as --user-id names its user"
        )
    elif options.unknown_user_id and len(options.unknown_user_id) != len(header.unknown_user_ids):
        problem = (
            f"the recording has {len(header.unknown_user_ids)} unknown user(s) "
            f"({' '.join(map(str, header.unknown_user_ids))}); give as many --unknown-user-id"
        )
    if problem:
        raise SideError(f"live side ({options.target})", problem, exit_code=EXIT_USAGE)
    return {
        "user_id": header.user_id if options.user_id is None else options.user_id,
        "foreign_user_id": header.foreign_user_id
        if options.foreign_user_id is None
        else options.foreign_user_id,
        "unknown_user_id": options.unknown_user_id or header.unknown_user_ids,
    }


def _mapped(log: list[Any], options: RunOptions, live: Summary, live_log: list[Any]) -> list[Any]:
    """The recorded side's exchange notes, named as the live side's when the users differ.

    A case derived from a user (its spellings, its wrap-arounds, the sentinels) is labelled with that
    user's ID: with other users the labels differ though both sides sent the same class of request in
    the same order, so the recorded notes are matched to the live ones by their place in each test.
    """
    from conformance.cassettes import CassetteBook
    from conformance.inputs import Users
    from conformance.run.rejudge import user_mapping

    facts = live.facts
    if facts.user_id is None:
        return log
    unknown = facts.unknown_user_ids or (0,)
    users = Users(facts.user_id, unknown[0], facts.foreign_user_id, unknown[1:])
    if not user_mapping(CassetteBook(options.cassettes, mode="replay").header, users):
        return log
    live_cases: dict[str, list[str]] = {}
    for note in live_log:
        live_cases.setdefault(note.test, []).append(note.case)
    placed: dict[str, int] = {}
    mapped = []
    for note in log:
        place = placed[note.test] = placed.get(note.test, -1) + 1
        cases = live_cases.get(note.test, [])
        mapped.append(dataclasses.replace(note, case=cases[place]) if place < len(cases) else note)
    return mapped
