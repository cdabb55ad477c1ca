"""How a case's form is written on the wire: the spellings of one request (issue 20).

A spelling turns the form's pairs (the key already in place) into the request body and the headers that
describe it. ``""`` is the plain spelling: a urlencoded body under the stock Content-Type. Every other
spelling is registered here by name with ``@spelling``; a case names its spelling (``Case.spelling``) and
the transport, the evidence and `conformance rerun` all write it the same way from that name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
CHUNK_BYTES = 7  # small enough that names, values and percent escapes are cut across chunks
MANY_FIELDS = 1500  # unknown fields before the form: past the 1,000 a PHP or Django limit keeps
MULTIPART_BOUNDARY = "conformance-form-boundary"  # fixed: a recording's body is matched on replay


@dataclass(frozen=True)
class Written:
    """A form as written: the body (bytes, or chunks sent with chunked transfer coding) and the request
    headers that describe it (they replace the client identity's headers of the same name)."""

    content: bytes | tuple[bytes, ...]
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": FORM_CONTENT_TYPE})

    @property
    def chunked(self) -> bool:
        """True when the body goes in chunks (Transfer-Encoding: chunked, no Content-Length)."""
        return isinstance(self.content, tuple)

    @property
    def body(self) -> bytes:
        """The body's bytes, the chunks joined."""
        return b"".join(self.content) if isinstance(self.content, tuple) else self.content


Spelling = Callable[[list[tuple[str, str]]], Written]
SPELLINGS: dict[str, Spelling] = {}


def spelling(name: str) -> Callable[[Spelling], Spelling]:
    """Register a spelling under ``name`` (a stable name: evidence and `conformance rerun` refer to it)."""

    def register(function: Spelling) -> Spelling:
        if name in SPELLINGS:
            raise ValueError(f"spelling {name!r} registered twice")
        SPELLINGS[name] = function
        return function

    return register


@spelling("")
def plain(pairs: list[tuple[str, str]]) -> Written:
    """A urlencoded body under the stock Content-Type: the request the seed shows."""
    return Written(urlencode(pairs).encode("ascii"))


@spelling("charset")
def charset(pairs: list[tuple[str, str]]) -> Written:
    """The Content-Type with a charset parameter (RFC 9110 section 8.3.1: parameters may follow)."""
    return Written(plain(pairs).content, {"Content-Type": f"{FORM_CONTENT_TYPE}; charset=UTF-8"})


@spelling("type-case")
def type_case(pairs: list[tuple[str, str]]) -> Written:
    """The media type in mixed case (RFC 9110 section 8.3.1: type and subtype are case-insensitive)."""
    return Written(plain(pairs).content, {"Content-Type": "Application/X-WWW-Form-URLencoded"})


def percent_escaped(text: str) -> str:
    """``text`` with every byte as %XX (upper-case hex), unreserved characters too."""
    return "".join(f"%{byte:02X}" for byte in text.encode("utf-8", "surrogatepass"))


@spelling("percent-encoded")
def percent_encoded(pairs: list[tuple[str, str]]) -> Written:
    """Every byte of names and values percent-encoded, unreserved characters too (RFC 3986 section 2.3:
    equivalent to the characters themselves)."""
    text = "&".join(f"{percent_escaped(n)}={percent_escaped(v)}" for n, v in pairs)
    return Written(text.encode("ascii"))


@spelling("percent-lowercase")
def percent_lowercase(pairs: list[tuple[str, str]]) -> Written:
    """Every byte of the values percent-encoded in lower-case hex (RFC 3986 section 2.1: equivalent)."""
    text = "&".join(f"{quote(n, safe='')}={percent_escaped(v).lower()}" for n, v in pairs)
    return Written(text.encode("ascii"))


@spelling("space-%20")
def space_percent_20(pairs: list[tuple[str, str]]) -> Written:
    """A space as ``%20`` instead of ``+`` (the WHATWG urlencoded parser reads both as a space)."""
    return Written(urlencode(pairs, quote_via=quote).encode("ascii"))


@spelling("reversed")
def reversed_order(pairs: list[tuple[str, str]]) -> Written:
    """The parameters in reverse order (their order carries no meaning)."""
    return plain(pairs[::-1])


@spelling("chunked")
def chunked(pairs: list[tuple[str, str]]) -> Written:
    """The body in small chunks, Transfer-Encoding: chunked (RFC 9112 section 7.1: a recipient MUST be
    able to parse it)."""
    body = plain(pairs).body
    return Written(tuple(body[i : i + CHUNK_BYTES] for i in range(0, len(body), CHUNK_BYTES)) or (b"",))


@spelling("expect-continue")
def expect_continue(pairs: list[tuple[str, str]]) -> Written:
    """The body announced with ``Expect: 100-continue`` (what curl sends for a larger body; RFC 9110
    section 10.1.1), sent without waiting for the 100."""
    return Written(plain(pairs).content, {"Content-Type": FORM_CONTENT_TYPE, "Expect": "100-continue"})


@spelling("many-fields")
def many_fields(pairs: list[tuple[str, str]]) -> Written:
    """1,500 unknown fields before the form (a server may refuse them with a 400 or 413; never read the
    form as if a field it carries were missing)."""
    extra = [(f"x{n:04d}", "1") for n in range(MANY_FIELDS)]
    return plain(extra + pairs)


def _json_value(value: str) -> str:
    number = value.isascii() and value.isdigit() and len(value) < 20 and value == str(int(value))
    return value if number else json.dumps(value)


@spelling("json")
def json_object(pairs: list[tuple[str, str]]) -> Written:
    """The form as a JSON object (repeated names kept, plain numbers as numbers) under application/json:
    a body format a framework may also accept."""
    members = ", ".join(f"{json.dumps(n)}: {_json_value(v)}" for n, v in pairs)
    return Written(("{" + members + "}").encode("utf-8"), {"Content-Type": "application/json"})


@spelling("multipart")
def multipart(pairs: list[tuple[str, str]]) -> Written:
    """The form as multipart/form-data (RFC 7578): a body format a framework may also accept."""
    parts = [
        f'--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
        for n, v in pairs
    ]
    body = "".join(parts) + f"--{MULTIPART_BOUNDARY}--\r\n"
    content_type = f"multipart/form-data; boundary={MULTIPART_BOUNDARY}"
    return Written(body.encode("utf-8", "surrogateescape"), {"Content-Type": content_type})


# The spellings the RFCs let a server refuse, and the refusals they allow (AMB-SPELLING-REFUSAL); every
# other spelling of a valid request must be honoured like the plain one. None: any 4xx.
MAY_REFUSE: dict[str, frozenset[int] | None] = {
    "chunked": frozenset({411}),  # RFC 9110 section 15.5.12: Length Required
    "many-fields": frozenset({400, 413}),
    "json": None,
    "multipart": None,
}


def write(name: str, pairs: Iterable[tuple[str, str]]) -> Written:
    """The form in the spelling ``name`` (a KeyError for an unknown name: a suite defect)."""
    return SPELLINGS[name](list(pairs))
