"""Predicting the next token: the generators that a few earlier tokens or the issue time give away.

Distribution statistics (entropy) miss a generator whose outputs look uniform but follow from earlier
ones. The run's TokenPredictor learns every distinct token in issue order (the run's and each user's)
and, from what it learnt, names the tokens it expects next:

- Python's ``random`` (Mersenne Twister): 624 consecutive 32-bit outputs, untempered, are its whole state.
  Tokens that decode (hex, base64, base64url, decimal) to whole 32-bit words are read in the orders
  ``getrandbits``/``randbytes``/``token_hex``-style code produces them (words least significant first:
  little-endian bytes for randbytes, a big-endian rendering of getrandbits' integer for '%x').
- Linear congruential generators x' = (a x + c) mod m, over the run and per user: a, c solved from three
  consecutive values for the usual moduli (2^31-1, 2^32, 2^48, 2^64, the token's width) and m found as a
  gcd from six values; a counter plus a constant is the case a = 1.
- xorshift32/64 on the token's value and xorshift128 on its four 32-bit words.
- A hash chain: md5, sha1, sha256, sha512 of the previous token (its text or its bytes), cut to length.

``time_seeded`` is the other kind: ``random.seed(t)`` for every second and millisecond around the
issue time (the request's send time, its answer, the Date header), then the token's bytes drawn.

A prediction is only a finding when a token the target issues later equals it exactly: for a conforming
generator (secrets.token_*, os.urandom) each prediction matches with probability 2^-(token bits), so a
run's few thousand predictions never raise a false alarm in practice (a token short enough for a chance
match, under 64 bits, fails LT-TOKEN-STRENGTH anyway). Cost is bounded: a handful of modular inverses
and hashes per token (about 0.3 ms), a Mersenne Twister recovery every MT_RETRY_TOKENS tokens after the
first 624 words (the words are untempered once, as they come), tokens of at most MAX_TOKEN_CHARS
characters, and the time window only for the first TIME_SEEDED_TOKENS tokens of a run.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import itertools
import math
import random
import re
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

MT_WORDS = 624
MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF
# Tokens predicted ahead from a recovered Mersenne Twister state: concurrent requests may be answered
# in another order than they were issued.
MT_AHEAD = 16
MT_RETRY_TOKENS = 4  # after a recovery, try again from the newest words this many tokens later
LCG_MODULI = (2**31 - 1, 2**32, 2**48, 2**64, 2**128)
LCG_HISTORY = 6
HASHES = ("md5", "sha1", "sha256", "sha512")
_HASHES = {name: getattr(hashlib, name) for name in HASHES}  # the constructors (hashlib.new looks each up)
TIME_SEEDED_TOKENS = 4  # the first tokens of a run are tried against time seeds (about 2,500 seeds each)
TIME_WINDOW_SECONDS = 1.0  # either side of [sent, sent + elapsed] and the Date header's second
MAX_SEED_SPAN = 10.0  # seconds between the first and last moment searched (about 12,000 seeds at most)
MAX_PREDICTIONS = 4096  # predictions kept at once (the oldest are dropped first)
# Longer tokens are not learnt: the arithmetic on a number of that many digits would let a hostile
# target make each judgement slow, and no generator above is read from tokens this long.
MAX_TOKEN_CHARS = 512


# -- spellings -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Codec:
    """How a token spells bytes (hex in one case, base64 or base64url, padded or not) or a number."""

    name: str
    encode: Callable[[bytes], str]
    pattern: re.Pattern[str]
    numeric: bool = False

    @functools.cached_property
    def family(self) -> str:
        """hex, base64 or decimal: the spellings of one value a target may switch between by chance (a
        base64url token without - or _ also reads as plain base64)."""
        return "base64" if self.name.startswith("base64") else self.name.split()[0]

    def spellings(self, data: bytes) -> set[str]:
        """``data`` in every codec of this one's family."""
        return {codec.encode(data) for codec in _FAMILIES[self.family]}

    def decode(self, token: str) -> bytes | None:
        """The bytes ``token`` spells in this codec, when it spells them exactly this way."""
        if not self.pattern.fullmatch(token):
            return None
        if self.numeric:
            value = int(token)
            return value.to_bytes((value.bit_length() + 7) // 8, "big")
        try:
            if self.name.startswith("hex"):
                data = bytes.fromhex(token)
            else:
                body = token.rstrip("=")
                altchars = b"-_" if "url" in self.name else None
                data = base64.b64decode(body + "=" * (-len(body) % 4), altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            return None
        return data if self.encode(data) == token else None


def _b64(data: bytes, *, urlsafe: bool, padded: bool) -> str:
    text = (base64.urlsafe_b64encode(data) if urlsafe else base64.b64encode(data)).decode("ascii")
    return text if padded else text.rstrip("=")


CODECS = (
    Codec("hex", bytes.hex, re.compile(r"(?:[0-9a-f]{2})+")),
    Codec("hex upper-case", lambda data: data.hex().upper(), re.compile(r"[0-9A-F]*[A-F][0-9A-F]*")),
    Codec("base64", lambda data: _b64(data, urlsafe=False, padded=True), re.compile(r"[A-Za-z0-9+/]+={0,2}")),
    Codec(
        "base64 unpadded", lambda data: _b64(data, urlsafe=False, padded=False), re.compile(r"[A-Za-z0-9+/]+")
    ),
    Codec(
        "base64url", lambda data: _b64(data, urlsafe=True, padded=True), re.compile(r"[A-Za-z0-9_-]+={0,2}")
    ),
    Codec(
        "base64url unpadded",
        lambda data: _b64(data, urlsafe=True, padded=False),
        re.compile(r"[A-Za-z0-9_-]+"),
    ),
    Codec(
        "decimal",
        lambda data: str(int.from_bytes(data, "big")),
        re.compile(r"[1-9][0-9]{0,199}"),
        numeric=True,
    ),
)


_FAMILIES: dict[str, tuple[Codec, ...]] = {
    family: tuple(c for c in CODECS if c.family == family) for family in {c.family for c in CODECS}
}


def readings(token: str) -> list[tuple[Codec, bytes]]:
    """The codecs that read ``token`` exactly, each distinct reading once: a token that reads as hex is
    not also read as base64 (a digits-only one is read as hex and as a decimal number)."""
    found: list[tuple[Codec, bytes]] = []
    for codec in CODECS:
        if codec.name.startswith("base64") and found and not found[-1][0].name.startswith("base64"):
            continue
        data = codec.decode(token)
        if data and all(data != seen for _, seen in found):
            found.append((codec, data))
    return found


# -- the Mersenne Twister ----------------------------------------------------------------------------


def untemper(y: int) -> int:
    """The MT19937 state word behind one 32-bit output."""
    y ^= y >> 18
    y ^= (y << 15) & 0xEFC60000
    t = y
    for _ in range(5):
        t = y ^ ((t << 7) & 0x9D2C5680)
    y = t & MASK32
    t = y
    for _ in range(3):
        t = y ^ (t >> 11)
    return t & MASK32


def mt_from_states(states: list[int]) -> random.Random:
    """A generator whose next output follows the MT_WORDS consecutive outputs whose untempered
    ``states`` these are."""
    generator = random.Random()
    generator.setstate((3, (*states[-MT_WORDS:], MT_WORDS), None))
    return generator


def words_of(data: bytes, layout: str) -> list[int] | None:
    """32-bit outputs in generation order: 'le' for randbytes, 'be' for an integer printed big-endian."""
    if len(data) % 4:
        return None
    ordered = data if layout == "le" else data[::-1]
    return [int.from_bytes(ordered[i : i + 4], "little") for i in range(0, len(ordered), 4)]


# -- the predictor -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """A token expected next, and how it was derived."""

    how: str
    learnt: int  # how many distinct tokens had been learnt when it was made


@dataclass
class _MtStream:
    codec: Codec
    layout: str
    states: deque[int] = field(default_factory=lambda: deque(maxlen=MT_WORDS))  # untempered outputs
    since_attempt: int = MT_WORDS  # words added since the last recovery attempt (the first: at once)


@dataclass
class TokenPredictor:
    """Learns the run's tokens in issue order; ``predicted`` maps a token not yet seen to its prediction."""

    predicted: OrderedDict[str, Prediction] = field(default_factory=OrderedDict)
    learnt: int = 0
    _streams: dict[tuple[str, str, int], _MtStream] = field(default_factory=dict)
    _values: dict[tuple[object, str, int], deque[int]] = field(default_factory=dict)

    def learn(self, token: str, *, user: int | None) -> None:
        """Note the next distinct token (issued for ``user``) and predict from it."""
        self.learnt += 1
        self.predicted.pop(token, None)
        if len(token) > MAX_TOKEN_CHARS:
            return
        read = readings(token)
        self._chain(token, read)  # a hash of the token is the same prediction for any user
        for scope in ("run", ("user", user)) if user is not None else ("run",):
            for codec, data in read:
                self._numbers(scope, codec, data, len(token), first=scope == "run")
        for codec, data in read:
            for layout in ("le", "be"):
                self._twister(codec, layout, data, len(token))
        while len(self.predicted) > MAX_PREDICTIONS:  # the oldest first, in O(1) (a dict rescans its start)
            self.predicted.popitem(last=False)

    def _predict(self, token: str, how: str) -> None:
        if token and token not in self.predicted:
            self.predicted[token] = Prediction(how, self.learnt)

    def _chain(self, token: str, read: list[tuple[Codec, bytes]]) -> None:
        """The next token as a hash of this one (its text, or its bytes), cut to this token's length."""
        spellings = [codec for codec, _ in read if not codec.numeric]
        sources = [("text", token.encode())]
        sources += [(f"{codec.name} bytes", data) for codec, data in read if not codec.numeric][:1]
        for name in HASHES:
            for source, material in sources:
                digest = _HASHES[name](material).digest()
                for codec in spellings:
                    guess = codec.encode(digest)[: len(token)]
                    if len(guess) == len(token):
                        self._predict(guess, f"{name} of an earlier token's {source}")

    def _numbers(self, scope: object, codec: Codec, data: bytes, length: int, *, first: bool) -> None:
        """LCG steps from the scope's tokens read as numbers; xorshift steps from this one (``first``: once
        per token, whatever the scope)."""
        key = (scope, codec.family, length)
        values = self._values.setdefault(key, deque(maxlen=LCG_HISTORY))
        value = int.from_bytes(data, "big")
        values.append(value)
        if not first and values == self._values.get(("run", codec.family, length)):
            return  # the user's tokens so far are the run's: the run's steps predicted the same already
        width = 8 * len(data)
        who = _scope_name(scope)

        def emit(number: int, how: str) -> None:
            if 0 <= number < 2**width:
                for guess in codec.spellings(number.to_bytes(len(data), "big")):
                    if codec.numeric or len(guess) == length:
                        self._predict(guess, f"{how} ({who}, {codec.family})")

        for name, step in _xorshifts(value, width) if first else ():
            emit(step, name)
        if len(values) < 3:
            return
        x0, x1, x2 = values[-3], values[-2], values[-1]
        moduli = {*(m for m in LCG_MODULI if m > max(values)), 2**width}
        if len(values) >= LCG_HISTORY:
            found = _modulus(list(values))
            if found > max(values):
                moduli.add(found)
        for m in sorted(moduli):
            solved = _lcg(x0, x1, x2, m)
            if solved is not None:
                a, c = solved
                emit((a * x2 + c) % m, f"linear congruential x' = ({a:#x} x + {c:#x}) mod {_modulus_name(m)}")

    def _twister(self, codec: Codec, layout: str, data: bytes, length: int) -> None:
        """Collect 32-bit outputs; with MT_WORDS of them, recover the state and predict MT_AHEAD tokens."""
        if codec.numeric:
            if layout == "le":
                return  # a number's words are least significant first: the big-endian reading only
            data = _padded(int.from_bytes(data, "big"))
        words = words_of(data, layout)
        if not words:
            return
        # A number's decimal spelling varies in length: its stream is one for every length.
        key = (codec.family, layout, 0 if codec.numeric else length)
        stream = self._streams.setdefault(key, _MtStream(codec, layout))
        stream.states.extend(untemper(w) for w in words)  # untempered once, as they come
        stream.since_attempt += len(words)
        if len(stream.states) < MT_WORDS or stream.since_attempt < MT_RETRY_TOKENS * len(words):
            return
        stream.since_attempt = 0
        generator = mt_from_states(list(stream.states))
        order = "randbytes order" if layout == "le" else "getrandbits order"
        # The next MT_AHEAD tokens' words in one draw: getrandbits(32 k) holds k outputs, the first in its
        # least significant word, so its little-endian bytes are the words in randbytes order.
        size = 4 * len(words)
        ahead_bytes = generator.getrandbits(8 * size * MT_AHEAD).to_bytes(size * MT_AHEAD, "little")
        for ahead in range(1, MT_AHEAD + 1):
            chunk = ahead_bytes[size * (ahead - 1) : size * ahead]
            how = (
                f"Mersenne Twister (Python random) state recovered from the last {MT_WORDS} 32-bit "
                f"words of the tokens ({codec.family}, {order}), {ahead} token(s) ahead"
            )
            for guess in codec.spellings(chunk if layout == "le" else chunk[::-1]):
                self._predict(guess, how)


def _padded(value: int) -> bytes:
    """A number as big-endian bytes of whole 32-bit words (what getrandbits(32 k) printed in decimal held)."""
    return value.to_bytes(4 * math.ceil(value.bit_length() / 32), "big")


def _scope_name(scope: object) -> str:
    return (
        "across users" if scope == "run" else f"user {scope[1]}" if isinstance(scope, tuple) else str(scope)
    )


def _xorshifts(value: int, width: int) -> list[tuple[str, int]]:
    steps = []
    if width == 32 and value:
        x = value
        x ^= (x << 13) & MASK32
        x ^= x >> 17
        x ^= (x << 5) & MASK32
        steps.append(("xorshift32", x))
    if width == 64 and value:
        x = value
        x ^= (x << 13) & MASK64
        x ^= x >> 7
        x ^= (x << 17) & MASK64
        steps.append(("xorshift64", x))
    if width == 128 and value:
        x, y, z, w = ((value >> (96 - 32 * i)) & MASK32 for i in range(4))
        out = []
        for _ in range(4):
            t = x ^ ((x << 11) & MASK32)
            x, y, z = y, z, w
            w = w ^ (w >> 19) ^ t ^ (t >> 8)
            out.append(w)
        steps.append(
            (
                "xorshift128 (four 32-bit outputs)",
                int.from_bytes(b"".join(o.to_bytes(4, "big") for o in out), "big"),
            )
        )
    return steps


def _lcg(x0: int, x1: int, x2: int, m: int) -> tuple[int, int] | None:
    """(a, c) with x1 = a x0 + c and x2 = a x1 + c (mod m), when the step x1 - x0 is invertible."""
    d0, d1 = (x1 - x0) % m, (x2 - x1) % m
    if d0 == 0 or math.gcd(d0, m) != 1:
        return None
    a = d1 * pow(d0, -1, m) % m
    return a, (x1 - a * x0) % m


def _modulus(values: list[int]) -> int:
    """The modulus an LCG's consecutive ``values`` share: the gcd of t2 t0 - t1^2 over the steps t."""
    steps = [b - a for a, b in itertools.pairwise(values)]
    found = 0
    for t0, t1, t2 in zip(steps, steps[1:], steps[2:], strict=False):
        found = math.gcd(found, abs(t2 * t0 - t1 * t1))
    return found


def _modulus_name(m: int) -> str:
    if m & (m - 1) == 0:
        return f"2^{m.bit_length() - 1}"
    if (m + 1) & m == 0:
        return f"2^{m.bit_length()}-1"
    return f"{m:#x}"


# -- generators seeded with the issue time -------------------------------------------------------------


MAX_MOMENT = 2.0**40  # seconds since the epoch: past it (year 36812) a Date or clock is not a seed source


def time_seed_ranges(moments: list[float], *, window: float = TIME_WINDOW_SECONDS) -> tuple[range, range]:
    """The whole seconds and the milliseconds within ``window`` of [min(moments), max(moments)] (moments
    that are not finite, from a hostile clock or a corrupt recording, give none)."""
    moments = [moment for moment in moments if 0 <= moment <= MAX_MOMENT]
    if not moments:
        return range(0), range(0)
    low = min(moments) - window
    high = min(max(moments), min(moments) + MAX_SEED_SPAN) + window  # a slow answer widens it no further
    return (
        range(math.floor(low), math.ceil(high) + 1),
        range(math.floor(low * 1000), math.ceil(high * 1000) + 1),
    )


@functools.lru_cache(maxsize=64)
def _draws(seconds: range, millis: range, bits: int) -> dict[int, tuple[int, str]]:
    """Each draw of ``bits`` bits after ``random.seed(t)`` for t in the seconds, then the milliseconds ->
    (t, how it was seeded), the first t kept. Remembered: a run's tokens (and a test's exchanges) search
    the same windows again, and seeding is most of the cost."""
    table: dict[int, tuple[int, str]] = {}
    for seeds, unit in ((seconds, "second"), (millis, "millisecond")):
        for seed in seeds:
            table.setdefault(
                random.Random(seed).getrandbits(bits), (seed, f"random.seed({seed}) (the issue {unit})")
            )
    return table


@dataclass(frozen=True)
class TimeSeed:
    """A token found to be ``random.seed(seed)`` then one draw of ``bits`` bits, spelled by ``codec``."""

    seed: int
    seeded_how: str
    bits: int
    little_endian: bool  # randbytes: the drawn integer's bytes least significant first
    codec: Codec

    @property
    def how(self) -> str:
        """The finding, in words."""
        draw = f"randbytes({self.bits // 8})" if self.little_endian else f"getrandbits({self.bits})"
        return f"{self.seeded_how}, then {draw}, {self.codec.name}"

    def redraw(self, seed: int) -> str:
        """The token the same code would have issued with ``seed``."""
        drawn = random.Random(seed).getrandbits(self.bits).to_bytes(self.bits // 8, "big")
        return self.codec.encode(drawn[::-1] if self.little_endian else drawn)


def time_seed(token: str, moments: list[float]) -> TimeSeed | None:
    """The time seed ``token`` was drawn from, for a t around the issue time, else None."""
    targets: dict[tuple[int, int], tuple[bool, Codec]] = {}
    for codec, data in readings(token) if len(token) <= MAX_TOKEN_CHARS else ():
        if codec.numeric:
            data = _padded(int.from_bytes(data, "big"))
        bits = 8 * len(data)
        if bits < 32 or bits > 4096:
            continue
        targets[(bits, int.from_bytes(data, "big"))] = (False, codec)
        if not codec.numeric:
            targets.setdefault((bits, int.from_bytes(data, "little")), (True, codec))
    seconds, millis = time_seed_ranges(moments)
    for (bits, value), found in targets.items():
        seeded = _draws(seconds, millis, bits).get(value)
        if seeded is not None:
            return TimeSeed(*seeded, bits, *found)
    return None


def time_seeded(token: str, moments: list[float]) -> str | None:
    """How ``token`` follows from ``random.seed(t)`` for a t around the issue time, else None."""
    found = time_seed(token, moments)
    return None if found is None else found.how
