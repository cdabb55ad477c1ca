"""Stateful exploration: grants, refusals, cookies and connection changes interleaved in every order."""

from __future__ import annotations

import pytest

from conformance.run.engine import Run


@pytest.mark.requirements(
    "LT-AUTH-STATELESS",
    "LT-AUTH-KEY-INVALID",
    "LT-AUTH-KEY-MISSING",
    "LT-AUTH-USER-SCOPE",
    "LT-AUTH-USER-UNKNOWN",
    "LT-AUTH-TOKEN-OWNER",
    "LT-INPUT-EXPIRE-VALID",
    "LT-INPUT-EXPIRE-RANGE",
    "LT-ECHO-USER",
    "LT-REJECT-NO-TOKEN",
)
def test_decisions_do_not_depend_on_earlier_requests(conformance: Run) -> None:
    """Hypothesis state machine: each request is judged as it is answered, and a request sent again (on
    another connection, with a cookie the target set) must be decided as it was; a refusal after grants
    hands out none of their tokens."""
    conformance.explore_sequences(label="stateful")
