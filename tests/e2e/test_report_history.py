"""Allure history across runs (`conformance report --history FILE`), labelled with the target version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.core.contract import REQUIREMENTS
from conformance.results.report.html import ReportError, build_html_report
from tests.support.cli import conformance, small_run

pytestmark = pytest.mark.e2e


def _run_and_report(tmp_path: Path, name: str, version: str, *fault: str) -> Path:
    reports = tmp_path / name
    done = conformance(
        "run", "--target", "reference", *fault, "--target-version", version, *small_run(tmp_path),
        "--seed", "7", "--report-dir", str(reports), "-q",
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    built = conformance("report", "--report-dir", str(reports), "--history", str(tmp_path / "history.jsonl"))
    assert built.returncode == 0, built.stdout + built.stderr
    return reports


def test_history_grows_one_entry_per_report_and_the_next_report_shows_the_previous(tmp_path: Path) -> None:
    _run_and_report(tmp_path, "r1", "2.4.0")
    history = tmp_path / "history.jsonl"
    first = [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines()]
    assert [entry["name"] for entry in first] == ["Conformance: POST /v1/user/login_token · 2.4.0"]
    second_reports = _run_and_report(tmp_path, "r2", "2.4.1", "--fault", "qrcode_missing")
    entries = [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines()]
    assert [e["name"].rsplit(" · ", 1)[1] for e in entries] == ["2.4.0", "2.4.1"]  # once per report
    statuses = {r["status"] for r in entries[1]["testResults"].values()}
    assert {"passed", "failed"} <= statuses
    assert len(entries[1]["testResults"]) == len(REQUIREMENTS)  # the trend is per requirement
    html = second_reports / "allure-report"
    assert (html / "data" / "history" / f"{entries[0]['uuid']}.json").is_file()  # the trend has run 1
    single = (html / "allure-report.html").read_text(encoding="utf-8")
    assert f'd("data/history/{entries[0]["uuid"]}.json"' in single  # the single file carries it too
    assert conformance("verify", str(second_reports)).returncode == 0


def test_a_directory_as_history_is_one_line_error(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    run = ("run", "--target", "reference", *small_run(tmp_path), "--report-dir", str(reports), "-q")
    assert conformance(*run).returncode == 0
    done = conformance("report", "--report-dir", str(reports), "--history", str(tmp_path))
    assert done.returncode == 2
    assert "is a directory" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    with pytest.raises(ReportError, match=r"is a directory: give the history file"):
        build_html_report(reports / "allure-results", tmp_path / "out", history=tmp_path)
