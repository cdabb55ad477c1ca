"""The selftest from synthetic results (fast): what detected and a false alarm mean, options, the table."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.flakiness import SeededRun
from conformance.frontends.cli.selftest import selftest_command, selftest_table
from conformance.frontends.selftest import (
    FaultResult,
    RunOutcome,
    SelftestOptions,
    SelftestReport,
    focus_keyword,
    selected_faults,
    suite_targets,
)
from conformance.reference import FAULTS

MIN_FAULTS = 25


def outcome(*failed: str, mode: str = "live", error: str | None = None) -> RunOutcome:
    """A RunOutcome that failed these requirements."""
    verdict = "error" if error else ("non-conformant" if failed else "conformant")
    return RunOutcome(mode, verdict, failed, error, 0.5)


def test_detection_needs_every_expected_requirement_in_a_completed_run() -> None:
    expected = ("LT-SCHEMA-SUCCESS", "LT-QRCODE-URL")
    assert FaultResult("f", expected, True, outcome(*expected, "LT-ECHO-USER"), None).detected
    assert not FaultResult("f", expected, True, outcome("LT-QRCODE-URL"), None).detected
    errored = outcome(*expected, error="replay incomplete: a request is not in the cassettes")
    assert not FaultResult("f", expected, True, outcome(*expected), errored).detected
    missed_in_replay = FaultResult("f", expected, True, outcome(*expected), outcome(mode="replay"))
    assert missed_in_replay.detected_live
    assert missed_in_replay.detected_replay is False
    assert not missed_in_replay.detected


def test_score_counts_false_alarms_over_live_and_replay() -> None:
    reference = FaultResult(
        None, (), True, outcome("LT-SEC-NO-STORE"), outcome("LT-SEC-NO-STORE", mode="replay")
    )
    fault = FaultResult("token_short", ("LT-TOKEN-STRENGTH",), True, outcome("LT-TOKEN-STRENGTH"), None)
    report = SelftestReport(seed=1, max_examples=25, reference=reference, faults=[fault])
    assert report.score == "detected 1/1, false alarms 2"
    assert report.exit_code == 1


def test_an_errored_reference_run_fails_the_selftest() -> None:
    reference = FaultResult(None, (), True, outcome(), outcome(mode="replay", error="cassette miss"))
    report = SelftestReport(seed=1, max_examples=25, reference=reference, faults=[])
    assert report.score == "detected 0/0, false alarms 0"
    assert report.errors == ["(conforming) (replay): cassette miss"]
    assert report.exit_code == 1


def test_table_marks_not_recordable_faults_na_in_replay() -> None:
    from rich.console import Console

    slow = FaultResult("slow_on_min_expire", ("LT-HTTP-TIMELY",), False, outcome("LT-HTTP-TIMELY"), None)
    missed = FaultResult("token_short", ("LT-TOKEN-STRENGTH",), True, outcome(), outcome(mode="replay"))
    report = SelftestReport(seed=1, max_examples=25, faults=[slow, missed])
    buffer = io.StringIO()
    Console(file=buffer, width=200).print(selftest_table(report, replay_enabled=True, plain=True))
    rows = {line.split()[0]: line.split() for line in buffer.getvalue().splitlines()[1:]}
    assert rows["slow_on_min_expire"][-3:-1] == ["yes", "n/a"]
    assert rows["token_short"][-3:-1] == ["NO", "NO"]


def test_selected_faults_keeps_catalogue_order_and_refuses_unknown_names() -> None:
    assert selected_faults(("qrcode_http", "token_short")) == ("token_short", "qrcode_http")
    with pytest.raises(ValueError, match="unknown fault 'no_such_fault'"):
        selected_faults(("no_such_fault",))


def test_unknown_fault_is_a_usage_error() -> None:
    result = CliRunner().invoke(selftest_command, ["--faults", "token_short,no_such_fault"])
    assert result.exit_code == 2
    assert "unknown fault 'no_such_fault'" in result.output


def test_a_focused_fault_run_sends_the_tests_declaring_its_requirements() -> None:
    targets = suite_targets()
    assert targets["test_tokens_are_unique_and_unpredictable"] == (
        "LT-TOKEN-UNIQUE",
        "LT-TOKEN-STRENGTH",
        "LT-TOKEN-UNPREDICTABLE",
    )
    keyword = focus_keyword(("LT-TOKEN-STRENGTH",))
    assert keyword is not None
    chosen = set(keyword.split(" or "))
    assert chosen == {name for name, declared in targets.items() if "LT-TOKEN-STRENGTH" in declared}
    assert "test_tokens_are_unique_and_unpredictable" in chosen
    assert "test_user_id_generated" not in chosen
    assert focus_keyword(("LT-NO-SUCH-REQUIREMENT",)) is None  # no test declares it: every test runs
    assert all(name.startswith("test_") for name in targets) and len(targets) >= 20


def test_a_focused_seed_run_passes_only_when_nothing_failed_and_it_completed() -> None:
    assert SeededRun(1, outcome(), focused=False).conformant
    assert not SeededRun(1, RunOutcome("live", "incomplete", (), None, 0.5), focused=False).conformant
    assert SeededRun(1, RunOutcome("live", "incomplete", (), None, 0.5), focused=True).conformant
    assert not SeededRun(
        1, RunOutcome("live", "incomplete", ("LT-TOKEN-ENTROPY",), None, 0.5), focused=True
    ).conformant
    assert not SeededRun(
        1, RunOutcome("live", "non-conformant", ("LT-TOKEN-UNIQUE",), None, 0.5), focused=True
    ).conformant
    assert not SeededRun(1, outcome(error="target unreachable"), focused=True).conformant


def test_selftest_runs_with_a_small_token_sample_profile(tmp_path: Path) -> None:
    from conformance.core.profile import load_profile
    from conformance.frontends.selftest import _profile

    path = _profile(tmp_path, SelftestOptions(token_sample=64))
    assert load_profile(path).token_sample == 64


def test_the_catalogue_is_big_enough_for_the_gate() -> None:
    assert len(FAULTS) >= MIN_FAULTS
    assert selected_faults(None) == tuple(FAULTS)
