"""The run: sends cases through the transport, runs every applicable check, keeps the ledger.

This is the core the CLI and the pytest plugin both drive; it never imports pytest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import functools
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from conformance.checks import RAW_JUDGED, CheckContext, Subject, run_checks
from conformance.core.contract import REQUIREMENTS_BY_ID, Level
from conformance.core.model import Case, CheckFailure, CheckResult, Exchange, Expect, TransportError
from conformance.core.printable import one_line
from conformance.core.violations import ContractViolation as ContractViolation  # re-exported
from conformance.core.violations import RunAborted as RunAborted
from conformance.inputs import CaseBuilder
from conformance.redaction.redact import Redactor
from conformance.run.evidence import Evidence, exchange_evidence

if TYPE_CHECKING:
    from conformance.run.rejudge import RecordedInputs

MAX_FAILURES_KEPT = 5  # per requirement, with full evidence; the count keeps going
MAX_CRASH_CHARS = 300  # of a crashed check's message, and of the case label beside it
# Every (check, case class) a requirement failed with, up to this many: what --fail-on new compares with a
# baseline; past it the set is marked incomplete and compares as new (never accepted unseen).
MAX_FAILURE_CLASSES = 100
# After this many transport errors in a row the target is not answering: stop instead of waiting out
# a timeout for every remaining case (a 30 s stall would otherwise cost timeout x hundreds of requests).
MAX_CONSECUTIVE_TRANSPORT_ERRORS = 3
# A target that times out on every other request never makes three errors in a row, yet costs a timeout per
# two requests (hours at the default timeout): the run also stops once at least TIMEOUT_SHARE of the last
# RECENT_WINDOW exchanges timed out.
RECENT_WINDOW = 10
TIMEOUT_SHARE = 0.5
# A shared staging system may throttle: a 429 (or a 503 with Retry-After) is waited out (Retry-After,
# capped; else 1, 2, 4 ... s) and the request sent again, out of one run-wide budget of waiting. A throttled
# answer is never taken as the answer to the case, but the checks that apply to any refusal still judge it
# (a token in a 429 is a finding). Past the budget the run stops early: incomplete, never hours of waiting.
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVICE_UNAVAILABLE = 503
MAX_THROTTLE_WAIT = 30.0  # for one wait, whatever Retry-After says
MIN_THROTTLE_WAIT = 0.5  # Retry-After: 0 must not spin
DEFAULT_THROTTLE_BUDGET = 120.0
REFUSAL_REQUIREMENTS = frozenset({"LT-REJECT-NO-TOKEN", "LT-SEC-KEY-NOT-ECHOED", "LT-SEC-NO-DTD"})


class Sender(Protocol):
    """What the run needs of a transport."""

    def send(self, case: Case) -> Exchange: ...


class Observer(Protocol):
    """Reporters watching the run (the Allure adapter is one)."""

    def on_exchange(
        self, exchange: Exchange, results: list[CheckResult], *, evidence: Callable[[], Evidence]
    ) -> None:
        """``evidence`` builds the redacted view of the exchange when first called (most are never shown)."""


@dataclass
class FailureRecord:
    """A failure kept as evidence for the summary and the reports."""

    failure: CheckFailure
    case: Case
    test: str
    sequence: int
    evidence: Evidence


@dataclass(frozen=True)
class ExchangeNote:
    """One exchange in a line: what drift detection compares between two runs."""

    test: str
    case: str
    outcome: str  # "HTTP 200" or the transport error
    schema_valid: bool | None  # None: no schema check applied
    failed_checks: tuple[str, ...]


@dataclass
class RequirementLedger:
    """What the run learnt about one requirement."""

    checks_run: int = 0
    failure_count: int = 0
    failures: list[FailureRecord] = field(default_factory=list)
    failure_classes: set[tuple[str, str]] = field(default_factory=set)  # (check, Case.case_class)
    classes_complete: bool = True  # False: more than MAX_FAILURE_CLASSES classes failed


@dataclass
class TestRecord:
    """One conformance test as the run saw it."""

    nodeid: str
    outcome: str = "running"
    duration_s: float = 0.0
    requests: int = 0  # requests it sent (the README's probe-family counts come from these)
    failed_requirements: set[str] = field(default_factory=set)
    message: str = ""  # the first lines of a failure (a minimal failing input, with its seed)


class Run:
    """One conformance run against one target (live, recording or replaying)."""

    def __init__(
        self,
        *,
        sender: Sender,
        context: CheckContext,
        builder: CaseBuilder,
        redactor: Redactor,
        max_examples: int,
        seed: int,
        settle: Callable[[Exchange], None] | None = None,
        observers: Sequence[Observer] = (),
        abort_codes: dict[type[Exception], int | None] | None = None,
        throttle_budget: float = DEFAULT_THROTTLE_BUDGET,
        sleep: Callable[[float], None] = time.sleep,
        after_exchange: Callable[[Run, Exchange], None] | None = None,
        parallel: bool = False,
        max_duration: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        # Built complete: the session passes everything here; afterwards only the run's own bookkeeping
        # changes (and Run.test scopes a test's settle hook and recorded inputs to its block).
        self.sender = sender
        self.context = context
        self.builder = builder
        self.redactor = redactor
        self.max_examples = max_examples
        self.seed = seed
        self.settle = settle
        self.observers: list[Observer] = list(observers)
        self.ledger: dict[str, RequirementLedger] = {rid: RequirementLedger() for rid in REQUIREMENTS_BY_ID}
        self.tests: dict[str, TestRecord] = {}
        self.log: list[ExchangeNote] = []
        self.current_test = ""
        self.requests = 0
        self.aborted: RunAborted | None = None
        # Checks that raised (suite defects, the first few): the run's verdict is then error, exit 5.
        self.check_crashes: list[str] = []
        # Exceptions from the sender that end the run (a cassette miss, the request budget) -> exit code;
        # None: the run merely stops early (the target went away) and its verdict follows from what it found.
        self.abort_codes: dict[type[Exception], int | None] = dict(abort_codes or {})
        self._transport_errors_in_a_row = 0
        self.throttled = 0
        self.throttle_budget = throttle_budget  # seconds of waiting on throttling, run-wide
        self.throttle_waited = 0.0
        self.clock: Callable[[], float] = time.time  # for an HTTP-date Retry-After
        self.sleep = sleep  # replay passes a no-op: no server to wait for
        # Replay (and diff's live side): a generated test's inputs as recorded; Hypothesis does not run.
        self.recorded: RecordedInputs | None = None
        # Called after every exchange (the session passes the sentinels of conformance.run.sentinels).
        self.after_exchange = after_exchange
        self.parallel = parallel  # True when sends may overlap (live, no cassette): the concurrency burst
        # The run budget (--max-duration, live runs): no request is sent and no throttle waited out past it.
        self.max_duration = max_duration
        self._monotonic = monotonic
        self._started = monotonic()
        self._recent_timeouts: deque[bool] = deque(maxlen=RECENT_WINDOW)

    # -- tests ---------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def test(
        self,
        nodeid: str,
        *,
        settle: Callable[[Exchange], None] | None = None,
        recorded: RecordedInputs | None = None,
        observers: Sequence[Observer] = (),
    ) -> Iterator[TestRecord]:
        """Attribute everything sent inside the block to the conformance test ``nodeid``.

        ``settle`` (its cassette's hook), ``recorded`` (its recorded inputs) and ``observers`` (a
        reporter's, watching this test) hold for the block only.
        """
        record = self.tests.setdefault(nodeid, TestRecord(nodeid))
        saved = self.settle, self.recorded, self.observers
        self.settle = settle if settle is not None else self.settle
        self.recorded = recorded
        self.observers = [*self.observers, *observers]
        self.current_test, started, sent = nodeid, time.monotonic(), self.requests
        try:
            yield record
        finally:
            record.duration_s += time.monotonic() - started
            record.requests += self.requests - sent
            self.current_test = ""
            self.settle, self.recorded, self.observers = saved

    # -- exchanges -----------------------------------------------------------------------------------
    def exchange(self, case: Case) -> tuple[Exchange, list[CheckResult]]:
        """Send one case (waiting out throttling), run every check on the answer, record the results."""
        exchange = self._send(case)
        attempt = 0
        while throttled(exchange):
            self.throttled += 1
            self._judge(exchange, only=REFUSAL_REQUIREMENTS)
            wait = max(
                MIN_THROTTLE_WAIT, min(_retry_after(exchange, attempt, now=self.clock()), MAX_THROTTLE_WAIT)
            )
            self._within_budget(wait)
            if self.throttle_waited + wait > self.throttle_budget:
                self.aborted = RunAborted(
                    f"stopped early: the throttle budget of {self.throttle_budget:g} s (--max-throttle-wait) "
                    f"is spent; the target answered HTTP {exchange.status} {self.throttled} times",
                    exit_code=None,
                )
                raise self.aborted
            self.throttle_waited += wait
            self.sleep(wait)
            attempt += 1
            exchange = self._send(case)
        return self._judged(exchange)

    def exchange_burst(self, cases: Sequence[Case]) -> list[tuple[Exchange, list[CheckResult]]]:
        """Send the cases at once, in parallel (in turn when recording or replaying), and judge each."""
        if not self.parallel:
            return [self.exchange(case) for case in cases]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(cases)) as pool:
            sent = list(pool.map(self._send_unsettled, cases))
        for exchange in sent:
            self.requests += 1
            exchange.sequence = self.requests
        return [self._judged(exchange) for exchange in sent]

    def _send_unsettled(self, case: Case) -> Exchange:
        if self.aborted is not None:
            raise self.aborted
        self._within_budget()
        return self.sender.send(case)

    def _judged(self, exchange: Exchange) -> tuple[Exchange, list[CheckResult]]:
        """Note the transport outcome, run every check on an answer, then let the sentinels follow."""
        self._note_transport(exchange)
        # A raw-message probe's answers come from the server layer as often as from the endpoint (a 400 in
        # text/plain): judged by the HTTP message rules only, never by the XML and error-document checks.
        results = self._judge(exchange, only=RAW_JUDGED if exchange.case.raw else None)
        if self.after_exchange is not None:
            self.after_exchange(self, exchange)
        return exchange, results

    def _judge(self, exchange: Exchange, *, only: frozenset[str] | None = None) -> list[CheckResult]:
        """Run the checks on one answer (only those serving ``only``, when given); record and report them."""
        subject = Subject(exchange, limits=self.context.profile.limits)
        if exchange.judged is not None:  # a replayed excerpt: the recording judged the whole body
            results = [r for r in exchange.judged if only is None or r.requirement in (None, *only)]
        else:
            results = run_checks(subject, self.context, serving=only)
        after_error = self.context.state.after_error  # what the checks saw: the state observe moves on
        if only is None:  # a throttled answer, judged only as a refusal, is not part of the run's history
            self.context.state.observe(subject)
        self.redactor.learn(exchange, subject.document)
        for result in results:
            if result.crash:
                self._record_crash(result, exchange)
        # Built when a failure is kept or a reporter shows the exchange, after the tokens above are learnt.
        evidence = functools.cache(
            lambda: exchange_evidence(exchange, self.redactor, after_error=after_error)
        )
        for result in results:
            if result.requirement is None:
                continue
            entry = self.ledger[result.requirement]
            entry.checks_run += 1
            if result.failure is not None:
                self._record_failure(entry, result.failure, exchange, evidence)
        self.log.append(_note(self.current_test, exchange, results))
        for observer in self.observers:
            observer.on_exchange(exchange, results, evidence=evidence)
        return results

    def _record_crash(self, result: CheckResult, exchange: Exchange) -> None:
        """A check raised: a defect of the suite, which decides the verdict (error), never the target's."""
        if len(self.check_crashes) < MAX_FAILURES_KEPT:
            text = f"check {result.check} raised {result.crash}"[:MAX_CRASH_CHARS]
            where = f" (request #{exchange.sequence}, case {exchange.case.label[:MAX_CRASH_CHARS]})"
            self.check_crashes.append(one_line(self.redactor.text(text + where)))

    def _within_budget(self, wait: float = 0.0) -> None:
        """Stop the run (incomplete) when its budget is spent, or would be by waiting ``wait`` seconds."""
        if self.max_duration is None:
            return
        spent = self._monotonic() - self._started
        if spent + wait >= self.max_duration:
            self.aborted = RunAborted(
                f"stopped early: the run budget of {self.max_duration:g} s (--max-duration) is spent "
                f"after {self.requests} requests",
                exit_code=None,
            )
            raise self.aborted

    def _send(self, case: Case) -> Exchange:
        if self.aborted is not None:
            raise self.aborted
        self._within_budget()
        try:
            exchange = self.sender.send(case)
        except tuple(self.abort_codes) as exc:
            code = next(c for kind, c in self.abort_codes.items() if isinstance(exc, kind))
            self.aborted = RunAborted(str(exc), exit_code=code)
            raise self.aborted from None
        self.requests += 1
        exchange.sequence = self.requests
        if self.settle is not None:
            self.settle(exchange)
        return exchange

    def _note_transport(self, exchange: Exchange) -> None:
        self._recent_timeouts.append(exchange.error is TransportError.TIMEOUT)
        timeouts = sum(self._recent_timeouts)
        if len(self._recent_timeouts) == RECENT_WINDOW and timeouts >= TIMEOUT_SHARE * RECENT_WINDOW:
            self.aborted = RunAborted(
                f"stopped early: {timeouts} of the last {RECENT_WINDOW} requests timed out "
                f"(the limit is {TIMEOUT_SHARE:.0%}); the target is too slow to be tested in time",
                exit_code=None,
            )
        if exchange.error is None:
            self._transport_errors_in_a_row = 0
            return
        self._transport_errors_in_a_row += 1
        if self._transport_errors_in_a_row >= MAX_CONSECUTIVE_TRANSPORT_ERRORS:
            self.aborted = RunAborted(
                f"stopped early: {self._transport_errors_in_a_row} transport errors in a row "
                f"(last: {exchange.error.value}); the target is not answering",
                exit_code=None,
            )

    def _record_failure(
        self,
        entry: RequirementLedger,
        failure: CheckFailure,
        exchange: Exchange,
        evidence: Callable[[], Evidence],
    ) -> None:
        entry.failure_count += 1
        failure_class = (failure.check, exchange.case.case_class)
        if len(entry.failure_classes) < MAX_FAILURE_CLASSES:
            entry.failure_classes.add(failure_class)
        elif failure_class not in entry.failure_classes:
            entry.classes_complete = False
        if self.current_test:
            self.tests[self.current_test].failed_requirements.add(failure.requirement)
        if len(entry.failures) < MAX_FAILURES_KEPT:
            safe = CheckFailure(
                failure.requirement,
                one_line(failure.title),
                one_line(self.redactor.text(failure.expected)),
                one_line(self.redactor.text(failure.received)),
                check=failure.check,
            )
            # A header the case carried may be a credential the run learnt (a cookie the target set): the
            # record keeps it as the evidence shows it, so the reproduction command carries no secret.
            case = exchange.case
            if case.headers:
                case = dataclasses.replace(
                    case, headers=tuple((name, self.redactor.text(value)) for name, value in case.headers)
                )
            entry.failures.append(FailureRecord(safe, case, self.current_test, exchange.sequence, evidence()))

    def expect(self, case: Case) -> Exchange:
        """Send a case; raise ContractViolation if any MUST requirement failed on it."""
        exchange, results = self.exchange(case)
        failures = [r.failure for r in results if r.failure is not None and self._is_must(r.failure)]
        if failures:
            raise ContractViolation(_describe(case, failures, self.redactor))
        return exchange

    def _is_must(self, failure: CheckFailure) -> bool:
        """The failure breaks a requirement held as a MUST under the run's profile."""
        level = REQUIREMENTS_BY_ID[failure.requirement].level_for(
            http_strict=self.context.profile.http_strict
        )
        return level is Level.MUST

    def expect_all(self, cases: Iterable[Case], *, pause: float = 0.0) -> list[Exchange]:
        """Send every case (none is skipped after a failure: a replay sends what the recording holds, even
        where a recorded answer was edited); one ContractViolation lists all failures. ``pause``: seconds
        between two cases (Run.sleep)."""
        exchanges, problems = [], []
        for number, case in enumerate(cases):
            if number and pause:
                self.sleep(pause)
            try:
                exchanges.append(self.expect(case))
            except ContractViolation as violation:
                problems.append(str(violation))
        if problems:
            raise ContractViolation("\n".join(problems))
        return exchanges

    def explore(self, strategy: Any, *, label: str) -> None:
        """Send Hypothesis-generated cases (replay: the recorded ones); the minimal failure with the seed."""
        if self._rejudged(label):
            return
        from conformance.run.exploration import explore  # Hypothesis: loaded when a run explores

        explore(self, strategy, label=label)

    def explore_sequences(self, *, label: str) -> None:
        """Send Hypothesis-generated request sequences (conformance.run.stateful; replay: the recorded
        requests in order); the minimal failing sequence with the seed."""
        if self._rejudged(label):
            return
        from conformance.run.stateful import explore_states  # Hypothesis: loaded when a run explores

        explore_states(self, label=label)

    def _rejudged(self, label: str) -> bool:
        """Replay (and diff's live side): a generated test's recorded inputs re-judged in recorded order."""
        if self.recorded is None:
            return False
        from conformance.run.rejudge import rejudge

        rejudge(self, self.recorded, label=label)
        return True

    # -- shortcuts for the conformance tests ---------------------------------------------------------
    def case(self, **kwargs: Any) -> Case:
        """A classified case (see CaseBuilder.case)."""
        return self.builder.case(**kwargs)

    def burst(self, cases: Sequence[Case]) -> list[Exchange]:
        """Send cases at once (see exchange_burst); one ContractViolation lists every MUST failure."""
        exchanges, problems = [], []
        for exchange, results in self.exchange_burst(cases):
            exchanges.append(exchange)
            failures = [r.failure for r in results if r.failure is not None and self._is_must(r.failure)]
            if failures:
                problems.append(_describe(exchange.case, failures, self.redactor))
        if problems:
            raise ContractViolation("\n".join(problems))
        return exchanges

    def grants(self, cases: Sequence[Case]) -> list[Exchange]:
        """Send cases that must be granted."""
        assert all(c.expect is Expect.ACCEPT for c in cases), "grants() takes valid cases only"
        return self.expect_all(cases)


def throttled(exchange: Exchange) -> bool:
    """A 429, or a 503 that says when to come back: the target is throttling, not answering the case."""
    return exchange.status == HTTP_TOO_MANY_REQUESTS or (
        exchange.status == HTTP_SERVICE_UNAVAILABLE and exchange.header("retry-after") is not None
    )


def retry_after_seconds(value: str | None, *, now: float) -> float | None:
    """Retry-After as seconds from ``now`` (delay-seconds or an HTTP-date), None when absent or unusable.

    Whatever the target sends (junk, huge, negative, non-ASCII digits such as '²') gives a number or None.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(int(text[:12]))  # more digits than any wait is capped anyway
    if not text.isascii() or len(text) > 64:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        return max(0.0, when.timestamp() - now)
    except (OverflowError, OSError, ValueError):
        return None


def _retry_after(exchange: Exchange, attempt: int, *, now: float) -> float:
    """Seconds to wait before resending a throttled request: Retry-After, else 1, 2, 4 ... s."""
    seconds = retry_after_seconds(exchange.header("retry-after"), now=now)
    return seconds if seconds is not None else 2.0 ** min(attempt, 10)


def _note(test: str, exchange: Exchange, results: list[CheckResult]) -> ExchangeNote:
    schema = [r for r in results if r.check == "schema_conformance" and r.applied]
    return ExchangeNote(
        test=test,
        case=exchange.case.label,
        outcome=f"HTTP {exchange.status}" if exchange.error is None else exchange.error.value,
        schema_valid=schema[0].passed if schema else None,
        failed_checks=tuple(sorted({r.check for r in results if r.failure is not None})),
    )


def _describe(case: Case, failures: list[CheckFailure], redactor: Redactor) -> str:
    lines = [f"{one_line(str(case))}:"]
    lines += [f"  - {one_line(redactor.text(f.message))}" for f in failures]
    return "\n".join(lines)
