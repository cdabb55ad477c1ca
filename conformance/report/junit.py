"""JUnit XML for CI, one testcase per requirement, written from summary.json after the run.

pytest's --junitxml writes a per-test file during the run; ``write_junit`` then replaces it (same path)
with one <testcase> per requirement of the catalogue: classname = its group, name = "ID title".
A failure carries expected/received/case and the curl line that reproduces it; not exercised and not
applicable requirements are <skipped> with their reason; a waived requirement is <skipped> with
"waived" and its evidence. No Python traceback appears, unless the suite itself failed (verdict error):
then one testcase holds the suite's error. CI dashboards (GitLab, Jenkins) show the <testsuite>
properties beside the results, so the verdict, target and seed of a run travel with its junit.xml.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from defusedxml.ElementTree import parse as safe_parse

from conformance.files import write_atomic
from conformance.report._text import scrub
from conformance.summary import checked_verdict, declared_not_applicable, not_exercised, waiver_lines

JUNIT_SUITE_NAME = "login_token_conformance"
# Extra pytest arguments for `conformance run`. pytest's junit.xml is only a stand-in until the run ends:
# write_junit replaces it with one <testcase> per requirement, whose <properties> (requirement, outcome,
# checks_run) it writes itself; no per-test <properties> of pytest's survive.
JUNIT_OPTIONS: tuple[str, ...] = (
    "-o", f"junit_suite_name={JUNIT_SUITE_NAME}",
    "-o", "junit_family=xunit1",
    "-o", "junit_logging=no",
    "-o", "junit_duration_report=call",
)  # fmt: skip
PROPERTY_KEYS = (
    "verdict",
    "target",
    "target_version",
    "mode",
    "profile",
    "seed",
    "max_examples",
    "suite_version",
    "suite_commit",
    "requests",
)


def junit_properties(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The run's identity as JUnit <property> pairs (absent values left out), and what was not exercised."""
    checked = {**summary, "verdict": checked_verdict(summary)}
    pairs = [(key, scrub(str(checked[key]))) for key in PROPERTY_KEYS if checked.get(key) is not None]
    pairs += [(f"not_exercised.{rid}", scrub(reason)) for rid, reason in not_exercised(summary, level=None)]
    pairs += [(f"not_applicable.{rid}", scrub(reason)) for rid, reason in declared_not_applicable(summary)]
    pairs += [(f"waiver.{n}", scrub(line)) for n, line in enumerate(waiver_lines(summary), start=1)]
    return pairs


def annotate_junit(junit_path: Path, summary: Mapping[str, Any]) -> None:
    """Add the run's properties to every <testsuite> of a pytest junit.xml (in place, atomically)."""
    tree = safe_parse(junit_path)
    root = tree.getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    wanted = junit_properties(summary)
    for suite in suites:
        props = suite.find("properties")
        if props is None:
            props = ET.Element("properties")
            suite.insert(0, props)
        names = {p.get("name") for p in props.findall("property")}
        for name, value in wanted:
            if f"conformance.{name}" not in names:
                ET.SubElement(props, "property", name=f"conformance.{name}", value=value)
    write_atomic(junit_path, ET.tostring(root, encoding="utf-8", xml_declaration=True))


SUITE_ERROR_CLASS = "suite"
SUITE_ERROR_NAME = "suite error"
FAILURES_IN_MESSAGE = 1


def _failure_text(failure: Mapping[str, Any]) -> str:
    reproduce = failure.get("reproduce") or {}
    lines = [
        f"check: {failure.get('check')}",
        f"case: {failure.get('case')}",
        f"expected: {failure.get('expected')}",
        f"received: {failure.get('received')}",
    ]
    if failure.get("waived_by"):
        lines.append(f"waived by: {failure.get('waived_by')}")
    if isinstance(reproduce, Mapping) and reproduce.get("curl"):
        lines.append(f"reproduce: {reproduce['curl']}")
    return scrub("\n".join(lines))


def _failures_body(req: Mapping[str, Any]) -> str:
    failures = [f for f in req.get("failures") or [] if isinstance(f, Mapping)]
    parts = [f"[{req.get('id')}] {req.get('title')}: {req.get('failure_count', len(failures))} failure(s)"]
    parts += [_failure_text(f) for f in failures]
    hidden = int(req.get("failure_count") or 0) - len(failures)
    if hidden > 0:
        parts.append(f"... {hidden} more failure(s) counted, not kept")
    return "\n\n".join(parts)


def _headline(req: Mapping[str, Any]) -> str:
    failures = [f for f in req.get("failures") or [] if isinstance(f, Mapping)]
    first = failures[0] if failures else {}
    return scrub(
        f"[{req.get('id')}] {req.get('failure_count')} failure(s); case {first.get('case')}: "
        f"expected {first.get('expected')}; received {first.get('received')}"
    )


def junit_document(summary: Mapping[str, Any]) -> ET.Element:
    """The <testsuites> element of a summary: one testcase per requirement (or one for a suite error)."""
    verdict = checked_verdict(summary)
    root = ET.Element("testsuites", name=JUNIT_SUITE_NAME)
    suite = ET.SubElement(root, "testsuite", name=JUNIT_SUITE_NAME)
    props = ET.SubElement(suite, "properties")
    for name, value in junit_properties(summary):
        ET.SubElement(props, "property", name=f"conformance.{name}", value=value)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if verdict == "error":
        case = ET.SubElement(suite, "testcase", classname=SUITE_ERROR_CLASS, name=SUITE_ERROR_NAME, time="0")
        error = scrub(str(summary.get("error") or "the suite failed"))
        details = [error] + [
            scrub(str(t.get("message")))
            for t in summary.get("tests") or []
            if isinstance(t, Mapping) and t.get("outcome") in ("error", "failed") and t.get("message")
        ]
        ET.SubElement(case, "error", message=error.splitlines()[0] if error else "").text = "\n\n".join(
            details
        )
        counts["tests"], counts["errors"] = 1, 1
    else:
        for req in summary.get("requirements") or []:
            if isinstance(req, Mapping):
                _testcase(suite, req, counts)
    for key, count in counts.items():
        suite.set(key, str(count))
        root.set(key, str(count))
    suite.set("time", str(summary.get("duration_s") or 0))
    return root


def _testcase(suite: ET.Element, req: Mapping[str, Any], counts: dict[str, int]) -> None:
    outcome = str(req.get("outcome"))
    case = ET.SubElement(
        suite,
        "testcase",
        classname=scrub(str(req.get("group") or "")),
        name=scrub(f"{req.get('id')} {req.get('title') or ''}".strip()),
        time="0",
    )
    props = ET.SubElement(case, "properties")
    ET.SubElement(props, "property", name="requirement", value=str(req.get("id")))
    ET.SubElement(props, "property", name="outcome", value=outcome)
    ET.SubElement(props, "property", name="checks_run", value=str(req.get("checks_run", 0)))
    counts["tests"] += 1
    reason = scrub(str(req.get("reason") or ""))
    if outcome == "failed":
        ET.SubElement(
            case, "failure", message=_headline(req), type="requirement failed"
        ).text = _failures_body(req)
        counts["failures"] += 1
    elif outcome == "waived":
        ET.SubElement(case, "skipped", message=f"waived: {_headline(req)}").text = _failures_body(req)
        counts["skipped"] += 1
    elif outcome == "skipped":
        ET.SubElement(case, "skipped", message=f"not exercised: {reason}")
        counts["skipped"] += 1
    elif outcome == "not-applicable":
        ET.SubElement(case, "skipped", message=f"not applicable: {reason}")
        counts["skipped"] += 1
    elif outcome == "warning":  # a SHOULD requirement failed: reported, but it does not fail the run
        ET.SubElement(case, "system-out").text = f"warning (SHOULD)\n\n{_failures_body(req)}"


def write_junit(junit_path: Path, summary: Mapping[str, Any]) -> None:
    """Write junit.xml (atomically) from the summary: one testcase per requirement."""
    root = junit_document(summary)
    write_atomic(junit_path, ET.tostring(root, encoding="utf-8", xml_declaration=True))
