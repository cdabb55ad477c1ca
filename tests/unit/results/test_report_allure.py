"""conformance.results.report.allure in real pytest sessions (pytester, allure-pytest), read from
--alluredir."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conformance.core.model import API_KEY_PLACEHOLDER
from conformance.results.report.allure import (
    CATEGORIES_FILE,
    ENVIRONMENT_FILE,
    FAILING_SAMPLE,
    HIDDEN_FAILING,
    HIDDEN_PASSING,
    write_categories,
    write_environment,
    write_requirement_results,
)
from conformance.results.summary import Summary

pytest_plugins = ["pytester"]

SECRET = "sk_live_TOPSECRET_0123456789"

# The inner test modules share this preamble: a hand-made Exchange and its check results.
PREAMBLE = """
from conformance.core.model import API_KEY_PLACEHOLDER, Case, CheckFailure, CheckResult, Exchange, Expect
from conformance.results.report.allure import AllureObserver, label_test

def exchange(expire, status=200, body=b"<user_response/>"):
    case = Case(f"token_expire={expire}", (("api_key", API_KEY_PLACEHOLDER), ("token_expire", str(expire))),
                Expect.REJECT, "LT-INPUT-EXPIRE-RANGE")
    return Exchange(case=case, sent_at=0.0, elapsed=0.01, status=status, body=body, sequence=expire)

def results(failing):
    failure = CheckFailure("LT-INPUT-EXPIRE-RANGE", "out-of-range token_expire accepted",
                           "a 4xx rejection", "HTTP 200 with a token", check="input_outcome")
    return [
        CheckResult("input_outcome", "LT-INPUT-EXPIRE-RANGE", failure if failing else None),
        CheckResult("no_server_error", "LT-HTTP-NO-5XX"),
        CheckResult("expire_consistency", None),
    ]

def evidence(expire, extra=""):
    return {"request": {"method": "POST", "url": "http://127.0.0.1:1/x",
                        "form": [["api_key", API_KEY_PLACEHOLDER], ["token_expire", str(expire)]]},
            "response": {"status": 200, "headers": [], "body": "<user_response/>" + extra, "error": None}}
"""


def run_allure(
    pytester: pytest.Pytester, body: str, *, passed: int = 0, failed: int = 0
) -> list[dict[str, Any]]:
    """Run one inner test module with --alluredir and return the Allure test results it wrote."""
    pytester.makepyfile(test_inner=PREAMBLE + body)
    outcome = pytester.runpytest(
        "-p", "no:login_token_conformance", "-p", "no:cacheprovider", f"--alluredir={pytester.path / 'ar'}"
    )
    outcome.assert_outcomes(passed=passed, failed=failed)
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((pytester.path / "ar").glob("*-result.json"))
    ]


def labels(result: dict[str, Any], name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def attachments(pytester: pytest.Pytester) -> list[Path]:
    return sorted((pytester.path / "ar").glob("*-attachment.*"))


def test_label_test_sets_epic_feature_story_severity_tag_link_description(pytester: pytest.Pytester) -> None:
    (result,) = run_allure(
        pytester,
        """
def test_it():
    label_test(requirement_ids=["LT-INPUT-EXPIRE-RANGE", "LT-AUTH-KEY-MISSING", "LT-SCHEMA-ERROR"])
    label_test(requirement_ids=["LT-INPUT-EXPIRE-RANGE"], failed=True)
""",
        passed=1,
    )
    assert labels(result, "epic") == ["POST /v1/user/login_token"]
    assert labels(result, "feature") == ["Input validation", "Authorization", "Schema"]
    assert labels(result, "story") == [
        "LT-INPUT-EXPIRE-RANGE token_expire below 60 or above 86400 is rejected",
        "LT-AUTH-KEY-MISSING A request without api_key is rejected",
        "LT-SCHEMA-ERROR Rejection body validates against error_response.xsd",
    ]
    assert labels(result, "severity") == ["blocker"]  # the highest of critical, blocker, normal
    assert labels(result, "tag") == ["LT-INPUT-EXPIRE-RANGE", "LT-AUTH-KEY-MISSING", "LT-SCHEMA-ERROR"]
    links = {link["name"]: link["url"] for link in result["links"]}
    assert links == {
        "seed line 14": "../seed.html#L14",
        "seed line 12": "../seed.html#L12",
    }
    description = result["description"]
    assert "**LT-INPUT-EXPIRE-RANGE** token_expire below 60 or above 86400 is rejected" in description
    assert "project assumption: schemas/error_response.xsd" in description
    assert re.search(r"LT-INPUT-EXPIRE-RANGE.*\*\*FAILED\*\*", description)
    assert not re.search(r"LT-AUTH-KEY-MISSING.*FAILED", description)


def test_labels_of_one_test_do_not_leak_into_the_next(pytester: pytest.Pytester) -> None:
    results = run_allure(
        pytester,
        """
def test_a():
    label_test(requirement_ids=["LT-TOKEN-UNIQUE"])

def test_b():
    label_test(requirement_ids=["LT-SEC-NO-STORE"])
""",
        passed=2,
    )
    by_name = {r["name"]: r for r in results}
    assert labels(by_name["test_a"], "tag") == ["LT-TOKEN-UNIQUE"]
    assert labels(by_name["test_b"], "tag") == ["LT-SEC-NO-STORE"]
    assert labels(by_name["test_b"], "severity") == ["minor"]


def test_observer_samples_passing_and_records_failing_exchanges(pytester: pytest.Pytester) -> None:
    (result,) = run_allure(
        pytester,
        """
def test_it():
    observer = AllureObserver()
    for expire in range(1, 11):
        observer.on_exchange(exchange(expire), results(False), evidence=lambda: evidence(expire))
    for expire in (59, 86401):
        observer.on_exchange(exchange(expire, body=b"raw body never shown"), results(True),
                             evidence=lambda: evidence(expire))
""",
        passed=1,
    )
    steps = result["steps"]
    assert [s["name"] for s in steps] == [
        "POST token_expire=1 -> 200",
        "POST token_expire=2 -> 200",
        "POST token_expire=3 -> 200",
        "POST token_expire=59 -> 200",
        "POST token_expire=86401 -> 200",
    ]
    assert [s["status"] for s in steps] == ["passed"] * 3 + ["failed"] * 2
    params = {p["name"]: p["value"] for p in result["parameters"]}
    assert params == {HIDDEN_PASSING: "7"}
    # Only applied checks get a nested step; a failed one is failed with expected and received.
    failing = steps[3]["steps"]
    assert [(s["name"], s["status"]) for s in failing] == [
        ("input_outcome [LT-INPUT-EXPIRE-RANGE]: failed", "failed"),
        ("no_server_error [LT-HTTP-NO-5XX]: passed", "passed"),
    ]
    message = failing[0]["statusDetails"]["message"]
    assert "[LT-INPUT-EXPIRE-RANGE] out-of-range token_expire accepted" in message
    assert "expected: a 4xx rejection" in message
    assert "received: HTTP 200 with a token" in message
    assert steps[3]["statusDetails"]["message"].strip() == "AssertionError: 1 of 2 checks failed"
    # Evidence: request and response for each of the 5 recorded exchanges, none for the 7 collapsed.
    assert [a["name"] for s in steps for a in s["attachments"]] == ["request", "response"] * 5
    files = attachments(pytester)
    assert len(files) == 10
    texts = [f.read_text(encoding="utf-8") for f in files]
    assert not any("raw body never shown" in t for t in texts)


def evidence_part(part: str, expire: int) -> dict[str, Any]:
    form = [["api_key", API_KEY_PLACEHOLDER], ["token_expire", str(expire)]]
    parts: dict[str, dict[str, Any]] = {
        "request": {"method": "POST", "url": "http://127.0.0.1:1/x", "form": form},
        "response": {"status": 200, "headers": [], "body": "<user_response/>", "error": None},
    }
    return parts[part]


def test_attached_evidence_is_the_given_evidence(pytester: pytest.Pytester) -> None:
    (result,) = run_allure(
        pytester,
        """
def test_it():
    AllureObserver().on_exchange(exchange(7), results(False), evidence=lambda: evidence(7))
""",
        passed=1,
    )
    by_name = {a["name"]: a["source"] for a in result["steps"][0]["attachments"]}
    for part in ("request", "response"):
        stored = json.loads((pytester.path / "ar" / by_name[part]).read_text(encoding="utf-8"))
        assert stored == evidence_part(part, 7)


def test_failing_exchanges_beyond_the_sample_are_counted(pytester: pytest.Pytester) -> None:
    (result,) = run_allure(
        pytester,
        """
def test_it():
    observer = AllureObserver(passing_sample=0, failing_sample=2)
    observer.on_exchange(exchange(1), results(False), evidence=lambda: evidence(1))
    for expire in range(50, 55):
        observer.on_exchange(exchange(expire), results(True), evidence=lambda: evidence(expire))
""",
        passed=1,
    )
    assert [s["name"] for s in result["steps"]] == [
        "POST token_expire=50 -> 200",
        "POST token_expire=51 -> 200",
    ]
    params = {p["name"]: p["value"] for p in result["parameters"]}
    assert params == {HIDDEN_PASSING: "1", HIDDEN_FAILING: "3"}
    assert all(p["excluded"] for p in result["parameters"])
    assert len(attachments(pytester)) == 4


def test_hypothesis_test_stays_small_and_keeps_the_minimal_failing_example(pytester: pytest.Pytester) -> None:
    (result,) = run_allure(
        pytester,
        """
from hypothesis import given, settings, strategies as st

@settings(max_examples=60, database=None, derandomize=True, deadline=None)
@given(st.integers(0, 10_000))
def test_it(expire):
    failing = expire >= 500
    AllureObserver().on_exchange(exchange(expire), results(failing), evidence=lambda: evidence(expire))
    assert not failing, "[LT-INPUT-EXPIRE-RANGE] out-of-range token_expire accepted"
""",
        failed=1,
    )
    steps = result["steps"]
    # A fresh observer per example, as the engine may create: the per-test bound holds regardless.
    assert sum(s["status"] == "passed" for s in steps) <= 3
    failed = [s["name"] for s in steps if s["status"] == "failed"]
    assert 1 < len(failed) <= FAILING_SAMPLE + 1
    assert failed[-1] == "POST token_expire=500 -> 200"  # Hypothesis' final replay of the shrunk example
    assert len(attachments(pytester)) == 2 * len(steps)


def test_api_key_in_evidence_is_scrubbed_from_results(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONFORMANCE_API_KEY", SECRET)
    run_allure(
        pytester,
        f"""
def test_it():
    AllureObserver().on_exchange(exchange(1), results(True), evidence=lambda: evidence(1, extra="{SECRET}"))
""",
        passed=1,
    )
    for path in (pytester.path / "ar").iterdir():
        assert SECRET not in path.read_text(encoding="utf-8")


def test_transport_error_exchange_title(pytester: pytest.Pytester) -> None:
    (result,) = run_allure(
        pytester,
        """
from conformance.core.model import TransportError

def test_it():
    ex = exchange(60, status=None)
    ex.error = TransportError.TIMEOUT
    AllureObserver().on_exchange(ex, [], evidence=lambda: evidence(60))
""",
        passed=1,
    )
    assert result["steps"][0]["name"] == "POST token_expire=60 -> transport error: timeout"


# -- categories.json and environment.properties ------------------------------------------------------

MESSAGES = {
    "[LT-SCHEMA-SUCCESS] Success body validates: received missing <token>": "Schema violations",
    "conformance.core.model.CheckFailure: [LT-SCHEMA-ERROR] x": "Schema violations",
    "[LT-INPUT-EXPIRE-VALID] Every token_expire in 60..86400 accepted: got 400": "Valid input rejected",
    "[LT-INPUT-USER-VALID] user accepted: received 403": "Valid input rejected",
    "[LT-INPUT-EXPIRE-RANGE] below 60 rejected: received 200": "Invalid input accepted",
    "[LT-AUTH-KEY-INVALID] invalid api_key rejected: received 200": "Invalid input accepted",
    "[LT-INPUT-LENIENT-HONOURED] honoured: received 61": "Invalid input accepted",
    "[LT-HTTP-TIMELY] answered within 10 s: received timeout": "Transport errors",
    "AssertionError: transport error: connection reset": "Transport errors",
    "transport error: not in cassette: POST token_expire=59": "Cassette misses",
    "[LT-ECHO-USER] <user_id> equals: received 12346": "Semantic violations",
    "[LT-HTTP-NO-5XX] no 5xx: received 500\nsecond line": "Semantic violations",
    "[LT-HTTP-STATUS-ECHO] status echo": "Semantic violations",
}


def _allure3_category(categories: list[dict[str, Any]], message: str, status: str) -> str | None:
    # Allure 3: the first category whose statuses include the status and whose regex is found.
    for category in categories:
        if status in category["matchedStatuses"] and re.search(category["messageRegex"], message):
            return str(category["name"])
    return None


@pytest.mark.parametrize(("message", "expected"), list(MESSAGES.items()))
def test_categories_classify_failure_messages(tmp_path: Path, message: str, expected: str) -> None:
    write_categories(tmp_path)
    categories = json.loads((tmp_path / CATEGORIES_FILE).read_text(encoding="utf-8"))
    assert _allure3_category(categories, message, "failed") == expected
    assert _allure3_category(categories, message, "broken") == expected
    assert _allure3_category(categories, message, "passed") is None
    # Allure 2 full-matches every category: the intended one must be among them.
    assert expected in {c["name"] for c in categories if re.fullmatch(c["messageRegex"], message)}


def test_categories_has_the_nine_kinds(tmp_path: Path) -> None:
    write_categories(tmp_path)
    categories = json.loads((tmp_path / CATEGORIES_FILE).read_text(encoding="utf-8"))
    assert [c["name"] for c in categories] == [
        "Waived failures",
        "Warnings (SHOULD)",
        "Cassette misses",
        "Transport errors",
        "Schema violations",
        "Valid input rejected",
        "Invalid input accepted",
        "Semantic violations",
        "Suite errors",
    ]
    assert _allure3_category(categories, "ValueError: the suite crashed", "broken") == "Suite errors"
    assert _allure3_category(categories, "ValueError: the suite crashed", "failed") is None
    assert _allure3_category(categories, "waived by PAY-1: [LT-QRCODE-URL] 1 failure(s)", "unknown") == (
        "Waived failures"
    )
    assert _allure3_category(categories, "warning (SHOULD): [LT-QRCODE-URL] 1", "broken") == (
        "Warnings (SHOULD)"
    )


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u") and len(code) == 5:
            return chr(int(code[1:], 16))
        return {"n": "\n", "t": "\t", "r": "\r", "f": "\f"}.get(code, code)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", one, text)


def _parse_properties(text: str) -> dict[str, str]:
    """A small .properties reader (the subset write_environment produces)."""
    out = {}
    for line in text.splitlines():
        key, _, value = re.split(r"(?<!\\)(=)", line, maxsplit=1)
        out[_unescape(key)] = _unescape(value)
    return out


def test_environment_properties_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFORMANCE_API_KEY", SECRET)
    info = {
        "target": "http://127.0.0.1:8080/v1/user/login_token",
        "mode": "replay",
        "suite version": "0.1.0",
        "profile": "default",
        "seed": "1234",
        "note": f"café = ok\nline two {SECRET}",
    }
    write_environment(tmp_path / "results", info)
    text = (tmp_path / "results" / ENVIRONMENT_FILE).read_text(encoding="ascii")
    assert text.splitlines()[0] == "target=http\\://127.0.0.1\\:8080/v1/user/login_token"
    assert "suite\\ version=0.1.0" in text
    assert SECRET not in text
    expected = dict(info, note=f"café = ok\nline two {API_KEY_PLACEHOLDER}")
    assert _parse_properties(text) == expected


def test_labels_added_in_fixture_teardown_reach_the_test(pytester: pytest.Pytester) -> None:
    (result,) = run_allure(
        pytester,
        """
import pytest

@pytest.fixture
def run():
    label_test(requirement_ids=["LT-TOKEN-PRESENT"])
    yield
    label_test(requirement_ids=["LT-TOKEN-PRESENT", "LT-ECHO-USER"], failed=True)

def test_it(run):
    pass
""",
        passed=1,
    )
    assert labels(result, "tag") == ["LT-TOKEN-PRESENT", "LT-ECHO-USER"]
    assert labels(result, "severity") == ["blocker"]
    assert result["description"].count("**FAILED**") == 2


def _summary_of(
    *requirements: dict[str, Any], verdict: str = "non-conformant", exit_code: int = 1, **extra: Any
) -> Summary:
    document = {
        "verdict": verdict,
        "exit_code": exit_code,
        "started": "2026-11-28T00:00:00+00:00",
        "requirements": list(requirements),
    } | extra
    return Summary.of(document)


def test_requirement_results_replace_the_per_test_ones_and_keep_their_exchange_steps(tmp_path: Path) -> None:
    exchange = {
        "name": "POST token_expire=59 -> 200",
        "status": "failed",
        "steps": [
            {"name": "input_outcome [LT-INPUT-EXPIRE-RANGE]: failed"},
            {"name": "x [LT-HTTP-NO-5XX]: passed"},
        ],
    }
    (tmp_path / "t1-result.json").write_text(
        json.dumps({"name": "test_x", "steps": [exchange]}), encoding="utf-8"
    )
    (tmp_path / "c1-container.json").write_text("{}", encoding="utf-8")
    (tmp_path / "a1-attachment.json").write_text("{}", encoding="utf-8")
    summary = _summary_of(
        {"id": "LT-INPUT-EXPIRE-RANGE", "title": "t", "group": "Input validation", "outcome": "failed",
         "failure_count": 1, "failures": [{"check": "input_outcome", "case": "token_expire=59",
                                          "expected": "4xx", "received": "200", "request": {"form": []}}]},
        {"id": "LT-HTTP-NO-5XX", "title": "t", "group": "HTTP", "outcome": "passed"},
        {"id": "LT-SEC-NO-STORE", "title": "t", "group": "Security", "outcome": "waived",
         "failure_count": 1, "failures": [{"check": "c", "waived_by": "PAY-1"}]},
    )  # fmt: skip
    assert write_requirement_results(tmp_path, summary) == 3
    assert not (tmp_path / "t1-result.json").exists() and not (tmp_path / "c1-container.json").exists()
    assert (tmp_path / "a1-attachment.json").exists()  # the kept steps still point at their attachments
    results = {r["name"]: r for r in (json.loads(p.read_text()) for p in tmp_path.glob("*-result.json"))}
    failed = results["LT-INPUT-EXPIRE-RANGE t"]
    assert failed["status"] == "failed"
    assert [s["name"] for s in failed["steps"]] == [
        "failure 1: input_outcome on token_expire=59",
        exchange["name"],
    ]
    assert {"name": "feature", "value": "Input validation"} in failed["labels"]
    assert results["LT-HTTP-NO-5XX t"]["steps"] == [exchange]
    waived = results["LT-SEC-NO-STORE t"]
    assert waived["status"] == "unknown" and waived["statusDetails"]["message"].startswith(
        "waived by PAY-1: "
    )
    assert results["LT-HTTP-NO-5XX t"]["historyId"] != failed["historyId"]


def test_a_suite_error_is_one_broken_result(tmp_path: Path) -> None:
    summary = _summary_of(
        {"id": "LT-HTTP-NO-5XX", "title": "t", "group": "HTTP", "outcome": "passed"},
        verdict="error",
        exit_code=4,
        error="not in cassette: POST ...",
    )
    assert write_requirement_results(tmp_path, summary) == 1
    (result,) = [json.loads(p.read_text()) for p in tmp_path.glob("*-result.json")]
    assert (result["name"], result["status"]) == ("suite error", "broken")
    write_categories(tmp_path)
    categories = json.loads((tmp_path / CATEGORIES_FILE).read_text(encoding="utf-8"))
    assert _allure3_category(categories, result["statusDetails"]["message"], "broken") == "Cassette misses"


def test_each_requirement_result_lasts_the_time_of_the_tests_that_judged_it(tmp_path: Path) -> None:
    """conformance run → per-requirement Allure results with their own durations, not the whole run's."""
    from conformance.frontends.cli import main

    reports = tmp_path / "r"
    assert main(["run", "--target", "reference", "--seed", "1", "--max-examples", "5", "-q",
                 "-k", "test_valid_request_is_granted or test_token_expire_generated",
                 "--report-dir", str(reports)]) == 6  # fmt: skip
    results = [
        json.loads(p.read_text(encoding="utf-8")) for p in (reports / "allure-results").glob("*-result.json")
    ]
    spans = {r["name"]: (r["start"], r["stop"]) for r in results}
    run = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    durations = {name: stop - start for name, (start, stop) in spans.items()}
    assert len(set(durations.values())) > 2, durations  # not one whole-run duration for all
    assert all(0 <= d <= run["duration_s"] * 1000 + 1000 for d in durations.values())
