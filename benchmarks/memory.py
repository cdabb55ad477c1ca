"""Peak memory and wall time under hostile targets: one Transport request, and whole `conformance run`s.

Each measurement runs in a fresh process (its peak RSS is its own); the whole-run rows run the real CLI
from an empty working directory, as a first run on a CI machine would. Prints tables, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.core.model import API_KEY_PLACEHOLDER, Case, Expect
from conformance.core.options import DEFAULT_TIMEOUT
from conformance.exchange.transport import Transport, TransportSettings

ROOT = Path(__file__).resolve().parents[1]
BENCH_KEY = "BENCH-NOT-A-REAL-KEY"
MEMORY_CASES = ("valid", "huge_body", "gzip_bomb")  # "valid" is the baseline: interpreter + httpx
CHILD_TIMEOUT_SECONDS = 120
RUN_CASES = ("valid", "huge_body", "gzip_bomb")  # whole runs; "valid" is the baseline of a full run
RUN_TIMEOUT_SECONDS = 300
CLI_CODE = "import sys; from conformance.frontends.cli import main; sys.exit(main())"
CASE = Case(
    label="benchmark request",
    form=(("api_key", API_KEY_PLACEHOLDER), ("user_id", "12345"), ("token_expire", "3600")),
    expect=Expect.ACCEPT,
    requirement="LT-INPUT-USER-VALID",
)


def one_request(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, object]:
    """Send CASE once to ``url`` and describe the outcome (this process's peak RSS included)."""
    started = time.perf_counter()
    with Transport(url, api_key=BENCH_KEY, settings=TransportSettings(timeout=timeout)) as transport:
        exchange = transport.send(CASE)
    return {
        "wall_s": time.perf_counter() - started,
        "outcome": exchange.error.value if exchange.error else f"HTTP {exchange.status}",
        "body_bytes": len(exchange.body),
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    }


def measure_in_child(case: str) -> dict[str, object]:
    """Run one request against a fresh hostile server from a fresh interpreter, so peaks are separate."""
    from tests.support.hostile_server import HostileServer

    with HostileServer(case) as server:
        completed = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory", "--child", server.url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_SECONDS,
            check=True,
        )
    result: dict[str, object] = json.loads(completed.stdout)
    return result


def measure_slow() -> dict[str, object]:
    """Wall time of one request to a server that never answers, with the default timeout."""
    from tests.support.hostile_server import HostileServer

    with HostileServer("slow") as server:
        result = one_request(server.url)
    result["max_rss_mib"] = None  # this process also runs the server: its RSS says nothing here
    return result


def whole_run(url: str, *, workdir: Path) -> dict[str, object]:
    """Run `conformance run --target url` as a child and describe it (the child's peak RSS included)."""
    with tempfile.TemporaryDirectory(prefix="bench-report-") as report_dir:
        args = ["run", "--target", url, "--user-id", "12345", "--report-dir", report_dir, "-q"]
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-c", CLI_CODE, *args],
            cwd=workdir,
            env={**os.environ, "CONFORMANCE_API_KEY": BENCH_KEY},
            capture_output=True,
            timeout=RUN_TIMEOUT_SECONDS,
            check=False,
        )
        wall = time.perf_counter() - started
        summary = json.loads((Path(report_dir) / "summary.json").read_text(encoding="utf-8"))
    return {
        "wall_s": wall,
        "exit": completed.returncode,
        "requests": summary["requests"],
        "stopped_early": "yes" if summary.get("stopped_early") else "no",
        # RUSAGE_CHILDREN: the largest waited-for child of this fresh process, i.e. the CLI run.
        "max_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def measure_run_in_child(case: str, *, warm: bool = False) -> dict[str, object]:
    """A whole run (default timeout and examples) against a fresh hostile server, from a fresh interpreter.

    The run starts in an empty working directory; ``warm`` runs once there first, so Hypothesis's
    ./.hypothesis cache already exists, as on a developer's machine.
    """
    from tests.support.hostile_server import HostileServer

    with tempfile.TemporaryDirectory(prefix="bench-cwd-") as workdir, HostileServer(case) as server:
        command = [sys.executable, "-m", "benchmarks.memory", "--run", server.url, "--workdir", workdir]
        if warm:
            subprocess.run(command, cwd=ROOT, capture_output=True, timeout=RUN_TIMEOUT_SECONDS, check=True)
        completed = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, check=True
        )
    result: dict[str, object] = json.loads(completed.stdout)
    return result


def _run_table(rows: list[tuple[str, dict[str, object]]]) -> str:
    lines = [
        f"{'run':<24} {'exit':>4} {'requests':>8} {'stopped early':>13} {'wall s':>8} {'peak RSS MiB':>13}"
    ]
    for label, row in rows:
        lines.append(
            f"{label:<24} {row['exit']!s:>4} {row['requests']!s:>8} {row['stopped_early']!s:>13} "
            f"{float(str(row['wall_s'])):>8.2f} {float(str(row['max_rss_mib'])):>13.1f}"
        )
    return "\n".join(lines)


def _table(rows: list[tuple[str, dict[str, object]]]) -> str:
    lines = [f"{'case':<12} {'outcome':<22} {'body bytes':>10} {'wall s':>8} {'peak RSS MiB':>13}"]
    for case, row in rows:
        lines.append(
            f"{case:<12} {row['outcome']!s:<22} {row['body_bytes']!s:>10} {float(str(row['wall_s'])):>8.2f} "
            + (f"{float(str(rss)):>13.1f}" if (rss := row["max_rss_mib"]) is not None else f"{'-':>13}")
        )
    return "\n".join(lines)


def main() -> None:
    """Print peak RSS per hostile case (one request, whole runs) and how long a run takes to give up."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--run", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    # `python -m benchmarks memory` leaves its own arguments in sys.argv: ignore what is not ours.
    args, _ = parser.parse_known_args()
    if args.child:
        print(json.dumps(one_request(args.child)))
        return
    if args.run:
        print(json.dumps(whole_run(args.run, workdir=args.workdir)))
        return
    from tests.support.hostile_server import gzip_bomb

    gzip_bomb()  # built once up front, so the bomb's wall time is the client's, not the server's setup
    rows = [(case, measure_in_child(case)) for case in MEMORY_CASES]
    print("Transport: one request per case (peak RSS of a fresh process; 'valid' is the baseline)")
    print(_table(rows))
    print()
    print(f"Transport: one request to 'slow' with the default {DEFAULT_TIMEOUT:g} s timeout")
    print(_table([("slow", measure_slow())]))
    print()
    runs = [(f"{case} (fresh dir)", measure_run_in_child(case)) for case in RUN_CASES]
    runs.insert(1, ("valid (warm .hypothesis)", measure_run_in_child("valid", warm=True)))
    print("Whole `conformance run` per case (peak RSS of the CLI process, default --max-examples)")
    print(_run_table(runs))
    print()
    print(
        f"Whole `conformance run` against 'slow' (30 s stall) with the default {DEFAULT_TIMEOUT:g} s timeout"
    )
    print(_run_table([("slow (fresh dir)", measure_run_in_child("slow"))]))


if __name__ == "__main__":
    main()
