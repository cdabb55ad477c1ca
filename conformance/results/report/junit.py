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
from pathlib import Path

from defusedxml.ElementTree import parse as safe_parse

from conformance.core.files import write_atomic
from conformance.redaction.run_secrets import RunSecrets
from conformance.results.report._text import run_or_none, scrub_line
from conformance.results.summary import Failure, RequirementResult, Summary, waiver_lines
from conformance.results.verdict import Outcome, Verdict

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


def junit_properties(summary: Summary, *, secrets: RunSecrets | None = None) -> list[tuple[str, str]]:
    """The run's identity as JUnit <property> pairs (absent values left out), and what was not exercised;
    ``secrets``: the run's, scrubbed from every value (None: outside a run)."""
    secrets = run_or_none(secrets)
    facts = summary.facts
    values: dict[str, object] = {
        "verdict": summary.verdict.value,  # derived from the outcomes, never taken as stated
        "target": facts.target,
        "target_version": facts.target_version,
        "mode": facts.mode,
        "profile": facts.profile,
        "seed": facts.seed,
        "max_examples": facts.max_examples,
        "suite_version": facts.suite_version,
        "suite_commit": facts.suite_commit,
        "requests": summary.requests if not summary.stub else None,
    }
    # Every value one line: a CI dashboard shows a property (or message) attribute as a line of its log.
    pairs = [
        (key, scrub_line(str(values[key]), secrets)) for key in PROPERTY_KEYS if values.get(key) is not None
    ]
    pairs += [
        (f"not_exercised.{scrub_line(rid, secrets)}", scrub_line(reason, secrets))
        for rid, reason in summary.not_exercised(level=None)
    ]
    pairs += [
        (f"not_applicable.{scrub_line(rid, secrets)}", scrub_line(reason, secrets))
        for rid, reason in summary.declared_not_applicable()
    ]
    pairs += [
        (f"waiver.{n}", scrub_line(line, secrets)) for n, line in enumerate(waiver_lines(summary), start=1)
    ]
    return pairs


def annotate_junit(junit_path: Path, summary: Summary, *, secrets: RunSecrets | None = None) -> None:
    """Add the run's properties to every <testsuite> of a pytest junit.xml (in place, atomically)."""
    tree = safe_parse(junit_path)
    root = tree.getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    wanted = junit_properties(summary, secrets=secrets)
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


def _failure_text(failure: Failure, secrets: RunSecrets) -> str:
    fields = [
        ("check", failure.check),
        ("case", failure.case),
        ("expected", failure.expected),
        ("received", failure.received),
        ("waived by", failure.waived_by or ""),
        ("reproduce", failure.reproduce.curl if failure.reproduce is not None else ""),
    ]
    return "\n".join(f"{name}: {scrub_line(value, secrets)}" for name, value in fields if value)


def _message_text(message: str, secrets: RunSecrets) -> str:
    """A test's message: the suite's own lines kept, whatever the target wrote inside one kept inside it."""
    return "\n".join(scrub_line(line, secrets) for line in message.split("\n"))


def _failures_body(req: RequirementResult, secrets: RunSecrets) -> str:
    parts = [scrub_line(f"[{req.id}] {req.title}: {req.failure_count} failure(s)", secrets)]
    parts += [_failure_text(f, secrets) for f in req.failures]
    hidden = req.failure_count - len(req.failures)
    if hidden > 0:
        parts.append(f"... {hidden} more failure(s) counted, not kept")
    return "\n\n".join(parts)


def _headline(req: RequirementResult, secrets: RunSecrets) -> str:
    first = req.failures[0] if req.failures else None
    return scrub_line(
        f"[{req.id}] {req.failure_count} failure(s); case {first.case if first else None}: "
        f"expected {first.expected if first else None}; received {first.received if first else None}",
        secrets,
    )


def junit_document(summary: Summary, *, secrets: RunSecrets | None = None) -> ET.Element:
    """The <testsuites> element of a summary: one testcase per requirement (or one for a suite error)."""
    secrets = run_or_none(secrets)
    root = ET.Element("testsuites", name=JUNIT_SUITE_NAME)
    suite = ET.SubElement(root, "testsuite", name=JUNIT_SUITE_NAME)
    props = ET.SubElement(suite, "properties")
    for name, value in junit_properties(summary, secrets=secrets):
        ET.SubElement(props, "property", name=f"conformance.{name}", value=value)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if summary.verdict is Verdict.ERROR:
        case = ET.SubElement(suite, "testcase", classname=SUITE_ERROR_CLASS, name=SUITE_ERROR_NAME, time="0")
        error = scrub_line(summary.error or "the suite failed", secrets)
        details = [error] + [
            _message_text(t.message, secrets)
            for t in summary.tests
            if t.outcome in ("error", "failed") and t.message
        ]
        ET.SubElement(case, "error", message=error).text = "\n\n".join(details)
        counts["tests"], counts["errors"] = 1, 1
    else:
        for req in summary.requirements:
            _testcase(suite, req, counts, secrets)
    for key, count in counts.items():
        suite.set(key, str(count))
        root.set(key, str(count))
    suite.set("time", str(summary.facts.duration_s or 0))
    return root


def _testcase(suite: ET.Element, req: RequirementResult, counts: dict[str, int], secrets: RunSecrets) -> None:
    outcome = req.outcome
    case = ET.SubElement(
        suite,
        "testcase",
        classname=scrub_line(req.group, secrets),
        name=scrub_line(f"{req.id} {req.title}".strip(), secrets),
        time="0",
    )
    props = ET.SubElement(case, "properties")
    ET.SubElement(props, "property", name="requirement", value=scrub_line(req.id, secrets))
    ET.SubElement(props, "property", name="outcome", value=outcome.value)
    ET.SubElement(props, "property", name="checks_run", value=str(req.checks_run))
    counts["tests"] += 1
    reason = scrub_line(req.reason or "", secrets)
    if outcome is Outcome.FAILED:
        ET.SubElement(
            case, "failure", message=_headline(req, secrets), type="requirement failed"
        ).text = _failures_body(req, secrets)
        counts["failures"] += 1
    elif outcome is Outcome.WAIVED:
        ET.SubElement(case, "skipped", message=f"waived: {_headline(req, secrets)}").text = _failures_body(
            req, secrets
        )
        counts["skipped"] += 1
    elif outcome is Outcome.SKIPPED:
        ET.SubElement(case, "skipped", message=f"not exercised: {reason}")
        counts["skipped"] += 1
    elif outcome is Outcome.NOT_APPLICABLE:
        ET.SubElement(case, "skipped", message=f"not applicable: {reason}")
        counts["skipped"] += 1
    elif outcome is Outcome.WARNING:  # a SHOULD requirement failed: reported, but it does not fail the run
        ET.SubElement(case, "system-out").text = f"warning (SHOULD)\n\n{_failures_body(req, secrets)}"


def write_junit(junit_path: Path, summary: Summary, *, secrets: RunSecrets | None = None) -> None:
    """Write junit.xml (atomically) from the summary: one testcase per requirement."""
    root = junit_document(summary, secrets=secrets)
    write_atomic(junit_path, ET.tostring(root, encoding="utf-8", xml_declaration=True))
