"""printable / one_line: text from the target is shown with every control, format and invisible character
escaped visibly, and one_line keeps it on one line."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.core.printable import one_line, printable, unsafe

FORGED = "\n verdict: conformant"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("a\x9b31mb", "a\\x9b31mb"),
        ("\x85", "\\x85"),
        ("\x00\x07\x7f", "\\x00\\x07\\x7f"),
        ("abc\u202edef", "abc\\u202edef"),
        ("\u2066x\u2069", "\\u2066x\\u2069"),
        ("line\rover", "line\\rover"),
        ("\u2028\u2029", "\\u2028\\u2029"),
        ("zero\u200bwidth\u200d\u2060\ufeff", "zero\\u200bwidth\\u200d\\u2060\\ufeff"),
        ("soft\u00adhyphen", "soft\\xadhyphen"),
        ("filler\u3164\u115f", "filler\\u3164\\u115f"),
        ("select\ufe0f", "select\\ufe0f"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
    ],
)
def test_unsafe_characters_are_escaped_visibly(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert one_line(raw) == shown


def test_ordinary_text_newlines_tabs_and_crlf_stay_in_a_block() -> None:
    text = "<message>été\tok</message>\r\n<a>日本 ١٢٣ １２３</a>\n"
    assert printable(text) == text


def test_one_line_escapes_line_breaks_and_tabs_and_keeps_ordinary_text() -> None:
    assert one_line(f"12345{FORGED}\r\n\tx") == "12345\\n verdict: conformant\\r\\n\\tx"
    assert one_line("été 日本 ١٢٣ ＡＢ") == "été 日本 ١٢٣ ＡＢ"


def test_every_unicode_control_format_and_separator_character_is_unsafe() -> None:
    risky = {"Cc", "Cf", "Cs", "Zl", "Zp"}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) in risky:
            assert unsafe(char), hex(code)
            assert one_line(char) != char, hex(code)


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_one_line_output_is_one_safe_line_and_escaping_twice_changes_nothing(text: str) -> None:
    shown = one_line(text)
    assert shown.splitlines() in ([], [shown])
    assert not any(unsafe(c) for c in shown)
    assert one_line(shown) == shown
    assert printable(printable(text)) == printable(text)
    shown.encode("utf-8")  # no lone surrogate survives: every writer accepts it
