"""The nouns every layer shares: a Case the suite sends, the Exchange it got back, a typed CheckFailure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlencode

# In a Case's form the api_key is this placeholder, never the key: the transport substitutes the
# configured key at send time, so cases (and Hypothesis' printed falsifying examples) never hold it.
# Cassettes store the same placeholder, which is why replay needs no key.
API_KEY_PLACEHOLDER = "__API_KEY_REDACTED__"

# The contract's number syntax: plain ASCII decimal digits.
DIGITS = re.compile(r"[0-9]+", re.ASCII)
# Longer numbers are not converted (Python's int() refuses more than 4300 digits): they are "huge".
MAX_DIGITS = 1000


def plain_integer(text: str) -> int | None:
    """The integer that ``text`` spells in plain ASCII digits; None when it is not one or is huge."""
    if not DIGITS.fullmatch(text) or len(text.lstrip("0")) > MAX_DIGITS:
        return None
    return int(text)


class Expect(StrEnum):
    """What the contract demands of the target for one case."""

    ACCEPT = "accept"  # must issue a token
    REJECT = "reject"  # must refuse with a 4xx and no token
    EITHER = "either"  # lenient: may refuse; if it issues a token the value must be honoured exactly


@dataclass(frozen=True)
class Case:
    """One request the suite sends and what the contract expects of the answer."""

    label: str
    form: tuple[tuple[str, str], ...]
    expect: Expect
    requirement: str
    user_id: int | None = None
    token_expire: int | None = None

    def body(self, *, api_key: str) -> bytes:
        """The form-encoded body with the placeholder replaced by ``api_key`` (also inside a longer value)."""
        pairs = [(name, value.replace(API_KEY_PLACEHOLDER, api_key)) for name, value in self.form]
        return urlencode(pairs).encode("ascii")

    def __str__(self) -> str:
        return f"{self.label} [{self.expect.value}, {self.requirement}]"


class TransportError(StrEnum):
    """Why no complete response was read."""

    TIMEOUT = "timeout"
    CONNECT = "connect"
    RESET = "connection reset"
    TOO_LARGE = "response too large"
    TLS = "tls verification failed"
    PROTOCOL = "protocol error"
    CASSETTE_MISS = "not in cassette"


@dataclass
class Exchange:
    """One request sent and what came back (or why nothing complete did)."""

    case: Case
    sent_at: float  # Unix time the request was sent; replay restores the recorded value
    elapsed: float  # seconds until the body was read completely (or the error)
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()  # names lower-cased, in received order
    body: bytes = b""
    reason: str = ""  # the HTTP reason phrase, as received
    error: TransportError | None = None
    error_detail: str = ""
    url: str = ""
    sequence: int = 0  # position in the run, 1-based

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)

    def header_values(self, name: str) -> list[str]:
        """Every value of a header (case-insensitive)."""
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]

    @property
    def answered(self) -> bool:
        """True when a complete HTTP response was read."""
        return self.error is None and self.status is not None


@dataclass
class CheckFailure(Exception):
    """A check found the response breaks a requirement: what was expected and what was received."""

    requirement: str
    title: str
    expected: str
    received: str
    check: str = ""
    details: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line: the requirement, the title, expected and received."""
        return f"[{self.requirement}] {self.title}: expected {self.expected}; received {self.received}"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class CheckResult:
    """What one check concluded about one exchange: not applicable, passed, or a failure."""

    check: str
    requirement: str | None  # None: the check did not apply to this exchange
    failure: CheckFailure | None = None

    @property
    def applied(self) -> bool:
        """True when the check judged this exchange."""
        return self.requirement is not None

    @property
    def passed(self) -> bool:
        """True when the check applied and found nothing wrong."""
        return self.requirement is not None and self.failure is None
