"""`conformance report` rebuilds the sign-off the run wrote (its baseline comparison too) and never works
in a report directory a run holds (issue 22, item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.frontends.cli import main
from conformance.results.report.signoff import BASELINE_HEADING
from conformance.results.reportdir import BASELINE_COPY, locked

QUICK = ("--target", "reference", "--max-examples", "5", "--seed", "1", "-k", "test_valid_request_is_granted")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out + captured.err


@pytest.fixture
def compared(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A run's report directory: `conformance run ... --baseline old/summary.json`."""
    old, new = tmp_path / "old", tmp_path / "new"
    assert cli(capsys, "run", *QUICK, "--report-dir", str(old))[0] == 6
    assert (
        cli(capsys, "run", *QUICK, "--report-dir", str(new), "--baseline", str(old / "summary.json"))[0] == 6
    )
    assert BASELINE_HEADING in (new / "signoff.md").read_text(encoding="utf-8")
    return new


def test_report_keeps_the_runs_baseline_comparison(
    compared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """conformance run --baseline OLD; conformance report → the sign-off still compares with OLD."""
    assert (compared / BASELINE_COPY).is_file()
    (compared / "signoff.md").unlink()
    code, out = cli(capsys, "report", "--report-dir", str(compared))
    assert code == 0, out
    assert BASELINE_HEADING in (compared / "signoff.md").read_text(encoding="utf-8")
    assert cli(capsys, "verify", str(compared))[0] == 0  # the copy of the baseline is part of the bundle


def test_report_into_a_directory_a_run_holds_is_refused(
    compared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """conformance report while a run writes the directory → exit 2 naming the holder; nothing rebuilt."""
    before = (compared / "signoff.md").read_bytes()
    with locked(compared):
        code, out = cli(capsys, "report", "--report-dir", str(compared))
    assert code == 2
    assert f"--report-dir {compared} is in use by" in out
    assert not (compared / "allure-report").exists()
    assert (compared / "signoff.md").read_bytes() == before
