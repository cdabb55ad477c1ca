"""A valid request is granted, and the grant honours every promise of the contract."""

from __future__ import annotations

import pytest

from conformance.run.engine import Run

TOKEN_SAMPLE = 12  # enough tokens for the positional and sequence analysis of LT-TOKEN-STRENGTH


@pytest.mark.requirements(
    "LT-INPUT-USER-VALID",
    "LT-HTTP-SUCCESS-200",
    "LT-HTTP-CONTENT-TYPE",
    "LT-SCHEMA-SUCCESS",
    "LT-HTTP-STATUS-ECHO",
    "LT-ECHO-USER",
    "LT-TOKEN-PRESENT",
    "LT-QRCODE-URL",
    "LT-EXPIRE-CONSISTENT",
    "LT-SEC-NO-STORE",
    "LT-SEC-KEY-NOT-ECHOED",
    "LT-SEC-NO-DTD",
    "LT-SEC-QRCODE-THIRD-PARTY",
    "LT-HTTP-NO-REDIRECT",
    "LT-HTTP-TIMELY",
)
def test_valid_request_is_granted(conformance: Run) -> None:
    """The configured user with token_expire=3600 gets a complete, valid grant."""
    conformance.expect(conformance.case())


@pytest.mark.requirements("LT-TOKEN-UNIQUE", "LT-TOKEN-STRENGTH", "LT-TOKEN-UNPREDICTABLE")
def test_tokens_are_unique_and_unpredictable(conformance: Run) -> None:
    """Repeated identical requests get distinct, high-entropy, non-sequential tokens."""
    conformance.grants([conformance.case(label=f"valid request #{n}") for n in range(1, TOKEN_SAMPLE + 1)])
