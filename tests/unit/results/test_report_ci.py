"""The GitHub Actions job summary: the run's verdict and failing requirements, only when asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.results.report.ci import STEP_SUMMARY_ENV, append_step_summary, step_summary
from conformance.results.summary import Summary

FAILING_DOCUMENT: dict[str, Any] = {
    "verdict": "non-conformant",
    "target": "https://staging.example.com/v1/user/login_token",
    "target_version": "2.4.1`|x",
    "mode": "live",
    "seed": 31,
    "exit_code": 1,
    "requirements": [
        {"id": "LT-QRCODE-URL", "title": "<qrcode> is an absolute https URL", "outcome": "failed"}
        | {"failure_count": 3},
        {"id": "LT-SEC-NO-STORE", "title": "no-store", "outcome": "warning", "failure_count": 1},
        {"id": "LT-TOKEN-PRESENT", "title": "token", "outcome": "passed", "failure_count": 0},
    ],
}
FAILING = Summary.of(FAILING_DOCUMENT)


def test_summary_names_verdict_target_and_each_failing_requirement() -> None:
    text = step_summary(FAILING)
    assert text.startswith("### Conformance: NON-CONFORMANT\n")
    assert "target `https://staging.example.com/v1/user/login_token` · version `2.4.1'/x`" in text
    assert "| LT-QRCODE-URL | failed | 3 | &lt;qrcode> is an absolute https URL |" in text
    assert "| LT-SEC-NO-STORE | warning | 1 | no-store |" in text
    assert "LT-TOKEN-PRESENT" not in text


def test_a_conformant_run_says_so() -> None:
    passed = [{"id": "LT-TOKEN-PRESENT", "title": "token", "outcome": "passed"}]
    text = step_summary(
        Summary.of({**FAILING_DOCUMENT, "verdict": "conformant", "exit_code": 0, "requirements": passed})
    )
    assert "### Conformance: CONFORMANT" in text
    assert "No failing requirement." in text


def test_appends_only_when_the_variable_is_set(tmp_path: Path) -> None:
    target = tmp_path / "step-summary.md"
    target.write_text("earlier step\n", encoding="utf-8")
    assert append_step_summary(FAILING, environ={}) is None
    assert target.read_text(encoding="utf-8") == "earlier step\n"
    assert append_step_summary(FAILING, environ={STEP_SUMMARY_ENV: str(target)}) == target
    assert target.read_text(encoding="utf-8") == "earlier step\n" + step_summary(FAILING)


def test_an_unwritable_summary_never_breaks_the_run(tmp_path: Path) -> None:
    assert append_step_summary(FAILING, environ={STEP_SUMMARY_ENV: str(tmp_path)}) is None  # a directory


def test_a_waived_run_says_so_and_lists_waived_expired_and_unused() -> None:
    waived = {
        "verdict": "conformant with waivers",
        "exit_code": 0,
        "requirements": [
            {"id": "LT-QRCODE-URL", "title": "qrcode", "outcome": "waived", "failure_count": 2,
             "failures": [{"waived_by": "PAY-1"}]},
        ],
        "waivers": {
            "expired": [{"requirement": "LT-TOKEN-UNIQUE", "ticket": "PAY-2", "expires": "2001-01-01"}]
        },
    }  # fmt: skip
    text = step_summary(Summary.of(waived))
    assert text.startswith("### Conformance: CONFORMANT WITH WAIVERS\n")
    assert "| LT-QRCODE-URL | waived | 2 | qrcode |" in text
    assert "- waived: LT-QRCODE-URL — 2 failure(s) accepted by PAY-1" in text
    assert "- expired waiver: LT-TOKEN-UNIQUE PAY-2 (expires 2001-01-01) no longer applies" in text
