"""Whole-run cost: a live run of the reference vs the replay of its recording (500 examples per test).

Each run is the real `conformance run` command in a subprocess (start-up included, as a user sees it):
record once (untimed), then time a live run with the same seed and a replay of the recording. Replay
re-judges the recorded requests without running Hypothesis, so it must cost under half the live run.
Run with ``python -m benchmarks.replay_ratio``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = 500
SEED = 20261128
REPEATS = 3  # the median of this many timed runs is reported
TARGET_RATIO = 0.5


def _conformance(*args: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "-q", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        command = " ".join(args)
        raise SystemExit(f"conformance run {command} exited {result.returncode}: {result.stderr[-500:]}")
    return elapsed


def main() -> None:
    """Record, time live and replay, print the ratio and whether it meets the target."""
    with tempfile.TemporaryDirectory(prefix="bench-ratio-") as scratch:
        cassettes, reports = Path(scratch) / "c", Path(scratch) / "r"
        live_args = ("--target", "reference", "--seed", str(SEED), "--max-examples", str(EXAMPLES))
        _conformance(*live_args, "--record", "--cassettes", str(cassettes), "--report-dir", str(reports))
        requests = sum(
            1 for p in cassettes.glob("*.yaml") for line in p.open() if line.startswith("- request:")
        )
        live = statistics.median(
            _conformance(*live_args, "--report-dir", str(reports)) for _ in range(REPEATS)
        )
        replay = statistics.median(
            _conformance("--cassettes", str(cassettes), "--report-dir", str(reports)) for _ in range(REPEATS)
        )
    ratio = replay / live
    print(f"| run ({EXAMPLES} examples per generated test, {requests} requests) | seconds |")
    print("|---|---:|")
    print(f"| live, reference on loopback | {live:.2f} |")
    print(f"| replay of its recording | {replay:.2f} |")
    print()
    verdict = "met" if ratio < TARGET_RATIO else "NOT MET"
    print(f"- replay/live: {ratio:.2f} (target < {TARGET_RATIO}): {verdict}")


if __name__ == "__main__":
    main()
