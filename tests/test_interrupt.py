"""End to end: a `conformance run` process interrupted mid-request (SIGINT, SIGTERM, SIGKILL).

Whatever ends the run, summary.json must parse and say the run is incomplete, and no half-written file
(summary, temp file or cassette) may be left behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conformance.core.errors import EXIT_INTERRUPTED
from tests.hostile_server import HostileServer, ReceivedRequest
from tests.test_hostile import canary_key, report_bytes

pytestmark = pytest.mark.e2e

# A shell that starts a job in the background hands it SIGINT ignored, and Python then never raises
# KeyboardInterrupt; restore the handler an interactive `conformance run` would have.
CLI_CODE = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from conformance.frontends.cli import main; sys.exit(main())"
)
STALL_WAIT_SECONDS = 60.0  # bounds for the waits below, not timing assertions
END_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05
REQUEST_TIMEOUT = "60"  # longer than the server's 30 s stall: the request is still in flight when signalled


class StallingServer(HostileServer):
    """A HostileServer whose 'slow' answers announce themselves, so a test knows a request is in flight."""

    def __init__(self, case: str) -> None:
        super().__init__(case)
        self.stalled = threading.Event()

    def __enter__(self) -> StallingServer:
        super().__enter__()
        return self

    def _case_slow(self, conn: socket.socket, request: ReceivedRequest) -> None:
        self.stalled.set()
        super()._case_slow(conn, request)


@contextmanager
def cli_process(target: str, tmp_path: Path, *extra: str, api_key: str) -> Iterator[subprocess.Popen[str]]:
    """A running `conformance run` against ``target``; killed (with its group) if still alive at exit."""
    args = ["run", "--target", target, "--user-id", "12345", "--timeout", REQUEST_TIMEOUT]
    args += ["--max-examples", "5", "--report-dir", str(tmp_path / "report"), *extra]
    env = {**os.environ, "CONFORMANCE_API_KEY": api_key, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", CLI_CODE, *args],
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


def load_summary(tmp_path: Path) -> dict[str, Any]:
    """summary.json of the run (it must parse)."""
    document: dict[str, Any] = json.loads((tmp_path / "report" / "summary.json").read_text("utf-8"))
    return document


def assert_nothing_half_written(*folders: Path, api_key: str) -> None:
    """No temp file left behind and no trace of the key, in any of ``folders``."""
    for folder in folders:
        assert not list(folder.rglob(".*.tmp")), sorted(p.name for p in folder.rglob("*"))
        assert not [p.name for p, data in report_bytes(folder).items() if api_key.encode() in data]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_request_ends_with_incomplete_summary(signum: int, tmp_path: Path) -> None:
    """Ctrl-C or a CI cancel during a request: exit 130 and a summary marked incomplete."""
    api_key = canary_key()
    with StallingServer("slow") as server, cli_process(server.url, tmp_path, api_key=api_key) as process:
        wait_for(server.stalled, process, "a request reaching the server")
        returncode, output = end(process, signum)
    assert returncode == EXIT_INTERRUPTED, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert api_key not in output
    summary = load_summary(tmp_path)
    assert summary["complete"] is False
    assert summary["verdict"] == "error"
    assert summary["exit_code"] == EXIT_INTERRUPTED
    assert "interrupted" in summary["error"]
    assert_nothing_half_written(tmp_path / "report", api_key=api_key)


def test_sigkill_leaves_the_incomplete_summary_written_at_start(tmp_path: Path) -> None:
    """SIGKILL cannot be handled: the summary written when the run started is what remains, and parses."""
    api_key = canary_key()
    with StallingServer("slow") as server, cli_process(server.url, tmp_path, api_key=api_key) as process:
        wait_for(server.stalled, process, "a request reaching the server")
        returncode, _ = end(process, signal.SIGKILL)
    assert returncode == -signal.SIGKILL
    summary = load_summary(tmp_path)
    assert summary["complete"] is False
    assert summary["verdict"] == "error"
    assert summary["exit_code"] == EXIT_INTERRUPTED
    assert "did not finish" in summary["error"]
    assert_nothing_half_written(tmp_path / "report", api_key=api_key)


def test_interrupted_recording_leaves_only_whole_cassettes(tmp_path: Path) -> None:
    """SIGINT while recording: the set being recorded is dropped whole, the directory is as it was."""
    api_key = canary_key()
    cassettes = tmp_path / "cassettes"
    extra = ("--record", "--cassettes", str(cassettes))
    with (
        StallingServer("valid") as server,
        cli_process(server.url, tmp_path, *extra, api_key=api_key) as process,
    ):
        recorded = threading.Event()
        deadline = time.monotonic() + STALL_WAIT_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            if list(tmp_path.glob(".cassettes.recording-*/*.yaml")):  # staged, not yet the set
                recorded.set()
                break
            time.sleep(POLL_SECONDS)
        wait_for(recorded, process, "a first cassette being written")
        server.case = "slow"  # the next request hangs: the interrupt lands mid-test, mid-recording
        wait_for(server.stalled, process, "a request reaching the stalled server")
        returncode, output = end(process, signal.SIGINT)
    assert returncode == EXIT_INTERRUPTED, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert not list(cassettes.glob("*.yaml"))  # an interrupted recording replaces nothing
    assert not list(tmp_path.glob(".cassettes.*"))  # and leaves no staging behind
    assert load_summary(tmp_path)["complete"] is False
    assert_nothing_half_written(tmp_path / "report", cassettes, api_key=api_key)
