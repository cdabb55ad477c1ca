"""The verdict rules: a MUST requirement not exercised cannot pass; the reasons it was not."""

from __future__ import annotations

import pytest

from conformance.core.errors import (
    EXIT_CONFORMANT,
    EXIT_INCOMPLETE,
    EXIT_MODIFIED_CONTRACT,
    EXIT_NON_CONFORMANT,
)
from conformance.results.verdict import exit_code_of, verdict_of


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        ({"LT-AUTH-USER-SCOPE": "passed", "LT-SEC-NO-STORE": "skipped"}, "conformant"),  # SHOULD skipped
        ({"LT-AUTH-USER-SCOPE": "skipped", "LT-SEC-NO-STORE": "passed"}, "incomplete"),
        ({"LT-AUTH-USER-SCOPE": "skipped", "LT-QRCODE-URL": "failed"}, "non-conformant"),
        ({"LT-AUTH-USER-SCOPE": "not-applicable", "LT-QRCODE-URL": "passed"}, "conformant"),
        ({"LT-SEC-NO-STORE": "warning"}, "conformant"),
    ],
)
def test_verdict_from_outcomes(outcomes: dict[str, str], verdict: str) -> None:
    assert verdict_of(outcomes, error=None) == verdict


def test_an_error_overrides_everything() -> None:
    assert verdict_of({"LT-QRCODE-URL": "failed"}, error="boom") == "error"


def test_exit_codes() -> None:
    assert exit_code_of("conformant", error_code=None) == EXIT_CONFORMANT
    assert exit_code_of("non-conformant", error_code=None) == EXIT_NON_CONFORMANT
    assert exit_code_of("incomplete", error_code=None) == EXIT_INCOMPLETE == 6
    assert exit_code_of("error", error_code=3) == 3


def test_a_hand_edited_summary_is_refused_by_every_consumer() -> None:
    from conformance.results.summary import Summary, SummaryContradiction

    document = {
        "verdict": "conformant",
        "exit_code": 0,
        "error": None,
        "requirements": [{"id": "LT-AUTH-USER-SCOPE", "level": "must", "outcome": "skipped", "reason": "r"}],
    }
    with pytest.raises(SummaryContradiction, match="give 'incomplete'"):
        Summary.of(document)
    document.update(verdict="incomplete", exit_code=0)
    with pytest.raises(SummaryContradiction, match="means exit 6"):
        Summary.of(document)
    document["exit_code"] = 6
    typed = Summary.of(document)
    assert typed.not_exercised() == [("LT-AUTH-USER-SCOPE", "r")]


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        ({"LT-QRCODE-URL": "passed"}, "conformant under a modified contract"),
        ({"LT-QRCODE-URL": "waived"}, "conformant under a modified contract"),  # waivers do not hide it
        ({"LT-QRCODE-URL": "failed"}, "non-conformant"),  # a failure under a looser contract still fails
        ({"LT-AUTH-USER-SCOPE": "skipped"}, "incomplete"),
    ],
)
def test_a_modified_contract_is_never_plain_conformant(outcomes: dict[str, str], verdict: str) -> None:
    assert verdict_of(outcomes, error=None, modified=True) == verdict


def test_a_modified_contract_has_an_exit_code_of_its_own() -> None:
    code = exit_code_of("conformant under a modified contract", error_code=None)
    assert code == EXIT_MODIFIED_CONTRACT == 7
    assert code not in (EXIT_CONFORMANT, EXIT_NON_CONFORMANT, EXIT_INCOMPLETE)


def test_a_requirement_the_run_cannot_exercise_says_why() -> None:
    from conformance.results.verdict import Coverage, not_exercised_reason
    from conformance.run.engine import Run

    coverage = Coverage(cannot_exercise={"LT-QRCODE-IMAGE": "a recording holds no QR code image"})
    reason = not_exercised_reason("LT-QRCODE-IMAGE", Run.__new__(Run), coverage)
    assert reason == "a recording holds no QR code image"


def test_a_requirement_whose_test_ran_is_never_said_to_have_no_test() -> None:
    """A target answering 500 to every malformed token_expire: the requirement is not judged, and the reason
    says its test ran and what it got, not "no conformance test exercised it"."""
    from conformance.core.model import Case, Exchange
    from conformance.inputs import Param
    from conformance.results.verdict import NO_TEST_REASON, Coverage, not_exercised_reason
    from tests.support.runs import Scripted, make_run

    def server_error(case: Case) -> Exchange:
        return Exchange(case=case, sent_at=0.0, elapsed=0.01, status=500, body=b"oops")

    nodeid = "conformance/suite/test_token_expire.py::test_token_expire_malformed_spellings"
    run = make_run(Scripted(server_error, server_error))
    with run.test(nodeid) as record:
        for value in ("+60", "6e1"):
            run.exchange(run.case(token_expire=Param.of(value)))
        record.outcome = "failed"
    assert run.ledger["LT-INPUT-EXPIRE-MALFORMED"].checks_run == 0
    reason = not_exercised_reason(
        "LT-INPUT-EXPIRE-MALFORMED", run, Coverage(targets={nodeid: ("LT-INPUT-EXPIRE-MALFORMED",)})
    )
    assert reason != NO_TEST_REASON
    assert reason == (
        "its test ran but no answer could be judged for it: test_token_expire_malformed_spellings (failed); "
        "answers: HTTP 500 x2"
    )
