"""Two samples of response times compared (AMB-RESPONSE-TIMING): a Mann-Whitney U test and a floor.

The test is rank-based, so a few slow outliers (a garbage collection, a retransmission) weigh no more than
any other slow answer, and it assumes no distribution. It fails only on a large effect: a difference of
the medians of at least the floor, at a p-value below P_THRESHOLD. Pure: the same samples give the same
verdict, live or replayed from the recorded elapsed times. ``python -m benchmarks timing`` measures its
false-alarm rate on the conforming reference.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

P_THRESHOLD = 1e-4  # two-sided


@dataclass(frozen=True)
class TimingComparison:
    """Two samples of seconds compared: sizes, the difference of the medians (first minus second), p."""

    sizes: tuple[int, int]
    median_difference: float
    p_value: float

    def separates(self, *, min_difference: float, p_threshold: float = P_THRESHOLD) -> bool:
        """True when the samples differ by at least ``min_difference`` seconds (medians) at p < threshold."""
        return self.p_value < p_threshold and abs(self.median_difference) >= min_difference

    def describe(self) -> str:
        """One line: the medians' difference in ms, the p-value and the sample sizes."""
        first, second = self.sizes
        return (
            f"medians {self.median_difference * 1000:+.1f} ms apart, Mann-Whitney p = {self.p_value:.2g} "
            f"({first} and {second} requests)"
        )


def mann_whitney_p(first: Sequence[float], second: Sequence[float]) -> float:
    """The two-sided p-value of the Mann-Whitney U test (normal approximation, tie- and continuity-
    corrected); 1.0 when a sample is empty or every value ties."""
    n1, n2 = len(first), len(second)
    if not n1 or not n2:
        return 1.0
    ordered = sorted([(value, 0) for value in first] + [(value, 1) for value in second])
    rank_sum, ties, position = 0.0, 0.0, 0
    for _, group in itertools.groupby(ordered, key=lambda item: item[0]):
        members = list(group)
        size = len(members)
        average_rank = position + (size + 1) / 2
        rank_sum += average_rank * sum(1 for _, side in members if side == 0)
        ties += size**3 - size
        position += size
    n = n1 + n2
    u = rank_sum - n1 * (n1 + 1) / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = max(0.0, abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return math.erfc(z / math.sqrt(2))


def compare(first: Sequence[float], second: Sequence[float]) -> TimingComparison:
    """``first`` against ``second`` (seconds): the medians' difference and the Mann-Whitney p-value."""
    difference = statistics.median(first) - statistics.median(second) if first and second else 0.0
    return TimingComparison((len(first), len(second)), difference, mann_whitney_p(first, second))
