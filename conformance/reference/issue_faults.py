"""Built-in faults in what the target issues: the expiry, the token and the QR code URL."""

from __future__ import annotations

import hashlib
import itertools
import secrets

from conformance.reference.behaviour import QRCODE_BASE, Behaviour, Options
from conformance.reference.faults import fault

# A fault overrides a stage with the stage's full signature, used or not.
# ruff: noqa: ARG002

FIXED_TOKEN = secrets.token_hex(16)

# -- expire ----------------------------------------------------------------------------------------


@fault(name="expire_one_hour_late", kind="wrong expire", requirements=("LT-EXPIRE-CONSISTENT",))
class ExpireOneHourLate(Behaviour):
    """`<expire>` is one hour later than issue time + token_expire (a time-zone slip)."""

    def expire(self, now: float, token_expire: int) -> int:
        return super().expire(now, token_expire) + 3600


@fault(name="expire_in_milliseconds", kind="wrong expire", requirements=("LT-EXPIRE-CONSISTENT",))
class ExpireInMilliseconds(Behaviour):
    """`<expire>` is a Unix time in milliseconds."""

    def expire(self, now: float, token_expire: int) -> int:
        return int(now * 1000) + token_expire * 1000


@fault(name="expire_relative", kind="wrong expire", requirements=("LT-EXPIRE-CONSISTENT",))
class ExpireRelative(Behaviour):
    """`<expire>` is the lifetime in seconds (token_expire itself), not a timestamp."""

    def expire(self, now: float, token_expire: int) -> int:
        return token_expire


@fault(name="expire_ignores_token_expire", kind="wrong expire", requirements=("LT-EXPIRE-CONSISTENT",))
class ExpireIgnoresTokenExpire(Behaviour):
    """`<expire>` is always issue time + 3600, whatever token_expire was asked for."""

    def expire(self, now: float, token_expire: int) -> int:
        return super().expire(now, 3600)


# -- tokens ----------------------------------------------------------------------------------------


@fault(name="token_empty", kind="token missing", requirements=("LT-TOKEN-PRESENT",))
class TokenEmpty(Behaviour):
    """A success carries an empty `<token/>`."""

    def token(self) -> str:
        return ""


@fault(name="token_repeated", kind="token reused", requirements=("LT-TOKEN-UNIQUE",))
class TokenRepeated(Behaviour):
    """Every call returns the same (random-looking) token."""

    def token(self) -> str:
        return FIXED_TOKEN


@fault(name="token_sequential_counter", kind="predictable token", requirements=("LT-TOKEN-STRENGTH",))
class TokenSequentialCounter(Behaviour):
    """Tokens are a 10-digit counter like the sample: 1000000001, 1000000002, ..."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.counter = itertools.count(1_000_000_001)

    def token(self) -> str:
        with self.lock:
            return str(next(self.counter))


@fault(name="token_hex_counter", kind="predictable token", requirements=("LT-TOKEN-STRENGTH",))
class TokenHexCounter(Behaviour):
    """Tokens are a 32-hex-digit counter from a random start: long enough, but sequential."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.counter = itertools.count(secrets.randbits(127))

    def token(self) -> str:
        with self.lock:
            return f"{next(self.counter):032x}"


@fault(name="token_short", kind="weak token", requirements=("LT-TOKEN-STRENGTH",))
class TokenShort(Behaviour):
    """Tokens are 8 random hex digits (32 bits)."""

    def token(self) -> str:
        return secrets.token_hex(4)


# -- qrcode ----------------------------------------------------------------------------------------


@fault(name="qrcode_http", kind="qrcode URL", requirements=("LT-QRCODE-URL",))
class QrcodeHttp(Behaviour):
    """`<qrcode>` is a plain http URL."""

    def qrcode(self) -> str:
        return "http" + super().qrcode().removeprefix("https")


@fault(name="qrcode_relative", kind="qrcode URL", requirements=("LT-QRCODE-URL",))
class QrcodeRelative(Behaviour):
    """`<qrcode>` is a relative URL ("/qr/....png"), which xs:anyURI admits."""

    def qrcode(self) -> str:
        return f"/qr/{secrets.token_hex(8)}.png"


@fault(name="qrcode_empty", kind="qrcode URL", requirements=("LT-QRCODE-URL",))
class QrcodeEmpty(Behaviour):
    """`<qrcode>` is empty, which xs:anyURI admits."""

    def qrcode(self) -> str:
        return ""


# -- issue 11: what only a sample, a burst or a second grant shows ---------------------------------------

SMALL_SPACE_BITS = 8
_BIASED_ALPHABET = "0123456789abcdef" + "0" * 16  # bytes mod 32 into a hex table padded with "0"
RACE_WINDOW = 0.02  # seconds between reading and replacing the shared next token


@fault(name="token_md5_of_small_random", kind="weak token", requirements=("LT-TOKEN-UNIQUE",))
class TokenMd5OfSmallRandom(Behaviour):
    """Tokens are md5 of an 8-bit random number: 32 hex digits that look like 128 bits."""

    def token(self) -> str:
        return hashlib.md5(str(secrets.randbits(SMALL_SPACE_BITS)).encode()).hexdigest()


@fault(name="token_biased_characters", kind="weak token", requirements=("LT-TOKEN-ENTROPY",))
class TokenBiasedCharacters(Behaviour):
    """Random bytes mapped to hex by `byte % 32` into a table padded with "0": half the characters are 0."""

    def token(self) -> str:
        return "".join(_BIASED_ALPHABET[b % len(_BIASED_ALPHABET)] for b in secrets.token_bytes(32))


@fault(
    name="token_race",
    kind="racy token generator",
    requirements=("LT-TOKEN-UNIQUE",),
    recordable=False,  # a recording sends one request at a time: only a live burst overlaps
)
class TokenRace(Behaviour):
    """The next token is prepared ahead in shared state without a lock: parallel requests get the same one."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.next_token = secrets.token_hex(16)

    def token(self) -> str:
        current = self.next_token
        self.options.stopping.wait(RACE_WINDOW)
        self.next_token = secrets.token_hex(16)
        return current


@fault(name="qrcode_same_for_every_grant", kind="qrcode URL", requirements=("LT-QRCODE-DISTINCT",))
class QrcodeSameForEveryGrant(Behaviour):
    """Every grant carries the same `<qrcode>` URL."""

    def qrcode(self) -> str:
        return f"{QRCODE_BASE}login.png"


@fault(name="qrcode_template_unfilled", kind="qrcode URL", requirements=("LT-QRCODE-DISTINCT",))
class QrcodeTemplateUnfilled(Behaviour):
    """`<qrcode>` is a URL template whose placeholder was never filled: `.../{token}.png?n=...`."""

    def qrcode(self) -> str:
        return f"{QRCODE_BASE}{{token}}.png?n={secrets.token_hex(4)}"
