"""`conformance diff`: recorded cassettes against a live target."""

from __future__ import annotations

import pytest

from conformance.drift import Change, exchange_changes, requirement_changes
from conformance.engine import ExchangeNote
from tests.cli_support import conformance


def note(
    case: str, outcome: str = "HTTP 200", valid: bool | None = True, failed: tuple[str, ...] = ()
) -> ExchangeNote:
    return ExchangeNote("t.py::test_x", case, outcome, valid, failed)


def test_exchange_changes_name_status_schema_and_checks() -> None:
    recorded = [note("a"), note("b"), note("b"), note("c")]
    live = [note("a", "HTTP 400", False, ("input_outcome",)), note("b"), note("b", failed=("token_unique",))]
    assert [str(c) for c in exchange_changes(recorded, live)] == [
        "test_x / a: HTTP 200 -> HTTP 400",
        "test_x / a: schema-valid -> schema-invalid",
        "test_x / a: input_outcome passed -> input_outcome fails",
        "test_x / b #2: token_unique passed -> token_unique fails",
        "test_x / c: recorded -> not sent",
    ]


def test_requirement_changes() -> None:
    before = {"requirements": [{"id": "A", "outcome": "passed"}, {"id": "B", "outcome": "failed"}]}
    after = {"requirements": [{"id": "A", "outcome": "failed"}, {"id": "B", "outcome": "failed"}]}
    assert requirement_changes(before, after) == [Change("A", "passed", "failed")]


@pytest.mark.e2e
@pytest.mark.parametrize(("fault", "code"), [(None, 0), ("qrcode_http", 1)])
def test_diff_against_the_reference(fault: str | None, code: int) -> None:
    args = ["diff", "--target", "reference", *(["--fault", fault] if fault else [])]
    result = conformance(*args)
    assert result.returncode == code, result.stdout + result.stderr
    if fault:
        assert "LT-QRCODE-URL: passed -> failed" in result.stdout
        assert "qrcode_url passed -> qrcode_url fails" in result.stdout
    else:
        assert "no drift" in result.stdout
