"""What a sample of tokens says about their randomness: collisions, chi-square bias, min-entropy.

Pure arithmetic on the run's token history (no scipy: the chi-square tail uses the Wilson-Hilferty
approximation, accurate far beyond the 1e-9 threshold used here). The birthday arithmetic behind the
sample size: n tokens drawn from N equally likely values are all distinct with probability
prod(1 - i/N, i < n), about exp(-n(n-1)/2N); for N = 2**16 that is <= 1% from n = 776 on, for N = 2**15
from n = 549 on. Every token of the run counts (LT-TOKEN-UNIQUE compares each with all before it); the
profile's default sample is tokens_to_catch(2**16) = 776, and a default loopback run judges 784 (the
sample plus the final sentinels' grants) in about 1,150 requests (see AMB-TOKEN-SAMPLE). Conversely, n
distinct tokens support, at 99% confidence, a space of at least n(n-1)/(2 ln 100): the collision bound.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from conformance.core.sp800_90b import min_entropy_per_symbol

# Per-test threshold before the Bonferroni division by the number of tests: a conforming generator
# fails one run in ~10^9 / (tests per run), i.e. never in practice, while a real bias shows at once.
P_THRESHOLD = 1e-9
CONFIDENCE_MISS = 0.01  # the collision bound is stated at 99% confidence
SMALL_SPACE_BITS = 16  # the sign-off states how surely the run's tokens would have caught a space this small
MIN_EXPECTED_PER_CELL = 5.0  # chi-square is only trusted with this many expected hits per symbol


@dataclass(frozen=True)
class EntropyReport:
    """The verdict on one sample: what was found, and the bounds it supports."""

    sample: int  # tokens of the most common length judged together
    length: int
    collision_bound_bits: float  # log2 of the smallest space the absence of collisions supports
    # The least of the per-position estimate (positions assumed independent) and the NIST SP 800-90B
    # estimators over the token's symbols in sequence: a short secret repeated or stretched over a long
    # token shows in the latter (positions that are each uniform are not independent)
    min_entropy_bits: float
    biased: tuple[str, ...]  # what the chi-square tests found, one line each
    # min-entropy of the positions the chi-square tests found uniform: bias elsewhere (a timestamp in a
    # signed token) is no finding while these alone carry enough
    clean_bits: float = 0.0
    judged: int = 0  # every token of the run, of any length: all of them are compared for collisions
    weakest: str = "per-position"  # the estimator that gave min_entropy_bits

    def as_dict(self) -> dict[str, object]:
        """The summary.json form."""
        return {
            "sample": self.sample,
            "token_length": self.length,
            "collision_bound_bits": round(self.collision_bound_bits, 1),
            "min_entropy_estimate_bits": round(self.min_entropy_bits, 1),
            "biased": list(self.biased),
            "unbiased_positions_bits": round(self.clean_bits, 1),
            "tokens_judged": self.judged,
            "small_space_caught_probability": round(
                collision_probability(self.judged, 2**SMALL_SPACE_BITS), 4
            ),
        }


def chi_square_p(statistic: float, df: int) -> float:
    """Upper-tail probability of a chi-square statistic with ``df`` degrees of freedom."""
    if df <= 0:
        return 1.0
    z = ((statistic / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 0.5 * math.erfc(z / math.sqrt(2))


def collision_bound_bits(distinct: int) -> float:
    """log2 of the token space that ``distinct`` tokens without a collision support at 99% confidence."""
    if distinct < 2:
        return 0.0
    return math.log2(distinct * (distinct - 1) / (2 * math.log(1 / CONFIDENCE_MISS)))


def collision_probability(tokens: int, space: int) -> float:
    """The exact chance that ``tokens`` uniform draws from ``space`` values repeat one (birthday)."""
    if tokens > space:
        return 1.0
    return -math.expm1(sum(math.log1p(-i / space) for i in range(tokens)))


def tokens_to_catch(space: int, probability: float = 1 - CONFIDENCE_MISS) -> int:
    """The fewest tokens whose collision probability in a space of ``space`` reaches ``probability``."""
    low, high = 1, space + 1
    while low < high:  # collision_probability grows with the number of tokens
        middle = (low + high) // 2
        low, high = (
            (middle + 1, high) if collision_probability(middle, space) < probability else (low, middle)
        )
    return low


def analyse(tokens: Sequence[str]) -> EntropyReport | None:
    """Judge the tokens of the most common length; None when there are fewer than two."""
    lengths = Counter(len(t) for t in tokens)
    if not lengths:
        return None
    length, _ = lengths.most_common(1)[0]
    sample = [t for t in tokens if len(t) == length]
    n = len(sample)
    if n < 2:
        return None
    columns = [Counter(t[i] for t in sample) for i in range(length)]
    varying = [(i, c) for i, c in enumerate(columns) if len(c) > 1]
    tests = len(varying) + 1
    biased: list[str] = []
    bits = {position: _min_entropy(counts, n) for position, counts in varying}
    clean: list[tuple[int, Counter[str]]] = []
    for position, counts in varying:
        # The alphabet of a position is what was seen there (fixed structure such as a UUID's version
        # nibble, or a variant nibble drawn from 4 symbols, is not bias).
        size = len(counts)
        cell = n / size
        p = _uniform_p(counts, dict.fromkeys(counts, cell)) if cell >= MIN_EXPECTED_PER_CELL else 1.0
        if p * tests < P_THRESHOLD:
            top, hits = counts.most_common(1)[0]
            biased.append(
                f"position {position + 1}: {top!r} {hits}x of {n} "
                f"(uniform over {size}: {cell:.0f}), p={p:.1e}"
            )
        else:
            clean.append((position, counts))
    # Characters pooled over the positions that look uniform one by one: a bias spread thinly over every
    # position shows here. Expected counts follow each position's own alphabet.
    pooled: Counter[str] = Counter()
    expected: dict[str, float] = {}
    for _, counts in clean:
        pooled.update(counts)
        for symbol in counts:
            expected[symbol] = expected.get(symbol, 0.0) + n / len(counts)
    clean_positions, varying_positions = [p for p, _ in clean], [p for p, _ in varying]
    clean_bits = conservative_bits(sample, clean_positions, bits)  # (bits, by which estimator)
    # Over every varying position: the same figure when none of them was biased (the usual case), and the
    # estimators are most of an analysis' cost.
    varying_bits = (
        clean_bits
        if clean_positions == varying_positions
        else conservative_bits(sample, varying_positions, bits)
    )
    if len(expected) > 1 and min(expected.values()) >= MIN_EXPECTED_PER_CELL:
        p = _uniform_p(pooled, expected)
        if p * tests < P_THRESHOLD:
            top = max(expected, key=lambda symbol: pooled[symbol] / expected[symbol])
            biased.append(
                f"characters: {top!r} {pooled[top]}x where {expected[top]:.0f} were expected, p={p:.1e}"
            )
            clean_bits = (0.0, "characters biased")
    # Both are lower bounds on the token's min-entropy (a part of a token carries no more than the whole):
    # the larger one stands.
    min_bits, weakest = max(varying_bits, clean_bits)
    distinct = len(set(tokens))
    return EntropyReport(
        n,
        length,
        collision_bound_bits(distinct),
        min_bits,
        tuple(biased),
        clean_bits[0],
        len(tokens),
        weakest,
    )


def conservative_bits(
    sample: Sequence[str], positions: list[int], bits: dict[int, float]
) -> tuple[float, str]:
    """Min-entropy of ``positions`` of the tokens: the least of the per-position sum and the SP 800-90B
    estimators over those positions' characters, token after token; with the estimator that gave it."""
    per_position = sum(bits[position] for position in positions)
    if not positions:
        return 0.0, "no varying position"
    alphabet = sorted({token[i] for token in sample for i in positions})
    index = {char: number for number, char in enumerate(alphabet)}
    symbols = [index[token[i]] for token in sample for i in positions]
    size = len(alphabet)
    estimates = min_entropy_per_symbol(
        symbols, bits_per_symbol=size.bit_length() - 1 if size & (size - 1) == 0 and size > 1 else None
    )
    weakest = min(estimates, key=lambda name: estimates[name])
    return min((per_position, "per-position"), (estimates[weakest] * len(positions), f"SP 800-90B {weakest}"))


def _min_entropy(counts: Counter[str], n: int) -> float:
    """-log2 of the most common symbol's frequency at one position, plus three standard errors."""
    p_max = counts.most_common(1)[0][1] / n
    margin = 3 * math.sqrt(p_max * (1 - p_max) / n)
    return -math.log2(min(1.0, p_max + margin))


def _uniform_p(counts: Counter[str], expected: dict[str, float]) -> float:
    statistic = sum((counts[symbol] - e) ** 2 / e for symbol, e in expected.items())
    return chi_square_p(statistic, len(expected) - 1)


def token_entropy_summary(tokens: Sequence[str]) -> dict[str, object] | None:
    """The summary.json entry: the bounds the run's token sample supports (None without two tokens)."""
    report = analyse(tokens)
    return None if report is None else report.as_dict()


def entropy_line(summary: dict[str, object] | None) -> str:
    """One sentence for the sign-off: the entropy lower bound the token sample supports."""
    if not summary:
        return "Token entropy: no token sample (fewer than two tokens issued)."
    return (
        f"Token entropy: {summary['sample']} distinct tokens without a collision support a token space "
        f"of at least 2^{summary['collision_bound_bits']} (99% confidence); min-entropy estimate "
        f"{summary['min_entropy_estimate_bits']} bits (the least of the per-position and NIST SP 800-90B "
        "estimators)." + _small_space_sentence(summary)
    )


def _small_space_sentence(summary: dict[str, object]) -> str:
    caught = summary.get("small_space_caught_probability")
    if not isinstance(caught, float | int):
        return ""  # a summary written before the field existed
    return (
        f" A token space of 2^{SMALL_SPACE_BITS} would have shown a collision among the run's "
        f"{summary.get('tokens_judged')} tokens with probability {caught:.1%}."
    )
