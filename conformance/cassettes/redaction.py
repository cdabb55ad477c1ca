"""Secret-free recording: the api_key becomes the placeholder, live tokens become same-shape stand-ins.

Stand-ins keep what the token checks judge: length, character class per position, equality (the same
live token always gets the same stand-in, distinct tokens distinct ones), and, for all-digit or all-hex
tokens, arithmetic distance (stand-in = value + K mod base**length), so sequential tokens stay
sequential. K and the HMAC key are drawn per recording session and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import secrets
import string
from urllib.parse import quote, quote_plus

from conformance.model import API_KEY_PLACEHOLDER, key_probe_secrets

# A key this short would also match unrelated text (a user_id, a status), garbling the recording.
MIN_API_KEY_LENGTH = 8
# Echoes of shorter tokens elsewhere in a response are left alone for the same reason; the <token>
# element itself is always replaced.
MIN_ECHO_LENGTH = 6
OFFSET_ALPHABETS = (string.digits, "0123456789abcdef", "0123456789ABCDEF")
# Letters are permuted within a-f / g-z (and A-F / G-Z), so a substituted token never becomes an
# all-hex or all-digit string: the three ways of mapping have disjoint images and stand-ins stay distinct.
CLASS_ALPHABETS = (string.digits, "abcdef", "ghijklmnopqrstuvwxyz", "ABCDEF", "GHIJKLMNOPQRSTUVWXYZ")
XML_PLACEHOLDER = html.escape(API_KEY_PLACEHOLDER)
_TOKEN_ELEMENT = re.compile(r"(<token(?:\s[^>]*)?>)([^<]*)(</token\s*>)")
_ENTITY = re.compile(r"&#?[A-Za-z0-9]+;")


def api_key_spellings(api_key: str) -> tuple[str, ...]:
    """How a key can appear in text: as is, form-encoded (two ways) and XML-escaped; longest first."""
    spellings = {api_key, quote_plus(api_key), quote(api_key, safe=""), html.escape(api_key)}
    return tuple(sorted(spellings, key=len, reverse=True))


class KeyScrubber:
    """Replaces every spelling of the api_key by the same spelling of the placeholder."""

    def __init__(self, api_key: str) -> None:
        self._pairs: list[tuple[str, str]] = []
        # Key probes long enough to be told from other text are near-copies of the key: hidden like it.
        for probe in key_probe_secrets(api_key):
            self._pairs += [(spelling, API_KEY_PLACEHOLDER) for spelling in api_key_spellings(probe)]
        for spelling in api_key_spellings(api_key):
            if spelling == quote_plus(api_key):
                self._pairs.append((spelling, quote_plus(API_KEY_PLACEHOLDER)))
            elif spelling == quote(api_key, safe=""):
                self._pairs.append((spelling, quote(API_KEY_PLACEHOLDER, safe="")))
            elif spelling == html.escape(api_key):
                self._pairs.append((spelling, XML_PLACEHOLDER))
            else:
                self._pairs.append((spelling, API_KEY_PLACEHOLDER))
        self._pairs.sort(key=lambda pair: len(pair[0]), reverse=True)  # a longer spelling first

    def text(self, text: str, *, xml: bool = False) -> str:
        """``text`` without the key; in XML the raw key becomes the escaped placeholder (well-formed)."""
        for spelling, replacement in self._pairs:
            if xml and replacement == API_KEY_PLACEHOLDER:
                replacement = XML_PLACEHOLDER
            text = text.replace(spelling, replacement)
        return text


class StandIns:
    """Session-wide map from live tokens to stand-ins of the same shape."""

    def __init__(self, *, offset: int | None = None, key: bytes | None = None) -> None:
        self._offset = secrets.randbits(512) if offset is None else offset
        self._key = secrets.token_bytes(32) if key is None else key
        self._cache: dict[str, str] = {}
        self._permutations: dict[tuple[int, str], dict[str, str]] = {}

    def stand_in(self, token: str) -> str:
        """The stand-in for ``token`` (its raw text inside <token>); the same token, the same stand-in."""
        cached = self._cache.get(token)
        if cached is None:
            cached = self._cache[token] = self._offset_mapped(token) or self._substituted(token)
        return cached

    def _offset_mapped(self, token: str) -> str | None:
        for alphabet in OFFSET_ALPHABETS:
            if token and all(char in alphabet for char in token):
                base, size = len(alphabet), len(alphabet) ** len(token)
                value, mapped = int(token, base), ""
                # Cycle walking: a hex token (it has a letter, or it would be all digits) must map to a
                # token with a letter, so it can never collide with a stand-in of an all-digit token.
                while not mapped or (base == 16 and mapped.isdigit()):
                    value = (value + self._offset) % size
                    mapped = _spell(value, alphabet, len(token))
                return mapped
        return None

    def _substituted(self, token: str) -> str:
        out: list[str] = []
        position = 0
        # Entity references stay verbatim, so the stand-in is still well-formed XML text.
        for piece in _ENTITY.split(token):
            out.extend(self._substitute(char, position + i) for i, char in enumerate(piece))
            position += len(piece)
            entity = token[position : position + _entity_length(token, position)]
            out.append(entity)
            position += len(entity)
        return "".join(out)

    def _substitute(self, char: str, position: int) -> str:
        alphabet = next((a for a in CLASS_ALPHABETS if char in a), None)
        if alphabet is None:
            return char
        permutation = self._permutations.get((position, alphabet))
        if permutation is None:
            permutation = self._permutations[(position, alphabet)] = self._permutation(position, alphabet)
        return permutation[char]

    def _permutation(self, position: int, alphabet: str) -> dict[str, str]:
        # Fisher-Yates driven by HMAC output: a keyed bijection of the class per position.
        shuffled = list(alphabet)
        for i in range(len(shuffled) - 1, 0, -1):
            mac = hmac.new(self._key, f"{position}:{alphabet}:{i}".encode(), hashlib.sha256).digest()
            j = int.from_bytes(mac[:8], "big") % (i + 1)
            shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
        return dict(zip(alphabet, shuffled, strict=True))


def _spell(value: int, alphabet: str, length: int) -> str:
    digits = []
    for _ in range(length):
        value, remainder = divmod(value, len(alphabet))
        digits.append(alphabet[remainder])
    return "".join(reversed(digits))


def _entity_length(text: str, position: int) -> int:
    match = _ENTITY.match(text, position)
    return len(match.group(0)) if match else 0


class Redactor:
    """Redacts one recording session: the key everywhere, tokens in each response consistently."""

    def __init__(self, api_key: str, *, stand_ins: StandIns | None = None) -> None:
        self.keys = KeyScrubber(api_key)
        self.stand_ins = stand_ins or StandIns()

    def request_text(self, text: str) -> str:
        """A request path or body without the key."""
        return self.keys.text(text)

    def response(
        self, headers: list[tuple[str, str]], body: bytes, *, xml: bool
    ) -> tuple[list[tuple[str, str]], bytes]:
        """Headers and body with tokens replaced by stand-ins and the key by the placeholder."""
        text = body.decode("utf-8", "surrogateescape")
        replacements: dict[str, str] = {}
        for _, raw, _ in _TOKEN_ELEMENT.findall(text):
            replacements[raw] = self.stand_ins.stand_in(raw)
            if html.unescape(raw) != raw:
                replacements[html.unescape(raw)] = html.unescape(replacements[raw])
        text = _TOKEN_ELEMENT.sub(lambda m: m.group(1) + replacements[m.group(2)] + m.group(3), text)
        echoes = sorted((t for t in replacements if len(t) >= MIN_ECHO_LENGTH), key=len, reverse=True)
        for token in echoes:
            text = text.replace(token, replacements[token])
        new_headers = []
        for name, value in headers:
            for token in echoes:
                value = value.replace(token, replacements[token])
            new_headers.append((name, self.keys.text(value)))
        text = self.keys.text(text, xml=xml)
        return new_headers, text.encode("utf-8", "surrogateescape")

    def message(self, text: str) -> str:
        """An error message without the key."""
        return self.keys.text(text)
