"""Every secret of a run and every way it can be spelled: the one home for finding and scrubbing them.

A secret (the api_key, a token the target issued) can reach text in many spellings: as is,
percent-encoded (either hex case, ``+`` for a space), XML-escaped, as numeric character references
(decimal or hex, any mix), split by XML comments or CDATA sections, base64 or base64url (at any
alignment inside a longer encoded string), and in UTF-16/32 bytes. Finding works on *views* of a text
(the XML view with markup gaps removed and references resolved, the percent-decoded view) searched for
the few literal needles of each secret, precomputed once per secret. Scrubbing replaces the literal
spellings, then cuts out whatever a view still finds with a per-secret pattern, and withholds the whole
text when even that cannot remove it: a scrubbed text never holds a secret in any spelling found here.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import functools
import hashlib
import html
import re
import string
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import AnyStr
from urllib.parse import quote, quote_plus

from conformance.model import API_KEY_PLACEHOLDER, key_probe_secrets

# Shorter secrets would match unrelated text (a status, a user_id) and garble it.
MIN_SECRET_LENGTH = 4
# A token shorter than this is *weak*: its value may also be a number, part of a digest, an id or a name
# the suite wrote by chance (a counter token 1000000057 is also a user_id Hypothesis generated). It is
# replaced wherever it stands as a word of its own, and found (the echo of a leak) only where a
# credential stands: after a credential name, inside a token element. Longer tokens and the key are
# found and replaced inside anything, in every spelling.
STRONG_TOKEN_LENGTH = 16
# A base64 run shorter than this is too likely to occur by chance.
MIN_ENCODED_LENGTH = 8
WIDE_CODECS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
KEY_KIND, TOKEN_KIND = "api_key", "token"
# Finding samples the text every few characters and looks the gram there up in an index of the grams a
# sample can land on inside each needle: a needle always covers a sampled gram, so the cost grows with the
# text (divided by the stride), not with secrets x spellings. Three sizes of needle, three indexes
# (gram, shortest needle): the stride is shortest - gram + 1.
LONG_INDEX = (8, 16)
MEDIUM_INDEX = (4, MIN_ENCODED_LENGTH)  # short tokens' base64 spellings and 8-15 character values
TINY_INDEX = (4, MIN_SECRET_LENGTH)  # 4-7 character values: every position is sampled
DIRECT_MAX_NEEDLES = 64
# A comment inside a spelled secret is bounded, and an unterminated comment runs to the end of the
# text: either way no position is scanned twice to the end (a body of many "<!--" stays linear).
_GAP = r"(?:<!--.{0,1024}?-->|<!\[CDATA\[|\]\]>)*"
_GAPS = re.compile(r"<!--.*?(?:-->|\Z)|<!\[CDATA\[|\]\]>", re.S)
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_NAMED_REF = re.compile(r"&(amp|lt|gt|quot|apos);")
_MAX_CODE_POINT = 0x10FFFF
_ESCAPE = re.compile(r"%[0-9A-F]{2}")
_PERCENT_RUN = re.compile(r"(?:%[0-9a-fA-F]{2})+")


def _char(match: re.Match[str]) -> str:
    hex_digits, decimal = match.groups()
    number = int(hex_digits, 16) if hex_digits else int(decimal)
    return chr(number) if 0 < number <= _MAX_CODE_POINT else match.group(0)


def xml_view(text: str) -> str | None:
    """``text`` with comments and CDATA markers removed and character references resolved; None: same."""
    if "&" not in text and "<!" not in text and "]]>" not in text:
        return None
    text = _GAPS.sub("", text)
    text = _CHAR_REF.sub(_char, text)
    return _NAMED_REF.sub(lambda m: _NAMED[m.group(1)], text)


def _percent_view(text: str) -> str | None:
    # Not urllib's unquote_plus: it splits at every "%", and a body of a million of them costs seconds.
    if "%" not in text and "+" not in text:
        return None
    return _PERCENT_RUN.sub(_percent_decoded, text.replace("+", " "))


def _percent_decoded(match: re.Match[str]) -> str:
    return bytes.fromhex(match.group(0).replace("%", "")).decode("utf-8", "surrogateescape")


def views(text: str) -> list[str]:
    """The texts a secret is searched in: as is, XML-resolved, percent-decoded, and both."""
    out = [text]
    xml = xml_view(text)
    if xml is not None:
        out.append(xml)
    for view in list(out):
        decoded = _percent_view(view)
        if decoded is not None and decoded != view:
            out.append(decoded)
    return out


# -- the key in any reversible spelling --------------------------------------------------------------
# Literal needles cannot list every spelling a target may invent, so the key and its probes are also
# searched in *normalised* views of a text: decoded (percent-decoding to a fixed point, XML/HTML
# entities, JSON/C escapes, quoted-printable), then with separators removed and case folded, forwards
# and reversed, and in the bytes of every base64/base64url, base32 and hex run (whitespace and line breaks
# removed first; UTF-16/32 bytes fold to the same letters once their NULs are dropped). The cost is linear:
# a text is read in windows of DEEP_WINDOW characters (overlapping by the longest spelling), each window
# gives at most MAX_DECODED_VIEWS decoded views, and each base-N run is decoded at every alignment once.
DEEP_MIN_LENGTH = 8  # a key (or probe) folding to fewer letters and digits is searched literally only
DEEP_WINDOW = 256 * 1024
DEEP_OVERLAP_FACTOR = 16  # the longest spelling searched per character: a padded numeric reference
MAX_DECODED_VIEWS = 8
MAX_PERCENT_ROUNDS = 8
_SEPARATORS = re.compile(r"[\W_]+")
_NOT_ASCII_ALNUM = bytes(b for b in range(256) if not chr(b).isascii() or not chr(b).isalnum())
_WHITESPACE = re.compile(r"\s+")
_ESCAPED = re.compile(
    r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2})|u\{([0-9a-fA-F]{1,6})\}|(.))", re.S
)
_ESCAPED_CHARS = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "0": "\x00"}
_QP_SOFT_BREAK = re.compile(r"=\r?\n")
_QP_RUN = re.compile(r"(?:=[0-9A-Fa-f]{2})+")
_QP_ESCAPE = re.compile(r"=[0-9A-Fa-f][0-9A-Fa-f]")
_ANY_PERCENT_RUN = re.compile(r"(?:%[0-9a-fA-F]{2})+")
_NOT_BASE64 = bytes(b for b in range(128) if chr(b) not in string.ascii_letters + string.digits + "+/-_")
_BASE64URL = bytes.maketrans(b"-_", b"+/")
_NOT_BASE32 = bytes(b for b in range(128) if chr(b) not in string.ascii_lowercase + "234567")
_BASE32_DIGITS = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz234567", b"0123456789abcdefghijklmnopqrstuv")
# Byte maps that turn a text into runs of "a" (characters of an alphabet) and spaces: a run is then a
# substring search, in C (a regular expression tries every position).
HINT_RUN = 8


@functools.cache
def _class_map(alphabet: str) -> bytes:
    return bytes(ord("a") if chr(b) in alphabet else ord(" ") for b in range(256))


_BASE64_CLASS = _class_map(string.ascii_letters + string.digits + "+/-_")
_BASE32_UPPER_CLASS = _class_map(string.ascii_uppercase + "234567")
_BASE32_LOWER_CLASS = _class_map(string.ascii_lowercase + "234567")
_HEX_CLASS = _class_map("0123456789abcdef")  # in a folded view


def _has_run(view: str, class_map: bytes, length: int = HINT_RUN) -> bool:
    return b"a" * length in view.encode("ascii", "ignore").translate(class_map)


def class_runs(view: str, alphabet: str, length: int) -> list[str]:
    """The runs of at least ``length`` characters of ``alphabet`` (ASCII) standing alone in ``view``."""
    mapped = view.encode("ascii", "replace").translate(_class_map(alphabet))
    runs, seed, at = [], b"a" * length, 0
    while (at := mapped.find(seed, at)) >= 0:  # a C substring search from run to run
        end = mapped.find(b" ", at)
        end = len(mapped) if end < 0 else end
        runs.append(view[at:end])
        at = end
    return runs


_NOT_HEX = bytes(b for b in range(128) if chr(b) not in string.hexdigits)


def folded(text: str) -> str:
    """``text`` with every separator (anything but letters and digits) removed and case folded."""
    if text.isascii():
        return _folded_bytes(text.encode("ascii")).decode("ascii")
    return _SEPARATORS.sub("", text).casefold()


def _folded_bytes(data: bytes) -> bytes:
    """Only the ASCII letters and digits of ``data``, lower-cased (UTF-16/32 NULs fall away too)."""
    return data.translate(None, _NOT_ASCII_ALNUM).lower()


def _unescaped(match: re.Match[str]) -> str:
    four, eight, two, braced, other = match.groups()
    digits = four or eight or two or braced
    if digits:
        number = int(digits, 16)
        return chr(number) if number <= _MAX_CODE_POINT else match.group(0)
    return _ESCAPED_CHARS.get(other, other)


def _escapes_view(text: str) -> str | None:
    if "\\" not in text:
        return None
    # Surrogate pairs written as two \u escapes become one character.
    return _ESCAPED.sub(_unescaped, text).encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _entities_view(text: str) -> str | None:
    return html.unescape(text) if "&" in text else None


def _percent_fixed_point(text: str) -> str | None:
    if "%" not in text:
        return None
    decoded = text
    for _ in range(MAX_PERCENT_ROUNDS):
        step = _ANY_PERCENT_RUN.sub(_percent_decoded, decoded)
        if step == decoded:
            break
        decoded = step
    return decoded


def _quoted_printable_view(text: str) -> str | None:
    if not _QP_ESCAPE.search(text) and "=\n" not in text:
        return None
    text = _QP_SOFT_BREAK.sub("", text)
    return _QP_RUN.sub(
        lambda m: bytes.fromhex(m.group(0).replace("=", "")).decode("utf-8", "surrogateescape"), text
    )


_TEXT_DECODERS = (_percent_fixed_point, _entities_view, _escapes_view, _quoted_printable_view)


def decoded_views(text: str) -> list[str]:
    """``text`` and what each text decoder (and each pair of them) makes of it, at most MAX_DECODED_VIEWS."""
    out, frontier = [text], [text]
    for _ in range(2):
        next_frontier = []
        for view in frontier:
            for decoder in _TEXT_DECODERS:
                decoded = decoder(view)
                if decoded is not None and decoded not in out and len(out) < MAX_DECODED_VIEWS:
                    out.append(decoded)
                    next_frontier.append(decoded)
        frontier = next_frontier
    return out


def _alphabet(view: str, drop: bytes) -> bytes:
    """The ASCII characters of ``view`` that ``drop`` does not list, in order."""
    return view.encode("ascii", "ignore").translate(None, drop)


def _base64_decodings(view: str) -> Iterator[bytes]:
    # Every base64/base64url character of the view, in order: an encoded run (split by line breaks or
    # glued to its neighbours) is whole in it, and one of the four alignments decodes it.
    alphabet = _alphabet(view, _NOT_BASE64).translate(_BASE64URL)
    for offset in range(4):
        part = alphabet[offset:]
        yield binascii.a2b_base64(part[: len(part) // 4 * 4])


def _base32_decodings(view: str) -> Iterator[bytes]:
    # int() reads base 32 in C (base64.b32decode loops in Python): the RFC 4648 alphabet mapped onto it.
    digits = _alphabet(view.lower(), _NOT_BASE32).translate(_BASE32_DIGITS)
    for offset in range(8):
        part = digits[offset:]
        bits = 5 * len(part)
        if bits >= 8:
            yield (int(part, 32) >> (bits % 8)).to_bytes(bits // 8, "big")


def _hex_decodings(fold: str) -> Iterator[bytes]:
    digits = _alphabet(fold, _NOT_HEX)
    for offset in range(2):
        part = digits[offset:]
        yield bytes.fromhex(part[: len(part) // 2 * 2].decode("ascii"))


@functools.lru_cache(maxsize=64)
def normalised_views(text: str) -> tuple[str, bytes]:
    """The folded views of ``text`` a key is searched in, joined by a separator no needle holds: the
    decoded texts, and the bytes of base-N runs (ASCII letters and digits; see DEEP_WINDOW for bounds)."""
    texts, data = [], []
    for view in decoded_views(text):
        fold = folded(view)
        texts.append(fold)
        # Decoded only where a run of the alphabet shows: a body of short words costs a search, not a decode.
        decoded = [*_base64_decodings(view)] if _has_run(view, _BASE64_CLASS) else []
        upper, lower = _has_run(view, _BASE32_UPPER_CLASS), _has_run(view, _BASE32_LOWER_CLASS)
        decoded += _base32_decodings(view) if upper or lower else []
        decoded += _hex_decodings(fold) if _has_run(fold, _HEX_CLASS) else []
        data += [_folded_bytes(d) for d in decoded if len(d) >= DEEP_MIN_LENGTH]
    return " ".join(texts), b" ".join(data)


def _windows(text: str, overlap: int) -> Iterator[str]:
    if len(text) <= DEEP_WINDOW + overlap:
        yield text
        return
    for start in range(0, len(text), DEEP_WINDOW):
        yield text[start : start + DEEP_WINDOW + overlap]


def _base64_cores(data: bytes) -> set[str]:
    """The parts of base64(…data…) that do not depend on the neighbours, at each of the 3 alignments."""
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode("ascii")
        start = (0, 2, 3)[offset]
        end = (offset + len(data)) // 3 * 4
        core = encoded[start:end]
        if len(core) >= MIN_ENCODED_LENGTH:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))
    padded = base64.b64encode(data).decode("ascii")
    cores |= {padded, base64.urlsafe_b64encode(data).decode("ascii"), padded.rstrip("=")}
    return {c for c in cores if len(c) >= MIN_ENCODED_LENGTH}


def _encoded_forms(value: str) -> set[str]:
    """Base64 and base64url of the value in UTF-8 and in UTF-16/32."""
    forms = _base64_cores(value.encode("utf-8", "surrogatepass"))
    for codec in WIDE_CODECS:
        forms |= _base64_cores(value.encode(codec, "surrogatepass"))
    return forms


def _char_alternatives(char: str) -> str:
    code = ord(char)
    options = [re.escape(char), f"&#0*{code};", f"&#[xX]0*{_any_case(f'{code:x}')};"]
    options += [f"&{name};" for name, value in _NAMED.items() if value == char]
    if code < 0x80 and not char.isalnum():
        options.append(f"%{_any_case(f'{code:02x}')}")
    return "(?:" + "|".join(options) + ")"


def _lower_escapes(text: str) -> str:
    return _ESCAPE.sub(lambda m: m.group(0).lower(), text)


def _any_case(hex_digits: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in hex_digits)


def spellings(value: str) -> tuple[str, ...]:
    """Literal text spellings of ``value`` (longest first): raw, percent, XML-escaped, base64 forms."""
    forms = {
        value,
        quote(value, safe=""),
        _lower_escapes(quote(value, safe="")),
        quote_plus(value, safe=""),
        html.escape(value),
        html.escape(value, quote=False),
        "".join(f"&#{ord(c)};" for c in value),
        "".join(f"&#x{ord(c):x};" for c in value),
    }
    forms |= _encoded_forms(value)
    return tuple(sorted(forms, key=len, reverse=True))


def wide_spellings(value: str) -> tuple[bytes, ...]:
    """The value as UTF-16 and UTF-32 bytes (both byte orders)."""
    return tuple(value.encode(codec, "surrogatepass") for codec in WIDE_CODECS)


# -- credentials by name and position ----------------------------------------------------------------
# A name says a value is a credential when one of its words (split at separators and camelCase) is a
# credential word, or ends like one (PHPSESSID), and no word qualifies it as something else
# (token_expire, status_code, token_type).
CREDENTIAL_WORDS = frozenset(
    {"token", "secret", "session", "sessionid", "sid", "jwt", "password", "passwd", "pwd", "apikey"}
    | {"credential", "credentials", "bearer", "ticket", "otp", "csrf", "xsrf", "assertion", "signature"}
    | {"sig", "code", "key", "auth", "authorization", "cookie", "nonce", "pin", "passcode"}
)
CREDENTIAL_SUFFIXES = ("token", "secret", "sessid", "session", "sessionid", "password", "apikey")
QUALIFIER_WORDS = frozenset(
    {"expire", "expires", "expiry", "expiration", "exp", "ttl", "type", "len", "length", "count", "max"}
    | {"min", "lifetime", "timeout", "status", "error", "http", "reason", "public", "name", "format"}
    | {"version", "url", "uri", "endpoint", "path", "qr", "qrcode", "hint", "country", "zip", "postal"}
)
_NAME_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
# A name worth a closer look holds one of these stems: they are searched for first (in the lower-cased
# text: an alternation ignoring case tries every position), so a body of a hundred thousand ordinary
# attributes costs one pass, not a parse.
STEMS = (
    *("token", "secret", "sess", "sid", "jwt", "pass", "pwd", "key", "cred", "bearer", "ticket", "otp"),
    *("csrf", "xsrf", "assertion", "sig", "code", "auth", "cookie", "nonce", "pin"),
)
MAX_NAME_REACH = 40  # characters of a name on either side of its stem
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_.-")
_NAME_TAIL = re.compile(rf"[A-Za-z0-9_.\-]{{0,{MAX_NAME_REACH}}}")
# name=value, name: value, "name": "value" (query strings, fragments, forms, cookies, JSON, text)
_PAIR_VALUE = re.compile(r"[\"']?\s{0,4}[:=]\s{0,4}[\"']?([^\s\"'&;,<>(){}\[\]#?]{1,512})")
# <name ...>value (an XML or HTML element whose name is a credential name)
_ELEMENT_VALUE = re.compile(r"(?:\s[^<>]{0,512})?>\s*(?:<!\[CDATA\[)?\s*([^<\s\]]{1,512})")
# HTML elements whose names are credential words: <code>x</code> is markup, code=x is a credential.
MARKUP_ELEMENTS = frozenset({"code", "key", "pin"})
_ELEMENT_OPEN = re.compile(r"<(?:[A-Za-z][\w.\-]{0,31}:)?\Z")
WORD = re.compile(r"[A-Za-z0-9]+")


def credential_name(name: str) -> bool:
    """True when ``name`` (a field, parameter, header, cookie or element name) names a credential."""
    words = [w.lower() for w in _NAME_WORDS.findall(name)]
    if not words or any(w in QUALIFIER_WORDS for w in words):
        return False
    return any(w in CREDENTIAL_WORDS or w.endswith(CREDENTIAL_SUFFIXES) for w in words)


def credential_positions(text: str, low: str | None = None) -> Iterator[str]:
    """Every value ``text`` puts where only a credential stands: after a credential name, in its element.

    ``low``: ``lowered(text)`` when the caller has it already.
    """
    done = 0
    for stem in _STEM.finditer(lowered(text) if low is None else low):
        if stem.start() < done:
            continue  # a second stem in a name already looked at
        start = stem.start()
        while start > max(0, stem.start() - MAX_NAME_REACH) and text[start - 1] in _NAME_CHARS:
            start -= 1
        done = _NAME_TAIL.match(text, stem.end()).end()  # type: ignore[union-attr]  # {0,n} matches
        if not credential_name(text[start:done]):
            continue
        value = _PAIR_VALUE.match(text, done)
        element = text[start:done].lower() not in MARKUP_ELEMENTS
        if value is None and element and _ELEMENT_OPEN.search(text, max(0, start - 34), start):
            value = _ELEMENT_VALUE.match(text, done)
        if value is not None:
            yield value.group(1)


def lowered(text: str) -> str:
    """``text`` lower-cased character for character (a non-ASCII character becomes one ``?``)."""
    return (text if text.isascii() else text.encode("ascii", "replace").decode("ascii")).lower()


_STEM = re.compile("|".join(STEMS))


def _standalone(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is a word of its own: no letter or digit beside it, no decimal point
    joining it to digits (0.1000000001 is a number, not the token 1000000001)."""
    before, after = text[max(0, start - 2) : start], text[end : end + 2]
    if WORD.match(before[-1:]) or WORD.match(after[:1]):
        return False
    return not (re.fullmatch(r"[0-9]\.", before) or re.fullmatch(r"\.[0-9]", after))


@dataclass
class Secret:
    """One secret, what stands in for it, and its precomputed spellings."""

    value: str
    kind: str
    replacement: str
    needles: tuple[str, ...] = ()  # what finding searches the views for
    pairs: tuple[tuple[str, str], ...] = ()  # (spelling, replacement) for scrubbing, longest first
    wide: tuple[tuple[bytes, bytes], ...] = ()
    weak: bool = False  # a short token: found only where it stands as a token (see SecretBook)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, value: str, kind: str, replacement: str) -> Secret:
        """A secret with its needles and replacement pairs."""
        if kind == TOKEN_KIND and len(value) < STRONG_TOKEN_LENGTH:
            return cls(value, kind, replacement, weak=True)
        encoded = _encoded_forms(value)
        needles = tuple(sorted({value} | encoded, key=len, reverse=True))
        pairs: dict[str, str] = {}
        # The first replacement for a spelling wins: a token whose escaped form is itself keeps its own.
        for spelling, spelled in (
            (value, replacement),
            (quote(value, safe=""), quote(replacement, safe="")),
            (_lower_escapes(quote(value, safe="")), quote(replacement, safe="")),
            (quote_plus(value, safe=""), quote_plus(replacement, safe="")),
            (html.escape(value), html.escape(replacement)),
            (html.escape(value, quote=False), html.escape(replacement, quote=False)),
            *((form, replacement) for form in encoded),
        ):
            pairs.setdefault(spelling, spelled)
        ordered = tuple(sorted(pairs.items(), key=lambda p: len(p[0]), reverse=True))
        wide = tuple(
            (value.encode(c, "surrogatepass"), replacement.encode(c, "surrogatepass")) for c in WIDE_CODECS
        )
        return cls(value, kind, replacement, needles, ordered, wide)

    @property
    def pattern(self) -> re.Pattern[str]:
        """Matches the secret spelled character by character: references, escapes, markup gaps."""
        if self._pattern is None:
            self._pattern = re.compile(_GAP.join(_char_alternatives(c) for c in self.value), re.S)
        return self._pattern


@dataclass
class _GramIndex:
    """Needles of at least ``shortest`` characters, filed under every ``gram``-character slice that a sample
    taken every ``stride`` characters of a text can land on inside an occurrence."""

    gram: int
    shortest: int
    entries: dict[str, list[tuple[str, Secret]]] = field(default_factory=dict)

    @property
    def stride(self) -> int:
        """The sampling step: an occurrence covers at least one sampled gram."""
        return self.shortest - self.gram + 1

    def add(self, needle: str, secret: Secret) -> None:
        """File ``needle`` (at least ``shortest`` characters long) under its first ``stride`` grams."""
        for offset in range(self.stride):
            self.entries.setdefault(needle[offset : offset + self.gram], []).append((needle, secret))

    def scan(self, view: str, found: dict[int, Secret]) -> None:
        """Add to ``found`` every secret with a needle in ``view`` (the index is only the filter)."""
        if not self.entries:
            return
        sampled = {view[p : p + self.gram] for p in range(0, len(view) - self.gram + 1, self.stride)}
        for key in self.entries.keys() & sampled:
            for needle, secret in self.entries[key]:
                if id(secret) not in found and needle in view:
                    found[id(secret)] = secret


def _longest_first(secret: Secret) -> int:
    return -len(secret.value)


class SecretBook:
    """The key and every token a run has seen, found and scrubbed in every spelling."""

    def __init__(self, *, api_keys: Iterable[str] = ()) -> None:
        self._secrets: dict[str, Secret] = {}
        self._ordered: list[Secret] = []
        self._token_count = 0
        # Longest needles first: the first index whose shortest needle a needle reaches takes it.
        self._indexes = tuple(_GramIndex(*shape) for shape in (LONG_INDEX, MEDIUM_INDEX, TINY_INDEX))
        self._needle_count = 0
        self._wide_only: list[Secret] = []  # non-ASCII secrets: their UTF-16/32 bytes may hold no NUL
        self._weak: dict[str, Secret] = {}
        self._weak_other: re.Pattern[str] | None = None  # weak tokens that are not one word
        self._deep: dict[str, Secret] = {}  # folded key (and probe) and its halves, forwards and reversed
        self._deep_needles: list[tuple[str, bytes, Secret]] | None = None
        self._deep_longest = 0
        for key in api_keys:
            self.add_key(key)

    def __iter__(self) -> Iterator[Secret]:
        return iter(self._ordered)

    def __len__(self) -> int:
        return len(self._ordered)

    @property
    def longest(self) -> int:
        """The length of the longest secret (0 when none)."""
        return len(self._ordered[0].value) if self._ordered else 0

    def add_key(self, key: str, *, placeholder_too: bool = False, normalised_only: bool = False) -> None:
        """Know an api_key; it is replaced by the placeholder.

        Its lower-case form too: header names arrive lower-cased, and the key modulo case is the key.
        The placeholder itself is no secret unless ``placeholder_too`` (replay finds a recorded echo by it).
        ``normalised_only``: found only in the normalised views (no literal needles: for finding only).
        """
        if key == API_KEY_PLACEHOLDER and not placeholder_too:
            return
        for form in dict.fromkeys((key, key.lower())):
            if len(form) >= MIN_SECRET_LENGTH and form not in self._secrets:
                secret = Secret.build(form, KEY_KIND, API_KEY_PLACEHOLDER)
                self._add(Secret(form, KEY_KIND, API_KEY_PLACEHOLDER) if normalised_only else secret)

    def add_token(self, token: str, *, replacement: str | None = None) -> str:
        """Know a token; returns what stands in for it (``<token#N len=L>`` unless given)."""
        known = self._secrets.get(token)
        if known is not None:
            return known.replacement
        if len(token) < MIN_SECRET_LENGTH or token == API_KEY_PLACEHOLDER:
            return token
        if any(secret.kind == KEY_KIND for secret in self.find(token)):
            return API_KEY_PLACEHOLDER  # the key in some spelling: replaced as the key, where it is found
        self._token_count += 1
        stand_in = replacement or f"<token#{self._token_count} len={len(token)}>"
        self._add(Secret.build(token, TOKEN_KIND, stand_in))
        return stand_in

    def _add(self, secret: Secret) -> None:
        self._secrets[secret.value] = secret
        if secret.weak:
            self._weak[secret.value] = secret
            self._weak_other = None
        # The placeholder is found literally: the recording writes it so (a replay stays cheap).
        deep = secret.kind == KEY_KIND and secret.value != API_KEY_PLACEHOLDER
        if deep and len(fold := folded(secret.value)) >= DEEP_MIN_LENGTH:
            # Half the key is a leak too: and a spelling cut apart by replacing a part of it still shows one.
            half = len(fold) // 2
            parts = [fold, fold[:half], fold[half:]] if half >= DEEP_MIN_LENGTH else [fold]
            for part in parts:
                self._deep.setdefault(part, secret)
                self._deep.setdefault(part[::-1], secret)
            self._deep_needles = None
            self._deep_longest = max(self._deep_longest, len(secret.value))
        self._needle_count += len(secret.needles)
        for needle in secret.needles:
            next(index for index in self._indexes if len(needle) >= index.shortest).add(needle, secret)
        if not secret.value.isascii():
            self._wide_only.append(secret)
        # Longest first, equal lengths in the order they came (an insertion, not a sort per secret).
        bisect.insort_right(self._ordered, secret, key=_longest_first)

    def replacement(self, value: str) -> str | None:
        """What stands in for a known secret."""
        known = self._secrets.get(value)
        return known.replacement if known else None

    # -- finding -------------------------------------------------------------------------------------
    def find(self, text: str) -> list[Secret]:
        """The secrets ``text`` holds in any spelling (a weak token: where a credential stands)."""
        if not self._ordered or len(text) < MIN_SECRET_LENGTH:
            return []
        found: dict[int, Secret] = {}
        texts = views(text)
        if self._needle_count <= DIRECT_MAX_NEEDLES:
            # Few needles (the key alone, a short run): C substring search beats the index.
            found = {id(s): s for s in self._ordered if any(n in view for view in texts for n in s.needles)}
        else:
            for view in texts:
                for index in self._indexes:
                    index.scan(view, found)
        if self._weak:
            for secret in self._weak_in_positions(texts):
                found.setdefault(id(secret), secret)
        if self._deep:
            for secret in self._deep_hits(text):
                found.setdefault(id(secret), secret)
        return sorted(found.values(), key=lambda s: len(s.value), reverse=True)

    def _weak_in_positions(self, texts: list[str]) -> Iterator[Secret]:
        for view in texts:
            for value in credential_positions(view):
                for word in (value, *WORD.findall(value)[:1]):  # token=1000000001.png
                    if (secret := self._weak.get(word)) is not None:
                        yield secret

    def _deep_hits(self, text: str) -> Iterator[Secret]:
        """The keys (and probes) a normalised view of ``text`` holds; window by window, bounded."""
        if len(text) < DEEP_MIN_LENGTH:
            return
        if self._deep_needles is None:
            # A needle holding a shorter one is found whenever it is: only the shortest are searched.
            kept: list[tuple[str, bytes, Secret]] = []
            for needle in sorted(self._deep, key=len):
                if not any(shorter in needle for shorter, _, _ in kept):
                    ascii_form = needle.encode("ascii") if needle.isascii() else b""
                    kept.append((needle, ascii_form, self._deep[needle]))
            self._deep_needles = kept
        overlap = DEEP_OVERLAP_FACTOR * self._deep_longest + 64
        for window in _windows(text, overlap):
            texts, decoded = normalised_views(window)
            for needle, ascii_form, secret in self._deep_needles:
                if needle in texts or (ascii_form and ascii_form in decoded):
                    yield secret

    def find_bytes(self, data: bytes) -> list[Secret]:
        """The secrets ``data`` holds: as UTF-8 text in any spelling, or as UTF-16/32."""
        if not self._ordered or not data:
            return []
        found = {id(s): s for s in self.find(data.decode("utf-8", "replace"))}
        for secret in self._wide_only:
            if id(secret) not in found and any(w in data for w, _ in secret.wide):
                found[id(secret)] = secret
        if b"\x00" in data:
            for text in _wide_texts(data):
                for secret in self.find(text):
                    found.setdefault(id(secret), secret)
        return list(found.values())

    # -- scrubbing -----------------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced; withheld whole when a spelling cannot be cut out."""
        found = self.find(text) if self._ordered and text else []
        if not found and not (self._weak and text):
            return text
        # The key and long tokens first: a weak token must not break up a spelling of the key.
        text = _replace_all(text, (pair for secret in found for pair in secret.pairs))
        if self._weak:
            text = self._scrub_weak(text)
        left = self.find(text)
        if not left:
            return text
        for secret in left:
            text = secret.pattern.sub(secret.replacement, text)
        if left := self.find(text):
            return withheld(text, key=any(s.kind == KEY_KIND for s in left))
        return text

    def _scrub_weak(self, text: str) -> str:
        """Every weak token that stands as a word of its own replaced (not in a number, digest or name)."""

        def replaced(match: re.Match[str]) -> str:
            secret = self._weak.get(match.group(0))
            if secret is None or not _standalone(match.string, match.start(), match.end()):
                return match.group(0)
            return secret.replacement

        text = WORD.sub(replaced, text)
        if self._weak_other is None:
            others = sorted((v for v in self._weak if not WORD.fullmatch(v)), key=len, reverse=True)
            alternatives = "|".join(re.escape(v) for v in others) or "(?!)"
            self._weak_other = re.compile(f"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")
        return self._weak_other.sub(replaced, text)

    def scrub_bytes(self, data: bytes) -> bytes:
        """``data`` with every secret replaced, in UTF-8 or UTF-16/32; withheld when it cannot be."""
        found = self.find_bytes(data) if self._ordered and data else []
        if not found and not (self._weak and data):
            return data
        codec = wide_codec(data)
        if codec is not None:  # a UTF-16/32 body: scrubbed as the text it is, every spelling included
            with contextlib.suppress(UnicodeError):
                data = self.scrub(data.decode(codec)).encode(codec)
        data = _replace_all(data, (pair for secret in found for pair in secret.wide))
        text = self.scrub(data.decode("utf-8", "surrogateescape"))
        data = text.encode("utf-8", "surrogateescape")
        if left := self.find_bytes(data):
            return withheld_bytes(data, key=any(s.kind == KEY_KIND for s in left))
        return data


def wide_codec(data: bytes) -> str | None:
    """The UTF-16/32 codec a body is in, from its BOM or the NULs around its first ASCII character."""
    for codec, bom in BOMS:
        if data.startswith(bom):
            return codec
    head = data[:4]
    if len(head) < 4 or b"\x00" not in head:
        return None
    if head[1:4] == b"\x00\x00\x00":
        return "utf-32-le"
    if head[:3] == b"\x00\x00\x00":
        return "utf-32-be"
    return "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be" if head[:1] == b"\x00" else None


def _wide_texts(data: bytes) -> Iterator[str]:
    for codec in WIDE_CODECS:
        width = 2 if "16" in codec else 4
        for offset in range(width):
            yield data[offset:].decode(codec, "replace")


def _replace_all(value: AnyStr, pairs: Iterable[tuple[AnyStr, AnyStr]]) -> AnyStr:
    """``value`` with each spelling replaced by its stand-in, in order (text and bytes alike)."""
    for spelling, replacement in pairs:
        if spelling in value:
            value = value.replace(spelling, replacement)
    return value


def withheld(text: str, *, key: bool = False) -> str:
    """The stand-in for a text that holds a secret in a spelling that cannot be cut out."""
    data = text.encode("utf-8", "surrogateescape")
    return withheld_bytes(data, key=key).decode("ascii")


def withheld_bytes(data: bytes, *, key: bool = False) -> bytes:
    """Length and digest only; the key's placeholder when it was the key (a replay still sees the echo)."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    what = f"the api_key ({API_KEY_PLACEHOLDER})" if key else "a secret"
    return f"[withheld: {len(data)} bytes holding {what}, sha256 {digest}]".encode("ascii")


def scan_files(paths: Iterable[Path], book: SecretBook) -> list[Path]:
    """The last line of defence: every file holding a secret in any spelling is emptied and named."""
    hits = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if book.find_bytes(data):
            path.write_bytes(b"")
            hits.append(path)
    return hits


_BOOKS: weakref.WeakSet[SecretBook] = weakref.WeakSet()


def register(book: SecretBook) -> None:
    """Let the report writers' second net know this run's secrets (it scrubs with every live book)."""
    _BOOKS.add(book)


@functools.lru_cache(maxsize=16)
def echo_book(api_key: str) -> SecretBook:
    """A book that finds ``api_key`` and its probes (in replay the placeholder the recording put instead)."""
    book = SecretBook()
    book.add_key(api_key, placeholder_too=True)
    for probe in key_probe_secrets(api_key):  # a wrong key the suite derived is a near-copy of the key
        book.add_key(probe, normalised_only=True)
    return book


@functools.lru_cache(maxsize=16)
def key_book(api_key: str) -> SecretBook:
    """A book that knows only ``api_key`` (cached: its spellings are computed once)."""
    return SecretBook(api_keys=[api_key])


def scrub_known(text: str) -> str:
    """``text`` scrubbed of every secret any live run in this process knows."""
    for book in list(_BOOKS):
        text = book.scrub(text)
    return text


# Encodings whose bytes the finders above read: ASCII-compatible ones and UTF-16/32 (with or without BOM).
SCANNABLE_ENCODINGS = frozenset(
    {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "iso8859-1"}
    | {"utf-16", "utf-16le", "utf-16be", "utf-32", "utf-32le", "utf-32be", "utf16", "utf32"}
)
BOMS = (
    ("utf-32", b"\xff\xfe\x00\x00"),
    ("utf-32", b"\x00\x00\xfe\xff"),
    ("utf-16", b"\xff\xfe"),
    ("utf-16", b"\xfe\xff"),
)
_DECLARED = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")


def declared_encoding(body: bytes) -> str | None:
    """The encoding an XML declaration names (lower-cased), looking through a UTF-16/32 body too."""
    head = body[:400]
    for codec, bom in BOMS:
        if head.startswith(bom):
            head = head.decode(codec, "replace").encode("ascii", "replace")
            break
    else:
        if b"\x00" in head[:8]:
            head = head.replace(b"\x00", b"")
    match = _DECLARED.match(head)
    return match.group(1).decode("ascii").lower() if match else None


def scannable(body: bytes) -> bool:
    """False when the body declares an encoding the finders cannot read (then only length and digest)."""
    encoding = declared_encoding(body)
    if encoding is not None:
        return encoding in SCANNABLE_ENCODINGS
    # Undeclared: UTF-8, or UTF-16/32 (NULs). Anything else (EBCDIC hides even its declaration) is not.
    if b"\x00" in body[:8]:
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def digest_only(body: bytes) -> str:
    """What is shown of a body that cannot be scanned."""
    encoding = declared_encoding(body)
    return (
        f"[not shown: {len(body)} bytes in encoding {encoding or 'unknown'!r} "
        "the suite cannot scan for secrets, "
        f"sha256 {hashlib.sha256(body).hexdigest()}]"
    )


def display_text(body: bytes) -> str:
    """The body as text for a human: UTF-16/32 decoded when it says so or has a BOM, else UTF-8."""
    encoding = declared_encoding(body) or ""
    for codec, bom in BOMS:
        if body.startswith(bom):
            return body.decode(codec, "replace")
    if encoding.startswith(("utf-16", "utf16", "utf-32", "utf32")) and b"\x00" in body[:8]:
        codec = "utf-16-be" if body[:1] == b"\x00" else "utf-16-le"
        if "32" in encoding:
            codec = codec.replace("16", "32")
        return body.decode(codec, "replace")
    return body.decode("utf-8", "replace")
