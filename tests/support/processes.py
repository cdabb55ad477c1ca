"""The real `conformance run` as a process of its own: measured (peak RSS, a bounded wait), or interrupted.

A fresh canary key for each run, and every file a run left in its report directory.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# `python -m conformance.frontends.cli` needs a conformance/frontends/cli/__main__.py; this runs the same
# entry point.
CLI_CODE = "import sys; from conformance.frontends.cli import main; sys.exit(main())"
# Runs the CLI as its own child and records that child's peak RSS (KiB on Linux) in the file argv[1].
RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call([sys.executable, '-c', sys.argv[2], *sys.argv[3:]])\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)
CLI_TIMEOUT_SECONDS = 90  # a bound against hangs, not a timing assertion: early stop ends 'slow' in ~4 s
RSS_FILE = "max_rss_kib"
# The suite tests each hostile run sends: grants and refusals (every hostile answer goes through the same
# transport, parser, checks and report writers whichever test asked; the whole suite would cost minutes).
HOSTILE_TESTS = "test_valid_request_is_granted or test_api_key_required_and_checked or test_tokens_are_unique"

# A shell that starts a job in the background hands it SIGINT ignored, and Python then never raises
# KeyboardInterrupt; restore the handler an interactive `conformance run` would have.
INTERRUPTIBLE_CLI_CODE = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from conformance.frontends.cli import main; sys.exit(main())"
)
STALL_WAIT_SECONDS = 60.0  # bounds for the waits below, not timing assertions
END_WAIT_SECONDS = 30.0
REQUEST_TIMEOUT = "60"  # longer than the server's 30 s stall: the request is still in flight when signalled


@dataclass(frozen=True)
class CliRun:
    """One finished `conformance run` process: exit code, output, summary.json and peak RSS."""

    returncode: int
    stdout: str
    stderr: str
    summary: dict[str, Any]
    report_dir: Path
    max_rss_mib: float

    def requirement(self, requirement_id: str) -> dict[str, Any]:
        """The summary entry of one requirement."""
        return next(r for r in self.summary["requirements"] if r["id"] == requirement_id)


def canary_key() -> str:
    """A fresh fake API key that must never show up anywhere (with an ``&``: XML-escaping changes it)."""
    return f"CANARY&KEY-{secrets.token_hex(12)}"


def run_cli(
    target: str, tmp_path: Path, *extra: str, api_key: str, key_variable: str = "CONFORMANCE_API_KEY"
) -> CliRun:
    """Run `conformance run --target target` in a fresh process (wrapped to measure its peak RSS).

    Its temporary and cache directories are under ``tmp_path`` too, so a test can search all it wrote.
    """
    report_dir = tmp_path / "report"
    rss_file = tmp_path / RSS_FILE
    # A small token sample: the hostile cases are about what the target sends, not about entropy, and
    # 776 grants of a 1 MiB body each would cost minutes per case.
    profile = tmp_path / "hostile-profile.toml"
    profile.write_text("token_sample = 20\n", encoding="utf-8")
    args = ["run", "--target", target, "--user-id", "12345", "--timeout", "1", "--max-examples", "5"]
    args += ["--profile", str(profile), "--report-dir", str(report_dir), "-k", HOSTILE_TESTS, *extra]
    for folder in ("tmp", "cache"):
        (tmp_path / folder).mkdir(exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if k != "CONFORMANCE_API_KEY"},
        key_variable: api_key,
        "NO_COLOR": "1",
        "TMPDIR": str(tmp_path / "tmp"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    # Its own session, so a hang can be ended with its whole process group (wrapper and CLI).
    with subprocess.Popen(
        [sys.executable, "-c", RSS_WRAPPER, str(rss_file), CLI_CODE, *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=CLI_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"`conformance run` against {target} did not finish within {CLI_TIMEOUT_SECONDS} s")
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    max_rss_mib = int(rss_file.read_text()) / 1024
    return CliRun(process.returncode, stdout, stderr, summary, report_dir, max_rss_mib)


def report_bytes(report_dir: Path) -> dict[Path, bytes]:
    """Every file the run left in its report directory, by path."""
    return {path: path.read_bytes() for path in sorted(report_dir.rglob("*")) if path.is_file()}


@contextmanager
def cli_process(target: str, tmp_path: Path, *extra: str, api_key: str) -> Iterator[subprocess.Popen[str]]:
    """A running `conformance run` against ``target``; killed (with its group) if still alive at exit."""
    args = ["run", "--target", target, "--user-id", "12345", "--timeout", REQUEST_TIMEOUT]
    args += ["--max-examples", "5", "--report-dir", str(tmp_path / "report"), *extra]
    env = {**os.environ, "CONFORMANCE_API_KEY": api_key, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTIBLE_CLI_CODE, *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


def wait_for(condition: threading.Event, process: subprocess.Popen[str], what: str) -> None:
    """Wait (bounded) until ``condition`` is set; fail with the CLI's output if it never is."""
    if not condition.wait(STALL_WAIT_SECONDS):
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"{what} never happened; CLI output:\n{out[-2000:]}\n{err[-2000:]}")


def end(process: subprocess.Popen[str], signum: int) -> tuple[int, str]:
    """Send ``signum`` and collect the exit status and all output (bounded wait)."""
    process.send_signal(signum)
    try:
        out, err = process.communicate(timeout=END_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"still running {END_WAIT_SECONDS:g} s after {signal.Signals(signum).name}:\n{err}")
    return process.returncode, out + err
