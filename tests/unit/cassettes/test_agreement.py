"""What a replay must agree with: the recording's options, and its age (pure logic)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from conformance.cassettes.agreement import (
    option_mismatches,
    partial_recording_problem,
    recording_facts,
    recording_lines,
)
from conformance.cassettes.format import CassetteHeader
from conformance.core.options import RunOptions

HEADER = CassetteHeader("reference", "0.1.0", "default", "2026-01-01T00:00:00+00:00", 7, 25, 12345, 987, 777)


def mismatches(options: RunOptions, *, profile: str = "default", suite_version: str = "0.1.0") -> list[str]:
    return option_mismatches(HEADER, options=options, profile=profile, suite_version=suite_version)


def test_options_omitted_or_equal_to_the_recording_agree() -> None:
    assert mismatches(RunOptions()) == []
    assert mismatches(RunOptions(user_id=12345, max_examples=25, seed=7, foreign_user_id=777)) == []


def test_every_difference_is_named_with_the_recorded_value() -> None:
    found = mismatches(
        RunOptions(user_id=1, unknown_user_id=(2,), foreign_user_id=3, max_examples=4, seed=5),
        profile="staging",
        suite_version="0.2.0",
    )
    assert found == [
        "--user-id 1 but the recording used 12345",
        "--unknown-user-id 2 but the recording used 987",
        "--foreign-user-id 3 but the recording used 777",
        "--max-examples 4 but the recording used 25",
        "--seed 5 but the recording used 7",
        "profile 'staging' but the recording used 'default' (--profile FILE)",
        "suite version 0.2.0 but the recording was made by 0.1.0",
    ]


def test_age_in_whole_days_against_the_limit() -> None:
    now = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)  # 90.5 days after the recording
    facts = recording_facts(HEADER, now=now, max_age_days=90)
    assert (facts["age_days"], facts["too_old"]) == (90, False)
    older = recording_facts(HEADER, now=now + dt.timedelta(days=1), max_age_days=90)
    assert (older["age_days"], older["too_old"]) == (91, True)
    lines = recording_lines({"recording": older})
    assert lines[0].startswith("This replay judges the recording of reference made at 2026-01-01T00:00:00")
    assert lines[1].startswith("Warning: the cassettes are 91 days old")
    assert recording_lines({"recording": None}) == []


def test_a_partial_recording_is_refused_only_into_a_recorded_set(tmp_path: Path) -> None:
    assert partial_recording_problem(tmp_path, ()) is None
    problem = partial_recording_problem(tmp_path, (tmp_path / "a.yaml",))
    assert (
        problem is not None
        and "holds a recorded set of 1 cassette(s)" in problem
        and "--cassettes" in problem
    )
