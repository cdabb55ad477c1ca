"""What a check sees: the Subject (one exchange and its parsed body) and the run's CheckContext."""

from __future__ import annotations

import email.utils
import functools
import math
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from conformance.checks._channels import (
    SeenAnswer,
    channel_varied,
    error_left_open,
    fingerprint,
    interference_group,
    timing_sample,
)
from conformance.core import xmldoc
from conformance.core.model import Case, Exchange, Expect, plain_integer
from conformance.core.prediction import TokenPredictor
from conformance.core.profile import Profile
from conformance.redaction.run_secrets import RunSecrets, secrets_of
from conformance.redaction.secrets import SecretBook

if TYPE_CHECKING:
    from conformance.exchange.qrfetch import QrImage

LOCATION_SHOWN = 120  # characters of a Location's scheme, host and path shown in a failure


@dataclass
class TokenHistory:
    """Tokens issued so far in the run, kept in memory only, in issue order."""

    first_seen: dict[str, int] = field(default_factory=dict)  # token -> sequence of the exchange
    ordered: list[str] = field(default_factory=list)
    _book: SecretBook = field(default_factory=SecretBook, repr=False)
    _in_book: int = 0
    _literal: SecretBook = field(default_factory=SecretBook, repr=False)
    _in_literal: int = 0

    def book(self) -> SecretBook:
        """The issued tokens as secrets found in every spelling (brought up to date when asked: a token's
        spellings are worked out once, by the first check that looks for it)."""
        for token in self.ordered[self._in_book :]:
            self._book.add_token(token)
        self._in_book = len(self.ordered)
        return self._book

    def literal_book(self) -> SecretBook:
        """The issued tokens found in their own spelling only (cheap enough to search every grant with)."""
        for token in self.ordered[self._in_literal :]:
            self._literal.add_literal(token)
        self._in_literal = len(self.ordered)
        return self._literal


@dataclass
class RunState:
    """What the run has seen so far: the one home of everything a check remembers across exchanges.

    The engine calls ``observe`` after every check has judged an exchange; checks only read the state,
    so each sees the exchanges before the one it judges, whichever other checks run (or not).
    """

    tokens: TokenHistory = field(default_factory=TokenHistory)
    qrcodes: dict[str, int] = field(default_factory=dict)  # qrcode URL -> sequence of the first grant
    qr_payloads: dict[str, int] = field(default_factory=dict)  # QR payload digest -> sequence of first grant
    # request (as sent under the stock identity) -> the class of its latest answer (see answer_class)
    answers: dict[tuple[object, ...], str] = field(default_factory=dict)
    predictor: TokenPredictor = field(default_factory=TokenPredictor)  # the tokens expected next
    # How far the latest valid grant's <expire> was from issue time + token_expire (least..most, by the
    # suite's clock): a lenient value honoured with the same offset is read as the plain value is, and
    # the offset is one defect, reported once under LT-EXPIRE-CONSISTENT (issue 22 item 10).
    # (the last such grant: its offset is worked out, exactly, only when a check asks for it)
    offset_from: Subject | None = field(default=None, repr=False)
    # The last answer on the pooled connection was an error that left it open: the next request on it is
    # compared with the same request's stock answer (LT-SEC-CLIENT-BLIND).
    after_error: bool = False
    # A request but its user_id (see interference_group) -> the first answer to it (LT-SEC-NON-INTERFERENCE)
    refusals: dict[tuple[object, ...], SeenAnswer] = field(default_factory=dict)
    # The timing sample (see timing_sample): (user_id, elapsed seconds or None when unanswered), in order
    timings: list[tuple[int, float | None]] = field(default_factory=list)
    # request (its form, method and path; see decision_of) -> the first decision on it: (granted, sequence)
    decisions: dict[tuple[object, ...], tuple[bool, int]] = field(default_factory=dict)

    @property
    def expire_offset(self) -> tuple[Fraction, Fraction] | None:
        """How far the last plain valid grant's <expire> lay from issue time + token_expire (least..most)."""
        return None if self.offset_from is None else self.offset_from.expire_offset

    def observe(self, subject: Subject) -> None:
        """Remember what one judged exchange issued: its token, its QR code URL and (--fetch-qrcode) the
        digest of its image's payload, each the first time; the class of every stock answer (after an
        error only the first); the first answer of each interference group; the timing sample."""
        answer = answer_class(subject)
        case = subject.case
        if answer is not None and not channel_varied(case):
            if self.after_error:
                self.answers.setdefault(request_of(case), answer)
            else:
                self.answers[request_of(case)] = answer
        if not case.fresh_connection:
            self.after_error = error_left_open(subject.exchange)
        group = interference_group(case)
        # With the right key only refusals are compared (a grant for the own user is no refusal).
        kept = group is not None and (group[0] == "wrong key" or 400 <= subject.status < 500)
        if kept and group is not None and case.user_id is not None and answer is not None:
            seen = SeenAnswer(subject.exchange.sequence, case.user_id, fingerprint(subject.exchange))
            self.refusals.setdefault(group, seen)
        if timing_sample(case) and case.user_id is not None:
            self.timings.append((case.user_id, subject.exchange.elapsed if answer is not None else None))
        if subject.expire_read is not None and not channel_varied(case):
            self.offset_from = subject
        decision = decision_of(subject)
        if decision is not None:
            self.decisions.setdefault(decision[0], (decision[1], subject.exchange.sequence))
        token = subject.token
        if not (subject.issued and token):
            return
        sequence = subject.exchange.sequence
        if subject.qr_payload_digest is not None:
            self.qr_payloads.setdefault(subject.qr_payload_digest, sequence)
        if token not in self.tokens.first_seen:
            self.tokens.first_seen[token] = sequence
            self.tokens.ordered.append(token)
            self.predictor.learn(token, user=subject.case.user_id)
        if 200 <= subject.status < 300:
            url = (subject.document.field("qrcode") or "").strip()
            if url:
                self.qrcodes.setdefault(url, sequence)


@functools.lru_cache(maxsize=256)
def date_seconds(value: str) -> float | None:
    """The Unix time an HTTP Date header names; None when it names none (a run's answers share a few
    hundred distinct values: each is read once)."""
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def request_of(case: Case) -> tuple[object, ...]:
    """What goes on the wire for ``case`` but the client identity (its label and expectation aside)."""
    return case.method, case.path_variant, case.form_in_query, case.form


# Request headers the contract says never decide (a cookie never stands in for the key, the connection and
# the client's clock and address are not inputs): a request carrying them is the same request for
# LT-AUTH-STATELESS. A replay re-derives a generated request from its recorded form alone, so live and
# replay compare the same requests.
DECISION_BLIND_HEADERS = frozenset({"cookie", "connection", "date", "x-forwarded-for", "forwarded"})


def decision_of(subject: Subject) -> tuple[tuple[object, ...], bool] | None:
    """The request as LT-AUTH-STATELESS compares it and whether it was granted; None when the answer was
    no decision (incomplete, 3xx, 5xx), or the request was sent in another spelling, with a header that may
    legitimately decide, or as the second client identity (LT-SEC-IDENTITY-BLIND compares those)."""
    case = subject.case
    if (
        not subject.decided
        or case.spelling
        or case.alternate_identity
        or any(name.lower() not in DECISION_BLIND_HEADERS for name, _ in case.headers)
    ):
        return None
    return request_of(case), subject.issued


def answer_class(subject: Subject) -> str | None:
    """What the target decided, in the words two answers are compared in: 'a token' (a grant or any answer
    carrying one), else the status class ('2xx' ... '5xx'); None when no complete answer was read."""
    if not subject.exchange.answered:
        return None
    if subject.issued:
        return "a token" if subject.token else "HTTP 2xx (a grant)"
    return f"HTTP {subject.status // 100}xx"


def against_stock(subject: Subject, state: RunState) -> tuple[str, str] | None:
    """(the class of the stock answer to the same request, the class of this one); None when either is
    missing (no stock answer yet, or no complete answer now: LT-HTTP-TIMELY reports that)."""
    first = state.answers.get(request_of(subject.case))
    again = answer_class(subject)
    return None if first is None or again is None else (first, again)


def shown_location(exchange: Exchange) -> str:
    """A redirect's Location as a failure shows it: scheme, host and path only (its query, fragment or
    user info may hold a credential), and which of those it had."""
    location = exchange.header("location")
    if location is None:
        return "no Location"
    try:
        split = urlsplit(location.strip())
        host = split.hostname or ""
        port = f":{split.port}" if split.port is not None else ""
    except ValueError:
        return "an unreadable Location"
    where = f"{split.scheme}://{host}{port}" if split.scheme or host else ""
    extras = [
        name
        for name, part in (
            ("user info", split.username),
            ("a query", split.query),
            ("a fragment", split.fragment),
        )
        if part
    ]
    shown = f"Location {(where + split.path)[:LOCATION_SHOWN]!r}"
    return shown + (f" with {' and '.join(extras)}" if extras else "")


@dataclass
class CheckContext:
    """Run-wide facts checks need: the profile, the key as sent, the users not owned, the run's state."""

    profile: Profile
    api_key: str
    # Users the key does not own (the foreign user, the unknown ones): no token may name them.
    not_owned: frozenset[int] = frozenset()
    state: RunState = field(default_factory=RunState)
    # live runs: fetches and decodes a <qrcode> URL (None: images are not fetched)
    qrcode_fetcher: Callable[[str], QrImage] | None = None
    # Hosts whose plain-http <qrcode> URL is accepted: the embedded reference's own, when it serves images
    qrcode_http_hosts: frozenset[str] = frozenset()
    # --fetch-qrcode: every grant's image is judged; otherwise a spread of them (checks/qrcode.py)
    qrcode_every_grant: bool = False
    # Users known not to exist (a subset of not_owned): the timing comparison's second sample.
    unknown_users: frozenset[int] = frozenset()
    # The run's secrets (the key's spellings worked out once per run); None: the context's own, for api_key.
    run_secrets: InitVar[RunSecrets | None] = None
    secrets: RunSecrets = field(init=False, repr=False)

    def __post_init__(self, run_secrets: RunSecrets | None) -> None:
        self.secrets = secrets_of(self.api_key, run_secrets)

    @property
    def tokens(self) -> TokenHistory:
        """The tokens issued so far (``state.tokens``)."""
        return self.state.tokens


@dataclass
class Subject:
    """One exchange under judgement, with its body parsed once, safely; what the checks derive from it
    (status, token, window ...) is derived once too: a Subject's exchange never changes."""

    exchange: Exchange
    limits: xmldoc.Limits = xmldoc.DEFAULT_LIMITS  # the profile's structural bounds
    # --fetch-qrcode: the digest of the decoded image payload, noted by qrcode_image for the run state
    qr_payload_digest: str | None = None

    @property
    def case(self) -> Case:
        """The case that was sent."""
        return self.exchange.case

    @cached_property
    def document(self) -> xmldoc.Document:
        """The parsed body (never expanded, never fetched)."""
        return xmldoc.parse(self.exchange.body, limits=self.limits)

    @cached_property
    def head(self) -> str:
        """The reason phrase and every header field as ``name: value``, one per line (searched at once)."""
        exchange = self.exchange
        return "\n".join([exchange.reason, *(f"{name}: {value}" for name, value in exchange.headers)])

    @cached_property
    def status(self) -> int:
        """The HTTP status; 0 when no complete response was read."""
        return self.exchange.status or 0 if self.exchange.answered else 0

    @cached_property
    def decided(self) -> bool:
        """The target decided: a complete 2xx or 4xx from the endpoint; from a path variant a 2xx or one
        with a token; from another method one with a token."""
        complete = 200 <= self.status < 300 or 400 <= self.status < 500
        # Another method or path may refuse with anything (a 404 page, a 405) as long as it issues no token.
        # A path variant that answers 2xx serves the endpoint: it is judged like it, whatever its body
        # (schema, key refusal, user scope ...); a token from anywhere is judged like a grant.
        case = self.case
        variant_served = case.method == "POST" and not case.form_in_query and 200 <= self.status < 300
        return complete and (case.on_endpoint or bool(self.token) or variant_served)

    @cached_property
    def token(self) -> str:
        """The stripped <token> text, '' when absent or empty."""
        return (self.document.field("token") or "").strip()

    @cached_property
    def issued(self) -> bool:
        """The target granted the request: a 2xx, or any decided response carrying a non-empty token."""
        return self.decided and (200 <= self.status < 300 or bool(self.token))

    @cached_property
    def clock(self) -> tuple[float, float] | None:
        """``window`` in floats (to rule out, cheaply, what lies far from its bounds); None likewise."""
        sent, elapsed = self.exchange.sent_at, self.exchange.elapsed
        if not (math.isfinite(sent) and math.isfinite(elapsed)):
            return None
        return sent, sent + max(0.0, elapsed)

    @cached_property
    def window(self) -> tuple[Fraction, Fraction] | None:
        """When the token was issued by the suite's own clock: between sending the request and the answer.

        Exact (a Fraction), so a window moved by any number of seconds compares and subtracts without
        overflow; None when the recorded clock is no finite number (nothing can be judged against it).
        """
        sent, elapsed = self.exchange.sent_at, self.exchange.elapsed
        if not (math.isfinite(sent) and math.isfinite(elapsed)):
            return None
        return Fraction(sent), Fraction(sent) + Fraction(max(0.0, elapsed))

    @cached_property
    def expire_read(self) -> int | None:
        """A grant of a valid request (an absolute <expire> expected) on a finite clock: its <expire>;
        None for anything else."""
        case = self.case
        if case.expect is not Expect.ACCEPT or case.token_expire is None or not self.issued:
            return None
        if self.clock is None:
            return None
        return plain_integer((self.document.field("expire") or "").strip())

    @cached_property
    def expire_offset(self) -> tuple[Fraction, Fraction] | None:
        """For a grant of a valid request (an absolute <expire> expected): how far <expire> lies from issue
        time + token_expire, least..most over the window; None for anything else."""
        expire, window, seconds = self.expire_read, self.window, self.case.token_expire
        if expire is None or window is None or seconds is None:
            return None
        sent, answered = window
        return expire - answered - seconds, expire - sent - seconds
