"""Reversible spellings of a secret a hostile target may echo, computed here with the standard library."""

from __future__ import annotations

import base64
from collections.abc import Callable


def _split(text: str, separator: str) -> str:
    return text[: len(text) // 2] + separator + text[len(text) // 2 :]


# Each spelling for a body; ``for_line`` gives the form a header value or a reason phrase can carry (no
# line break: a folded header arrives with the break as a space).
KEY_SPELLINGS: dict[str, Callable[[str], str]] = {
    # issue 19 (the seven a hostile server got past the echo check with)
    "hex": lambda v: v.encode().hex(),
    "reversed": lambda v: v[::-1],
    "spaces between characters": lambda v: " ".join(v),
    "json \\u escapes": lambda v: "".join(f"\\u{ord(c):04x}" for c in v),
    "double percent-encoded": lambda v: "".join(f"%25{b:02X}" for b in v.encode()),
    "quoted-printable": lambda v: "".join(c if c.isalnum() else f"={ord(c):02X}" for c in v),
    "base64 split by a line break": lambda v: _split(base64.b64encode(v.encode()).decode(), "\r\n"),
    # three more
    "base32": lambda v: base64.b32encode(v.encode()).decode(),
    "base64url of utf-16": lambda v: base64.urlsafe_b64encode(v.encode("utf-16-le")).decode().rstrip("="),
    "upper-cased, reversed, dash-separated": lambda v: "-".join(v.upper()[::-1]),
    "hex pairs with colons": lambda v: ":".join(f"{b:02x}" for b in v.encode()),
}


def for_line(spelling: str) -> str:
    """``spelling`` as a header value or reason phrase can carry it."""
    return spelling.replace("\r\n", " ")
