"""End to end: a `conformance run` process interrupted mid-request (SIGINT, SIGTERM, SIGKILL).

Whatever ends the run, summary.json must parse and say the run is incomplete, and no half-written file
(summary, temp file or cassette) may be left behind.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.core.errors import EXIT_INTERRUPTED
from tests.support.hostile_server import StallingServer
from tests.support.processes import STALL_WAIT_SECONDS, canary_key, cli_process, end, report_bytes, wait_for

pytestmark = pytest.mark.e2e

POLL_SECONDS = 0.05


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
