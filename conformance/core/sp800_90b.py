"""The min-entropy estimators of NIST SP 800-90B (2018), section 6.3, over a sequence of symbols.

Each returns min-entropy per symbol; ``min_entropy_per_symbol`` takes the least of them, so structure
that one estimator misses (a value repeated inside a token, a short value stretched over a long one)
shows in another. Non-binary: most common value (6.3.1), t-tuple (6.3.5), longest repeated substring
(6.3.6). Binary, on the bits of symbols from an alphabet of 2^b (b bits each): collision (6.3.2),
Markov (6.3.3), compression (6.3.4). Pure Python; the costs are linear in the sample (the compression
estimator's search sums a geometric series cut where its terms vanish).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence

Z_99 = 2.576  # the upper 99% confidence bound every estimator uses
TUPLE_CUTOFF = 35  # t-tuple and LRS: tuples seen at least this often
MAX_TUPLE = 128  # longest tuple counted (a sample of repeats caps here: its estimate is low already)
MARKOV_LENGTH = 128
COMPRESSION_BLOCK = 6
COMPRESSION_DICTIONARY = 1000
COMPRESSION_C = 0.5907
# Below this many test blocks (6,000 bits past the dictionary) the compression statistic's spread makes
# its bound meaningless (a 100-token sample of 64-bit tokens read as 20 bits): not estimated.
COMPRESSION_MIN_TESTS = 1000
COLLISION_MIN_TIMES = 1000  # the same for the collision estimator's count of collision times
SEARCH_STEPS = 40
VANISHING = 1e-18


def _upper(p: float, length: int) -> float:
    return min(1.0, p + Z_99 * math.sqrt(p * (1 - p) / max(1, length - 1)))


def _bits(p: float) -> float:
    return -math.log2(p) if p > 0 else math.inf


def most_common_value(symbols: Sequence[int]) -> float:
    """6.3.1: the most common symbol's frequency, at its upper 99% bound."""
    count = Counter(symbols).most_common(1)[0][1]
    return _bits(_upper(count / len(symbols), len(symbols)))


def _tuple_tallies(symbols: Sequence[int]) -> tuple[list[int], list[int]]:
    """For i = 1.. while some i-tuple repeats: Q[i-1], how often the most common i-tuple occurs, and how
    many pairs of equal i-tuples there are (each width counted once, for both estimators)."""
    text = "".join(map(chr, symbols))  # a str: its slices hash and compare in C
    counts: list[int] = []
    pairs: list[int] = []
    for width in range(1, min(MAX_TUPLE, len(text)) + 1):
        tuples = Counter(text[i : i + width] for i in range(len(text) - width + 1))
        top = max(tuples.values())
        if top < 2:
            break
        counts.append(top)
        pairs.append(sum(c * (c - 1) // 2 for c in tuples.values()))
    return counts, pairs


def t_tuple(symbols: Sequence[int], counts: list[int] | None = None) -> float:
    """6.3.5: the most common i-tuples, for every i whose most common tuple occurs TUPLE_CUTOFF times."""
    counts = _tuple_tallies(symbols)[0] if counts is None else counts
    length = len(symbols)
    p = max(
        ((q / (length - i)) ** (1 / (i + 1)) for i, q in enumerate(counts) if q >= TUPLE_CUTOFF),
        default=0.0,
    )
    return _bits(_upper(p, length)) if p else math.inf


def longest_repeated_substring(
    symbols: Sequence[int], tallies: tuple[list[int], list[int]] | None = None
) -> float:
    """6.3.6: collision probabilities of the tuples longer than the t-tuple estimate looks at."""
    counts, pairs = _tuple_tallies(symbols) if tallies is None else tallies
    length = len(symbols)
    start = next((i + 1 for i, q in enumerate(counts) if q < TUPLE_CUTOFF), len(counts) + 1)
    p = 0.0
    for width in range(start, len(counts) + 1):
        total = (length - width + 1) * (length - width) // 2
        if pairs[width - 1] and total:
            p = max(p, (pairs[width - 1] / total) ** (1 / width))
    return _bits(_upper(p, length)) if p else math.inf


def collision(bits: Sequence[int]) -> float:
    """6.3.2 (binary): the mean distance to the first repeated bit, at its lower 99% bound."""
    times = []
    i, n = 0, len(bits)
    while i + 2 < n:
        step = 2 if bits[i] == bits[i + 1] else 3
        times.append(step)
        i += step
    if len(times) < COLLISION_MIN_TIMES:
        return math.inf
    mean = sum(times) / len(times)
    sigma = math.sqrt(sum((t - mean) ** 2 for t in times) / (len(times) - 1))
    low = mean - Z_99 * sigma / math.sqrt(len(times))
    p = 0.5 + math.sqrt(1.25 - 0.5 * low) if low < 2.5 else 0.5
    return _bits(min(1.0, p))


def markov(bits: Sequence[int]) -> float:
    """6.3.3 (binary): the most likely 128-bit sequence under a first-order Markov model, per bit."""
    if len(bits) < 3:
        return math.inf
    ones = sum(bits) / len(bits)
    start = {0: 1 - ones, 1: ones}
    pairs = Counter(itertools.pairwise(bits))
    move = {}
    for a in (0, 1):
        total = pairs[(a, 0)] + pairs[(a, 1)]
        for b in (0, 1):
            move[(a, b)] = pairs[(a, b)] / total if total else 0.0
    k = MARKOV_LENGTH
    paths = (
        start[0] * move[(0, 0)] ** (k - 1),
        start[0] * move[(0, 1)] ** (k // 2) * move[(1, 0)] ** (k // 2 - 1),
        start[0] * move[(0, 1)] * move[(1, 1)] ** (k - 2),
        start[1] * move[(1, 0)] * move[(0, 0)] ** (k - 2),
        start[1] * move[(1, 0)] ** (k // 2) * move[(0, 1)] ** (k // 2 - 1),
        start[1] * move[(1, 1)] ** (k - 1),
    )
    return min(1.0, _bits(max(paths)) / k)


def compression(bits: Sequence[int]) -> float:
    """6.3.4 (binary): Maurer's universal statistic over 6-bit blocks, inverted for the most likely block."""
    b = COMPRESSION_BLOCK
    blocks = [int("".join(map(str, bits[i : i + b])), 2) for i in range(0, len(bits) - b + 1, b)]
    d, total = COMPRESSION_DICTIONARY, len(blocks)
    v = total - d
    if v < COMPRESSION_MIN_TESTS:
        return math.inf
    last: dict[int, int] = {}
    for i, block in enumerate(blocks[:d], start=1):
        last[block] = i
    logs = []
    for i, block in enumerate(blocks[d:], start=d + 1):
        logs.append(math.log2(i - last.get(block, 0)) if block in last else math.log2(i))
        last[block] = i
    mean = sum(logs) / v
    sigma = COMPRESSION_C * math.sqrt(max(0.0, sum(x * x for x in logs) / (v - 1) - mean * mean))
    target = mean - Z_99 * sigma / math.sqrt(v)
    symbols = 1 << b
    log2u = [0.0] + [math.log2(u) for u in range(1, total + 1)]
    later = [total - max(d, u) for u in range(total + 1)]  # how many t > max(d, u) count u

    def g(z: float) -> float:
        # Sum over t = d+1..total of sum_{u<t} log2(u) z^2 (1-z)^(u-1) + log2(t) z (1-z)^(t-1), regrouped
        # by u (each u < t counted for every t > max(d, u)), cut where (1-z)^(u-1) vanishes.
        result, power, keep = 0.0, 1.0, 1 - z
        for u in range(1, total + 1):
            if u < total:
                result += log2u[u] * z * z * power * later[u]
            if u > d:
                result += log2u[u] * z * power
            power *= keep
            if power < VANISHING:
                break
        return float(result / v)

    def expected(p: float) -> float:
        return g(p) + (symbols - 1) * g((1 - p) / (symbols - 1))

    low, high = 1 / symbols, 1.0
    if expected(low) <= target:
        return 1.0  # no p above uniform explains the statistic: full entropy
    for _ in range(SEARCH_STEPS):  # expected() falls as p rises from 1/symbols
        middle = (low + high) / 2
        low, high = (middle, high) if expected(middle) > target else (low, middle)
    return min(1.0, _bits(high) / b)


def min_entropy_per_symbol(symbols: Sequence[int], *, bits_per_symbol: int | None) -> dict[str, float]:
    """Every estimator's min-entropy per symbol (binary ones only when ``bits_per_symbol`` is given:
    the alphabet is 2^bits_per_symbol, symbols numbered from 0)."""
    tallies = _tuple_tallies(symbols)
    found = {
        "most common value": most_common_value(symbols),
        "t-tuple": t_tuple(symbols, tallies[0]),
        "longest repeated substring": longest_repeated_substring(symbols, tallies),
    }
    if bits_per_symbol:
        bits = [(s >> shift) & 1 for s in symbols for shift in range(bits_per_symbol - 1, -1, -1)]
        for name, estimator in (("collision", collision), ("Markov", markov), ("compression", compression)):
            found[name] = estimator(bits) * bits_per_symbol
    return found
