"""Reports for CI and release sign-off: Allure labels and steps, JUnit, sign-off, evidence manifest, HTML.

Only ``conformance.results.report.allure`` imports ``allure``; import it where it is used (the plugin), so the
core and ``conformance --help`` stay free of it.
"""

from __future__ import annotations

from conformance.results.report.html import ReportError, build_html_report
from conformance.results.report.junit import JUNIT_OPTIONS, annotate_junit, junit_properties, write_junit
from conformance.results.report.manifest import MANIFEST_NAME, ManifestError, verify_manifest, write_manifest
from conformance.results.report.signoff import render_signoff, write_signoff

__all__ = [
    "JUNIT_OPTIONS",
    "MANIFEST_NAME",
    "ManifestError",
    "ReportError",
    "annotate_junit",
    "build_html_report",
    "junit_properties",
    "render_signoff",
    "verify_manifest",
    "write_junit",
    "write_manifest",
    "write_signoff",
]
