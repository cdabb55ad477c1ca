"""JUnit XML for CI: pytest's --junitxml writes the file; this names the suite and stamps the run on it.

CI dashboards (GitLab, Jenkins) show the <testsuite> properties beside the results, so the verdict,
target and seed of a run travel with its junit.xml.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from defusedxml.ElementTree import parse as safe_parse

from conformance.files import write_atomic
from conformance.report._text import scrub
from conformance.summary import checked_verdict, declared_not_applicable, not_exercised

JUNIT_SUITE_NAME = "login_token_conformance"
# Extra pytest arguments for `conformance run`. xunit1 because it is the family that keeps per-test
# <properties> (record_property), which carry the requirement IDs of each test.
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
