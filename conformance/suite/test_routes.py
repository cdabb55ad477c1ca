"""Methods and paths: only POST to the endpoint issues tokens; a path variant that answers is judged so."""

from __future__ import annotations

import pytest

from conformance.inputs import route_cases
from conformance.run.engine import Run


@pytest.mark.requirements(
    "LT-HTTP-POST-ONLY",
    "LT-HTTP-PATH-VARIANT",
    "LT-AUTH-KEY-INVALID",
    "LT-AUTH-KEY-MISSING",
    "LT-AUTH-USER-SCOPE",
    "LT-INPUT-EXPIRE-RANGE",
)
def test_other_methods_and_paths_issue_no_token(conformance: Run) -> None:
    """Six other methods with the form in the body, GET/HEAD/OPTIONS with it in the query (the valid key
    only on loopback or with --send-key-in-query), and six spellings of the path, each sent requests the
    endpoint grants and requests it must refuse."""
    conformance.expect_all(route_cases(conformance.builder))
