"""Methods and paths: only POST to the endpoint issues tokens; a path variant that answers is judged so."""

from __future__ import annotations

import pytest

from conformance.engine import Run
from conformance.inputs import route_cases


@pytest.mark.requirements("LT-HTTP-POST-ONLY", "LT-HTTP-PATH-VARIANT", "LT-AUTH-KEY-INVALID")
def test_other_methods_and_paths_issue_no_token(conformance: Run) -> None:
    """GET/HEAD/OPTIONS with the form in the query, PUT/DELETE/PATCH, and six spellings of the path."""
    conformance.expect_all(route_cases(conformance.builder))
