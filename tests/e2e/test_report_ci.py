"""The GitHub Actions job summary written by real runs: `conformance run` and plain pytest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.results.report.ci import STEP_SUMMARY_ENV
from tests.support import ROOT
from tests.support.cli import conformance, small_run

pytestmark = pytest.mark.e2e


def test_a_failing_run_appends_its_verdict_to_the_github_step_summary(tmp_path: Path) -> None:
    target = tmp_path / "step-summary.md"
    done = conformance(
        "run", "--target", "reference", "--fault", "qrcode_missing", *small_run(tmp_path),
        "--report-dir", str(tmp_path / "reports"),
        env={STEP_SUMMARY_ENV: str(target)},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    text = target.read_text(encoding="utf-8")
    assert text.startswith("### Conformance: NON-CONFORMANT")
    assert "| LT-QRCODE-URL | failed |" in text
    assert not (tmp_path / "reports" / "step-summary.md").exists()


def test_a_plain_pytest_run_appends_its_verdict_too(tmp_path: Path) -> None:
    target = tmp_path / "step-summary.md"
    arguments = ["--target", "reference", "--fault", "qrcode_missing", "--report-dir", str(tmp_path / "r")]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-q", *arguments, *small_run(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, STEP_SUMMARY_ENV: str(target)},
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert target.read_text(encoding="utf-8").count("### Conformance: NON-CONFORMANT") == 1
