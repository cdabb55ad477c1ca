"""How a case's form is written on the wire: the spellings of one request (issue 20).

A spelling turns the form's pairs (the key already in place) into the request body and the headers that
describe it. ``""`` is the plain spelling: a urlencoded body under the stock Content-Type. Every other
spelling is registered here by name with ``@spelling``; a case names its spelling (``Case.spelling``) and
the transport, the evidence and `conformance rerun` all write it the same way from that name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


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


def write(name: str, pairs: Iterable[tuple[str, str]]) -> Written:
    """The form in the spelling ``name`` (a KeyError for an unknown name: a suite defect)."""
    return SPELLINGS[name](list(pairs))
