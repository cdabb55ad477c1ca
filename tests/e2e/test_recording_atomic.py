"""A recording replaces the old cassette set only when the run completed: every other end leaves it as it was.

Each early end is produced the way it happens (a budget reached, an unreachable target, an abort, a secret
reaching a report file, an interrupt, a kill) against a directory holding a recorded set; the set is then
compared byte for byte, inode for inode (it was never opened for writing, not even rewritten the same).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.core.errors import (
    EXIT_CASSETTE_MISS,
    EXIT_CONFORMANT,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_SUITE_ERROR,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)
from conformance.core.options import RunOptions
from conformance.core.violations import RunAborted
from conformance.frontends.local import open_session
from conformance.frontends.runner import execute
from conformance.reference.behaviour import REFERENCE_API_KEY
from tests.support import ROOT
from tests.support.cli import SMALL_TOKEN_SAMPLE, conformance, small_run

pytestmark = pytest.mark.e2e
KEY = "canary-key-for-atomic-recording-0000"  # --target reference records with its own key
Snapshot = dict[str, tuple[int, bytes]]
WAIT_SECONDS = 60.0


def snapshot(directory: Path) -> Snapshot:
    """Every file of ``directory`` with its inode and bytes."""
    return {p.name: (p.stat().st_ino, p.read_bytes()) for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recorded set of the reference (a small run), copied by each test before it re-records it."""
    base = tmp_path_factory.mktemp("recorded")
    done = conformance(
        "run", "--target", "reference", "--record", "--cassettes", str(base / "cassettes"),
        "--report-dir", str(base / "reports"), *small_run(base), "-q",
        env={"CONFORMANCE_API_KEY": KEY},
    )  # fmt: skip
    assert done.returncode == EXIT_CONFORMANT, done.stderr[-2000:]
    return base / "cassettes"


@pytest.fixture
def old_set(recorded: Path, tmp_path: Path) -> Path:
    """A copy of the recorded set (a fresh inode per file), to be re-recorded by the test."""
    directory = tmp_path / "cassettes"
    directory.mkdir()
    for path in recorded.iterdir():
        (directory / path.name).write_bytes(path.read_bytes())
    return directory


def assert_untouched(directory: Path, before: Snapshot) -> None:
    """The old set byte- and inode-identical, and no staging directory left beside it."""
    assert snapshot(directory) == before
    assert not [p.name for p in directory.parent.iterdir() if p.name.startswith(f".{directory.name}.")]


def _cli(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return conformance(
        "run", "--record", "--cassettes", str(tmp_path / "cassettes"), "--report-dir", str(tmp_path / "r"),
        *small_run(tmp_path), *extra, env={"CONFORMANCE_API_KEY": KEY},
    )  # fmt: skip


def test_a_completed_recording_replaces_the_set(old_set: Path, tmp_path: Path) -> None:
    before = snapshot(old_set)
    done = _cli(tmp_path, "--target", "reference", "--seed", "99")
    assert done.returncode == EXIT_CONFORMANT, done.stderr[-2000:]
    after = snapshot(old_set)
    assert after.keys() == before.keys() and all(after[n][0] != before[n][0] for n in after)


def test_exit_2_a_request_budget_reached_keeps_the_old_set(old_set: Path, tmp_path: Path) -> None:
    before = snapshot(old_set)
    done = _cli(tmp_path, "--target", "reference", "--max-requests", "40")
    assert done.returncode == EXIT_USAGE, done.stderr[-2000:]
    assert_untouched(old_set, before)


def test_exit_3_an_unreachable_target_keeps_the_old_set(old_set: Path, tmp_path: Path) -> None:
    before = snapshot(old_set)
    done = _cli(tmp_path, "--target", "http://127.0.0.1:9/v1/user/login_token", "--user-id", "1")
    assert done.returncode == EXIT_UNREACHABLE, done.stderr[-2000:]
    assert_untouched(old_set, before)


class _EndMidRun:
    """A pytest plugin that ends the run at the third conformance test, the way ``how`` says."""

    def __init__(self, session: Any, how: str, report_dir: Path) -> None:
        self.session, self.how, self.report_dir, self.tests = session, how, report_dir, 0

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.tests += 1
        if self.tests != 3:
            return
        if self.how == "miss":  # what a cassette error raised under the run aborts it with
            self.session.run.aborted = RunAborted("a cassette error", exit_code=EXIT_CASSETTE_MISS)
        elif self.how == "stopped":  # an early stop (errors in a row, a spent budget): incomplete
            self.session.run.aborted = RunAborted("stopped early: test", exit_code=None)
        elif self.how == "leak":  # a secret reaching a file of the run: the leak scan ends it exit 5
            leaked = self.report_dir / "allure-results" / "leaked.txt"
            leaked.write_text(f"key={REFERENCE_API_KEY}\n", encoding="utf-8")
        elif self.how == "interrupt":
            raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("how", "exit_code"),
    [
        ("miss", EXIT_CASSETTE_MISS),
        ("leak", EXIT_SUITE_ERROR),
        ("stopped", EXIT_INCOMPLETE),
        ("interrupt", EXIT_INTERRUPTED),
    ],
)
def test_a_run_ended_early_keeps_the_old_set(
    old_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, exit_code: int
) -> None:
    before = snapshot(old_set)
    monkeypatch.setenv("CONFORMANCE_API_KEY", KEY)
    profile = tmp_path / "small.toml"
    profile.write_text(f"token_sample = {SMALL_TOKEN_SAMPLE}\n", encoding="utf-8")
    options = RunOptions(
        target="reference", record=True, cassettes=old_set, report_dir=tmp_path / "r", max_examples=5,
        profile=profile,
    )  # fmt: skip
    with open_session(options) as session:
        summary = execute(session, plugins=[_EndMidRun(session, how, options.report_dir)])
    assert summary.exit_code == exit_code, summary.error
    assert_untouched(old_set, before)
    for name in ("signoff.md", "junit.xml"):  # no report of the run says what summary.json does not
        path = options.report_dir / name
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        assert "Verdict: CONFORMANT" not in text and 'value="conformant"' not in text, name


def test_sigkill_keeps_the_old_set(old_set: Path, tmp_path: Path) -> None:
    before = snapshot(old_set)
    args = ["run", "--target", "reference", "--record", "--cassettes", str(old_set)]
    args += ["--report-dir", str(tmp_path / "r"), *small_run(tmp_path)]
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", *args],
        cwd=ROOT,
        env={**os.environ, "CONFORMANCE_API_KEY": KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            if len(list(tmp_path.glob(".cassettes.recording-*/*.yaml"))) >= 3:  # mid-recording
                break
            time.sleep(0.02)
        assert process.poll() is None, "the recording ended before it could be killed"
    finally:
        process.kill()
        process.wait()
    # the staging directory of the killed run may stay (nothing can remove it); the set is as it was
    assert snapshot(old_set) == before
