"""A malformed summary.json given to each reader command of the real CLI: one line, its exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import conformance
from tests.support.summaries import summary_json_with

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def malformed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report directory whose summary.json has a hand-edited token_entropy (built once)."""
    report_dir = tmp_path_factory.mktemp("malformed")
    summary_json_with(report_dir, token_entropy={"sample": "x"})
    (report_dir / "good").mkdir()
    summary_json_with(report_dir / "good")  # a report directory whose own summary.json is fine
    return report_dir


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (("report", "--report-dir", "{dir}"), 2),  # the exit-code table of `run`: a usage error is 2
        (("report", "--report-dir", "{dir}/good", "--baseline", "{dir}/summary.json"), 2),
        (
            (
                "run",
                "-k",
                "test_valid_request",
                "--baseline",
                "{dir}/summary.json",
                "--report-dir",
                "{dir}/r",
            ),
            2,
        ),
        (("rerun", "{dir}/summary.json", "--target", "reference", "--report-dir", "{dir}/r"), 2),
    ],
    ids=["report", "report --baseline", "run --baseline", "rerun"],
)
def test_each_reader_command_refuses_it_in_one_line(
    malformed: Path, args: tuple[str, ...], exit_code: int
) -> None:
    result = conformance(*(a.format(dir=malformed) for a in args), offline=True)
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{malformed}/summary.json" in lines[0]
    assert "field token_entropy.sample: expected an integer" in lines[0]
    assert not (malformed / "good" / "allure-report").exists()  # refused before any work
