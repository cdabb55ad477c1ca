"""Spellings (issue 20): a valid request is honoured in every equivalent spelling, a forbidden one is
refused in every spelling."""

from __future__ import annotations

import pytest

from conformance.inputs import equivalent_cases, forbidden_spelling_cases
from conformance.run.engine import Run


@pytest.mark.requirements("LT-INPUT-EQUIVALENT", "LT-INPUT-LENIENT-HONOURED", "LT-ECHO-USER")
def test_equivalent_spellings_honoured_alike(conformance: Run) -> None:
    """The valid request with Content-Type parameters and case, percent-encoded, reordered, with an unknown
    field (space as + and %20), chunked, with Expect: 100-continue, 1,500 extra fields, as JSON and
    multipart, on fresh, reused and closing connections; a value percent-encoded twice is no number."""
    conformance.expect_all(equivalent_cases(conformance.builder))


@pytest.mark.requirements(
    "LT-AUTH-USER-SCOPE",
    "LT-AUTH-USER-UNKNOWN",
    "LT-AUTH-KEY-INVALID",
    "LT-AUTH-TOKEN-OWNER",
    "LT-INPUT-USER-MALFORMED",
    "LT-INPUT-LENIENT-HONOURED",
    "LT-HTTP-POST-ONLY",
)
def test_forbidden_requests_refused_in_every_spelling(conformance: Run) -> None:
    """The foreign and unknown users and wrong keys named in other case (alone and beside the valid name),
    percent-encoded twice, as JSON, multipart, percent-encoded, chunked, in the query string of the POST."""
    conformance.expect_all(forbidden_spelling_cases(conformance.builder))
