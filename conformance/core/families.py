"""What a default run sends, by probe family (one conformance test each), and what a run will cost.

The figures are those of the bundled recording (`make record`: the reference, the default profile, max
examples 100, token_sample 776); tests/unit/core/test_families.py replays it and keeps them true. The README's
table of probe families is ``families_markdown`` of that replay; the run header's estimate is
``estimated_requests``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

# The two generated tests grow with --max-examples; the token sample tops the run's tokens up to
# token_sample; everything else is a fixed list.
GENERATED_TESTS = (
    "test_token_expire.py::test_token_expire_generated",
    "test_user_id.py::test_user_id_generated",
)
SAMPLE_TEST = "test_vigilance.py::test_token_sample_is_uniformly_random"
RECORDED_MAX_EXAMPLES = 100
FIXED_REQUESTS = 882  # every test but the generated ones and the token sample
GENERATED_REQUESTS = 171  # the two generated tests at RECORDED_MAX_EXAMPLES
TOKENS_BEFORE_SAMPLE = 213  # tokens the run has seen when the token sample starts


def estimated_requests(*, max_examples: int, token_sample: int) -> int:
    """About how many requests a whole run sends against a conforming target."""
    generated = GENERATED_REQUESTS * max_examples / RECORDED_MAX_EXAMPLES
    return round(FIXED_REQUESTS + generated + max(0, token_sample - TOKENS_BEFORE_SAMPLE))


def estimate_line(*, requests: int, rate: float | None, idle: float) -> str:
    """The run header's estimate: the requests, and at a finite rate how long they take."""
    line = f"about {requests:,} requests"
    if rate is None or not math.isfinite(rate):
        return line + " (no rate limit)"
    seconds = requests / rate + idle
    return line + f" at {rate:g} requests/s: about {_duration(seconds)} (--rate sets the pace)"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def families_markdown(tests: Iterable[tuple[str, int]]) -> str:
    """The README's table: each conformance test (a probe family) and the requests it sends."""
    rows = list(tests)
    lines = ["| Probe family (conformance test) | Requests |", "|---|---:|"]
    lines += [f"| `{nodeid}` | {requests:,} |" for nodeid, requests in rows]
    lines.append(f"| **all** | **{sum(r for _, r in rows):,}** |")
    return "\n".join(lines) + "\n"
