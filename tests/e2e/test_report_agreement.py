"""Real failing runs: summary.json, junit.xml and the Allure results show the same per-requirement outcomes;
waivers and --fail-on new turn known failures into `conformant with waivers`, stated everywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from defusedxml.ElementTree import parse as safe_parse

from conformance.core.contract import REQUIREMENTS
from conformance.results.report.allure import ALLURE_STATUS, CATEGORIES
from tests.support.cli import conformance, small_run, summary

# One xdist worker runs the whole module: its tests share the module's runs.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("agreement")]

FAULT = "token_expire_60_rejected"
FAILING = "LT-INPUT-EXPIRE-VALID"
SKIPPED_KINDS = {"waived": "waived", "not exercised": "skipped", "not applicable": "not-applicable"}
RUN = ("run", "--target", "reference", "--seed", "7", "-q")


def _run(report_dir: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str, dict[str, Any]]:
    """A small run (its profile written next to ``report_dir``) reporting into ``report_dir``."""
    small = small_run(report_dir.parent)
    done = conformance(*RUN, *small, "--report-dir", str(report_dir), *extra, env=env)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode, done.stdout + done.stderr, summary(report_dir)  # -q: waiver lines on stderr


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reports = tmp_path_factory.mktemp("failing") / "r"
    code, _, document = _run(reports, "--fault", FAULT)
    assert code == 1 and document["verdict"] == "non-conformant"
    return reports


def _outcomes(document: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["outcome"] for r in document["requirements"]}


def junit_outcomes(report_dir: Path) -> dict[str, str]:
    """Each requirement's outcome as junit.xml shows it, read from its structure (not a copied property)."""
    suite = safe_parse(report_dir / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    out = {}
    for case in suite.findall("testcase"):
        rid = str(case.get("name")).split(" ", 1)[0]
        skipped = case.find("skipped")
        if case.find("failure") is not None:
            out[rid] = "failed"
        elif skipped is not None:
            kind = str(skipped.get("message")).split(":", 1)[0]
            out[rid] = {"waived": "waived", "not exercised": "skipped", "not applicable": "not-applicable"}[
                kind
            ]
        elif case.find("system-out") is not None and str(case.find("system-out").text).startswith("warning"):
            out[rid] = "warning"
        else:
            out[rid] = "passed"
    return out


def allure_results(report_dir: Path) -> list[dict[str, Any]]:
    return [
        json.loads(path.read_text(encoding="utf-8"))
        for path in (report_dir / "allure-results").glob("*-result.json")
    ]


def _category(message: str, status: str) -> str | None:
    for category in CATEGORIES:  # Allure 3: the first whose statuses include it and whose regex is found
        if status in category["matchedStatuses"] and re.search(category["messageRegex"], message):
            return str(category["name"])
    return None


def test_summary_junit_and_allure_show_the_same_outcomes_for_a_failing_run(failing: Path) -> None:
    document = summary(failing)
    outcomes = _outcomes(document)
    assert list(outcomes) == [r.id for r in REQUIREMENTS]
    assert outcomes[FAILING] == "failed"
    assert junit_outcomes(failing) == outcomes
    results = allure_results(failing)
    assert len(results) == len(REQUIREMENTS)  # one result per requirement, none per pytest test
    by_id = {next(lb["value"] for lb in r["labels"] if lb["name"] == "tag"): r for r in results}
    assert {rid: r["status"] for rid, r in by_id.items()} == {
        rid: ALLURE_STATUS[outcome] for rid, outcome in outcomes.items()
    }
    groups = {r["id"]: r["group"] for r in document["requirements"]}
    for rid, result in by_id.items():
        features = [lb["value"] for lb in result["labels"] if lb["name"] == "feature"]
        assert features == [groups[rid]], rid  # each requirement under its own group, and only there


def test_junit_failure_carries_expected_received_case_and_curl_and_no_traceback(failing: Path) -> None:
    text = (failing / "junit.xml").read_text(encoding="utf-8")
    assert "Traceback" not in text and "object at 0x" not in text and "engine.py" not in text
    suite = safe_parse(failing / "junit.xml").getroot().find("testsuite")
    groups = {r["id"]: r["group"] for r in summary(failing)["requirements"]}
    case = next(c for c in suite.findall("testcase") if str(c.get("name")).startswith(FAILING + " "))
    assert case.get("classname") == groups[FAILING]
    failure = case.find("failure")
    # The first failing case names token_expire 60 (a boundary case, or a grant of the stateful exploration).
    message = str(failure.get("message"))
    assert re.search(r"token_expire='?60\b", message) and "received HTTP 400" in message
    body = str(failure.text)
    assert re.search(r"expected: a token for [^\n]*token_expire='?60\b", body)
    assert "reproduce: curl -sS -i -X POST" in body and "token_expire=60" in body
    assert suite.get("failures") == "1" and suite.get("tests") == str(len(REQUIREMENTS))


def test_allure_failure_has_its_exchanges_as_steps_and_a_matching_category(failing: Path) -> None:
    result = next(r for r in allure_results(failing) if r["name"].startswith(FAILING + " "))
    message = result["statusDetails"]["message"]
    assert _category(message, result["status"]) == "Valid input rejected"
    names = [step["name"] for step in result["steps"]]
    assert any(name.startswith("failure 1: ") for name in names)  # the summary's evidence
    assert any(name.startswith("POST ") for name in names)  # the exchanges the tests recorded
    passed = next(r for r in allure_results(failing) if r["status"] == "passed" and r["steps"])
    assert all("[" in sub["name"] for step in passed["steps"] for sub in step.get("steps", []))


def _waivers(tmp_path: Path, expires: str) -> Path:
    path = tmp_path / f"waivers-{expires}.toml"
    path.write_text(
        # The whole requirement: more failures than a summary keeps (the stateful exploration's grants of
        # 60 s too), and a case-filtered waiver cannot vouch for failures nobody kept.
        f'[[waiver]]\nrequirement = "{FAILING}"\nreason = "bound fixed in 2.5"\n'
        f'ticket = "PAY-77"\nexpires = {expires}\napprover = "QA lead"\n\n'
        '[[waiver]]\nrequirement = "LT-QRCODE-URL"\nreason = "spare"\nticket = "PAY-78"\n'
        'expires = 2099-01-01\napprover = "QA lead"\n',
        encoding="utf-8",
    )
    return path


def test_a_waivers_file_makes_the_run_conformant_with_waivers_everywhere(tmp_path: Path) -> None:
    reports, job_summary = tmp_path / "waived", tmp_path / "step-summary.md"
    code, stdout, document = _run(
        reports,
        "--fault",
        FAULT,
        "--waivers",
        str(_waivers(tmp_path, "2099-01-01")),
        env={"GITHUB_STEP_SUMMARY": str(job_summary)},
    )
    assert code == 0
    assert document["verdict"] == "conformant with waivers" and document["exit_code"] == 0
    assert "verdict: conformant with waivers" in stdout
    assert "unused waiver: LT-QRCODE-URL PAY-78" in stdout
    waived = next(r for r in document["requirements"] if r["id"] == FAILING)
    assert waived["outcome"] == "waived" and waived["failures"][0]["response"]["status"] == 400  # evidence
    assert junit_outcomes(reports) == _outcomes(document)
    junit = (reports / "junit.xml").read_text(encoding="utf-8")
    assert 'name="conformance.verdict" value="conformant with waivers"' in junit
    signoff = (reports / "signoff.md").read_text(encoding="utf-8")
    assert "CONFORMANT WITH WAIVERS" in signoff
    assert signoff.index("PAY-77") < signoff.index("Requirement matrix")  # listed at the top
    assert "### Conformance: CONFORMANT WITH WAIVERS" in job_summary.read_text(encoding="utf-8")
    statuses = {r["name"].split(" ")[0]: r["status"] for r in allure_results(reports)}
    assert statuses[FAILING] == "unknown"


def test_after_its_expiry_date_the_waiver_no_longer_applies(tmp_path: Path) -> None:
    code, stdout, document = _run(
        tmp_path / "expired", "--fault", FAULT, "--waivers", str(_waivers(tmp_path, "2001-01-01"))
    )
    assert code == 1 and document["verdict"] == "non-conformant"
    assert "expired waiver: LT-INPUT-EXPIRE-VALID PAY-77 (expires 2001-01-01) no longer applies" in stdout
    assert [w["ticket"] for w in document["waivers"]["expired"]] == ["PAY-77"]


def test_fail_on_new_fails_only_on_failures_absent_from_the_baseline(failing: Path, tmp_path: Path) -> None:
    baseline = ("--fail-on", "new", "--baseline", str(failing / "summary.json"))
    code, _, document = _run(tmp_path / "same", "--fault", FAULT, *baseline)
    assert code == 0 and document["verdict"] == "conformant with waivers"
    assert {f["waived_by"] for r in document["requirements"] for f in r["failures"]} == {"baseline"}
    code, _, document = _run(tmp_path / "new", "--fault", "qrcode_missing", *baseline)
    assert code == 1 and document["verdict"] == "non-conformant"
