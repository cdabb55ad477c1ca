"""The state machine on a Run with answering senders (pure logic), and the check it relies on."""

from __future__ import annotations

import dataclasses
import secrets

import pytest

from conformance.checks import CheckContext, RunState, Subject
from conformance.checks.stateless import decision_stateless
from conformance.core.model import Case, CheckFailure, Exchange, Expect
from conformance.core.profile import Profile
from conformance.inputs import Param
from conformance.run.engine import ContractViolation
from conformance.run.stateful import MAX_REQUESTS, SEQUENCES, STEPS, cookies_set
from tests.support.runs import BUILDER, KEY, grant, make_run, refusal

COOKIE = "session=0123456789abcdef0123456789abcdef"


class Conforming:
    """Refuses what must be refused, grants the rest (a new token each), sets a session cookie on grants."""

    def __init__(self) -> None:
        self.sent: list[Case] = []
        self.previous_granted = False

    def send(self, case: Case) -> Exchange:
        self.sent.append(case)
        if self.wrongly_granted(case) or case.expect is not Expect.REJECT:
            self.previous_granted = True
            token = secrets.token_hex(16)
            answer = grant(case, token=token)
            headers = (*answer.headers, ("set-cookie", f"{COOKIE}; Path=/; Secure"))
            body = answer.body.replace(b"/x.png", f"/{token}.png".encode())  # a QR code URL per grant
            return dataclasses.replace(answer, headers=headers, body=body)
        self.previous_granted = False
        return refusal(case, 401)

    def wrongly_granted(self, case: Case) -> bool:
        return False


class GrantsARetryAfterAGrant(Conforming):
    """A request refused before is granted when it directly follows a grant (a second try that succeeds)."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: set[tuple[object, ...]] = set()

    def wrongly_granted(self, case: Case) -> bool:
        again = case.form in self.refused and self.previous_granted
        self.refused.add(case.form)
        return again


class CookieStandsInForTheKey(Conforming):
    """A request carrying the session cookie is granted whatever its key."""

    def wrongly_granted(self, case: Case) -> bool:
        return ("Cookie", COOKIE) in case.headers


def test_a_conforming_target_passes_within_the_step_budget() -> None:
    sender = Conforming()
    run = make_run(sender, max_examples=100, seed=3)
    run.explore_sequences(label="stateful")
    assert SEQUENCES <= len(sender.sent) <= MAX_REQUESTS
    assert run.ledger["LT-AUTH-STATELESS"].checks_run > 0  # refusals were sent again
    assert run.ledger["LT-AUTH-STATELESS"].failure_count == 0
    # Every step kind went out: cookies sent back, fresh connections, Connection: close, out-of-range values.
    assert any(("Cookie", COOKIE) in case.headers for case in sender.sent)
    assert any(case.fresh_connection for case in sender.sent)
    assert any(("Connection", "close") in case.headers for case in sender.sent)
    assert any(case.requirement == "LT-INPUT-EXPIRE-RANGE" for case in sender.sent)


def test_the_same_seed_sends_the_same_sequences() -> None:
    sent = []
    for _ in range(2):
        sender = Conforming()
        make_run(sender, max_examples=100, seed=11).explore_sequences(label="stateful")
        sent.append([case.wire for case in sender.sent])
    assert sent[0] == sent[1]


def test_an_order_dependent_grant_is_found_and_shrunk_to_a_short_sequence() -> None:
    sender = GrantsARetryAfterAGrant()
    run = make_run(sender, max_examples=100, seed=5)
    with pytest.raises(ContractViolation) as caught:
        run.explore_sequences(label="stateful")
    message = str(caught.value)
    assert "(seed 5; rerun with --seed 5" in message
    assert "[LT-AUTH-STATELESS] the same request was decided otherwise than before" in message
    steps = message.split("after the sequence:\n", 1)[1].splitlines()
    assert 3 <= len(steps) <= STEPS  # at least a refusal, a grant, the refusal again
    assert "grant" in steps[-2]
    assert run.ledger["LT-AUTH-STATELESS"].failure_count > 0
    assert len(sender.sent) <= MAX_REQUESTS


def test_a_cookie_that_stands_in_for_the_key_is_found_and_its_value_never_shown() -> None:
    run = make_run(CookieStandsInForTheKey(), max_examples=100, seed=5)
    with pytest.raises(ContractViolation) as caught:
        run.explore_sequences(label="stateful")
    message = str(caught.value)
    assert "cookie session)" in message
    assert COOKIE.split("=")[1] not in message
    assert run.ledger["LT-AUTH-STATELESS"].failure_count > 0  # the cookie made no other request


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ("session=abc123; Path=/; Secure", ["session=abc123"]),
        ("id=a b", []),  # a space: not a plain cookie
        ('id="quoted"', []),
        ("id=x\r\nX-Injected: 1", []),
        ("=novalue", []),
        ("n=" + "v" * 300, []),  # longer than a cookie the machine sends back
    ],
)
def test_only_plain_cookies_are_sent_back(header: str, kept: list[str]) -> None:
    answer = dataclasses.replace(grant(BUILDER.case()), headers=(("set-cookie", header),))
    assert cookies_set(answer) == kept


# -- decision_stateless -------------------------------------------------------------------------------------
def judged(exchanges: list[Exchange]) -> list[str | None]:
    """decision_stateless on each exchange in turn, the run state updated after each (as the engine does)."""
    context, results = CheckContext(profile=Profile(), api_key=KEY, state=RunState()), []
    for sequence, exchange in enumerate(exchanges, 1):
        exchange.sequence = sequence
        subject = Subject(exchange)
        try:
            results.append(decision_stateless(subject, context))
        except CheckFailure as failure:
            results.append(f"{failure.expected} / {failure.received}")
        context.state.observe(subject)
    return results


WRONG_KEY = BUILDER.case(api_key=Param.of("wrong-key"))


def test_a_refusal_that_turns_into_a_grant_fails_and_a_repeated_decision_passes() -> None:
    assert judged([refusal(WRONG_KEY, 401), refusal(WRONG_KEY, 401), grant(WRONG_KEY)]) == [
        None,
        "LT-AUTH-STATELESS",
        "a refusal, as request #1 got / a grant (HTTP 200) at request #3",
    ]
    assert judged([grant(BUILDER.case()), refusal(BUILDER.case(), 403)])[1] == (
        "a grant, as request #1 got / a refusal (HTTP 403) at request #2"
    )


def test_cookies_and_connections_do_not_make_another_request_but_spellings_and_identities_do() -> None:
    cookie = dataclasses.replace(WRONG_KEY, headers=(("Cookie", COOKIE), ("Connection", "close")))
    fresh = dataclasses.replace(WRONG_KEY, fresh_connection=True)
    assert judged([refusal(WRONG_KEY, 401), grant(cookie)])[1] is not None
    assert judged([refusal(WRONG_KEY, 401), grant(fresh)])[1] is not None
    for other in (
        dataclasses.replace(WRONG_KEY, spelling="chunked"),
        dataclasses.replace(WRONG_KEY, alternate_identity=True),
        dataclasses.replace(WRONG_KEY, headers=(("Content-Type", "text/plain"),)),
    ):
        assert judged([refusal(WRONG_KEY, 401), grant(other)]) == [None, None]


def test_no_decision_is_not_compared() -> None:
    assert judged([refusal(WRONG_KEY, 401), refusal(WRONG_KEY, 500), refusal(WRONG_KEY, 401)]) == [
        None,
        None,
        "LT-AUTH-STATELESS",
    ]


def test_a_run_is_not_kept_alive_by_the_machine_it_explored_with() -> None:
    """Hypothesis keeps every machine class for the life of the process: a run (its transport, redactor
    and the secrets it learnt) must still go once it ends, or a process running many runs keeps them all."""
    import gc
    import weakref

    run = make_run(Conforming(), max_examples=3, seed=5)
    run.explore_sequences(label="stateful")
    gone = weakref.ref(run)
    del run
    gc.collect()
    assert gone() is None
