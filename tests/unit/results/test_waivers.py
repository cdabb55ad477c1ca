"""Waivers: the file format, which failures a waiver accepts, expiry against an injected today."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.core.contract import REQUIREMENTS
from conformance.inputs import Param
from conformance.results.summary import (
    Summary,
    SummaryContradiction,
    build_summary,
    verdict_line,
    waiver_lines,
)
from conformance.results.verdict import Coverage, verdict_of
from conformance.results.waivers import (
    BASELINE_WAIVER,
    WaiverError,
    WaiverSet,
    baseline_failures,
    load_waivers,
    parse_waivers,
)
from conformance.run.engine import Run
from tests.support.runs import Scripted, failing_run, grant, make_run
from tests.support.summaries import RANGE, TODAY, waiver


def judged(run: Run, waivers: WaiverSet) -> dict[str, Any]:
    """build_summary, with what this small run did not exercise declared not applicable."""
    unexercised = {r.id: "not in this unit test" for r in REQUIREMENTS if not run.ledger[r.id].checks_run}
    summary = build_summary(run, waivers=waivers, coverage=Coverage(not_applicable=unexercised))
    return summary.document()  # as summary.json holds it


def summary_with(text: str, *values: str, today: dt.date = TODAY) -> dict[str, Any]:
    return judged(failing_run(*values), WaiverSet(parse_waivers(text), today=today))


def outcome(summary: dict[str, Any], rid: str = RANGE) -> str:
    return next(str(r["outcome"]) for r in summary["requirements"] if r["id"] == rid)


def test_a_waiver_turns_a_failure_into_conformant_with_waivers() -> None:
    summary = summary_with(waiver(), "59")
    assert outcome(summary) == "waived"
    assert summary["verdict"] == "conformant with waivers" and summary["exit_code"] == 0
    req = next(r for r in summary["requirements"] if r["id"] == RANGE)
    assert req["failures"][0]["waived_by"] == "PAY-1"  # the evidence is kept
    assert req["failures"][0]["response"]["status"] == 200
    assert Summary.of(summary).verdict == "conformant with waivers"
    assert "1 waived" in verdict_line(Summary.of(summary))
    assert summary["waivers"]["applied"][0]["ticket"] == "PAY-1"


def test_an_expired_waiver_no_longer_applies_and_is_reported() -> None:
    text = waiver(expires="2026-06-01")
    assert (
        summary_with(text, "59", today=TODAY - dt.timedelta(days=1))["verdict"] == "conformant with waivers"
    )
    summary = summary_with(text, "59", today=TODAY)  # from the expiry date on
    assert outcome(summary) == "failed" and summary["verdict"] == "non-conformant"
    assert summary["waivers"]["expired"][0]["ticket"] == "PAY-1"
    assert any(
        line.startswith("expired waiver: LT-INPUT-EXPIRE-RANGE PAY-1")
        for line in waiver_lines(Summary.of(summary))
    )


def test_an_unused_waiver_is_reported() -> None:
    summary = summary_with(waiver("LT-QRCODE-URL") + waiver(), "59")
    assert [w["requirement"] for w in summary["waivers"]["unused"]] == ["LT-QRCODE-URL"]
    assert any(line.startswith("unused waiver: LT-QRCODE-URL") for line in waiver_lines(Summary.of(summary)))


def test_a_match_on_case_waives_only_those_failures() -> None:
    text = waiver(extra='case = "59"')
    summary = summary_with(text, "59", "86401")
    assert outcome(summary) == "failed" and summary["verdict"] == "non-conformant"
    req = next(r for r in summary["requirements"] if r["id"] == RANGE)
    assert [f["waived_by"] for f in req["failures"]] == ["PAY-1", None]
    assert summary_with(text, "59")["verdict"] == "conformant with waivers"


def test_a_match_on_check_must_name_the_failing_check() -> None:
    assert summary_with(waiver(extra='check = "no_such_check"'), "59")["verdict"] == "non-conformant"
    checked = summary_with(waiver(extra='check = "input_outcome"'), "59")
    assert checked["verdict"] == "conformant with waivers"


def test_failures_beyond_the_kept_ones_need_a_waiver_of_the_whole_requirement() -> None:
    values = [str(v) for v in range(1, 9)]  # eight out-of-range values granted; five are kept
    assert outcome(summary_with(waiver(extra='case = "token_expire"'), *values)) == "failed"
    assert outcome(summary_with(waiver(), *values)) == "waived"


def test_a_not_applicable_waiver_declares_the_requirement() -> None:
    waivers = WaiverSet(
        parse_waivers(waiver("LT-AUTH-USER-SCOPE", extra="not_applicable = true")), today=TODAY
    )
    assert (
        waivers.not_applicable()["LT-AUTH-USER-SCOPE"]
        == "known, fixed in 2.5 (waiver PAY-1, approved by QA lead)"
    )
    assert waivers.report()["applied"][0]["not_applicable"] is True
    expired = WaiverSet(waivers.waivers, today=dt.date(2027, 1, 1))
    assert expired.not_applicable() == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[waiver]]\nrequirement = 'LT-QRCODE-URL'\n", "missing reason, ticket, expires, approver"),
        (waiver("LT-NOPE"), "unknown requirement 'LT-NOPE'"),
        (waiver(expires='"soon"'), "expires must be a TOML date"),
        (waiver(extra="colour = 'red'"), "unknown key(s) ['colour']"),
        (
            waiver("LT-AUTH-USER-SCOP"),
            "unknown requirement 'LT-AUTH-USER-SCOP' (did you mean 'LT-AUTH-USER-SCOPE'?)",
        ),
        (waiver("lt-token-unique"), "(did you mean 'LT-TOKEN-UNIQUE'?)"),
        (waiver(extra="aprover = 'x'"), "unknown key(s) ['aprover'] (did you mean 'approver'?)"),
        (waiver(extra="not_applicable = true\ncheck = 'x'"), "drop check/case"),
        ("waiver = 3", "write each waiver as a [[waiver]] table"),
        ("[[waiver]\n", "not valid TOML"),
    ],
)
def test_a_bad_waivers_file_is_refused_with_the_problem(text: str, problem: str) -> None:
    with pytest.raises(WaiverError) as caught:
        parse_waivers(text)
    assert problem in str(caught.value)


def test_fail_on_new_accepts_only_what_the_baseline_failed(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(summary_with("", "59")), encoding="utf-8")
    assert baseline_failures(json.loads(baseline.read_text())) == {
        (RANGE, "input_outcome", f"{RANGE}:reject:POST")
    }
    known = load_waivers(None, fail_on="new", baseline=baseline, today=TODAY)
    summary = judged(failing_run("59"), known)
    assert summary["verdict"] == "conformant with waivers"
    req = next(r for r in summary["requirements"] if r["id"] == RANGE)
    assert req["failures"][0]["waived_by"] == BASELINE_WAIVER
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps({"requirements": []}), encoding="utf-8")
    fresh = load_waivers(None, fail_on="new", baseline=clean, today=TODAY)
    assert judged(failing_run("59"), fresh)["verdict"] == "non-conformant"
    with pytest.raises(WaiverError, match="needs --baseline"):
        load_waivers(None, fail_on="new")
    with pytest.raises(WaiverError, match="one of any, new"):
        load_waivers(None, fail_on="old")


def baseline_of(tmp_path: Path, summary: dict[str, Any]) -> WaiverSet:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(summary), encoding="utf-8")
    return load_waivers(None, fail_on="new", baseline=path, today=TODAY)


def test_fail_on_new_accepts_a_rerun_of_a_systematic_failure(tmp_path: Path) -> None:
    """`conformance run --fail-on new --baseline last/summary.json` against the same faulty server: the
    hundreds of failures of one class are not new, though the baseline kept only five examples."""
    first = [str(v) for v in range(86_401, 86_701)]  # 300 out-of-range values granted
    baseline = judged(failing_run(*first), WaiverSet())
    req = next(r for r in baseline["requirements"] if r["id"] == RANGE)
    assert req["failure_count"] == 300 and len(req["failures"]) == 5
    assert req["failure_classes"] == [{"check": "input_outcome", "case_class": f"{RANGE}:reject:POST"}]
    rerun = [str(v) for v in range(90_001, 90_401)]  # other values of the same class, more of them
    summary = judged(failing_run(*rerun), baseline_of(tmp_path, baseline))
    assert outcome(summary) == "waived" and summary["verdict"] == "conformant with waivers"


def test_fail_on_new_fails_a_new_class_among_hundreds_of_known_failures(tmp_path: Path) -> None:
    """Another class of case (the same out-of-range input, its form in the query of a POST) failing is new,
    among hundreds of known failures: the query probe is judged by LT-HTTP-POST-ONLY (issue 19), and its
    class is in no baseline."""
    baseline = judged(failing_run(*[str(v) for v in range(86_401, 86_701)]), WaiverSet())
    values = [str(v) for v in range(90_001, 90_301)]
    run = make_run(Scripted(*(grant for _ in range(len(values) + 1))))
    for value in values:
        run.exchange(run.case(token_expire=Param.of(value)))
    run.exchange(dataclasses.replace(run.case(token_expire=Param.of("59")), form_in_query=True))
    summary = judged(run, baseline_of(tmp_path, baseline))
    assert outcome(summary) == "waived"  # the 300 of the known class
    assert outcome(summary, "LT-HTTP-POST-ONLY") == "failed" and summary["verdict"] == "non-conformant"


def test_the_baseline_keeps_every_class_within_a_bound() -> None:
    from conformance.run.engine import MAX_FAILURE_CLASSES

    run = make_run(Scripted(grant))
    known = {("input_outcome", f"class-{n}") for n in range(MAX_FAILURE_CLASSES)}  # as if they had failed
    run.ledger[RANGE].failure_classes = set(known)
    run.exchange(run.case(token_expire=Param.of("86401")))  # one class more: not kept, the set incomplete
    req = next(r for r in judged(run, WaiverSet())["requirements"] if r["id"] == RANGE)
    assert len(req["failure_classes"]) == MAX_FAILURE_CLASSES
    assert req["failure_classes_complete"] is False


def test_an_older_baseline_without_classes_is_compared_by_check(tmp_path: Path) -> None:
    baseline = judged(failing_run("59"), WaiverSet())
    for req in baseline["requirements"]:
        del req["failure_classes"], req["failure_classes_complete"]
    assert baseline_failures(baseline) == {(RANGE, "input_outcome", None)}


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        ({RANGE: "waived", "LT-QRCODE-URL": "passed"}, "conformant with waivers"),
        ({RANGE: "waived", "LT-QRCODE-URL": "failed"}, "non-conformant"),
        ({RANGE: "waived", "LT-AUTH-USER-SCOPE": "skipped"}, "incomplete"),
    ],
)
def test_the_verdict_rule_for_waived_outcomes(outcomes: dict[str, str], verdict: str) -> None:
    assert verdict_of(outcomes, error=None) == verdict


def test_a_summary_claiming_waivers_it_does_not_have_is_refused() -> None:
    summary = summary_with(waiver(), "59")
    with pytest.raises(SummaryContradiction, match="give 'conformant with waivers'"):
        Summary.of({**summary, "verdict": "conformant"})
    failed = summary_with("", "59")
    with pytest.raises(SummaryContradiction, match="give 'non-conformant'"):
        Summary.of({**failed, "verdict": "conformant with waivers", "exit_code": 0})


def test_a_bad_waivers_file_is_exit_2_in_one_line(tmp_path: Path) -> None:
    from tests.support.cli import conformance

    bad = tmp_path / "waivers.toml"
    bad.write_text(waiver("LT-NOPE"), encoding="utf-8")
    done = conformance("run", "--waivers", str(bad), "--report-dir", str(tmp_path / "r"), "-q", offline=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"conformance: error: --waivers {bad}, waiver 1: unknown requirement 'LT-NOPE'; "
        "list them with `conformance catalogue`"
    ]
    done = conformance("run", "--fail-on", "new", "--report-dir", str(tmp_path / "r2"), "-q", offline=True)
    assert done.returncode == 2 and "--fail-on new needs --baseline FILE" in done.stderr


def test_a_requirement_edited_to_waived_is_refused() -> None:
    failed = summary_with("", "59")
    for req in failed["requirements"]:
        if req["id"] == RANGE:
            req["outcome"] = "waived"
    edited = {**failed, "verdict": "conformant with waivers", "exit_code": 0}
    with pytest.raises(SummaryContradiction, match="is waived, but not every failure of it names its waiver"):
        Summary.of(edited)
