"""The selftest proves the suite: every fault caught live and in replay, no false alarm, no blind check."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.flakiness import flakiness_runs
from conformance.checks import CHECKS, CheckContext, CheckSpec, Subject
from conformance.core.model import CheckFailure
from conformance.frontends.cli.selftest import selftest_command
from conformance.frontends.selftest import (
    SelftestOptions,
    focus_keyword,
    run_selftest,
)
from conformance.reference import FAULTS

pytestmark = pytest.mark.e2e

GATE_SEED = 20_251_128  # fixed: the CI gate is deterministic; the flakiness test varies seeds instead
FLAKINESS_RUNS = 20
FLAKINESS_MAX_EXAMPLES = 10
# Requirements judged by statistics or by the clock: what a seed can make a correct target fail.
STOCHASTIC_REQUIREMENTS = ("LT-TOKEN-ENTROPY", "LT-TOKEN-UNIQUE", "LT-TOKEN-STRENGTH", "LT-EXPIRE-CONSISTENT")


def invoke(*args: str) -> tuple[int, list[str]]:
    """Run `conformance selftest ARGS` in-process (so monkeypatched checks apply); exit code and lines."""
    result = CliRunner().invoke(selftest_command, list(args), standalone_mode=False, catch_exceptions=False)
    return int(result.return_value), result.output.splitlines()


# -- the real thing (end to end, against the reference on loopback) ----------------------------------------


def test_gate_the_conforming_reference_raises_no_false_alarm_live_or_replayed() -> None:
    """The CI gate's baseline: a change that makes the reference look faulty fails here."""
    report = run_selftest(SelftestOptions(faults=(), seed=GATE_SEED))
    assert report.reference is not None
    assert report.reference.replay is not None
    assert report.errors == []
    assert [run.failed for run in report.reference.runs] == [(), ()]
    assert report.score == "detected 0/0, false alarms 0"
    assert report.exit_code == 0


@pytest.mark.parametrize("name", list(FAULTS))
def test_gate_every_fault_is_detected_live_and_in_replay(name: str) -> None:
    """The CI gate, one fault per case (so the cases spread over the test workers): a change that blinds
    a check fails here, naming the fault. The score over all of them is ``detected N/N``. Each fault's
    runs send the suite tests that declare its requirements (the false-alarm baseline sends every test)."""
    options = SelftestOptions(faults=(name,), reference=False, seed=GATE_SEED, focused=True)
    report = run_selftest(options)
    (result,) = report.faults
    assert report.errors == []
    assert result.detected_live, f"{name}: live run failed {result.live.failed}, must fail {result.expected}"
    if FAULTS[name].recordable:
        assert result.detected_replay is True, f"{name}: replay failed {result.replay}"
    else:
        assert result.replay is None
    assert report.score == "detected 1/1, false alarms 0"


def test_a_blinded_check_shows_as_an_undetected_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(CHECKS, "qrcode_url")
    code, lines = invoke("--faults", "qrcode_http", "--no-replay", "--focused", "--seed", str(GATE_SEED))
    assert code == 1
    assert lines[-2:] == ["undetected: qrcode_http", "detected 0/1, false alarms 0"]


def test_a_check_that_fails_the_reference_is_a_false_alarm(monkeypatch: pytest.MonkeyPatch) -> None:
    def always_warns(subject: Subject, ctx: CheckContext) -> str | None:
        raise CheckFailure("LT-SEC-NO-STORE", "always", "nothing", "everything")

    spec = CHECKS["cache_control_no_store"]
    monkeypatch.setitem(CHECKS, spec.name, CheckSpec(spec.name, spec.serves, always_warns))
    # Few generated examples: the check fails every answer, so the count of examples changes nothing here.
    args = ("--faults", "cache_control_missing", "--focused", "--max-examples", "5")
    code, lines = invoke(*args, "--seed", str(GATE_SEED))
    assert code == 1
    assert lines[-1] == "detected 1/1, false alarms 2"  # the SHOULD requirement, live and replayed


def test_work_dir_keeps_reports_and_cassettes(tmp_path: Path) -> None:
    args = ("--faults", "token_short", "--focused", "--work-dir", str(tmp_path), "--seed", str(GATE_SEED))
    code, lines = invoke(*args)
    assert code == 0, "\n".join(lines)
    (kept,) = tmp_path.iterdir()
    assert f"reports and cassettes kept in {kept}" in lines
    for target in ("conforming", "token_short"):
        assert (kept / target / "live" / "summary.json").is_file()
        assert (kept / target / "replay" / "summary.json").is_file()
        assert any((kept / target / "cassettes").iterdir())


@pytest.mark.parametrize("check_name", list(CHECKS), ids=list(CHECKS))
def test_disabling_any_check_leaves_a_fault_undetected(
    check_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every check earns its place: without it, some fault it serves goes unnoticed."""
    serves = set(CHECKS[check_name].serves)
    faults = tuple(name for name, fault in FAULTS.items() if serves & set(fault.requirements))
    assert faults, f"no fault declares a requirement {check_name} serves ({sorted(serves)}): add one"
    monkeypatch.delitem(CHECKS, check_name)
    caught_anyway: dict[str, tuple[str, ...]] = {}
    for fault in faults:  # the first fault that goes unnoticed proves the point; the rest need not run
        options = SelftestOptions(
            faults=(fault,), replay=False, reference=False, seed=GATE_SEED, focused=True
        )
        report = run_selftest(options)
        (result,) = report.faults
        if not result.detected:
            assert report.undetected == [fault]
            assert report.exit_code != 0
            return
        caught_anyway[fault] = result.live.failed
    pytest.fail(f"without {check_name} every fault is still detected: {caught_anyway}")


# -- flakiness -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("number", range(1, FLAKINESS_RUNS + 1))
def test_conforming_reference_passes_twenty_seeds(number: int) -> None:
    """Twenty live runs of the reference, each with its own random seed (printed when it fails), of the
    suite tests whose judgments are statistical or timed: the 776-token sample's entropy statistics, the
    parallel burst, uniqueness and expire arithmetic (`python -m benchmarks.flakiness` runs whole suites)."""
    keyword = focus_keyword(STOCHASTIC_REQUIREMENTS)
    (run,) = flakiness_runs(runs=1, max_examples=FLAKINESS_MAX_EXAMPLES, keyword=keyword)
    assert run.conformant, (
        f"run {number}: false alarm (rerun with conformance run --target reference): {run.line()}"
    )
