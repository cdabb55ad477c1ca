"""What a check sees: the Subject (one exchange and its parsed body) and the run's CheckContext."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from conformance import xmldoc
from conformance.model import Case, Exchange
from conformance.prediction import TokenPredictor
from conformance.profile import Profile

if TYPE_CHECKING:
    from conformance.qrfetch import QrImage


@dataclass
class TokenHistory:
    """Tokens issued so far in the run, kept in memory only, in issue order."""

    first_seen: dict[str, int] = field(default_factory=dict)  # token -> sequence of the exchange
    ordered: list[str] = field(default_factory=list)


@dataclass
class RunState:
    """What the run has seen so far: the one home of everything a check remembers across exchanges.

    The engine calls ``observe`` after every check has judged an exchange; checks only read the state,
    so each sees the exchanges before the one it judges, whichever other checks run (or not).
    """

    tokens: TokenHistory = field(default_factory=TokenHistory)
    qrcodes: dict[str, int] = field(default_factory=dict)  # qrcode URL -> sequence of the first grant
    qr_payloads: dict[str, int] = field(default_factory=dict)  # QR payload digest -> sequence of first grant
    predictor: TokenPredictor = field(default_factory=TokenPredictor)  # the tokens expected next

    def observe(self, subject: Subject) -> None:
        """Remember what one judged exchange issued: its token, its QR code URL and (--fetch-qrcode) the
        digest of its image's payload, each the first time."""
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


@dataclass
class CheckContext:
    """Run-wide facts checks need: the profile, the key as sent, the users not owned, the run's state."""

    profile: Profile
    api_key: str
    # Users the key does not own (the foreign user, the unknown ones): no token may name them.
    not_owned: frozenset[int] = frozenset()
    state: RunState = field(default_factory=RunState)
    # --fetch-qrcode: fetches and decodes a <qrcode> URL (None: images are not fetched)
    qrcode_fetcher: Callable[[str], QrImage] | None = None
    # Hosts whose plain-http <qrcode> URL is accepted: the embedded reference's own, when it serves images
    qrcode_http_hosts: frozenset[str] = frozenset()

    @property
    def tokens(self) -> TokenHistory:
        """The tokens issued so far (``state.tokens``)."""
        return self.state.tokens


@dataclass
class Subject:
    """One exchange under judgement, with its body parsed once, safely."""

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

    @property
    def status(self) -> int:
        """The HTTP status; 0 when no complete response was read."""
        return self.exchange.status or 0 if self.exchange.answered else 0

    @property
    def decided(self) -> bool:
        """The target decided: a complete 2xx or 4xx from the endpoint (from a variant: one with a token)."""
        complete = 200 <= self.status < 300 or 400 <= self.status < 500
        # Another method or path may answer anything (an empty 204 to OPTIONS, a 404 page) as long as it
        # issues no token; one that does answers like the endpoint and is judged like it.
        return complete and (self.case.on_endpoint or bool(self.token))

    @property
    def token(self) -> str:
        """The stripped <token> text, '' when absent or empty."""
        return (self.document.field("token") or "").strip()

    @property
    def issued(self) -> bool:
        """The target granted the request: a 2xx, or any decided response carrying a non-empty token."""
        return self.decided and (200 <= self.status < 300 or bool(self.token))
