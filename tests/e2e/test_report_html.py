"""The Allure HTML report built offline with the pinned Allure, and `conformance report` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.frontends.cli.report import report_command, verify_command
from conformance.results.report.html import (
    SINGLE_FILE_NAME,
    ReportError,
    build_html_report,
    find_allure,
)
from conformance.results.report.manifest import read_manifest
from tests.support.summaries import make_summary

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.e2e


def make_allure_results(pytester: pytest.Pytester, *, passed: int, failed: int) -> Path:
    """Run an inner session of ``passed`` passing and ``failed`` failing labelled tests; its results dir."""
    pytester.makepyfile(
        test_inner=f"""
import pytest
from conformance.results.report.allure import label_test

@pytest.mark.parametrize("n", range({passed}))
def test_ok(n):
    label_test(requirement_ids=["LT-TOKEN-PRESENT"])

@pytest.mark.parametrize("n", range({failed}))
def test_broken(n):
    label_test(requirement_ids=["LT-INPUT-EXPIRE-RANGE"])
    assert False, "[LT-INPUT-EXPIRE-RANGE] out of range accepted: expected a 4xx; received 200"
"""
    )
    results = pytester.path / "reports" / "allure-results"
    outcome = pytester.runpytest(
        "-p", "no:login_token_conformance", "-p", "no:cacheprovider", f"--alluredir={results}"
    )
    outcome.assert_outcomes(passed=passed, failed=failed)
    from conformance.results.report.allure import write_categories, write_environment

    write_categories(results)
    write_environment(results, {"target": "http://127.0.0.1:8080/v1/user/login_token", "mode": "replay"})
    return results


@pytest.fixture
def allure_installed() -> Path:
    """The pinned Allure; CI installs it (scripts/install-report-tools.sh), so its absence is a failure."""
    try:
        return find_allure()
    except ReportError as exc:
        pytest.fail(f"{exc} - the HTML report tests need it")


def test_build_html_report_offline(pytester: pytest.Pytester, allure_installed: Path) -> None:
    results = make_allure_results(pytester, passed=2, failed=1)
    out = pytester.path / "reports" / "allure-report"
    assert build_html_report(results, out) == out
    index = (out / "index.html").read_text(encoding="utf-8")
    single = (out / SINGLE_FILE_NAME).read_text(encoding="utf-8")
    for page in (index, single):
        assert "googletagmanager" not in page
        assert "gtag(" not in page
    assert len(single) > 100_000  # the app and the data are inlined
    assert "<script src=" not in single.replace('<script src="data:', "")
    # Rebuilding replaces the previous report.
    (out / "stale.txt").write_text("old", encoding="utf-8")
    build_html_report(results, out)
    assert not (out / "stale.txt").exists()


def test_build_refuses_to_replace_a_directory_that_is_not_a_report(
    tmp_path: Path, allure_installed: Path
) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "x-result.json").write_text("{}", encoding="utf-8")
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("x", encoding="utf-8")
    with pytest.raises(ReportError, match="refusing to replace"):
        build_html_report(tmp_path / "results", tmp_path / "precious")
    assert (tmp_path / "precious" / "thesis.tex").exists()


def test_report_command_builds_signoff_and_manifest(
    pytester: pytest.Pytester, allure_installed: Path
) -> None:
    results = make_allure_results(pytester, passed=1, failed=1)
    report_dir = results.parent
    (report_dir / "summary.json").write_text(
        json.dumps(make_summary(LT_TOKEN_PRESENT="failed")), encoding="utf-8"
    )
    baseline = pytester.path / "baseline.json"
    baseline.write_text(json.dumps(make_summary(LT_TOKEN_PRESENT="passed")), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(report_command, ["--report-dir", str(report_dir), "--baseline", str(baseline)])
    assert result.exit_code == 0, result.output
    assert "Newly failing (1)" in (report_dir / "signoff.md").read_text(encoding="utf-8")
    listed = read_manifest(report_dir)
    assert {"summary.json", "signoff.md", "signoff.html", "allure-report/index.html"} <= listed.keys()
    assert "allure-report/" + SINGLE_FILE_NAME in listed
    assert any(name.startswith("allure-results/") for name in listed)
    verified = runner.invoke(verify_command, [str(report_dir)])
    assert verified.exit_code == 0
    assert verified.output.startswith(f"verified {len(listed)} files: integrity against accidental change")
