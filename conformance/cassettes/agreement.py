"""What a replay must agree with: the options the recording ran with, and the recording's age.

A replay re-judges a recording; it can neither change what was sent (users, examples, seed, profile,
inputs version: each mismatch is named with the recorded value) nor make an old recording new (its age
is shown in the terminal and the summary, and can be made an error). A recording with the suite's inputs
version is re-judged by this suite's checks whichever suite version made it (the terminal and the sign-off
say both); one made before inputs versions were recorded replays only under the suite version that made it.
"""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.cassettes.book import CassetteBook
from conformance.cassettes.errors import rerecord_hint
from conformance.cassettes.format import CassetteHeader
from conformance.cassettes.seal import NOT_SEALED
from conformance.core.options import RunOptions
from conformance.core.version import __version__
from conformance.inputs import INPUTS_VERSION, Users

SECONDS_PER_DAY = 86_400
UNSEALED_NOTE = (
    "its digests catch an accidental change only (anyone who edits a cassette can recompute them); "
    "record with --sign-key-env NAME and replay with --public-key FILE to prove it unedited"
)
# (option field, header field): options a replay takes from the recording when they are not given.
RECORDED_OPTIONS = (
    ("user_id", "user_id"),
    ("unknown_user_id", "unknown_user_ids"),
    ("foreign_user_id", "foreign_user_id"),
    ("max_examples", "max_examples"),
    ("seed", "seed"),
)


def option_mismatches(
    header: CassetteHeader,
    *,
    options: RunOptions,
    profile: str,
    suite_version: str,
    inputs_version: int = INPUTS_VERSION,
) -> list[str]:
    """Each way the replay's options (and what this suite sends) differ from the recording's, naming the
    recorded value."""
    found = []
    for option, recorded in RECORDED_OPTIONS:
        given, was = getattr(options, option), getattr(header, recorded)
        if given is not None and given != () and given != was:
            found.append(f"--{option.replace('_', '-')} {_shown(given)} but the recording used {_shown(was)}")
    if profile != header.profile:
        found.append(f"profile {profile!r} but the recording used {header.profile!r} (--profile FILE)")
    recorded_by = header.suite_version
    if header.inputs_version is None:  # recorded before inputs versions: only its own suite version
        if suite_version != recorded_by:
            found.append(f"suite version {suite_version} but the recording was made by {recorded_by}")
    elif inputs_version != header.inputs_version:
        found.append(
            f"inputs version {inputs_version} (suite {suite_version}) but the recording was made with inputs "
            f"version {header.inputs_version} (suite {recorded_by})"
        )
    return found


def _shown(value: object) -> str:
    """An option value as typed: a repeated option's values joined with spaces."""
    return " ".join(map(str, value)) if isinstance(value, tuple) else str(value)


def mismatch_message(header: CassetteHeader, mismatches: list[str], *, options: RunOptions) -> str:
    """One line: every mismatch and the two ways out, each a command with every option it needs."""
    user_id = options.user_id if options.user_id is not None else header.user_id
    foreign = options.foreign_user_id if options.foreign_user_id is not None else header.foreign_user_id
    hint = rerecord_hint(
        header.target,
        cassettes=options.cassettes,
        user_id=user_id,
        foreign_user_id=foreign,
        unknown_user_ids=options.unknown_user_id or header.unknown_user_ids,
    )
    return (
        f"replay options differ from the recording: {'; '.join(mismatches)}; replay without those options "
        f"(conformance run --cassettes {shlex.quote(str(options.cassettes))} takes the recorded values), or "
        f"re-record with yours: {hint}"
    )


def recording_facts(
    header: CassetteHeader, *, now: dt.datetime, max_age_days: int, seal: str = NOT_SEALED
) -> dict[str, Any]:
    """The summary's ``recording`` field: which target was recorded when, and whether that is too long ago."""
    recorded = dt.datetime.fromisoformat(header.recorded_at)
    age_days = max(0, int((now - recorded).total_seconds() // SECONDS_PER_DAY))
    return {
        "target": header.target,
        "recorded_at": header.recorded_at,
        "suite_version": header.suite_version,
        "age_days": age_days,
        "max_age_days": max_age_days,
        "too_old": age_days > max_age_days,
        "seal": seal,
    }


def age_message(facts: Mapping[str, Any]) -> str:
    """One line on a recording older than allowed, with the fix."""
    return (
        f"the cassettes are {facts['age_days']} days old (recorded {facts['recorded_at']}; "
        f"--max-cassette-age {facts['max_age_days']}): re-record with: {rerecord_hint(str(facts['target']))}"
    )


def recording_lines(summary: Mapping[str, Any]) -> list[str]:
    """For the sign-off and the terminal: what a replay is about, which suite versions recorded and judged it
    when they differ (``summary``'s ``suite_version``: the judging one), and a warning when it is old."""
    facts = summary.get("recording")
    if not isinstance(facts, Mapping):
        return []
    lines = [
        f"This replay judges the recording of {facts['target']} made at {facts['recorded_at']} "
        f"({facts['age_days']} days ago), not the target as it is today."
    ]
    judging = summary.get("suite_version")
    if judging is not None and judging != facts["suite_version"]:
        lines.append(
            f"Recorded by suite {facts['suite_version']}, judged by suite {judging} (the same inputs "
            "version: this suite's checks judge what was sent then)."
        )
    if facts.get("too_old"):
        lines.append(f"Warning: {age_message(facts)}")
    seal = facts.get("seal", NOT_SEALED)
    if seal == NOT_SEALED:
        lines.append(f"Warning: recording {NOT_SEALED}: {UNSEALED_NOTE}")
    else:
        lines.append(f"Recording {seal}.")
    return lines


def partial_recording_problem(directory: Path, existing: tuple[Path, ...]) -> str | None:
    """Why a recording of some tests may not go into ``directory`` (it holds a set), or None."""
    if not existing:
        return None
    return (
        f"{directory} holds a recorded set of {len(existing)} cassette(s); recording only some tests (-k) "
        "into it would mix two recordings: record every test (drop -k) to replace the set whole, or "
        "record into another directory with --cassettes NEW_DIR"
    )


def set_to_add_to(options: RunOptions) -> CassetteHeader | None:
    """--record-missing: the header of the set in --cassettes (None when there is none yet)."""
    if not options.record_missing:
        return None
    book = CassetteBook(options.cassettes, mode="replay")
    return book.header if book.existing_set() else None


def adding_problems(
    header: CassetteHeader, *, options: RunOptions, users: Users, profile: str, target: str
) -> list[str]:
    """Why --record-missing may not add to a set: anything its own recording did differently (a set is one
    suite version's recording: what is added must come from the suite version that recorded the rest)."""
    problems = option_mismatches(header, options=options, profile=profile, suite_version=__version__)
    if header.inputs_version is not None and header.suite_version != __version__:
        problems.append(f"suite version {__version__} but the set was recorded by {header.suite_version}")
    for name, attribute in (
        ("user_id", "user_id"),
        ("unknown_user_id", "unknown_user_ids"),
        ("foreign_user_id", "foreign_user_id"),
    ):
        mine, theirs = getattr(users, attribute), getattr(header, attribute)
        if mine != theirs and getattr(options, name) in (None, ()):
            problems.append(f"{name.replace('_', '-')} {_shown(mine)} but the set used {_shown(theirs)}")
    if target != header.target:
        problems.append(f"target {target} but the set was recorded from {header.target}")
    return problems
