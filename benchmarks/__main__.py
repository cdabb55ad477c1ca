"""`make bench`: every benchmark, each printing its own table (numbers, not asserts)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "benchmarks.replay",
    "benchmarks.replay_ratio",
    "benchmarks.memory",
    "benchmarks.recording",
    "benchmarks.judging",
    "benchmarks.flakiness",
    "benchmarks.timing",
)


def main() -> None:
    """Run the benchmarks named on the command line, or all of them."""
    for name in sys.argv[1:] or BENCHMARKS:
        module = name if name.startswith("benchmarks.") else f"benchmarks.{name}"
        print(f"\n## {module}\n", flush=True)
        importlib.import_module(module).main()


if __name__ == "__main__":
    main()
