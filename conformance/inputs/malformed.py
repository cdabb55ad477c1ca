"""The malformed classes of a number, listed once: the fixed spellings and the strategies both come from here.

A class spells a valid value wrongly (a sign, a fraction, padding, foreign digits ...). ``fixed`` are the
extras every run sends (``malformed_spellings``); ``drawn`` the extras Hypothesis draws from
(``malformed_variants``): ``()`` for a class without extras, ``None`` for one that is not generated (kept
out so that a seed generates what it generated before: a recorded exploration replays).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Decimal digits that are not ASCII: Python's int() and many other parsers accept these.
FOREIGN_DIGIT_SETS = ("٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९")
# Values that are not numbers at all (sent as they are, whatever the valid value).
NOT_A_NUMBER = ("", " ", "abc", "null", "NaN", "Infinity", "true", "[]", "0x10", "1e3", "--1")


@dataclass(frozen=True)
class MalformedClass:
    """One way of misspelling a valid number: ``spell(value, extra)`` for each extra."""

    name: str
    spell: Callable[[int, str], str]
    fixed: tuple[str, ...] = ("",)  # extras of the spellings every run sends
    drawn: tuple[str, ...] | None = ()  # extras Hypothesis draws; () none needed; None: not generated
    any_non_ascii: bool = False  # Hypothesis draws any non-ASCII character as the extra


def _digits(value: int, digits: str) -> str:
    return str(value).translate(str.maketrans("0123456789", digits))


def _underscores(value: int, _extra: str) -> str:
    return f"{value:_}" if value >= 1000 else f"{value}_0"  # below 1000 f"{v:_}" is the plain number


def _commas(value: int, _extra: str) -> str:
    return f"{value:,}" if value >= 1000 else f"{value},000"  # below 1000 f"{v:,}" is the plain number


# In the order the strategy draws them (shrinking moves towards the first).
MALFORMED_CLASSES = (
    MalformedClass("plus sign", lambda v, _: f"+{v}"),
    MalformedClass("minus sign", lambda v, _: f"-{v}"),
    MalformedClass("zero fraction", lambda v, _: f"{v}.0"),
    MalformedClass("fraction", lambda v, _: f"{v}.5"),
    MalformedClass("exponent", lambda v, _: f"{v}e0"),
    MalformedClass("scaled exponent", lambda v, _: f"{v / 10}e1"),
    MalformedClass("underscores", _underscores),
    MalformedClass("thousands commas", _commas, drawn=None),
    MalformedClass("hexadecimal", lambda v, _: hex(v)),
    MalformedClass("octal", lambda v, _: oct(v), drawn=None),
    MalformedClass("binary", lambda v, _: bin(v), drawn=None),
    MalformedClass(
        "leading whitespace",
        lambda v, pad: f"{pad}{v}",
        fixed=(" ", "\t", "\u00a0"),
        drawn=(" ", "\t", "\n", "\r\n", "\u00a0"),
    ),
    MalformedClass(
        "trailing whitespace or NUL",
        lambda v, pad: f"{v}{pad}",
        fixed=(" ", "\n", "\x00"),
        drawn=(" ", "\t", "\n", "\x00"),
    ),
    MalformedClass("foreign digits", _digits, fixed=FOREIGN_DIGIT_SETS, drawn=FOREIGN_DIGIT_SETS),
    MalformedClass("non-ASCII suffix", lambda v, c: f"{v}{c}", fixed=("\u00e9",), any_non_ascii=True),
    MalformedClass(
        "ASCII junk suffix",
        lambda v, c: f"{v}{c}",
        fixed=(";", "x"),
        drawn=("a", "x", "s", ",", ";", "%", "&"),
    ),
)
