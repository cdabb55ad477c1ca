"""printable: text from the target is shown with control characters and bidi overrides escaped."""

from __future__ import annotations

import pytest

from conformance.printable import printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("a\x9b31mb", "a\\x9b31mb"),
        ("\x85", "\\x85"),
        ("\x00\x07\x7f", "\\x00\\x07\\x7f"),
        ("abc\u202edef", "abc\\u202edef"),
        ("\u2066x\u2069", "\\u2066x\\u2069"),
        ("line\rover", "line\\x0dover"),
        ("\u2028", "\\u2028"),
    ],
)
def test_unsafe_characters_are_escaped_visibly(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_ordinary_text_newlines_tabs_and_crlf_stay() -> None:
    text = "<message>été\tok</message>\r\n<a>日本</a>\n"
    assert printable(text) == text
