"""Allure wiring: labels from the requirement catalogue, one step per exchange, a bounded evidence sample.

The only module that imports ``allure``. Everything here runs inside a pytest test (allure-pytest keeps
the test result being written); outside one, allure's hooks are no-ops, so nothing here fails.

Sampling, so a Hypothesis test of hundreds of requests stays a small result file:

* a failing exchange gets a step (with one nested step per applied check) and its evidence attached,
  for the first ``failing_sample`` failing exchanges of a test and for every exchange of Hypothesis'
  final replay of the minimal failing example (the one a reader wants);
* a passing exchange gets a step and its evidence for the first ``passing_sample`` of a test;
* every other exchange is only counted, in two excluded test parameters ("passing exchanges not shown",
  "failing exchanges not shown") that allure-pytest updates in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import allure
import allure_commons

from conformance.core import contract
from conformance.core.model import CheckResult, Exchange
from conformance.redaction.run_secrets import RunSecrets
from conformance.results.report._text import run_or_none, scrub, scrub_line
from conformance.results.report.seed import seed_link
from conformance.results.summary import RequirementResult, Summary
from conformance.results.verdict import Outcome, Verdict

PASSING_SAMPLE = 3
FAILING_SAMPLE = 25
SEVERITY_ORDER = (
    contract.Severity.BLOCKER,
    contract.Severity.CRITICAL,
    contract.Severity.NORMAL,
    contract.Severity.MINOR,
)
HIDDEN_PASSING = "passing exchanges not shown"
HIDDEN_FAILING = "failing exchanges not shown"
ENVIRONMENT_FILE = "environment.properties"
CATEGORIES_FILE = "categories.json"
# allure-python leaves most of allure.dynamic unannotated; one Any-typed handle keeps mypy --strict quiet.
_dynamic: Any = allure.dynamic

# Allure 3 takes the first category that matches (JS RegExp.test, a search); Allure 2 full-matches
# (Java String.matches), hence the [\s\S]* on both ends. Order matters: a cassette miss is reported as a
# transport error too, and must land in its own category.
_ANY = r"[\s\S]*"
_FAILED = ["failed", "broken"]
CATEGORIES: tuple[dict[str, Any], ...] = (
    {"name": "Waived failures", "matchedStatuses": ["unknown"], "messageRegex": r"waived by [\s\S]*"},
    {
        "name": "Warnings (SHOULD)",
        "matchedStatuses": ["broken"],
        "messageRegex": r"warning \(SHOULD\)[\s\S]*",
    },
    {"name": "Cassette misses", "matchedStatuses": _FAILED, "messageRegex": f"{_ANY}not in cassette{_ANY}"},
    {
        "name": "Transport errors",
        "matchedStatuses": _FAILED,
        "messageRegex": rf"{_ANY}(\[LT-HTTP-TIMELY\]|transport error){_ANY}",
    },
    {"name": "Schema violations", "matchedStatuses": _FAILED, "messageRegex": rf"{_ANY}\[LT-SCHEMA-{_ANY}"},
    {
        "name": "Valid input rejected",
        "matchedStatuses": _FAILED,
        "messageRegex": rf"{_ANY}\[LT-INPUT-[A-Z0-9-]*-VALID\]{_ANY}",
    },
    {
        "name": "Invalid input accepted",
        "matchedStatuses": _FAILED,
        "messageRegex": rf"{_ANY}\[LT-(INPUT|AUTH)-{_ANY}",
    },
    {
        "name": "Semantic violations",
        "matchedStatuses": _FAILED,
        "messageRegex": rf"{_ANY}\[LT-(?!SCHEMA-|INPUT-|AUTH-|HTTP-TIMELY\]){_ANY}",
    },
    {"name": "Suite errors", "matchedStatuses": ["broken"], "messageRegex": _ANY},
)


@dataclass
class _TestState:
    """What has been written into the running test's Allure result so far."""

    key: str
    labels: set[tuple[str, str]] = field(default_factory=set)
    requirement_ids: list[str] = field(default_factory=list)
    failed_ids: set[str] = field(default_factory=set)
    severity_set: bool = False
    passing_shown: int = 0
    passing_hidden: int = 0
    failing_shown: int = 0
    failing_hidden: int = 0


def _current_test_key() -> str:
    """The uuid of the Allure test result being written, else the running pytest node ID."""
    # A node ID is not enough: a process may run several sessions (selftest, pytester) whose tests share
    # node IDs. allure-commons exposes no "current test" call, so ask its registered reporters.
    for plugin in allure_commons.plugin_manager.get_plugins():
        reporter = getattr(plugin, "allure_logger", None)
        test = reporter.get_test(None) if reporter is not None and hasattr(reporter, "get_test") else None
        if test is not None and getattr(test, "uuid", None):
            return str(test.uuid)
    # pytest sets PYTEST_CURRENT_TEST to "<nodeid> (<phase>)" for the running test.
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]


_state = _TestState(key="")


def _test_state() -> _TestState:
    """The running test's state; a new test starts a fresh one (only one test runs at a time)."""
    global _state
    key = _current_test_key()
    if _state.key != key:
        _state = _TestState(key=key)
    return _state


def _severity_rank(severity: contract.Severity) -> int:
    return SEVERITY_ORDER.index(severity)


def label_test(*, requirement_ids: Sequence[str], failed: bool = False) -> None:
    """Label the running Allure test with the requirements it serves (``failed``: these failed in it)."""
    state = _test_state()
    requirements = [contract.requirement(rid) for rid in dict.fromkeys(requirement_ids)]
    if not requirements:
        return
    wanted = [("epic", contract.ENDPOINT)]
    for req in requirements:
        wanted += [("feature", req.group), ("story", f"{req.id} {req.title}"), ("tag", req.id)]
    adders = {"epic": _dynamic.epic, "feature": _dynamic.feature, "story": _dynamic.story}
    for kind, value in wanted:
        if (kind, value) not in state.labels:
            state.labels.add((kind, value))
            adders.get(kind, _dynamic.tag)(value)
    if not state.severity_set:
        # allure-pytest appends labels, so a second severity would not replace the first: set it once.
        highest = min((r.severity for r in requirements), key=_severity_rank)
        _dynamic.severity(allure.severity_level(highest.value))
        state.severity_set = True
    for req in requirements:
        if req.seed_line is not None:
            _dynamic.link(seed_link(req.seed_line), name=f"seed line {req.seed_line}")
        if req.id not in state.requirement_ids:
            state.requirement_ids.append(req.id)
        if failed:
            state.failed_ids.add(req.id)
    _dynamic.description(_description(state))


def _description(state: _TestState) -> str:
    lines = [f"Requirements of `{contract.ENDPOINT}` this test checks:", ""]
    for rid in state.requirement_ids:
        req = contract.requirement(rid)
        mark = " - **FAILED**" if rid in state.failed_ids else ""
        lines.append(
            f"- **{req.id}** {req.title} ({req.severity.value}, {req.level.value}; {req.seed_ref}){mark}"
        )
    return "\n".join(lines)


def _failed_step(title: str, message: str) -> None:
    """A step marked failed: allure-pytest marks a step 'failed' when an AssertionError leaves it."""
    marker = AssertionError(message)
    try:
        with allure.step(title):
            raise marker
    except AssertionError as exc:
        if exc is not marker:
            raise


def _exchange_title(exchange: Exchange, secrets: RunSecrets) -> str:
    if exchange.answered:
        outcome = str(exchange.status)
    else:
        outcome = f"transport error: {exchange.error.value if exchange.error else 'no response'}"
    return scrub_line(f"POST {exchange.case.label} -> {outcome}", secrets)


def _in_final_hypothesis_replay() -> bool:
    try:
        from hypothesis.control import current_build_context, currently_in_test_context
    except ImportError:  # pragma: no cover - hypothesis is a dependency of the suite
        return False
    return currently_in_test_context() and bool(getattr(current_build_context(), "is_final", False))


class AllureObserver:
    """Engine observer: records each exchange as an Allure step with a bounded evidence sample."""

    def __init__(
        self,
        *,
        passing_sample: int = PASSING_SAMPLE,
        failing_sample: int = FAILING_SAMPLE,
        secrets: RunSecrets | None = None,
    ) -> None:
        """``secrets``: the run's, scrubbed from every step and attachment (None: outside a run)."""
        self.passing_sample = passing_sample
        self.failing_sample = failing_sample
        self.secrets = run_or_none(secrets)

    def on_exchange(
        self, exchange: Exchange, results: list[CheckResult], *, evidence: Callable[[], dict[str, Any]]
    ) -> None:
        """Record one exchange and the checks applied to it."""
        state = _test_state()
        applied = [r for r in results if r.applied]
        failures = [r for r in applied if r.failure is not None]
        if failures:
            if state.failing_shown >= self.failing_sample and not _in_final_hypothesis_replay():
                state.failing_hidden += 1
                _dynamic.parameter(HIDDEN_FAILING, state.failing_hidden, excluded=True)
                return
            state.failing_shown += 1
        elif state.passing_shown >= self.passing_sample:
            state.passing_hidden += 1
            _dynamic.parameter(HIDDEN_PASSING, state.passing_hidden, excluded=True)
            return
        else:
            state.passing_shown += 1
        self._record(exchange, applied, failures, evidence())

    def _record(
        self,
        exchange: Exchange,
        applied: list[CheckResult],
        failures: list[CheckResult],
        evidence: Mapping[str, Any],
    ) -> None:
        title = _exchange_title(exchange, self.secrets)
        marker = AssertionError(f"{len(failures)} of {len(applied)} checks failed")
        try:
            with allure.step(title):
                _attach_evidence(evidence, self.secrets)
                for result in applied:
                    step_title = f"{result.check} [{result.requirement}]"
                    if result.failure is None:
                        with allure.step(f"{step_title}: passed"):
                            pass
                    else:
                        failure = result.failure
                        lines = (
                            failure.message,
                            f"expected: {failure.expected}",
                            f"received: {failure.received}",
                        )
                        _failed_step(
                            f"{step_title}: failed",
                            "\n".join(scrub_line(line, self.secrets) for line in lines),
                        )
                if failures:
                    raise marker
        except AssertionError as exc:
            if exc is not marker:
                raise


def _attach_evidence(evidence: Mapping[str, Any], secrets: RunSecrets) -> None:
    for part in ("request", "response"):
        if part in evidence:
            body = scrub(json.dumps(evidence[part], indent=2, ensure_ascii=False), secrets)
            allure.attach(body, name=part, attachment_type=allure.attachment_type.JSON)


def _properties_escape(text: str, *, key: bool) -> str:
    out = []
    for i, char in enumerate(text):
        if char in "\\=:#!" or (char == " " and (key or i == 0)):
            out.append("\\" + char)
        elif char in "\n\r\t\f":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}[char])
        elif ord(char) < 0x20 or ord(char) > 0x7E:
            units = char.encode("utf-16-be")
            out.extend(f"\\u{int.from_bytes(units[j : j + 2], 'big'):04x}" for j in range(0, len(units), 2))
        else:
            out.append(char)
    return "".join(out)


def write_environment(
    results_dir: Path, info: Mapping[str, str], *, secrets: RunSecrets | None = None
) -> None:
    """Write environment.properties (target, mode, suite version, profile, seed ...) into the results."""
    secrets = run_or_none(secrets)
    results_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{_properties_escape(str(k), key=True)}={_properties_escape(scrub(str(v), secrets), key=False)}"
        for k, v in info.items()
    ]
    (results_dir / ENVIRONMENT_FILE).write_text("\n".join(lines) + "\n", encoding="ascii")


def write_categories(results_dir: Path) -> None:
    """Write categories.json: failures grouped by kind of requirement broken."""
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / CATEGORIES_FILE).write_text(
        json.dumps(list(CATEGORIES), indent=2) + "\n", encoding="utf-8"
    )


# ---- One Allure result per requirement, written from summary.json after the run -----------------------
#
# allure-pytest writes one result per pytest test while the run goes; a test serves several requirements,
# so those counts never equal the sign-off matrix. After the run, ``write_requirement_results`` replaces
# them with one result per requirement of the catalogue (status from its outcome, through ALLURE_STATUS),
# keeping the exchange steps the tests recorded (and their attachments) under each requirement they checked.

ALLURE_STATUS: dict[str, str] = {  # by Outcome value
    "passed": "passed",
    "failed": "failed",
    "warning": "broken",  # a SHOULD requirement failed: shown, but it does not fail the run
    "skipped": "skipped",  # not exercised
    "not-applicable": "skipped",
    "waived": "unknown",  # failed, accepted by a waiver: its own colour, never green
}
SUITE_ERROR_NAME = "suite error"
STEPS_PER_REQUIREMENT = 12
_REQ_IN_STEP = re.compile(r"\[(LT-[A-Z0-9-]+)\]")
WAIVED_PREFIX = "waived by "
WARNING_PREFIX = "warning (SHOULD): "


def _harvest_steps(results_dir: Path) -> tuple[dict[str, list[dict[str, Any]]], dict[str, tuple[int, int]]]:
    """The exchange steps of allure-pytest's per-test results, by the requirements their checks name, and
    each requirement's time: from the first start to the last stop of the tests that judged it."""
    steps: dict[str, list[dict[str, Any]]] = {}
    spans: dict[str, tuple[int, int]] = {}
    for path in sorted(results_dir.glob("*-result.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(result, dict):
            continue
        served: set[str] = set()
        for step in result.get("steps") or []:
            if not isinstance(step, dict):
                continue
            subs = step.get("steps") or []
            for rid in {m for sub in subs for m in _REQ_IN_STEP.findall(str(sub.get("name")))}:
                steps.setdefault(rid, []).append(step)
                served.add(rid)
        start, stop = result.get("start"), result.get("stop")
        if isinstance(start, int) and isinstance(stop, int) and start <= stop:
            for rid in served:
                first, last = spans.get(rid, (start, stop))
                spans[rid] = (min(first, start), max(last, stop))
    # failing exchanges first (stable), then as many passing ones as the cap leaves room for
    kept = {
        rid: sorted(found, key=lambda s: s.get("status") == "passed")[:STEPS_PER_REQUIREMENT]
        for rid, found in steps.items()
    }
    return kept, spans


def _remove_per_test_results(results_dir: Path) -> None:
    for pattern in ("*-result.json", "*-container.json"):
        for path in results_dir.glob(pattern):
            path.unlink(missing_ok=True)


def _millis(stamp: object, default: int) -> int:
    try:
        return int(dt.datetime.fromisoformat(str(stamp)).timestamp() * 1000)
    except ValueError:
        return default


def _attachment(results_dir: Path, name: str, body: str, secrets: RunSecrets) -> dict[str, str]:
    source = f"{uuid.uuid4()}-attachment.json"
    (results_dir / source).write_text(scrub(body, secrets), encoding="utf-8")
    return {"name": name, "source": source, "type": "application/json"}


def _failure_steps(
    results_dir: Path, req: RequirementResult, start: int, secrets: RunSecrets
) -> list[dict[str, Any]]:
    out = []
    for n, failure in enumerate(req.failures):
        attachments = [
            _attachment(
                results_dir, part, json.dumps(failure.evidence[part], indent=2, ensure_ascii=False), secrets
            )
            for part in ("request", "response")
            if part in failure.evidence
        ]
        parameters = [{"name": "check", "value": scrub_line(failure.check, secrets)}]
        if failure.reproduce is not None and failure.reproduce.curl:
            parameters.append({"name": "curl", "value": scrub_line(failure.reproduce.curl, secrets)})
        if failure.waived_by:
            parameters.append({"name": "waived by", "value": scrub_line(failure.waived_by, secrets)})
        out.append(
            {
                "name": scrub_line(f"failure {n + 1}: {failure.check} on {failure.case}", secrets),
                "status": "failed",
                "statusDetails": {
                    "message": "\n".join(
                        (
                            f"expected: {scrub_line(failure.expected, secrets)}",
                            f"received: {scrub_line(failure.received, secrets)}",
                        )
                    ),
                },
                "stage": "finished",
                "attachments": attachments,
                "parameters": parameters,
                "steps": [],
                "start": start,
                "stop": start,
            }
        )
    return out


def _message(req: RequirementResult, secrets: RunSecrets) -> str | None:
    first = req.failures[0] if req.failures else None
    headline = (
        f"[{req.id}] {req.failure_count} failure(s); case {first.case if first else None}: "
        f"expected {first.expected if first else None}; received {first.received if first else None}"
    )
    if req.outcome is Outcome.FAILED:
        return scrub_line(headline, secrets)
    if req.outcome is Outcome.WARNING:
        return scrub_line(WARNING_PREFIX + headline, secrets)
    if req.outcome is Outcome.WAIVED:
        by = ", ".join(sorted({str(f.waived_by) for f in req.failures}))
        return scrub_line(f"{WAIVED_PREFIX}{by}: {headline}", secrets)
    if req.outcome is Outcome.SKIPPED:
        return scrub_line(f"not exercised: {req.reason}", secrets)
    if req.outcome is Outcome.NOT_APPLICABLE:
        return scrub_line(f"not applicable: {req.reason}", secrets)
    return None


def _result(
    results_dir: Path,
    req: RequirementResult,
    steps: list[dict[str, Any]],
    start: int,
    stop: int,
    secrets: RunSecrets,
) -> dict[str, Any]:
    rid = req.id
    known = contract.REQUIREMENTS_BY_ID.get(rid)
    outcome = req.outcome.value
    labels = [
        {"name": "epic", "value": contract.ENDPOINT},
        {"name": "feature", "value": scrub(req.group, secrets)},
        {"name": "story", "value": scrub(f"{rid} {req.title}", secrets)},
        {"name": "suite", "value": scrub(req.group, secrets)},
        {"name": "tag", "value": rid},
        {"name": "tag", "value": f"outcome:{outcome}"},
        {"name": "severity", "value": scrub(req.severity or "normal", secrets)},
    ]
    links = []
    if known is not None and known.seed_line is not None:
        links.append(
            {"name": f"seed line {known.seed_line}", "url": seed_link(known.seed_line), "type": "link"}
        )
    message = _message(req, secrets)
    description = [
        f"**{rid}** {req.title} ({req.severity}, {req.level}; {req.seed_ref})",
        "",
        f"Outcome: **{outcome}** · {req.checks_run} check(s) run · {req.failure_count} failure(s)",
    ]
    history = hashlib.sha256(f"requirement:{rid}".encode()).hexdigest()[:32]
    return {
        "uuid": str(uuid.uuid4()),
        "historyId": history,
        "testCaseId": history,
        "fullName": f"{contract.ENDPOINT}::{rid}",
        "name": scrub(f"{rid} {req.title}", secrets),
        "status": ALLURE_STATUS.get(outcome, "unknown"),
        "statusDetails": {"message": message} if message else {},
        "stage": "finished",
        "description": scrub("\n".join(description), secrets),
        "labels": labels,
        "links": links,
        "parameters": [],
        "attachments": [],
        "steps": _failure_steps(results_dir, req, start, secrets) + steps,
        "start": start,
        "stop": stop,
    }


def environment_of(summary: Summary) -> dict[str, str]:
    """environment.properties of a run: its verdict (derived from its outcomes), target, mode, seed ..."""
    facts = summary.facts
    return {
        "verdict": summary.verdict.value,
        "target": str(facts.target),
        "mode": str(facts.mode),
        "suite.version": str(facts.suite_version),
        "profile": str(facts.profile),
        "seed": str(facts.seed),
    }


def write_requirement_results(
    results_dir: Path, summary: Summary, *, secrets: RunSecrets | None = None
) -> int:
    """Replace the per-test results in ``results_dir`` by one result per requirement; returns how many.

    For a run that ended in a suite error, a single broken "suite error" result carries the error.
    ``secrets``: the run's, scrubbed from every value (None: outside a run).
    """
    secrets = run_or_none(secrets)
    results_dir.mkdir(parents=True, exist_ok=True)
    steps, spans = _harvest_steps(results_dir)
    _remove_per_test_results(results_dir)
    now = int(time.time() * 1000)
    start = _millis(summary.facts.started, now)
    stop = max(start, _millis(summary.facts.finished, now))
    written = []
    if summary.verdict is Verdict.ERROR:
        history = "suite-error"
        written.append(
            {
                "uuid": str(uuid.uuid4()),
                "historyId": history,
                "name": SUITE_ERROR_NAME,
                "fullName": f"{contract.ENDPOINT}::{SUITE_ERROR_NAME}",
                "status": "broken",
                "statusDetails": {"message": scrub(summary.error or "the suite failed", secrets)},
                "stage": "finished",
                "labels": [
                    {"name": "epic", "value": contract.ENDPOINT},
                    {"name": "feature", "value": "suite"},
                ],
                "steps": [],
                "attachments": [],
                "start": start,
                "stop": stop,
            }
        )
    else:
        for req in summary.requirements:
            # its own tests' time when they were seen; a requirement no test judged spans the run
            first, last = spans.get(req.id, (start, stop))
            written.append(_result(results_dir, req, steps.get(req.id, []), first, last, secrets))
    for result in written:
        (results_dir / f"{result['uuid']}-result.json").write_text(
            json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return len(written)
