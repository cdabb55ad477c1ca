"""`conformance diff`: recorded cassettes against a live target; signal first, errors as errors."""

from __future__ import annotations

import pytest

from conformance.run.drift import Change, compare, exchange_changes, requirement_changes
from conformance.run.engine import ExchangeNote
from tests.support.cli import conformance


def note(
    case: str, outcome: str = "HTTP 200", valid: bool | None = True, failed: tuple[str, ...] = ()
) -> ExchangeNote:
    return ExchangeNote("t.py::test_x", case, outcome, valid, failed)


def summary(**outcomes: str) -> dict[str, str]:
    return {rid.replace("_", "-"): o for rid, o in outcomes.items()}


def test_exchange_changes_name_status_schema_and_checks_of_requests_sent_on_both_sides() -> None:
    recorded = [note("a"), note("b"), note("b"), note("c")]
    live = [note("a", "HTTP 400", False, ("input_outcome",)), note("b"), note("b", failed=("token_unique",))]
    assert [str(c) for c in exchange_changes(recorded, live)] == [
        "test_x / a: HTTP 200 -> HTTP 400",
        "test_x / a: schema-valid -> schema-invalid",
        "test_x / a: input_outcome passed -> input_outcome fails",
        "test_x / b (occurrence 2): token_unique passed -> token_unique fails",
    ]


def test_requirement_changes() -> None:
    assert requirement_changes(summary(A="passed", B="failed"), summary(A="failed", B="failed")) == [
        Change("A", "passed", "failed")
    ]


def test_requirements_first_then_requests_in_the_order_sent_then_one_line_for_the_unsent() -> None:
    recorded = [note(f"valid request #{n}") for n in range(1, 13)]
    live = [note(f"valid request #{n}", failed=("qrcode_url",)) for n in range(1, 4)]
    drift = compare(summary(LT_QRCODE_URL="passed"), summary(LT_QRCODE_URL="failed"), recorded, live)
    lines = drift.lines(live_stopped="stopped early: 3 transport errors in a row")
    assert lines == [
        "requirement outcomes changed (1):",
        "  LT-QRCODE-URL: passed -> failed",
        "requests answered differently (3, in the order sent):",
        "  test_x / valid request #1: qrcode_url passed -> qrcode_url fails",
        "  test_x / valid request #2: qrcode_url passed -> qrcode_url fails",
        "  test_x / valid request #3: qrcode_url passed -> qrcode_url fails",
        "9 recorded request(s) not sent live: stopped early: 3 transport errors in a row",
    ]
    assert drift.drifted


def test_nothing_changed_is_no_drift() -> None:
    notes = [note("a"), note("b")]
    drift = compare(summary(A="passed"), summary(A="passed"), notes, list(notes))
    assert not drift.drifted and drift.lines() == []


@pytest.mark.parametrize("option", ["--record", "--report-dir=x", "--target-version=1", "--seed=1"])
def test_options_that_do_not_apply_to_diff_are_not_offered(option: str) -> None:
    result = conformance("diff", "--target", "reference", option)
    assert result.returncode == 2
    assert "No such option" in result.stderr
