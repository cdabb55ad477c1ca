"""Exploration on a Run with an answering sender (pure logic): which generated requests go on the wire."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import pytest
from hypothesis import strategies as st

from conformance.core.model import Case, Exchange, Expect
from conformance.inputs import Param
from conformance.run.engine import ContractViolation
from tests.support.runs import BUILDER, grant, make_run, refusal

MALFORMED = BUILDER.case(user_id=Param.of("+12345"))
VALID = BUILDER.case()


class Answering:
    """A sender that refuses what must be refused and grants the rest, each grant a new token."""

    def __init__(self, *, grant_everything: bool = False) -> None:
        self.grant_everything = grant_everything
        self.sent: list[Case] = []
        self.random = random.Random(11)

    def send(self, case: Case) -> Exchange:
        self.sent.append(case)
        if case.expect is Expect.REJECT and not self.grant_everything:
            return refusal(case)
        token = f"{self.random.getrandbits(128):032x}"
        answer = grant(case, token=token)
        return dataclasses.replace(answer, body=answer.body.replace(b"/x.png", f"/{token}.png".encode()))


def either_case() -> st.SearchStrategy[Case]:
    # The integer only widens the search space so that Hypothesis does not stop after two examples.
    return st.tuples(st.sampled_from([MALFORMED, VALID]), st.integers()).map(lambda pair: pair[0])


def test_a_refusal_is_not_sent_twice_but_every_repeated_grant_is() -> None:
    sender = Answering()
    run = make_run(sender, max_examples=40)
    run.explore(either_case(), label="user_id")
    sent = Counter(case.label for case in sender.sent)
    assert sent[MALFORMED.label] == 1
    assert sent[VALID.label] > 1
    assert run.requests == len(sender.sent)


def test_a_wrongly_granted_request_still_fails_the_exploration() -> None:
    # Nothing wrongly answered is remembered as refused: the failure reproduces and is reported.
    sender = Answering(grant_everything=True)
    run = make_run(sender, max_examples=40)
    with pytest.raises(ContractViolation, match="minimal failing input"):
        run.explore(either_case(), label="user_id")
    assert sum(case.label == MALFORMED.label for case in sender.sent) > 1
