"""Stateful exploration: a Hypothesis state machine that interleaves grants and refusals in every order.

A per-exchange check sees one answer; a server that remembers (a user or key cached after a grant, a range
check skipped shortly after one, a second try that succeeds) answers each request plausibly and goes wrong
only in some order. The machine sends grants, wrong keys, users the key does not own, out-of-range
expiries, requests sent again (on the pooled connection, a fresh one, or with ``Connection: close``) and
requests carrying a cookie the target set earlier. Every exchange goes through ``Run.expect``: every
registered check judges it, ``decision_stateless`` (LT-AUTH-STATELESS) among them, which compares the
decision with the one the same request got earlier. A failure is shrunk to a short sequence and shown
with it. Seeded from the run's seed, no example database, bounded by SEQUENCES sequences of STEPS steps
(MAX_REQUESTS with shrinking). A replay never runs this: the recorded requests are re-judged in order
(``conformance.run.rejudge``), the decisions compared again by the same check.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Protocol

from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from conformance.core.model import Case, Exchange, Expect, key_probe
from conformance.core.violations import ContractViolation
from conformance.inputs import INVALID_API_KEY, MISSING, VALID_TOKEN_EXPIRE, CaseBuilder, Param
from conformance.run.exploration import Explored, exploration_settings, hypothesised

SEQUENCES = 30  # examples (request sequences) generated (Hypothesis may add a few of its own)
STEPS = 10  # steps per sequence, at most (a retry after a grant is two requests; 170-250 sent in all)
# The hard cap, shrinking included: past it a step sends nothing (a failure is already in the ledger).
MAX_REQUESTS = 600
IN_RANGE = (60, VALID_TOKEN_EXPIRE, 86400)
OUT_OF_RANGE = (0, 59, 86401, 10**6)
WRONG_KEYS = ("last", "upper", "chop", "space")  # key probes (see model.KEY_PROBES), and INVALID_API_KEY
# How a step travels: the pooled keep-alive connection, a connection of its own, or the pooled one closed
# after the answer (Connection: close).
CHANNELS = ("pooled", "fresh", "close")
COOKIE = re.compile(r"[!#-+\--:<-\[\]-~]{1,64}=[!#-+\--:<-\[\]-~]{0,256}")
MAX_COOKIES = 4


class Stateful(Explored, Protocol):
    """What the state machine needs of a run (the engine's Run, which imports this, never the reverse)."""

    builder: CaseBuilder
    requests: int


def explore_states(run: Stateful, *, label: str) -> None:
    """Send up to SEQUENCES generated request sequences; the minimal failing sequence, with the seed."""
    failing: list[str] = []  # every failing sequence the machine ran, as it showed it
    bound = _Bound(run)
    machine = hypothesis_seed(run.seed)(_machine(bound, failing))
    try:
        hypothesised(
            run,
            lambda: run_state_machine_as_test(
                machine,
                settings=exploration_settings(
                    max_examples=min(run.max_examples, SEQUENCES), stateful_step_count=STEPS
                ),
            ),
            label=label,
        )
    except ContractViolation:
        if not failing:
            raise
        # A target that keeps state (and the run's own memory of decisions) may answer a sequence run again
        # otherwise, which Hypothesis reports as flaky: the first failing sequence, whole, is the one shown.
        raise ContractViolation(
            f"{label}: failing sequence (seed {run.seed}; rerun with --seed {run.seed}; not shrunk: the "
            f"target answered it otherwise when it was run again):\n{failing[0]}"
        ) from None
    finally:
        # Hypothesis keeps every machine class it ran for the life of the process: the class must not keep
        # the run (its transport, its redactor and the secrets that one learnt) alive after it.
        bound.run = None


def cookies_set(exchange: Exchange) -> list[str]:
    """The ``name=value`` pairs of the Set-Cookie headers of ``exchange`` that may be sent back (plain ones:
    target text never becomes a header that could smuggle another). The run's redactor has learnt them as
    credentials: evidence shows a stand-in, and the steps of a sequence name the cookie only."""
    found = []
    for name, value in exchange.headers:
        pair = value.split(";", 1)[0].strip()
        if name.lower() == "set-cookie" and COOKIE.fullmatch(pair):
            found.append(pair)
    return found


@dataclass
class _Bound:
    """The run a machine class sends through, while it explores (None after)."""

    run: Stateful | None

    def sending(self) -> Stateful:
        if self.run is None:
            raise RuntimeError("a state machine ran after its exploration ended")
        return self.run


def _machine(bound: _Bound, failing: list[str]) -> type[RuleBasedStateMachine]:
    builder = bound.sending().builder
    not_owned = builder.users.others
    start = bound.sending().requests

    def granted(expire: int) -> Case:
        given = None if expire == VALID_TOKEN_EXPIRE else Param.of(str(expire))
        return builder.case(token_expire=given, label=f"grant, token_expire={expire}")

    class RequestSequences(RuleBasedStateMachine):
        """One sequence of requests to the target; each step is judged by every check as it is answered."""

        def __init__(self) -> None:
            super().__init__()
            self.steps: list[str] = []
            self.refused: list[Case] = []
            self.last_refused: Case | None = None  # the last request sent, when it must be refused
            self.cookies: list[str] = []

        def send(self, request: Case, channel: str, *, cookie: str = "") -> None:
            run = bound.sending()
            if run.requests - start >= MAX_REQUESTS:
                return
            case, shown = request, f"{request.label} ({channel} connection"
            if cookie:
                cookies = (("Cookie", cookie),)
                case = dataclasses.replace(case, headers=cookies, label=f"{case.label}, with a cookie it set")
                shown += f", cookie {cookie.partition('=')[0]}"  # the value is a credential
            if channel == "fresh":
                case = dataclasses.replace(case, fresh_connection=True)
            elif channel == "close":
                case = dataclasses.replace(case, headers=(*case.headers, ("Connection", "close")))
            self.steps.append(shown + ")")
            try:
                exchange = run.expect(case)
            except ContractViolation as violation:
                listed = "\n".join(f"  {n}. {step}" for n, step in enumerate(self.steps, 1))
                failing.append(f"{violation}\nafter the sequence:\n{listed}")
                raise ContractViolation(failing[-1]) from None
            self.last_refused = request if request.expect is Expect.REJECT else None
            if self.last_refused is not None and request not in self.refused:
                self.refused.append(request)
            for pair in cookies_set(exchange):
                if pair not in self.cookies and len(self.cookies) < MAX_COOKIES:
                    self.cookies.append(pair)

        def earlier(self, data: st.DataObject) -> Case:
            """A request this sequence sent that must be refused (drawn by index: Hypothesis prints what it
            draws), the latest first."""
            back = data.draw(st.integers(0, len(self.refused) - 1), label="refusals back")
            return self.refused[-1 - back]

        @rule(expire=st.sampled_from(IN_RANGE), channel=st.sampled_from(CHANNELS))
        def grant(self, expire: int, channel: str) -> None:
            self.send(granted(expire), channel)

        @rule(
            key=st.sampled_from((*(key_probe(name) for name in WRONG_KEYS), INVALID_API_KEY, "")),
            channel=st.sampled_from(CHANNELS),
        )
        def wrong_key(self, key: str, channel: str) -> None:
            param = Param.of(key) if key else MISSING
            self.send(builder.case(api_key=param), channel)

        @rule(user=st.sampled_from(not_owned), channel=st.sampled_from(CHANNELS))
        def not_owned_user(self, user: int, channel: str) -> None:
            self.send(builder.case(user_id=Param.of(str(user))), channel)

        @rule(expire=st.sampled_from(OUT_OF_RANGE), channel=st.sampled_from(CHANNELS))
        def out_of_range(self, expire: int, channel: str) -> None:
            self.send(builder.case(token_expire=Param.of(str(expire))), channel)

        @precondition(lambda self: bool(self.refused))
        @rule(data=st.data(), channel=st.sampled_from(CHANNELS))
        def refusal_again(self, data: st.DataObject, channel: str) -> None:
            """A request of this sequence that must be refused, sent again: it must stay refused."""
            self.send(self.earlier(data), channel)

        @precondition(lambda self: self.last_refused is not None)
        @rule(channel=st.sampled_from(CHANNELS))
        def retry_after_grant(self, channel: str) -> None:
            """The request just refused, sent again after a grant (a second try after logging in): a grant
            unlocks nothing for the requests around it."""
            retried = self.last_refused
            assert retried is not None  # the precondition
            self.send(granted(VALID_TOKEN_EXPIRE), "pooled")
            self.send(retried, channel)

        @precondition(lambda self: bool(self.refused and self.cookies))
        @rule(data=st.data(), channel=st.sampled_from(CHANNELS))
        def refusal_with_cookie(self, data: st.DataObject, channel: str) -> None:
            """A request that must be refused, sent again with a cookie the target set: a cookie is no key."""
            cookie = self.cookies[data.draw(st.integers(0, len(self.cookies) - 1), label="cookie")]
            self.send(self.earlier(data), channel, cookie=cookie)

    return RequestSequences
