"""What QA attaches to a release, produced by real runs: the files, the manifest, the sign-off."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.core.contract import REQUIREMENTS
from tests.support.cli import conformance, small_run, summary

pytestmark = pytest.mark.e2e


def test_a_run_leaves_a_verifiable_bundle(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    assert conformance("run", "--report-dir", str(reports)).returncode == 0
    results = reports / "allure-results"
    for name in ("summary.json", "junit.xml", "signoff.md", "signoff.html", "MANIFEST.sha256"):
        assert (reports / name).is_file(), name
    assert (results / "environment.properties").is_file()
    assert (results / "categories.json").is_file()
    assert len(list(results.glob("*-result.json"))) == len(REQUIREMENTS)  # one result per requirement
    assert "mode=replay" in (results / "environment.properties").read_text()
    verified = conformance("verify", str(reports))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for victim in (reports / "junit.xml", next(results.glob("*-result.json"))):
        original = victim.read_bytes()
        victim.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        tampered = conformance("verify", str(reports))
        assert tampered.returncode == 1
        assert f"changed: {victim.relative_to(reports)}" in tampered.stdout
        victim.write_bytes(original)
    assert conformance("verify", str(reports)).returncode == 0


def test_non_conformant_signoff_reproduces_each_failure_and_diffs_against_a_baseline(tmp_path: Path) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    assert (
        conformance(
            "run", "--target", "reference", "--report-dir", str(good), *small_run(tmp_path)
        ).returncode
        == 0
    )
    result = conformance(
        "run",
        "--target",
        "reference",
        "--fault",
        "expire_one_hour_late",
        "--report-dir",
        str(bad),
        *small_run(tmp_path),
        "--baseline",
        str(good / "summary.json"),
        "--target-version",
        "9.9.9-rc1",
    )
    assert result.returncode == 1
    document = summary(bad)
    failed = [r for r in document["requirements"] if r["outcome"] == "failed"]
    assert failed
    signoff = (bad / "signoff.md").read_text()
    assert "9.9.9-rc1" in signoff
    for requirement in failed:
        for failure in requirement["failures"]:
            assert failure["reproduce"]["curl"] in signoff
            assert failure["reproduce"]["replay"] in signoff
    newly_failing = signoff.split("Newly failing", 1)[1].split("\n#", 1)[0]
    for requirement in failed:
        assert requirement["id"] in newly_failing
    html = (bad / "signoff.html").read_text()
    assert "<html" in html and "LT-EXPIRE-CONSISTENT" in html


def test_report_command_with_a_relative_report_dir(tmp_path: Path) -> None:
    """`make report` runs `conformance report` with the default, relative, reports/ directory."""
    assert conformance("run", "--target", "reference", *small_run(tmp_path), cwd=tmp_path).returncode == 0
    built = conformance("report", cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "reports" / "allure-report" / "index.html").is_file()
    assert (tmp_path / "reports" / "allure-report" / "allure-report.html").is_file()
    assert conformance("verify", "reports", cwd=tmp_path).returncode == 0
