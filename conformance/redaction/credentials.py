"""Where a credential stands: names that say a value is one, the values after them, words of their own.

``conformance.redaction.redact`` learns the values it finds here; ``conformance.redaction.secrets`` counts a
short token only
where it stands in one of these places, and replaces it only where it stands as a word of its own.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

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
# An HTML element whose name is a credential word: <code>x</code> is markup, code=x is a credential.
MARKUP_ELEMENTS = frozenset({"code"})
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


def standalone(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is a word of its own: no letter or digit beside it, no decimal point
    joining it to digits (0.1000000001 is a number, not the token 1000000001)."""
    before, after = text[max(0, start - 2) : start], text[end : end + 2]
    if WORD.match(before[-1:]) or WORD.match(after[:1]):
        return False
    return not (re.fullmatch(r"[0-9]\.", before) or re.fullmatch(r"\.[0-9]", after))
