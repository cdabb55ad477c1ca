"""Both front ends finish the same way (issue 9, item 7): plain pytest and `conformance run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.core.options import RunOptions
from conformance.frontends.local import open_session
from conformance.frontends.runner import execute
from tests.support import ROOT
from tests.support.cli import small_profile, small_run

pytestmark = pytest.mark.e2e
CRASH_PLUGIN = """
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    if item.name == "test_unknown_user_refused":
        raise ZeroDivisionError("a defect in the suite itself")
"""


class Crash:
    """A pytest plugin object: one conformance test crashes with a suite defect (not a contract finding)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        if item.name == "test_unknown_user_refused":
            raise ZeroDivisionError("a defect in the suite itself")


def plain_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "crash_plugin.py").write_text(CRASH_PLUGIN, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        check=False,
    )


def test_plain_pytest_prints_seed_and_verdict_and_writes_junit(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    result = plain_pytest(
        tmp_path, "--target", "reference", "--report-dir", str(reports), *small_run(tmp_path)
    )
    assert result.returncode == 0, result.stdout[-3000:]
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert f"conformance: seed {summary['seed']}" in result.stdout
    assert "conformance: verdict: conformant" in result.stdout
    junit = (reports / "junit.xml").read_text(encoding="utf-8")
    assert 'name="conformance.verdict" value="conformant"' in junit


def test_a_crashing_suite_test_is_exit_5_in_plain_pytest(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    result = plain_pytest(
        tmp_path,
        "--target",
        "reference",
        "--report-dir",
        str(reports),
        *small_run(tmp_path),
        "-p",
        "crash_plugin",
    )
    assert result.returncode == 5, result.stdout[-3000:]
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert summary["verdict"] == "error" and summary["exit_code"] == 5
    assert "test_unknown_user_refused" in summary["error"] and "ZeroDivisionError" in summary["error"]
    assert "conformance: verdict: error" in result.stdout


def test_a_crashing_suite_test_is_exit_5_in_the_cli_path(tmp_path: Path) -> None:
    _, profile = small_profile(tmp_path)
    options = RunOptions(
        target="reference", report_dir=tmp_path / "r", max_examples=5, seed=1, profile=Path(profile)
    )
    with open_session(options) as session:
        summary = execute(session, plugins=[Crash()])
    assert summary.verdict == "error" and summary.exit_code == 5
    assert summary.error is not None and "ZeroDivisionError" in summary.error
    assert (tmp_path / "r" / "signoff.md").is_file()  # finished by the same function: every report written


def test_plain_pytest_k_run_is_incomplete_with_the_reason(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    result = plain_pytest(
        tmp_path, "--target", "reference", "--report-dir", str(reports), "-k", "test_unknown_user_refused"
    )
    assert result.returncode == 6, result.stdout[-3000:]
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert summary["verdict"] == "incomplete"
    reasons = {item["id"]: item["reason"] for item in summary["not_exercised"]}
    assert "not selected by -k 'test_unknown_user_refused'" in reasons["LT-TOKEN-UNIQUE"]
    assert "conformance: verdict: incomplete" in result.stdout
