"""End to end through the real CLI: a verdict a release can rest on (issue 9).

No false green: a MUST requirement that was not exercised makes the run incomplete (exit 6) with the
reason in the terminal, summary.json, junit.xml and the sign-off.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from defusedxml.ElementTree import parse as safe_parse

from tests.support.cli import conformance, small_run, summary

pytestmark = pytest.mark.e2e
QUICK = ("--seed", "1")  # with small_run: 5 examples, a small token sample


def _junit_properties(report_dir: Path) -> dict[str, str]:
    root = safe_parse(report_dir / "junit.xml").getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    return {str(p.get("name")): str(p.get("value")) for p in suite.iter("property")}


def test_no_foreign_user_is_incomplete_with_the_reason_everywhere(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = conformance(
        "run",
        "--target",
        "reference",
        "--user-id",
        "12345",
        "--report-dir",
        str(reports),
        *QUICK,
        *small_run(tmp_path),
        cwd=tmp_path,
    )
    assert result.returncode == 6, result.stdout + result.stderr
    assert "not exercised: LT-AUTH-USER-SCOPE — no --foreign-user-id given" in result.stdout
    assert "verdict: incomplete" in result.stdout
    document = summary(reports)
    assert (document["verdict"], document["complete"], document["exit_code"]) == ("incomplete", False, 6)
    [missing] = document["not_exercised"]
    assert missing["id"] == "LT-AUTH-USER-SCOPE" and "--foreign-user-id" in missing["reason"]
    signoff = (reports / "signoff.md").read_text(encoding="utf-8")
    assert "Verdict: INCOMPLETE" in signoff and "no --foreign-user-id given" in signoff
    props = _junit_properties(reports)
    assert props["conformance.verdict"] == "incomplete"
    assert "--foreign-user-id" in props["conformance.not_exercised.LT-AUTH-USER-SCOPE"]


def test_a_k_run_is_incomplete_naming_what_it_left_out(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = conformance(
        "run",
        "--target",
        "reference",
        "--report-dir",
        str(reports),
        "-k",
        "test_unknown_user_refused",
        *QUICK,
        *small_run(tmp_path),
    )
    assert result.returncode == 6, result.stdout + result.stderr
    assert "not selected by -k 'test_unknown_user_refused'" in result.stdout
    document = summary(reports)
    assert document["verdict"] == "incomplete" and document["complete"] is False
    reasons = {item["id"]: item["reason"] for item in document["not_exercised"]}
    assert "test_tokens_are_unique_and_unpredictable" in reasons["LT-TOKEN-UNIQUE"]


def test_every_option_given_is_conformant(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = conformance(
        "run",
        "--target",
        "reference",
        "--user-id",
        "12345",
        "--foreign-user-id",
        "54321",
        "--report-dir",
        str(reports),
        *QUICK,
        *small_run(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    document = summary(reports)
    assert (document["verdict"], document["complete"], document["not_exercised"]) == ("conformant", True, [])


def test_not_applicable_is_an_explicit_reasoned_exemption_shown_in_the_signoff(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = conformance(
        "run",
        "--target",
        "reference",
        "--user-id",
        "12345",
        "--not-applicable",
        'LT-AUTH-USER-SCOPE="single-tenant deployment: every user is in scope"',
        "--report-dir",
        str(reports),
        *QUICK,
        *small_run(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not applicable: LT-AUTH-USER-SCOPE" in result.stdout
    document = summary(reports)
    assert document["not_applicable"] == [
        {
            "id": "LT-AUTH-USER-SCOPE",
            "reason": "single-tenant deployment: every user is in scope",
            "by": "--not-applicable",
        }
    ]
    signoff = (reports / "signoff.md").read_text(encoding="utf-8")
    assert "single-tenant deployment" in signoff


@pytest.mark.parametrize(
    ("value", "message"),
    [("LT-NOPE=x", "unknown requirement 'LT-NOPE'"), ("LT-AUTH-USER-SCOPE", "give the reason")],
)
def test_a_bad_exemption_is_a_usage_error(tmp_path: Path, value: str, message: str) -> None:
    result = conformance("run", "--target", "reference", "--not-applicable", value, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
