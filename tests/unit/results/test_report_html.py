"""The Allure HTML report without Allure or without results: one line each (built: tests/e2e/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.frontends.cli.report import report_command
from conformance.results.report.html import (
    ALLURE_ENV,
    INSTALL_HINT,
    ReportError,
    build_html_report,
)


def test_missing_allure_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLURE_ENV, str(tmp_path / "no-such-allure"))
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "x-result.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ReportError) as info:
        build_html_report(tmp_path / "results", tmp_path / "html")
    assert str(info.value) == INSTALL_HINT
    assert "\n" not in str(info.value)


def test_no_results_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no Allure results in"):
        build_html_report(tmp_path / "missing", tmp_path / "html")


def test_report_command_without_allure_prints_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLURE_ENV, os.devnull + "-missing")
    (tmp_path / "allure-results").mkdir()
    (tmp_path / "allure-results" / "x-result.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(report_command, ["--report-dir", str(tmp_path)])
    assert result.exit_code == 2  # the exit-code table of `run`: configuration
    assert result.output == f"Error: {INSTALL_HINT}\n"
    assert not (tmp_path / "MANIFEST.sha256").exists()
