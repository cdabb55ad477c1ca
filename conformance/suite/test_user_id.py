"""user_id: plain decimal digits, required, echoed in <user_id>."""

from __future__ import annotations

import pytest

from conformance.inputs import (
    MISSING,
    USER_ID_BOUNDARIES,
    Param,
    digit_run_cases,
    malformed_spellings,
    user_id_cases,
)
from conformance.run.engine import Run


@pytest.mark.requirements("LT-INPUT-LENIENT-HONOURED", "LT-INPUT-USER-RANGE", "LT-ECHO-USER")
def test_user_id_boundaries(conformance: Run) -> None:
    """0, 1, 2^31-1, 2^31, 2^63, a huge value, and the user + 2^32 / 2^64 (a wrapping parser's trap)."""
    user = conformance.builder.users.user_id
    values = (*USER_ID_BOUNDARIES, str(2**32 + user), str(2**64 + user))
    conformance.expect_all(conformance.case(user_id=Param.of(v)) for v in values)


@pytest.mark.requirements(
    "LT-INPUT-USER-MISSING", "LT-INPUT-USER-MALFORMED", "LT-INPUT-REPEATED", "LT-INPUT-LENIENT-HONOURED"
)
def test_user_id_missing_empty_repeated_padded(conformance: Run) -> None:
    """Absent, empty, repeated with another user, and the configured user zero-padded."""
    user = str(conformance.builder.users.user_id)
    conformance.expect_all(
        conformance.case(user_id=p)
        for p in (
            MISSING,
            Param.of(""),
            Param((user, str(conformance.builder.users.unknown_user_id))),
            Param.of("00" + user),
        )
    )


@pytest.mark.requirements("LT-INPUT-USER-MALFORMED")
def test_user_id_malformed_spellings(conformance: Run) -> None:
    """The configured user spelt once per malformed class: each must be refused."""
    spellings = malformed_spellings(conformance.builder.users.user_id)
    conformance.expect_all(conformance.case(user_id=Param.of(v)) for v in spellings)


@pytest.mark.requirements("LT-INPUT-USER-MALFORMED", "LT-INPUT-LENIENT-HONOURED", "LT-ECHO-USER")
def test_user_id_generated(conformance: Run) -> None:
    """Hypothesis: known users, other well-formed IDs, padded, signed, fractional and foreign spellings."""
    conformance.explore(user_id_cases(conformance.builder), label="user_id")


@pytest.mark.requirements("LT-INPUT-USER-MALFORMED", "LT-HTTP-TIMELY", "LT-HTTP-NO-5XX")
def test_user_id_long_digit_runs(conformance: Run) -> None:
    """15 to 4000 digits followed or interrupted by junk, whitespace, separators and signs: all refused."""
    conformance.expect_all(digit_run_cases(conformance.builder, "user_id"))
