"""The fixed lists every run sends, whatever Hypothesis generates: boundaries, malformed spellings, keys."""

from __future__ import annotations

import itertools
import random

from conformance.core.model import API_KEY_PLACEHOLDER
from conformance.inputs.classify import MISSING, Param
from conformance.inputs.malformed import MALFORMED_CLASSES, NOT_A_NUMBER

INVALID_API_KEY = "placeholder-invalid-key-0000"

# 2**32 + n and 2**64 + n wrap to n in a fixed-width parser: a target that overflows grants them.
# 10**5000 has more digits than Python's int() accepts by default (4300): a naive parser answers 500.
HUGE = "1" + "0" * 5000
TOKEN_EXPIRE_BOUNDARIES = (
    "59",
    "60",
    "61",
    "86399",
    "86400",
    "86401",
    "0",
    "-1",
    str(10**30),
    str(2**32 + 3600),
    str(2**64 + 3600),
    HUGE,
)
USER_ID_BOUNDARIES = ("0", "1", str(2**31 - 1), str(2**31), str(2**63), str(10**40), HUGE)

OTHER_METHODS = ("PUT", "DELETE", "PATCH")  # with the form in the body
QUERY_METHODS = ("GET", "HEAD", "OPTIONS")  # with the form in the query string
# Long digit runs followed or interrupted by junk, whitespace, separators and signs: a parser that scans
# digits greedily and then backtracks, or converts before it validates, stalls or fails on these.
DIGIT_RUN_SPELLINGS = (
    "9" * 15 + "x",
    "1" * 15 + " ",
    "-" + "9" * 25,
    "9" * 25 + ".5",
    "1" * 40 + ",000",
    "1" * 200 + "\t",
    "1" * 400 + "x" + "1" * 400,
    "9" * 1000 + "e9",
    "+" + "1" * 2000,
    "1" * 4000 + ";",
    "0" * 3000 + "3600x",
    " " + "9" * 3000,
)


def spread_across(low: int, high: int, *, seed: int, buckets: int = 8) -> list[int]:
    """One seeded value from each of ``buckets`` log-spaced slices of low..high (both ends excluded).

    Hypothesis favours small and boundary values early on; this guarantees values deep inside the range
    whatever the seed, so a target that only handles the boundaries still shows up.
    """
    rng = random.Random(seed)
    edges = sorted({round(low * (high / low) ** (i / buckets)) for i in range(buckets + 1)})
    return [rng.randint(a + 1, b - 1) for a, b in itertools.pairwise(edges) if b - a > 1]


def malformed_spellings(value: int) -> list[str]:
    """One spelling of ``value`` per malformed class and fixed extra, then the values that are no number."""
    spellings = [cls.spell(value, extra) for cls in MALFORMED_CLASSES for extra in cls.fixed]
    return [*spellings, *NOT_A_NUMBER]


def api_key_variants() -> list[Param]:
    """Keys that must be refused: absent, empty, wrong, the valid key with a character added.

    A valid key given twice beside a wrong one is not sent: the contract does not say which one counts.
    """
    return [
        MISSING,
        Param.of(""),
        Param.of(INVALID_API_KEY),
        Param.of(f"{API_KEY_PLACEHOLDER}x"),
        Param.of(f"x{API_KEY_PLACEHOLDER}"),
    ]
