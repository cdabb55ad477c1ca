"""Hostile cassette files given to the real CLI: exit 2 in one line, in bounded memory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.hostile_cassettes import CASES, FILE
from tests.support.processes import CLI_CODE, RSS_WRAPPER

pytestmark = pytest.mark.e2e

MAX_RSS_MIB = 300  # the bound for the alias bomb
CLI_TIMEOUT_SECONDS = 120


def run_replay(cassettes: Path, tmp_path: Path) -> tuple[int, str, float]:
    """`conformance run --cassettes DIR` in a fresh process; exit code, stderr and peak RSS in MiB."""
    rss_file = tmp_path / "rss"
    args = ["run", "--cassettes", str(cassettes), "--report-dir", str(tmp_path / "report")]
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", RSS_WRAPPER, str(rss_file), CLI_CODE, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )
    return done.returncode, done.stderr, int(rss_file.read_text()) / 1024


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_cassette_is_exit_2_in_one_line_and_bounded_memory(case: str, tmp_path: Path) -> None:
    text, problem = CASES[case]
    folder = tmp_path / "cassettes"
    folder.mkdir()
    (folder / FILE).write_text(text)
    code, stderr, rss_mib = run_replay(folder, tmp_path)
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0], stderr
    assert rss_mib < MAX_RSS_MIB, f"peak RSS {rss_mib:.0f} MiB"
