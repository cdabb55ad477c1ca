"""Ledger → verdict, exit code and summary.json (see docs/summary-format.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.contract import AMBIGUITIES_BY_ID, REQUIREMENTS, Level
from conformance.engine import RequirementLedger, Run
from conformance.evidence import curl_command
from conformance.files import write_atomic
from conformance.options import DEFAULT_KEY_VARIABLE

SCHEMA_VERSION = 1

EXIT_CONFORMANT = 0
EXIT_NON_CONFORMANT = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_CASSETTE_MISS = 4
EXIT_SUITE_ERROR = 5
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    EXIT_CONFORMANT: "conformant: every MUST requirement passed (warnings allowed)",
    EXIT_NON_CONFORMANT: "non-conformant: at least one MUST requirement failed",
    EXIT_USAGE: "usage or configuration error (bad option, missing key, invalid URL, corrupt cassette, "
    "--max-requests reached)",
    EXIT_UNREACHABLE: "target unreachable: nothing answered at all",
    EXIT_CASSETTE_MISS: "replay incomplete: a request is not in the cassettes (re-record them)",
    EXIT_SUITE_ERROR: "the suite itself failed (a defect: please report it)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C or a signal); summary.json is marked incomplete",
}


def requirement_outcome(entry: RequirementLedger, level: Level) -> str:
    """passed | failed | warning | skipped for one requirement."""
    if entry.failure_count:
        return "failed" if level is Level.MUST else "warning"
    return "passed" if entry.checks_run else "skipped"


def verdict_of(outcomes: Mapping[str, str], *, error: str | None) -> str:
    """conformant | non-conformant | error."""
    if error is not None:
        return "error"
    return "non-conformant" if "failed" in outcomes.values() else "conformant"


def exit_code_of(verdict: str, *, error_code: int | None) -> int:
    """The process exit code for a verdict."""
    if verdict == "error":
        return error_code if error_code is not None else EXIT_SUITE_ERROR
    return EXIT_NON_CONFORMANT if verdict == "non-conformant" else EXIT_CONFORMANT


def build_summary(
    run: Run,
    *,
    meta: Mapping[str, Any],
    error: str | None = None,
    error_code: int | None = None,
    replay_command: str = "conformance run",
    key_variable: str = DEFAULT_KEY_VARIABLE,
) -> dict[str, Any]:
    """The summary.json document for a finished (or aborted) run."""
    requirements = []
    outcomes: dict[str, str] = {}
    for req in REQUIREMENTS:
        entry = run.ledger[req.id]
        outcome = outcomes[req.id] = requirement_outcome(entry, req.level)
        failures = []
        for record in entry.failures:
            url = record.evidence["request"]["url"]
            test_name = record.test.rsplit("::", 1)[-1] if record.test else ""
            failures.append(
                {
                    "check": record.failure.check,
                    "title": record.failure.title,
                    "expected": record.failure.expected,
                    "received": record.failure.received,
                    "case": record.case.label,
                    "test": record.test,
                    "sequence": record.sequence,
                    **record.evidence,
                    "reproduce": {
                        "curl": curl_command(record.case, url, key_variable=key_variable),
                        "replay": f"{replay_command} -k {test_name}" if test_name else replay_command,
                    },
                }
            )
        requirements.append(
            {
                "id": req.id,
                "title": req.title,
                "group": req.group,
                "severity": req.severity.value,
                "level": req.level.value,
                "seed_ref": req.seed_ref,
                "outcome": outcome,
                "checks_run": entry.checks_run,
                "failure_count": entry.failure_count,
                "ambiguities": list(req.ambiguities),
                "failures": failures,
            }
        )
    verdict = verdict_of(outcomes, error=error)
    exercised: dict[str, list[str]] = {}
    for req in REQUIREMENTS:
        if outcomes[req.id] != "skipped":
            for amb in req.ambiguities:
                exercised.setdefault(amb, []).append(req.id)
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "verdict": verdict,
        "complete": error is None,
        "exit_code": exit_code_of(verdict, error_code=error_code),
        "error": error,
        **meta,
        "requests": run.requests,
        "requirements": requirements,
        "ambiguities_exercised": [
            {"id": amb, "reading": AMBIGUITIES_BY_ID[amb].default_reading, "requirements": reqs}
            for amb, reqs in exercised.items()
        ],
        "tests": [
            {
                "nodeid": t.nodeid,
                "outcome": t.outcome,
                "duration_s": round(t.duration_s, 3),
                "message": t.message,
            }
            for t in run.tests.values()
        ],
    }
    return summary


def write_json_atomic(path: Path, document: Mapping[str, Any]) -> None:
    """Write JSON so that a reader never sees a half-written file."""
    write_atomic(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
