"""The nouns every layer shares: a Case the suite sends, the Exchange it got back, a typed CheckFailure."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlencode

# In a Case's form the api_key is this placeholder, never the key: the transport substitutes the
# configured key at send time, so cases (and Hypothesis' printed falsifying examples) never hold it.
# Cassettes store the same placeholder, which is why replay needs no key.
API_KEY_PLACEHOLDER = "__API_KEY_REDACTED__"

# A key probe (a wrong key derived from the configured one) travels in a Case as a marker naming the
# derivation; only the transport, which holds the key, derives the value. Cassettes keep the marker.
KEY_PROBE = re.compile(r"__API_KEY_PROBE_([a-z0-9-]+)__")
KEY_PROBE_MIN_LENGTH = 8  # derived keys at least this long are redacted like the key itself

# The contract's number syntax: plain ASCII decimal digits.
DIGITS = re.compile(r"[0-9]+", re.ASCII)
# Longer numbers are not converted (Python's int() refuses more than 4300 digits): they are "huge".
MAX_DIGITS = 1000


def plain_integer(text: str) -> int | None:
    """The integer that ``text`` spells in plain ASCII digits; None when it is not one or is huge."""
    if not DIGITS.fullmatch(text) or len(text.lstrip("0")) > MAX_DIGITS:
        return None
    return int(text)


def key_probe(name: str) -> str:
    """The marker a Case carries for the key probe ``name`` (see derive_key)."""
    return f"__API_KEY_PROBE_{name}__"


def _changed(char: str, step: int = 1) -> str:
    """Another character of the same class: a digit for a digit, a letter of the same case for a letter."""
    for alphabet in ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        if char in alphabet:
            return alphabet[(alphabet.index(char) + step) % len(alphabet)]
    return "x" if char != "x" else "y"


def _flip_letter(key: str, which: int, of: int) -> str:
    letters = [i for i, c in enumerate(key) if c.swapcase() != c]
    if not letters:
        return key
    at = letters[round(which * (len(letters) - 1) / max(of - 1, 1))]
    return key[:at] + key[at].swapcase() + key[at + 1 :]


def _wildcard(api_key: str, which: str, *, any_run: str, one: str) -> str:
    """A pattern a matcher (SQL LIKE, glob, regular expression) would let the key through: the pattern for
    anything, the key's first half + it, as many one-character wildcards as the key has characters, or the
    key with a middle character replaced by the one-character wildcard."""
    middle = len(api_key) // 2
    return {
        "any": any_run,
        "prefix": api_key[:middle] + any_run,
        "all": one * len(api_key),
    }.get(which, api_key[:middle] + one + api_key[middle + 1 :])


def derive_key(api_key: str, name: str) -> str:
    """The wrong key the probe ``name`` derives from ``api_key``; never ``api_key`` itself."""
    middle = len(api_key) // 2
    kind, _, arg = name.partition("-")
    probes: dict[str, Callable[[], str]] = {
        "upper": lambda: api_key.upper(),
        "lower": lambda: api_key.lower(),
        "flip": lambda: _flip_letter(api_key, int(arg or 0), KEY_FLIPS),
        "first": lambda: _changed(api_key[:1]) + api_key[1:],
        "middle": lambda: (
            api_key[:middle] + _changed(api_key[middle : middle + 1], 7) + api_key[middle + 1 :]
        ),
        "last": lambda: api_key[:-1] + _changed(api_key[-1:]),
        "prefix": lambda: api_key[: max(1, min(len(api_key) - 1, int(arg) if arg.isdigit() else middle))],
        "chop": lambda: api_key[:-1],
        "space": lambda: api_key + " ",
        "tab": lambda: api_key + "\t",
        "newline": lambda: api_key + "\n",
        "nul": lambda: api_key + "\x00",
        "lead": lambda: " " + api_key,
        "like": lambda: _wildcard(api_key, arg, any_run="%", one="_"),
        "glob": lambda: _wildcard(api_key, arg, any_run="*", one="?"),
        "regex": lambda: _wildcard(api_key, arg, any_run=".*", one="."),
        "empty": lambda: "",
        "blank": lambda: "   ",
        "nonascii": lambda: api_key[:middle] + "\u00e9" + api_key[middle + 1 :],
        "nulinside": lambda: api_key[:middle] + "\x00" + api_key[middle:],
        # whole copies only: a cut copy would be a prefix of the key that no scrubbing hides
        "long": lambda: api_key * (KEY_LONG // max(len(api_key), 1) + 1),
    }
    derived = probes.get(kind, lambda: api_key + "\x00")()
    return derived if derived != api_key else api_key + "\x00"


KEY_LONG = 4096  # characters of the "several KiB" key probe (the key repeated, a prefix-match trap)
KEY_FLIPS = 16  # letters whose case is flipped one at a time, spread over the key
# Wrong keys derived from the configured one (never another real key): the name travels in the Case,
# the transport derives the value. A comparison that ignores case, checks a prefix, skips a character
# or strips whitespace accepts one of these.
KEY_PROBES: tuple[tuple[str, str], ...] = (
    ("upper", "key upper-cased"),
    ("lower", "key lower-cased"),
    *(
        (f"flip-{n}", f"key with letter {n + 1} of {KEY_FLIPS} (spread over the key) case-flipped")
        for n in range(KEY_FLIPS)
    ),
    ("first", "key with the first character changed"),
    ("middle", "key with a middle character changed"),
    ("last", "key with the last character changed"),
    ("chop", "key without its last character"),
    ("prefix-half", "first half of the key"),
    ("prefix-8", "first 8 characters of the key"),
    ("prefix-4", "first 4 characters of the key"),
    ("prefix-2", "first 2 characters of the key"),
    ("space", "key + a space"),
    ("tab", "key + a tab"),
    ("newline", "key + a newline"),
    ("nul", "key + NUL"),
    ("lead", "a space + key"),
    ("like-any", "SQL LIKE wildcard %"),
    ("like-prefix", "first half of the key + %"),
    ("like-one", "key with a middle character replaced by _"),
    ("like-all", "as many _ as the key has characters"),
    ("glob-any", "glob *"),
    ("glob-prefix", "first half of the key + *"),
    ("glob-one", "key with a middle character replaced by ?"),
    ("regex-any", "regular expression .*"),
    ("regex-prefix", "first half of the key + .*"),
    ("regex-one", "key with a middle character replaced by ."),
    ("empty", "an empty value"),
    ("blank", "whitespace only"),
    ("nonascii", "key with a middle character replaced by a non-ASCII letter"),
    ("nulinside", "key with a NUL inserted in the middle"),
    ("long", f"the key repeated to over {KEY_LONG} characters"),
)


def key_probe_secrets(api_key: str) -> list[str]:
    """The key probes long enough to hide wherever the suite writes text, like the key itself."""
    if api_key == API_KEY_PLACEHOLDER:
        return []
    # A probe that contains the key (the key + a space) is hidden by hiding the key; replacing it whole
    # would also eat the space before a key echoed in text.
    # A run of wildcards (as many _ as the key is long) tells only the key's length: not a near-copy.
    probes = key_probe_values(api_key)
    return [
        p
        for p in dict.fromkeys(probes)
        if len(p.strip()) >= KEY_PROBE_MIN_LENGTH and api_key not in p and any(c.isalnum() for c in p)
    ]


def key_probe_values(api_key: str) -> list[str]:
    """Every key probe's value for ``api_key`` (for redaction: these are near-copies of the key)."""
    return [derive_key(api_key, name) for name, _ in KEY_PROBES]


def path_variant(path: str, name: str) -> str:
    """The endpoint ``path`` (with any query) spelt as the variant ``name``; unknown names change nothing."""
    head, slash, last = path.rpartition("/")
    variants = {
        "trailing-slash": path + "/",
        "double-slash": head + "//" + last,
        "upper-case": head + slash + last.upper(),
        "dot-segment": head + "/%2e" + slash + last,
        "percent-encoded": head + slash + "".join(f"%{ord(c):02X}" if c in "_aeiou" else c for c in last),
        "query": path + "?format=xml",
    }
    return variants.get(name, path)


# A case whose label begins so belongs to the wrong-key timing sample (LT-SEC-NON-INTERFERENCE).
TIMING_LABEL = "timing sample"

PATH_VARIANTS = ("trailing-slash", "double-slash", "upper-case", "dot-segment", "percent-encoded", "query")


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
    # How the case travels (issue 11): another method, a variant of the endpoint path, the form in the
    # query string instead of the body, a new connection instead of the pooled one.
    method: str = "POST"
    path_variant: str = ""  # a PATH_VARIANTS name; "" is the endpoint's exact path
    form_in_query: bool = False
    fresh_connection: bool = False
    # Sent under the second client identity (other User-Agent, Accept, Accept-Encoding): an answer that
    # depends on who the client claims to be is a finding (LT-SEC-IDENTITY-BLIND).
    alternate_identity: bool = False
    # How the form is written on the wire (issue 20): a conformance.core.wire SPELLINGS name ("" is a
    # urlencoded body under the stock Content-Type), and request headers added to the client identity's
    # (a client Date, a Cookie, X-Forwarded-For): an equivalent request must get an equivalent answer.
    spelling: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    # A raw-message probe (issue 21: a conformance.exchange.raw PROBES name): the form goes out as the
    # probe's own
    # HTTP/1.1 messages, built and parsed with h11 on a connection of its own; "" is an ordinary request.
    raw: str = ""

    @property
    def wire(self) -> tuple[object, ...]:
        """Everything that decides what goes on the wire for this case, its label and expectation aside."""
        return (
            self.method,
            self.path_variant,
            self.form_in_query,
            self.fresh_connection,
            self.alternate_identity,
            self.spelling,
            self.headers,
            self.form,
            self.raw,
        )

    @property
    def on_endpoint(self) -> bool:
        """True for a POST of the form to the exact endpoint path: the request the contract describes."""
        return self.method == "POST" and not self.path_variant and not self.form_in_query

    def body(self, *, api_key: str) -> bytes:
        """The form-encoded body with the placeholder replaced by ``api_key`` (also inside a longer value)."""
        return urlencode(self.pairs(api_key=api_key)).encode("ascii")

    def pairs(self, *, api_key: str) -> list[tuple[str, str]]:
        """The form with the key (and any key probe derived from it) in place of the markers."""
        if api_key == API_KEY_PLACEHOLDER:  # replay: the markers are what the cassette holds
            return list(self.form)
        return [
            (
                name,
                KEY_PROBE.sub(lambda m: derive_key(api_key, m.group(1)), value).replace(
                    API_KEY_PLACEHOLDER, api_key
                ),
            )
            for name, value in self.form
        ]

    @property
    def case_class(self) -> str:
        """The class of input this case stands for, not the value sent: what a baseline compares.

        The input class that decides the expectation, the expectation, and how the case travels (method,
        path variant, form in the query, spelling, raw probe), e.g. ``LT-INPUT-EXPIRE-VALID:accept:POST``,
        ``LT-INPUT-EQUIVALENT:accept:POST+chunked`` or ``LT-HTTP-MSG-HOST:either:POST+raw:host-missing``: a
        baseline's failure in one spelling or raw probe accepts no other.
        """
        channel = [self.method, *([self.path_variant] if self.path_variant else [])]
        channel += ["form-in-query"] if self.form_in_query else []
        channel += [self.spelling] if self.spelling else []
        channel += [f"raw:{self.raw}"] if self.raw else []
        return f"{self.requirement}:{self.expect.value}:{'+'.join(channel)}"

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


@dataclass(frozen=True)
class RawResponse:
    """One final response read on a raw-message probe's connection, as h11 parsed it."""

    status: int
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]  # names lower-cased, in received order
    body: bytes
    trailers: tuple[tuple[str, str], ...] = ()  # the trailer section of a chunked body, names lower-cased

    def header_values(self, name: str) -> list[str]:
        """Every value of a header (case-insensitive)."""
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]


@dataclass(frozen=True)
class RawOutcome:
    """What a raw-message probe's connection showed: every final response in order, the interim (1xx)
    statuses, whether the server closed the connection, the bytes it sent after the last response it
    completed, why reading stopped early (a TransportError value, '' when it did not), and the headers of
    the interim responses (in received order, names lower-cased)."""

    responses: tuple[RawResponse, ...] = ()
    interim: tuple[int, ...] = ()
    closed: bool = False
    trailing: int = 0
    error: str = ""
    error_detail: str = ""
    interim_headers: tuple[tuple[str, str], ...] = ()


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
    # Replay of a body recorded as an excerpt: what the checks concluded of the whole body, restored
    # instead of judging the excerpt (conformance.cassettes.format.Interaction.judged).
    judged: tuple[CheckResult, ...] | None = None
    # A raw-message probe (Case.raw): everything its connection showed; status, headers and body above
    # are its first final response.
    raw: RawOutcome | None = None

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
    requirement: str | None  # None: the check did not apply to this exchange (or it crashed)
    failure: CheckFailure | None = None
    # The check itself raised (a suite defect, never the target's failure): the exception, as raised.
    crash: str = ""

    @property
    def applied(self) -> bool:
        """True when the check judged this exchange."""
        return self.requirement is not None

    @property
    def passed(self) -> bool:
        """True when the check applied and found nothing wrong."""
        return self.requirement is not None and self.failure is None
