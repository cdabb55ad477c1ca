"""What a check sees: the Subject (one exchange and its parsed body) and the run's CheckContext."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from conformance import xmldoc
from conformance.model import Case, Exchange
from conformance.profile import Profile

if TYPE_CHECKING:
    from conformance.qrfetch import QrImage


@dataclass
class TokenHistory:
    """Tokens issued so far in the run, kept in memory only, in issue order."""

    first_seen: dict[str, int] = field(default_factory=dict)  # token -> sequence of the exchange
    ordered: list[str] = field(default_factory=list)


@dataclass
class CheckContext:
    """Run-wide facts checks need: the profile, the key as sent, the token history."""

    profile: Profile
    api_key: str
    tokens: TokenHistory = field(default_factory=TokenHistory)
    # Users the key does not own (the foreign user, the unknown ones): no token may name them.
    not_owned: frozenset[int] = frozenset()
    qrcodes: dict[str, int] = field(default_factory=dict)  # qrcode URL -> sequence of the first grant
    # --fetch-qrcode: fetches and decodes a <qrcode> URL (None: images are not fetched)
    qrcode_fetcher: Callable[[str], QrImage] | None = None
    qr_payloads: dict[str, int] = field(default_factory=dict)  # payload digest -> sequence of first grant
    # Hosts whose plain-http <qrcode> URL is accepted: the embedded reference's own, when it serves images
    qrcode_http_hosts: frozenset[str] = frozenset()


@dataclass
class Subject:
    """One exchange under judgement, with its body parsed once, safely."""

    exchange: Exchange
    limits: xmldoc.Limits = xmldoc.DEFAULT_LIMITS  # the profile's structural bounds

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
    def judged(self) -> bool:
        """A complete 2xx or 4xx response to the endpoint (or, from a variant, one carrying a token)."""
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
        """The target granted the request: a 2xx, or any judged response carrying a non-empty token."""
        return self.judged and (200 <= self.status < 300 or bool(self.token))
