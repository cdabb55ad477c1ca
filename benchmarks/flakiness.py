"""Flakiness: the conforming reference must pass run after run, whatever the seed.

Runs the suite live against the conforming reference RUNS times in-process, each with a fresh random
seed, and prints each seed, its verdict and run time, then the total. Any verdict other than conformant
is a false alarm (or a reference bug) that reproduces with ``conformance run --target reference --seed N``.
Run with ``python -m benchmarks.flakiness [--runs N] [--max-examples N]``; exit 1 when any run failed.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conformance.core.options import DEFAULT_MAX_EXAMPLES, REFERENCE_TARGET, RunOptions
from conformance.frontends.selftest import RunOutcome, run_suite

RUNS = 20


@dataclass(frozen=True)
class SeededRun:
    """One live run of the conforming reference."""

    seed: int
    outcome: RunOutcome
    focused: bool = False  # only some suite tests ran (-k): the verdict is then at best incomplete

    @property
    def conformant(self) -> bool:
        """True when the run completed, conformant (incomplete when focused) and without warnings."""
        passing = ("conformant", "incomplete") if self.focused else ("conformant",)
        return self.outcome.verdict in passing and not self.outcome.failed and self.outcome.complete

    def line(self) -> str:
        """seed, verdict, time (and what failed)."""
        failed = f"  failed: {', '.join(self.outcome.failed)}" if self.outcome.failed else ""
        error = f"  error: {self.outcome.error}" if self.outcome.error else ""
        verdict, duration = self.outcome.verdict, self.outcome.duration_s
        return f"seed {self.seed:>10}  {verdict:<14}  {duration:6.2f}s{failed}{error}"


def flakiness_runs(
    *,
    runs: int = RUNS,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seeds: list[int] | None = None,
    on_run: Callable[[SeededRun], None] | None = None,
    keyword: str | None = None,
) -> list[SeededRun]:
    """``runs`` live runs of the conforming reference, each with its own seed (random unless given);
    ``keyword``: a -k expression (only those suite tests)."""
    rng = random.SystemRandom()
    chosen = seeds if seeds is not None else rng.sample(range(2**32), runs)
    results = []
    with tempfile.TemporaryDirectory(prefix="conformance-flakiness-") as work:
        for number, seed in enumerate(chosen, start=1):
            options = RunOptions(
                target=REFERENCE_TARGET,
                seed=seed,
                max_examples=max_examples,
                report_dir=Path(work) / f"run-{number:02d}",
            )
            result = SeededRun(seed, run_suite(options, keyword=keyword), focused=keyword is not None)
            results.append(result)
            if on_run is not None:
                on_run(result)
    return results


def main(argv: list[str] | None = None) -> int:
    """Print each seed, its verdict and run time, and the total; 1 when any run was not conformant."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flakiness", description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS, help=f"live runs (default {RUNS})")
    parser.add_argument(
        "--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, help="Hypothesis examples per test"
    )
    args = parser.parse_args(argv)
    print(f"flakiness: {args.runs} live runs of the conforming reference, max examples {args.max_examples}")
    started = time.monotonic()
    results = flakiness_runs(
        runs=args.runs, max_examples=args.max_examples, on_run=lambda run: print(run.line(), flush=True)
    )
    total = time.monotonic() - started
    passed = sum(1 for run in results if run.conformant)
    print(f"{passed}/{len(results)} conformant in {total:.1f}s ({total / max(len(results), 1):.2f}s per run)")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
