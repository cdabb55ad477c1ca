"""Text from the target made safe to show: control characters and bidi overrides escaped visibly.

A target can put an ANSI escape (clear the screen, rewrite a line), a C1 control (8-bit CSI) or a
right-to-left override (reorder what a reviewer reads) into any header, reason phrase or body. Whatever
the suite shows of it, in the terminal, Markdown, HTML, JUnit or JSON, goes through ``printable``:
newline and tab stay, CR only before LF, everything else in the classes below becomes ``\\xNN`` or
``\\uNNNN``.
"""

from __future__ import annotations

import re

# C0 but tab and newline, DEL, C1, the bidi controls (embeddings, overrides, isolates, marks) and the
# Unicode line and paragraph separators; a CR alone (it rewrites the line in a terminal).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]|\r(?!\n)"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every unsafe character escaped visibly (``\\x1b``, ``\\u202e``)."""
    return _UNSAFE.sub(_escape, text)
