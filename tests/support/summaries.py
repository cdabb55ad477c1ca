"""Summaries made by hand: a waiver file's entry, a run's facts, a summary.json document."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from conformance.core import contract
from conformance.core.entropy import token_entropy_summary
from conformance.results.summary import RunFacts, Summary, build_summary
from tests.support.runs import failing_run

TODAY = dt.date(2026, 6, 1)
RANGE = "LT-INPUT-EXPIRE-RANGE"


def waiver(requirement: str = RANGE, expires: str = "2026-12-31", extra: str = "") -> str:
    return (
        f'[[waiver]]\nrequirement = "{requirement}"\nreason = "known, fixed in 2.5"\nticket = "PAY-1"\n'
        f'expires = {expires}\napprover = "QA lead"\n{extra}\n'
    )


FACTS = RunFacts(
    target="http://127.0.0.1:8080/v1/user/login_token",
    target_version="2.4.1",
    user_id=12345,
    foreign_user_id=54321,
    unknown_user_ids=(999999, 999998),
    mode="live",
    profile="default",
    seed=7,
    max_examples=5,
    suite_version="0.2.0",
    started="2026-11-28T00:00:00+00:00",
    finished="2026-11-28T00:00:12+00:00",
    duration_s=12.3,
    cassettes=({"path": "cassettes/x.yaml", "sha256": "d" * 64},),
    token_entropy=token_entropy_summary([f"{n * 7919:032x}" for n in range(1, 40)]),
)


def _failure(rid: str, n: int, *, received: str = "status 200") -> dict[str, Any]:
    return {
        "check": "input_outcome",
        "title": f"{rid} broken",
        "expected": "a 4xx rejection",
        "received": received,
        "case": f"token_expire={59 - n}",
        "test": "conformance/suite/test_inputs.py::test_expire_range",
        "sequence": 10 + n,
        "request": {"method": "POST", "url": "http://127.0.0.1:8080/v1/user/login_token", "form": []},
        "response": {"status": 200, "headers": [], "body": "<user_response/>", "error": None},
        "reproduce": {
            "curl": "curl -sS -X POST 'http://127.0.0.1:8080/v1/user/login_token' "
            f"--data-urlencode \"api_key=$CONFORMANCE_API_KEY\" --data-urlencode 'token_expire={59 - n}'",
            "replay": f"conformance run --cassettes cassettes -k test_expire_range_{n}",
        },
    }


def _requirement(rid: str, outcome: str, failures: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    req = contract.requirement(rid)
    failures = failures or []
    return {
        "id": rid,
        "title": req.title,
        "group": req.group,
        "severity": req.severity.value,
        "level": req.level.value,
        "seed_ref": req.seed_ref,
        "outcome": outcome,
        "checks_run": 12,
        "failure_count": len(failures),
        "ambiguities": list(req.ambiguities),
        "failures": failures,
    }


def make_summary(**outcomes: str) -> dict[str, Any]:
    """A summary.json dict; keyword names are requirement IDs with '_' for '-', values their outcomes."""
    requirements = []
    for key, outcome in outcomes.items():
        rid = key.replace("_", "-")
        failures = [_failure(rid, 1), _failure(rid, 2)] if outcome == "failed" else []
        requirements.append(_requirement(rid, outcome, failures))
    failed = any(r["outcome"] == "failed" for r in requirements)
    return {
        "schema_version": 1,
        "verdict": "non-conformant" if failed else "conformant",
        "complete": True,
        "exit_code": 1 if failed else 0,
        "error": None,
        "target": "http://127.0.0.1:8080/v1/user/login_token",
        "target_version": "2.4.1",
        "mode": "replay",
        "profile": "default",
        "seed": 1234,
        "max_examples": 25,
        "suite_version": "0.1.0",
        "suite_commit": "abc1234",
        "started": "2026-11-28T00:00:00+00:00",
        "finished": "2026-11-28T00:00:12+00:00",
        "duration_s": 12.3,
        "requests": 312,
        "cassettes": [{"path": "cassettes/test_inputs.yaml", "sha256": "d" * 64}],
        "stale_interactions": [],
        "requirements": requirements,
        "ambiguities_exercised": [
            {
                "id": "AMB-EXPIRE-SAMPLE",
                "reading": "absolute Unix timestamp",
                "requirements": ["LT-EXPIRE-CONSISTENT"],
            }
        ],
        "tests": [],
    }


def failing_summary(*, facts: RunFacts = FACTS, **kwargs: Any) -> Summary:
    """The Summary of a run that granted two out-of-range token_expire values."""
    return build_summary(failing_run("59", "86401"), facts=facts, **kwargs)


def summary_json_with(folder: Path, **changes: Any) -> Path:
    """``folder``/summary.json: a failing run's summary with ``changes`` to its top-level fields."""
    document = json.loads(failing_summary().to_json()) | changes
    path = folder / "summary.json"
    path.write_text(json.dumps(document, allow_nan=True), encoding="utf-8")
    return path


def signoff_summary() -> dict[str, Any]:
    """A summary.json dict of two failing requirements, one passing, one warning."""
    return make_summary(
        LT_INPUT_EXPIRE_RANGE="failed",
        LT_AUTH_KEY_INVALID="failed",
        LT_TOKEN_PRESENT="passed",
        LT_SEC_NO_STORE="warning",
    )


_RECORDING = {
    "target": "http://10.0.0.5:8080/v1/user/login_token",
    "recorded_at": "2026-11-20T09:30:00+00:00",
    "suite_version": "0.2.0",
    "age_days": 8,
    "max_age_days": 90,
    "too_old": False,
}
_WAIVERS = {
    "file": "waivers.toml",
    "today": "2026-11-28",
    "fail_on_new": False,
    "applied": [],
    "expired": [{"requirement": "LT-QRCODE-URL", "ticket": "PAY-9", "reason": "r", "expires": "2001-01-01"}],
    "unused": [],
}


def with_every_section(summary: dict[str, Any]) -> dict[str, Any]:
    """A replay summary with users, a recording and a waivers block: every section of the sign-off shows."""
    return summary | {
        "user_id": 12345,
        "foreign_user_id": 54321,
        "unknown_user_ids": [999999],
        "recording": _RECORDING,
        "waivers": _WAIVERS,
    }
