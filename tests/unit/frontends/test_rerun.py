"""`conformance rerun`'s classification of a failure sent again (pure logic)."""

from __future__ import annotations

import pytest

from conformance.core.model import Case, Expect
from conformance.frontends.cli.rerun import Target, Verdict


@pytest.mark.parametrize(
    ("failed", "classification"),
    [(3, "reproducible"), (1, "intermittent"), (2, "intermittent"), (0, "fixed")],
)
def test_classification(failed: int, classification: str) -> None:
    case = Case(label="c", form=(), expect=Expect.REJECT, requirement="LT-INPUT-EXPIRE-RANGE")
    target = Target("LT-INPUT-EXPIRE-RANGE", "input_outcome", case)
    assert Verdict(target, failed, 3, passed=3 - failed).classification == classification


@pytest.mark.parametrize(
    ("failed", "passed", "classification"),
    [(0, 3, "fixed"), (0, 2, "unconfirmed"), (0, 0, "unconfirmed"), (1, 2, "intermittent")],
)
def test_fixed_only_when_the_same_check_passed_every_time(
    failed: int, passed: int, classification: str
) -> None:
    case = Case(label="c", form=(), expect=Expect.REJECT, requirement="LT-INPUT-EXPIRE-RANGE")
    target = Target("LT-INPUT-EXPIRE-RANGE", "input_outcome", case)
    assert Verdict(target, failed, 3, passed).classification == classification
