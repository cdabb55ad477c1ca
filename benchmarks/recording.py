"""Recording a target that pads valid documents with a 256 KB comment: peak memory, time, cassette size.

Issue 23 measured 3 min 10 s, 1.28 GB peak RSS and 260 MB of cassettes (one file 201 MB, refused on replay)
for a default run; the target is at most 500 MB. The recording is a small complete run (5 examples per
generated test, a 20-token sample) so that `make bench` stays short; a body's cost does not depend on how
many there are (each over the stored-body budget is kept as an excerpt). Then the set is replayed: same
exit code. Prints a table, asserts nothing.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_KEY = "BENCH-NOT-A-REAL-KEY-padded"
CLI_CODE = "import sys; from conformance.frontends.cli import main; sys.exit(main())"
RUN_TIMEOUT_SECONDS = 1800
SMALL_RUN = ("--max-examples", "5")
TOKEN_SAMPLE = 20


def _cli(*args: str, cwd: Path) -> tuple[int, float, float]:
    """Exit code, wall seconds and the peak RSS (MiB) of the largest child so far."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", CLI_CODE, *args],
        cwd=cwd,
        env={**os.environ, "CONFORMANCE_API_KEY": BENCH_KEY},
        capture_output=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    wall = time.perf_counter() - started
    return completed.returncode, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    """Record the padded target, replay the recording, print the figures."""
    from tests.support.hostile_server import PaddedServer

    with tempfile.TemporaryDirectory(prefix="bench-recording-") as scratch, PaddedServer() as server:
        work = Path(scratch)
        profile = work / "small.toml"
        profile.write_text(f"token_sample = {TOKEN_SAMPLE}\n", encoding="utf-8")
        common = ("--report-dir", str(work / "reports"), "--profile", str(profile), "-q")
        cassettes = work / "cassettes"
        recorded = _cli("run", "--target", server.url, "--user-id", "12345", "--record",
                        "--cassettes", str(cassettes), *SMALL_RUN, *common, cwd=work)  # fmt: skip
        files = sorted(cassettes.glob("*.yaml"))
        total = sum(p.stat().st_size for p in files)
        largest = max((p.stat().st_size for p in files), default=0)
        replayed = _cli("run", "--cassettes", str(cassettes), *common, cwd=work)
    print("Recording a target padding every answer with a 256 KB comment (5 examples, token_sample 20)")
    print(
        f"{'run':<8} {'exit':>4} {'wall s':>8} {'peak RSS MiB':>13} {'cassettes MiB':>14} {'largest MiB':>12}"
    )
    print(
        f"{'record':<8} {recorded[0]:>4} {recorded[1]:>8.2f} {recorded[2]:>13.1f} "
        f"{total / 2**20:>14.2f} {largest / 2**20:>12.2f}"
    )
    print(f"{'replay':<8} {replayed[0]:>4} {replayed[1]:>8.2f} {'-':>13} {'':>14} {'':>12}")
    verdict = "met" if recorded[2] <= 500 and replayed[0] == recorded[0] else "NOT met"
    print(
        f"\n- peak RSS of the recording {recorded[2]:.0f} MiB (target <= 500), replay exit as recorded: "
        f"{verdict}"
    )


if __name__ == "__main__":
    main()
