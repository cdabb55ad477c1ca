"""Text from the target made safe to show: control, format and invisible characters escaped visibly.

A target can put an ANSI escape (clear the screen, rewrite a line), a BEL, a C1 control (8-bit CSI), a
right-to-left override or isolate (reorder what a reviewer reads), a zero-width character or a line break
(forge a line such as ``verdict: conformant`` in a CI log) into any header, reason phrase or body. Whatever
the suite shows of it, in the terminal, Markdown, HTML, JUnit, JSON or a log, goes through this module:

- ``one_line`` for everything shown on a line of its own or in a cell (messages, received values, case
  labels, headers, titles): every unsafe character and every line break and tab is escaped;
- ``printable`` for a multi-line block the suite shows as a block (a response body): newline and tab
  stay, CR only before LF, everything else unsafe is escaped.

Unsafe is a rule, not a list: Unicode categories Cc (C0, DEL, C1), Cf (format: bidi embeddings, overrides,
isolates and marks, zero-width characters, soft hyphen, BOM, tags), Cs (lone surrogates, which no UTF-8
writer accepts), Zl and Zp (U+2028, U+2029), and every Default_Ignorable_Code_Point (characters a
terminal draws as nothing: Hangul fillers, variation selectors). Escapes read ``\\n``, ``\\r``, ``\\t``,
``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``; the result holds only safe characters, so escaping twice
changes nothing.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt) outside the categories above.
_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e0fff]"
)
# Every character that may be unsafe: the fast path leaves printable ASCII (and the line breaks a block
# keeps) alone; each other match is judged by its category.
_CANDIDATE_BLOCK = re.compile(r"[^\x20-\x7e\n\t\r]|\r(?!\n)")
_CANDIDATE_LINE = re.compile(r"[^\x20-\x7e]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def unsafe(char: str) -> bool:
    """True for a character ``one_line`` escapes (any control, format or invisible character)."""
    return (
        char in _NAMED
        or unicodedata.category(char) in _UNSAFE_CATEGORIES
        or _IGNORABLE.fullmatch(char) is not None
    )


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if not unsafe(char):
        return char
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` as a block: every unsafe character escaped visibly (``\\x1b``); LF, tab and CRLF kept."""
    return _CANDIDATE_BLOCK.sub(_escape, text)


def one_line(text: str) -> str:
    """``text`` as one line: every unsafe character, line break and tab escaped visibly (``\\n``)."""
    return _CANDIDATE_LINE.sub(_escape, text)
