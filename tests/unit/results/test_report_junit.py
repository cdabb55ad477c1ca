"""JUnit: pytest writes junit.xml with our options; annotate_junit stamps the run's identity on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from defusedxml.ElementTree import parse as safe_parse

from conformance.results.report.junit import (
    JUNIT_OPTIONS,
    JUNIT_SUITE_NAME,
    annotate_junit,
    junit_properties,
    write_junit,
)
from conformance.results.summary import Summary, SummaryContradiction

pytest_plugins = ["pytester"]

SUMMARY = {
    "verdict": "non-conformant",
    "target": "http://127.0.0.1:8080/v1/user/login_token",
    "mode": "live",
    "seed": 1234,
    "suite_version": "0.1.0",
    "suite_commit": None,
    "target_version": "2.4.1",
    "exit_code": 1,
    "requests": 312,
    "requirements": [
        {"id": "LT-QRCODE-URL", "level": "must", "outcome": "failed"},
        {"id": "LT-AUTH-USER-SCOPE", "level": "must", "outcome": "skipped", "reason": "no --foreign-user-id"},
    ],
}


def test_junit_properties_skip_absent_values() -> None:
    assert junit_properties(Summary.of(SUMMARY)) == [
        ("verdict", "non-conformant"),
        ("target", "http://127.0.0.1:8080/v1/user/login_token"),
        ("target_version", "2.4.1"),
        ("mode", "live"),
        ("seed", "1234"),
        ("suite_version", "0.1.0"),
        ("requests", "312"),
        ("not_exercised.LT-AUTH-USER-SCOPE", "no --foreign-user-id"),
    ]


def test_junit_refuses_a_summary_whose_verdict_contradicts_its_outcomes(tmp_path: Path) -> None:
    with pytest.raises(SummaryContradiction, match="states verdict 'conformant'"):
        junit_properties(Summary.of({**SUMMARY, "verdict": "conformant", "exit_code": 0}))


def test_pytest_junit_with_our_options_is_annotated(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
import pytest

@pytest.mark.parametrize("expire", ["59", "86401"])
def test_expire_range(expire, record_property):
    record_property("requirement", "LT-INPUT-EXPIRE-RANGE")
    assert expire == "59", "[LT-INPUT-EXPIRE-RANGE] out of range accepted: expected 4xx; received 200"
"""
    )
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest("-p", "no:login_token_conformance", *JUNIT_OPTIONS, f"--junitxml={junit}")
    result.assert_outcomes(passed=1, failed=1)
    annotate_junit(junit, Summary.of(SUMMARY))
    annotate_junit(junit, Summary.of(SUMMARY))  # idempotent
    suite = safe_parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("name") == JUNIT_SUITE_NAME
    props = {p.get("name"): p.get("value") for p in suite.find("properties").findall("property")}
    assert props["conformance.verdict"] == "non-conformant"
    assert props["conformance.seed"] == "1234"
    assert len(suite.find("properties").findall("property")) == len(junit_properties(Summary.of(SUMMARY)))
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["test_expire_range[59]", "test_expire_range[86401]"]
    assert cases[0].find("properties/property").get("value") == "LT-INPUT-EXPIRE-RANGE"
    assert cases[1].find("failure").get("message").startswith("AssertionError: [LT-INPUT-EXPIRE-RANGE]")


def test_annotate_keeps_a_bare_testsuite_root(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text('<testsuite name="x" tests="0"/>', encoding="utf-8")
    passed = {"id": "LT-QRCODE-URL", "level": "must", "outcome": "passed"}
    annotate_junit(junit, Summary.of({"verdict": "conformant", "exit_code": 0, "requirements": [passed]}))
    root = safe_parse(junit).getroot()
    assert root.find("properties/property").get("name") == "conformance.verdict"


def _requirement(rid: str, outcome: str, **extra: object) -> dict[str, object]:
    return {
        "id": rid,
        "title": f"title of {rid}",
        "group": "Group",
        "level": "must",
        "outcome": outcome,
    } | extra


def test_write_junit_has_one_testcase_per_requirement_with_reasons(tmp_path: Path) -> None:
    failure = {
        "check": "qrcode_url",
        "case": "token_expire=3600",
        "expected": "an https URL",
        "received": "ftp://x",
        "reproduce": {"curl": "curl -sS -i -X POST http://127.0.0.1:1/x --data-raw user_id=1"},
    }
    document = {
        "verdict": "non-conformant",
        "exit_code": 1,
        "requirements": [
            _requirement("LT-QRCODE-URL", "failed", failure_count=1, failures=[failure]),
            _requirement("LT-AUTH-USER-SCOPE", "skipped", reason="no --foreign-user-id"),
            _requirement("LT-SEC-NO-STORE", "not-applicable", reason="declared not applicable: proxy"),
            _requirement("LT-TOKEN-PRESENT", "passed"),
        ],
    }
    write_junit(tmp_path / "junit.xml", Summary.of(document))
    suite = safe_parse(tmp_path / "junit.xml").getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    requirements = cast(list[dict[str, Any]], document["requirements"])
    assert list(cases) == [f"{r['id']} {r['title']}" for r in requirements]
    failed = cases["LT-QRCODE-URL title of LT-QRCODE-URL"].find("failure")
    assert failed.get("message") == (
        "[LT-QRCODE-URL] 1 failure(s); case token_expire=3600: expected an https URL; received ftp://x"
    )
    assert "reproduce: curl -sS -i -X POST http://127.0.0.1:1/x --data-raw user_id=1" in failed.text
    skipped = cases["LT-AUTH-USER-SCOPE title of LT-AUTH-USER-SCOPE"].find("skipped")
    assert skipped.get("message") == "not exercised: no --foreign-user-id"
    na = cases["LT-SEC-NO-STORE title of LT-SEC-NO-STORE"].find("skipped")
    assert na.get("message") == "not applicable: declared not applicable: proxy"
    assert list(cases["LT-TOKEN-PRESENT title of LT-TOKEN-PRESENT"]) == [
        cases["LT-TOKEN-PRESENT title of LT-TOKEN-PRESENT"].find("properties")
    ]
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "2")
    assert all(c.get("classname") == "Group" for c in cases.values())


def test_a_suite_error_is_one_testcase_with_the_error(tmp_path: Path) -> None:
    document = {
        "verdict": "error",
        "exit_code": 5,
        "error": "internal error: KeyError",
        "requirements": [_requirement("LT-QRCODE-URL", "passed")],
        "tests": [
            {"nodeid": "t::x", "outcome": "failed", "message": "Traceback (most recent call last): ..."}
        ],
    }
    write_junit(tmp_path / "junit.xml", Summary.of(document))
    suite = safe_parse(tmp_path / "junit.xml").getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [("suite", "suite error")]
    error = cases[0].find("error")
    assert error.get("message") == "internal error: KeyError"
    assert "Traceback" in error.text  # only a suite failure carries one


HOSTILE = "12345\n verdict: conformant\r\x1b[2J\x07\u202e\u2028`|"


def test_target_text_is_one_line_with_every_control_character_escaped(tmp_path: Path) -> None:
    failure = {"check": "user_id_echo", "case": f"case{HOSTILE}", "expected": "12345", "received": HOSTILE}
    document = {
        "verdict": "non-conformant",
        "exit_code": 1,
        "target_version": HOSTILE,
        "requirements": [
            _requirement("LT-ECHO-USER", "failed", failure_count=1, failures=[failure]),
            _requirement("LT-AUTH-USER-SCOPE", "skipped", reason=f"why{HOSTILE}"),
        ],
    }
    write_junit(tmp_path / "junit.xml", Summary.of(document))
    text = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    for raw in ("\r", "\x1b", "\x07", "\u202e", "\u2028", "&#10;", "&#13;"):
        assert raw not in text, repr(raw)
    assert not [line for line in text.splitlines() if line.lstrip().startswith("verdict: conformant")]
    failed = safe_parse(tmp_path / "junit.xml").getroot().find("testsuite/testcase/failure")
    assert "received 12345\\n verdict: conformant\\r\\x1b[2J\\x07\\u202e\\u2028`|" in failed.get("message")
    assert "received: 12345\\n verdict: conformant" in failed.text
    assert ("conformance.target_version", "12345\\n verdict: conformant\\r\\x1b[2J\\x07\\u202e\\u2028`|") in [
        (p.get("name"), p.get("value")) for p in safe_parse(tmp_path / "junit.xml").getroot().iter("property")
    ]
