"""token_expire: 60..86400 plain decimal seconds, required, honoured in <expire>."""

from __future__ import annotations

import pytest

from conformance.inputs import (
    MISSING,
    TOKEN_EXPIRE_BOUNDARIES,
    VALID_TOKEN_EXPIRE,
    Param,
    digit_run_cases,
    malformed_spellings,
    spread_across,
    token_expire_cases,
)
from conformance.run.engine import Run


@pytest.mark.requirements("LT-INPUT-EXPIRE-VALID", "LT-INPUT-EXPIRE-RANGE", "LT-EXPIRE-CONSISTENT")
def test_token_expire_boundaries(conformance: Run) -> None:
    """Judged by class: 59, 60, 61, 86399, 86400, 86401, 0, -1, 10**30, 2**32+3600, 2**64+3600, 10**5000.

    A fixed-width parser wraps 2**32+3600 and 2**64+3600 to 3600; 10**5000 has more digits than int() takes.
    """
    conformance.expect_all(conformance.case(token_expire=Param.of(v)) for v in TOKEN_EXPIRE_BOUNDARIES)


@pytest.mark.requirements("LT-INPUT-EXPIRE-VALID", "LT-EXPIRE-CONSISTENT")
def test_token_expire_across_the_range(conformance: Run) -> None:
    """One seeded value from each of 8 log-spaced slices of 60..86400: every one is granted and honoured."""
    profile = conformance.builder.profile
    values = spread_across(profile.token_expire_min, profile.token_expire_max, seed=conformance.seed)
    conformance.expect_all(conformance.case(token_expire=Param.of(str(v))) for v in values)


@pytest.mark.requirements(
    "LT-INPUT-EXPIRE-MISSING", "LT-INPUT-REPEATED", "LT-INPUT-LENIENT-HONOURED", "LT-INPUT-EXPIRE-MALFORMED"
)
def test_token_expire_missing_empty_repeated_padded(conformance: Run) -> None:
    """Absent, empty, repeated (same and different values) and zero-padded (0600 is 384 read as octal)."""
    conformance.expect_all(
        conformance.case(token_expire=p)
        for p in (
            MISSING,
            Param.of(""),
            Param(("3600", "3600")),
            Param(("60", "86400")),
            Param.of("0060"),
            Param.of("0600"),
        )
    )


@pytest.mark.requirements(
    "LT-INPUT-EXPIRE-VALID",
    "LT-INPUT-EXPIRE-RANGE",
    "LT-INPUT-EXPIRE-MALFORMED",
    "LT-INPUT-LENIENT-HONOURED",
    "LT-EXPIRE-CONSISTENT",
)
def test_token_expire_generated(conformance: Run) -> None:
    """Hypothesis: valid seconds across the range, out-of-range, lenient and malformed spellings."""
    conformance.explore(token_expire_cases(conformance.builder), label="token_expire")


@pytest.mark.requirements("LT-INPUT-EXPIRE-MALFORMED")
def test_token_expire_malformed_spellings(conformance: Run) -> None:
    """Every malformed class once: sign, fraction, exponent, whitespace, foreign digits, words, empty."""
    spellings = malformed_spellings(VALID_TOKEN_EXPIRE)
    conformance.expect_all(conformance.case(token_expire=Param.of(v)) for v in spellings)


@pytest.mark.requirements("LT-INPUT-EXPIRE-MALFORMED", "LT-HTTP-TIMELY", "LT-HTTP-NO-5XX")
def test_token_expire_long_digit_runs(conformance: Run) -> None:
    """15 to 4000 digits followed or interrupted by junk, whitespace, separators and signs: all refused."""
    conformance.expect_all(digit_run_cases(conformance.builder, "token_expire"))
