"""CI-friendly output: plain lines with full IDs outside a terminal, a table that fits on one, -q the verdict
line only, and a progress line at least every PROGRESS_EVERY_S during a long test (issue 22, item 9)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.core.contract import REQUIREMENTS
from conformance.frontends.cli import console as console_module
from conformance.frontends.cli import main
from tests.support.cli import conformance

QUICK = (
    "run",
    "--target",
    "reference",
    "--seed",
    "1",
    "--max-examples",
    "5",
    "-k",
    "test_valid_request_is_granted",
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_a_ci_log_gets_every_requirement_with_its_full_id_and_counts_whatever_columns_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """COLUMNS=60 conformance run ... | cat → one plain line per requirement, nothing cut with '…'."""
    monkeypatch.setenv("COLUMNS", "60")
    assert main([*QUICK, "--report-dir", str(tmp_path / "r")]) == 6
    out = capsys.readouterr().out
    lines = out.splitlines()
    for requirement in REQUIREMENTS:
        (line,) = [line for line in lines if line.strip().startswith(requirement.id + " ")]
        assert re.search(r"checks +\d+  failures \d+$", line), line
        assert "…" not in line
    assert not any(line.startswith(("┃", "│", "┏")) for line in lines)  # no table in a log


def test_a_terminal_gets_a_table_that_fits_its_width(tmp_path: Path) -> None:
    """COLUMNS=100 on a terminal → the table, no line wider than 100, every ID whole."""
    done = conformance(
        *QUICK, "--report-dir", str(tmp_path / "r"), env={"FORCE_COLOR": "1", "COLUMNS": "100"}
    )
    assert done.returncode == 6, done.stderr
    plain = ANSI.sub("", done.stdout)
    assert "┃ ID" in plain
    table = [line for line in plain.splitlines() if line.startswith(("┃", "│", "┏", "┡", "└"))]
    assert table and max(len(line) for line in table) <= 100
    for requirement in REQUIREMENTS:
        assert f"│ {requirement.id} " in plain


def test_quiet_prints_the_verdict_line_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """conformance run -q → stdout is one line: the verdict."""
    assert main([*QUICK, "--report-dir", str(tmp_path / "r"), "-q"]) == 6
    out = capsys.readouterr().out
    assert out.splitlines() == [out.strip()]
    assert out.startswith("verdict: incomplete")


def test_a_long_test_prints_progress_lines_in_a_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test that runs longer than PROGRESS_EVERY_S says which test, how many requests and how long."""
    monkeypatch.setattr(console_module, "PROGRESS_EVERY_S", 0.05)
    args = (
        "run",
        "--target",
        "reference",
        "--seed",
        "1",
        "--max-examples",
        "40",
        "-k",
        "test_token_expire_generated",
    )
    main([*args, "--report-dir", str(tmp_path / "r")])
    out = capsys.readouterr().out
    beats = [line for line in out.splitlines() if "test_token_expire_generated running:" in line]
    assert beats, out
    assert re.fullmatch(r"  \.\.\. test_token_expire_generated running: \d+ requests so far, \d+s", beats[-1])


def test_a_reader_that_goes_away_changes_neither_the_run_nor_its_exit_code(tmp_path: Path) -> None:
    """conformance run ... | head -1 → the exit code is the summary's, the run completes, no traceback."""
    import json
    import subprocess
    import sys

    reports = tmp_path / "r"
    args = [*QUICK[:-2], "--fault", "token_expire_59_accepted", "-k", "test_token_expire_boundaries"]
    command = [sys.executable, "-m", "conformance", *args, "--report-dir", str(reports)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.readline()  # `head -1`: one line read, then the pipe closed
        process.stdout.close()
        err = process.stderr.read().decode()
        code = process.wait(timeout=300)
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert code == summary["exit_code"] == 1, err
    assert summary["verdict"] == "non-conformant"
    assert "Traceback" not in err and "BrokenPipe" not in err
