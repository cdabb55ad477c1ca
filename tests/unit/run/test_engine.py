"""The Run on a scripted sender (pure logic): ledger, redaction, throttling, early stop, aborts."""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils

import pytest

from conformance.checks import CheckContext
from conformance.core.model import Case, Exchange, Expect, TransportError
from conformance.inputs import Param
from conformance.results.summary import build_summary
from conformance.results.verdict import Coverage
from conformance.run.engine import (
    RECENT_WINDOW,
    ContractViolation,
    RunAborted,
    retry_after_seconds,
)
from tests.support.runs import BUILDER, KEY, NOW, TOKEN, Scripted, grant, make_run, refusal


def test_a_grant_passes_and_counts() -> None:
    run = make_run(Scripted(grant))
    run.expect(run.case())
    assert run.ledger["LT-EXPIRE-CONSISTENT"].checks_run == 1
    assert run.ledger["LT-EXPIRE-CONSISTENT"].failure_count == 0
    assert run.requests == 1


def test_failures_are_recorded_redacted() -> None:
    run = make_run(Scripted(lambda c: grant(c, message=f"your key {KEY}")))
    with pytest.raises(ContractViolation) as caught:
        run.expect(run.case())
    assert KEY not in str(caught.value)
    record = run.ledger["LT-SEC-KEY-NOT-ECHOED"].failures[0]
    assert KEY not in repr(record.evidence)
    assert "__API_KEY_REDACTED__" in record.evidence["response"]["body"]
    assert TOKEN not in repr(record.evidence)  # tokens are shown as <token#N len=L>
    summary = build_summary(run)
    assert KEY not in repr(summary) and TOKEN not in repr(summary)


def test_expect_all_sends_every_case_and_lists_every_failure() -> None:
    run = make_run(Scripted(grant, grant, refusal))
    cases = [run.case(token_expire=Param.of(v)) for v in ("59", "86401", "60")]
    with pytest.raises(ContractViolation) as caught:
        run.expect_all(cases)
    assert len(run.sender.sent) == 3  # type: ignore[attr-defined]
    message = str(caught.value)
    assert (
        "token_expire='59'" in message
        and "token_expire='86401'" in message
        and "token_expire='60'" in message
    )


def test_throttling_is_waited_out_then_judged() -> None:
    waits: list[float] = []
    run = make_run(
        Scripted(lambda c: refusal(c, 429, (("retry-after", "2"),)), lambda c: refusal(c, 429), grant),
        sleep=waits.append,
    )
    run.expect(run.case())
    assert waits == [2.0, 2.0]
    assert run.throttled == 2 and run.requests == 3
    assert run.ledger["LT-INPUT-USER-VALID"].checks_run == 1  # only the final answer is judged


def test_three_transport_errors_in_a_row_stop_the_run() -> None:
    def timeout(case: Case) -> Exchange:
        return Exchange(case=case, sent_at=NOW, elapsed=1.0, error=TransportError.TIMEOUT, error_detail="1s")

    run = make_run(Scripted(timeout, timeout, timeout))
    for _ in range(3):
        with pytest.raises(ContractViolation):
            run.expect(run.case())
    assert run.aborted is not None and run.aborted.exit_code is None
    with pytest.raises(RunAborted, match="3 transport errors in a row"):
        run.expect(run.case())
    assert run.ledger["LT-HTTP-TIMELY"].failure_count == 3


def timed_out(case: Case) -> Exchange:
    return Exchange(case=case, sent_at=NOW, elapsed=2.0, error=TransportError.TIMEOUT, error_detail="2s")


def test_timeouts_on_every_other_request_stop_the_run_after_ten() -> None:
    """Never three errors in a row, but half of the last 10 timed out: stopped (not an hour of timeouts)."""
    run = make_run(Scripted(*[timed_out, grant] * 20))
    for _ in range(RECENT_WINDOW):
        with contextlib.suppress(ContractViolation):
            run.expect(run.case())
    assert run.aborted is not None and run.aborted.exit_code is None
    with pytest.raises(RunAborted, match="5 of the last 10 requests timed out"):
        run.expect(run.case())
    assert run.requests == RECENT_WINDOW


def test_fewer_timeouts_than_the_share_do_not_stop_the_run() -> None:
    run = make_run(Scripted(*[timed_out, grant, grant] * 10))
    for _ in range(30):
        with contextlib.suppress(ContractViolation):
            run.expect(run.case())
    assert run.aborted is None


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_run_budget_stops_before_the_first_request_past_it() -> None:
    clock = Clock()
    run = make_run(Scripted(grant, grant), max_duration=60.0, monotonic=clock)
    run.expect(run.case())
    clock.now += 60.0
    with pytest.raises(RunAborted, match=r"run budget of 60 s \(--max-duration\) is spent after 1 requests"):
        run.expect(run.case())
    assert run.aborted is not None and run.aborted.exit_code is None
    assert run.requests == 1
    summary = build_summary(run, coverage=Coverage(stopped=str(run.aborted)))
    assert summary.verdict == "incomplete"


def test_a_throttle_wait_past_the_run_budget_is_not_waited() -> None:
    clock = Clock()
    waits: list[float] = []
    run = make_run(
        Scripted(lambda c: refusal(c, 429, (("retry-after", "30"),)), grant),
        max_duration=20.0,
        monotonic=clock,
        sleep=waits.append,
    )
    with pytest.raises(RunAborted, match="run budget of 20 s"):
        run.expect(run.case())
    assert waits == []


def test_abort_codes_turn_sender_errors_into_a_stop_with_an_exit_code() -> None:
    class Miss(Exception):
        pass

    def miss(case: Case) -> Exchange:
        raise Miss("request #1 is not in the cassette")

    run = make_run(Scripted(miss), abort_codes={Miss: 4})
    with pytest.raises(RunAborted) as caught:
        run.expect(run.case())
    assert caught.value.exit_code == 4
    assert build_summary(run, error=str(caught.value), error_code=4).verdict == "error"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 12 ", 12.0),
        ("99999999999999999999999999", 999999999999.0),  # huge: a number, capped by the caller
        ("-5", None),
        ("²", None),  # str.isdigit() says yes; int() would not
        ("٣", None),  # Arabic-Indic three
        ("soon", None),
        ("", None),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),  # a date in the past: no wait
        (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
        ("Fri, 99 Foo 99999 99:99:99 GMT", None),
        ("x" * 10_000, None),
    ],
)
def test_retry_after_is_parsed_safely(value: str, seconds: float | None) -> None:
    assert retry_after_seconds(value, now=NOW) == seconds


def test_throttling_forever_ends_within_the_budget_as_an_early_stop() -> None:
    waits: list[float] = []
    run = make_run(
        Scripted(*[lambda c: refusal(c, 429, (("retry-after", "²"),))] * 50),
        sleep=waits.append,
        throttle_budget=10.0,
    )
    with pytest.raises(RunAborted, match="throttle budget of 10 s"):
        run.expect(run.case())
    assert sum(waits) <= 10.0 and run.throttle_waited == sum(waits)
    assert run.aborted is not None and run.aborted.exit_code is None
    assert build_summary(run, coverage=Coverage(stopped=str(run.aborted))).verdict == "incomplete"


def test_a_throttled_answer_is_still_judged_as_a_refusal() -> None:
    def leaky(case: Case) -> Exchange:
        exchange = refusal(case, 429, (("retry-after", "1"),))
        exchange.body = f"<user_response><status>429</status><token>{TOKEN}</token></user_response>".encode()
        return exchange

    run = make_run(Scripted(leaky, grant))
    run.expect(run.case())  # the grant is the case's answer; the 429 was judged on the side
    assert run.ledger["LT-REJECT-NO-TOKEN"].failure_count == 1
    assert run.ledger["LT-HTTP-SUCCESS-200"].failure_count == 0  # a 429 is not the answer to the case


def test_a_503_without_retry_after_is_an_answer_not_throttling() -> None:
    run = make_run(Scripted(lambda c: refusal(c, 503)))
    with pytest.raises(ContractViolation):
        run.expect(run.case())
    assert run.throttled == 0 and run.ledger["LT-HTTP-NO-5XX"].failure_count == 1


def test_sentinels_follow_the_first_grant_then_every_nth_on_both_kinds_of_connection() -> None:
    from conformance.run.sentinels import Sentinels

    sender = Scripted(*([grant] * 5 + [refusal] * 2) * 3)
    bad = BUILDER.case(api_key=Param.of("wrong"))
    run = make_run(sender, after_exchange=Sentinels([bad], every=2))
    for n in range(5):
        run.exchange(run.case(token_expire=Param.of(str(60 + n))))  # distinct grants (their tokens repeat)
    sentinels = [c for c in sender.sent if c.expect is Expect.REJECT]
    # Grants 1, 2 and 4 each bring a round: the pooled connection, then a fresh one.
    assert [c.fresh_connection for c in sentinels] == [False, True] * 3
    assert run.requests == 11


def test_a_sentinel_that_gets_a_token_is_a_finding_of_the_running_test() -> None:
    from conformance.run.sentinels import Sentinels

    wrong = BUILDER.case(api_key=Param.of("wrong"))
    run = make_run(Scripted(grant, grant, grant), after_exchange=Sentinels([wrong]))
    with run.test("t::x") as record:
        run.expect(run.case())
    assert run.ledger["LT-AUTH-KEY-INVALID"].failure_count == 2
    assert "LT-AUTH-KEY-INVALID" in record.failed_requirements


def test_burst_sends_in_parallel_live_and_judges_each() -> None:
    import threading

    barrier = threading.Barrier(4, timeout=5)

    def together(case: Case) -> Exchange:
        barrier.wait()  # only returns when all four requests are in flight at once
        return grant(case, token=f"{threading.get_ident():032x}"[-32:])

    run = make_run(Scripted(*[together] * 4, grant), parallel=True)
    exchanges = run.exchange_burst([run.case(label=f"#{n}") for n in range(4)])
    assert sorted(e.sequence for e, _ in exchanges) == [1, 2, 3, 4]
    assert run.ledger["LT-TOKEN-PRESENT"].checks_run == 4
    with pytest.raises(ContractViolation, match="LT-QRCODE-DISTINCT"):  # one canned QR code for all
        run.burst([run.case()])


def test_the_run_state_learns_each_judged_grant_after_its_checks_not_a_throttled_answer() -> None:
    def throttled_with_token(case: Case) -> Exchange:
        exchange = grant(case, token="f" * 32)
        exchange.status = 429
        return exchange

    run = make_run(Scripted(grant, throttled_with_token, lambda c: grant(c, token="e" * 32)))
    run.exchange(run.case())
    assert run.context.state.tokens.ordered == [TOKEN]
    assert run.context.state.qrcodes == {"https://q.example.com/x.png": 1}
    run.exchange(run.case())  # throttled (judged as a refusal only), then granted
    assert run.context.state.tokens.ordered == [TOKEN, "e" * 32]
    assert run.context.state.tokens.first_seen == {TOKEN: 1, "e" * 32: 3}


# -- issue 19: the suite's own failure is never the target's; target text stays on its line ----------------


def test_a_check_that_raises_is_kept_as_a_suite_defect_redacted_on_one_line() -> None:
    from conformance.checks import CHECKS, Subject, check

    @check(serves=("LT-TOKEN-PRESENT",), name="raises_in_test_engine")
    def raises(subject: Subject, ctx: CheckContext) -> str | None:
        raise ValueError(f"bad\n{KEY} and {subject.token}\x1b[2J")

    try:
        run = make_run(Scripted(grant))
        run.expect(run.case())  # no ContractViolation: the target broke nothing
    finally:
        del CHECKS["raises_in_test_engine"]
    (crash,) = run.check_crashes
    assert crash.startswith("check raises_in_test_engine raised ValueError at test_engine.py:")
    assert crash.endswith("(request #1, case valid request)")
    assert "\n" not in crash and "\x1b" not in crash and "\\n" in crash and "\\x1b[2J" in crash
    assert KEY not in crash and TOKEN not in crash
    assert run.ledger["LT-TOKEN-PRESENT"].failure_count == 0


def test_a_kept_failure_is_one_line_with_control_characters_escaped() -> None:
    def hostile(case: Case) -> Exchange:
        answer = grant(case)
        body = answer.body.replace(b"<user_id>12345<", "<user_id>12345\n verdict: conformant\u202e<".encode())
        return dataclasses.replace(answer, body=body)

    run = make_run(Scripted(hostile))
    with pytest.raises(ContractViolation) as caught:
        run.expect(run.case())
    record = run.ledger["LT-ECHO-USER"].failures[0]
    assert record.failure.received == "<user_id>12345\\n verdict: conformant\\u202e</user_id>"
    assert "verdict: conformant" in str(caught.value)
    assert not [line for line in str(caught.value).splitlines() if line.lstrip().startswith("verdict")]
