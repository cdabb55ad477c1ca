"""Every secret of a run and every way it can be spelled: the one home for finding and scrubbing them.

A secret (the api_key, a token the target issued) can reach text in many spellings: as is,
percent-encoded (either hex case, ``+`` for a space), XML-escaped, as numeric character references
(decimal or hex, any mix), split by XML comments or CDATA sections, base64 or base64url (at any
alignment inside a longer encoded string), and in UTF-16/32 bytes. Finding works on *views* of a text
(the XML view with markup gaps removed and references resolved, the percent-decoded view) searched for
the few literal needles of each secret, precomputed once per secret. Scrubbing replaces the literal
spellings, then cuts out whatever a view still finds with a per-secret pattern, and withholds the whole
text when even that cannot remove it: a scrubbed text never holds a secret in any spelling found here.

The key and its probes are also found in the normalised views of ``conformance.redaction.normalised`` (any
reversible spelling); a short token only where a credential stands (``conformance.redaction.credentials``).
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import hashlib
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import AnyStr
from urllib.parse import quote, quote_plus

from conformance.core.model import API_KEY_PLACEHOLDER
from conformance.core.wire import percent_escaped
from conformance.redaction.credentials import WORD, credential_positions, standalone
from conformance.redaction.normalised import (
    DEEP_MIN_LENGTH,
    DEEP_OVERLAP_FACTOR,
    NAMED_REFERENCES,
    folded,
    normalised_views,
    views,
    windows,
)

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
DIRECT_MAX_NEEDLES = 16  # the key alone; its spellings and probes (issue 20) are faster indexed
# ... in a short text: from about 1 KiB on, sampling every gram costs more than C substring search for a
# book of a few dozen needles (the key's echo book, 32: 0.023 vs 0.045 ms at 512 characters, 1.34 vs
# 0.49 ms at 32 KiB); a run's tokens (thousands of needles) are always faster indexed (1 MB: 0.4 s vs 9 s).
DIRECT_FROM_CHARS = 1024
DIRECT_MAX_NEEDLES_LONG = 64
# The normalised views of this many windows (and characters, at most) a book remembers.
VIEWS_REMEMBERED = 64
VIEWS_REMEMBERED_CHARS = 1 << 20
# A comment inside a spelled secret is bounded, and an unterminated comment runs to the end of the
# text: either way no position is scanned twice to the end (a body of many "<!--" stays linear).
_GAP = r"(?:<!--.{0,1024}?-->|<!\[CDATA\[|\]\]>)*"
_ESCAPE = re.compile(r"%[0-9A-F]{2}")


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
    options += [f"&{name};" for name, value in NAMED_REFERENCES.items() if value == char]
    if code < 0x80:  # an unreserved character percent-encoded too (RFC 3986 section 2.3)
        options.append(f"%{_any_case(f'{code:02x}')}")
    return "(?:" + "|".join(options) + ")"


def _percent_every_byte(value: str) -> tuple[str, str]:
    """``value`` with every byte percent-encoded, unreserved ones too, in upper- and lower-case hex."""
    upper = percent_escaped(value)
    return upper, upper.lower()


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
        *_percent_every_byte(value),
    }
    forms |= _encoded_forms(value)
    return tuple(sorted(forms, key=len, reverse=True))


def wide_spellings(value: str) -> tuple[bytes, ...]:
    """The value as UTF-16 and UTF-32 bytes (both byte orders)."""
    return tuple(value.encode(codec, "surrogatepass") for codec in WIDE_CODECS)


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
            *zip(_percent_every_byte(value), _percent_every_byte(replacement), strict=True),
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
        self._views: dict[str, tuple[str, bytes]] = {}  # window -> its normalised views (see _deep_hits)
        self._views_chars = 0
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
                build = Secret if normalised_only else Secret.build
                self._add(build(form, KEY_KIND, API_KEY_PLACEHOLDER))

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

    def add_literal(self, token: str) -> None:
        """Know a token by its own spelling only (found as is, percent- or XML-decoded): cheap to add, for a
        book that only finds (a short token is left out: it is found only where a credential stands)."""
        if len(token) >= STRONG_TOKEN_LENGTH and token not in self._secrets:
            self._add(Secret(token, TOKEN_KIND, token, needles=(token,)))

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
        few = self._needle_count <= DIRECT_MAX_NEEDLES
        if few or (len(text) >= DIRECT_FROM_CHARS and self._needle_count <= DIRECT_MAX_NEEDLES_LONG):
            # Few needles (the key alone, a short run) or a long text: C substring search beats the index.
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

    def find_normalised(self, text: str) -> list[Secret]:
        """The keys a normalised view of ``text`` holds (see ``conformance.redaction.normalised``): for a
        text whose
        literal spellings were searched already in another form (a body's parsed texts after the body);
        everything ``find`` looks for when the book has no normalised needles (a key too short to fold)."""
        if not self._deep:
            return self.find(text)
        return list(dict.fromkeys(self._deep_hits(text)))

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
        for window in windows(text, overlap):
            texts, decoded = self._normalised_views(window)
            for needle, ascii_form, secret in self._deep_needles:
                if needle in texts or (ascii_form and ascii_form in decoded):
                    yield secret

    def _normalised_views(self, window: str) -> tuple[str, bytes]:
        """``normalised_views`` of a window, remembered by this book (a run's answers repeat: a refusal's
        body, a header); a bounded memo that goes with the book, so no text outlives the run's books."""
        known = self._views.get(window)
        if known is None:
            full = len(self._views) >= VIEWS_REMEMBERED
            if full or self._views_chars + len(window) > VIEWS_REMEMBERED_CHARS:
                self._views.clear()
                self._views_chars = 0
            known = self._views[window] = normalised_views(window)
            self._views_chars += len(window)
        return known

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
            if secret is None or not standalone(match.string, match.start(), match.end()):
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
