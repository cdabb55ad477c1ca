"""The typed Summary of a run: built from the ledger, written as summary.json, read back checked.

The one home of the summary (docs/summary-format.md): ``build_summary`` makes it from a finished Run,
``Summary.to_json`` writes it, ``Summary.from_json`` (or ``read_summary``) reads one back. The verdict, the
exit code and ``complete`` are never stored in a Summary: they are derived from its requirement outcomes
(``verdict.verdict_of``, the one place the rule lives), so the sign-off, JUnit, the Allure environment, the
console and the CI step summary, which all take a Summary, cannot show a verdict the outcomes do not give.
A document whose stated verdict or exit code contradicts its outcomes (a hand-edited "conformant") is
refused when it is read, and so is any field of the wrong type or shape (``summary_load``, which reads
the dataclasses below by their own annotations and field metadata).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from conformance.core.contract import AMBIGUITIES_BY_ID, REQUIREMENTS, Level
from conformance.core.errors import EXIT_SUITE_ERROR
from conformance.core.files import SummaryUnreadable, load_summary, write_atomic
from conformance.core.options import DEFAULT_KEY_VARIABLE, RunOptions, option_changes
from conformance.core.profile import Profile, profile_changes
from conformance.results.summary_load import (
    CHOICES,
    DERIVED,
    INLINE,
    KEY,
    REST,
    SHAPE,
    SHOWN,
    CassetteRef,
    Evidence,
    Recording,
    StaleInteraction,
    TokenEntropy,
    Waivers,
    decode,
)
from conformance.results.summary_load import SummaryContradiction as SummaryContradiction  # re-exported
from conformance.results.summary_load import SummaryError as SummaryError  # the readers catch it from here
from conformance.results.verdict import (
    EXIT_CODES,
    Coverage,
    Outcome,
    Verdict,
    exit_code_of,
    not_exercised_reason,
    requirement_outcome,
    verdict_of,
)
from conformance.results.waivers import WaiverSet
from conformance.run.engine import Run
from conformance.run.evidence import curl_command

SCHEMA_VERSION = 1
LISTED = 4  # requirement IDs named in the verdict line
# A summary written before the run had a verdict (in progress, or ended early) holds only these facts.
STUB_FACTS = ("target", "mode", "seed", "suite_version", "started")

# The kinds of setting: a run option; a profile reading (where the vendor is silent, or the suite's
# rails); a profile setting that changes what the vendor document fixes (the verdict says so).
OPTION, READING, CONTRACT = "option", "reading", "contract"
SETTING_KINDS = (OPTION, READING, CONTRACT)

JSON = dict[str, Any]  # a block passed through as written: evidence, waivers, recording, token entropy
MODES = ("live", "record", "replay")


@dataclass(frozen=True)
class Reproduce:
    """How to send a failing case again: a curl line (live) and a replay command."""

    curl: str
    replay: str = ""


@dataclass(frozen=True)
class Failure:
    """One failure of a requirement, with its redacted evidence (``request``, ``response``)."""

    check: str = ""
    title: str = ""
    expected: str = ""
    received: str = ""
    case: str = ""
    test: str = ""
    sequence: int = 0
    waived_by: str | None = None  # the ticket of the waiver that accepts it, or "baseline"
    # summary.json writes the evidence (``request``, ``response``) beside the failure's own keys
    evidence: JSON = field(default_factory=dict, metadata={REST: True, SHAPE: Evidence})
    reproduce: Reproduce | None = None

    def document(self) -> JSON:
        """This failure as summary.json writes it."""
        doc: JSON = {
            "check": self.check,
            "title": self.title,
            "expected": self.expected,
            "received": self.received,
            "case": self.case,
            "test": self.test,
            "sequence": self.sequence,
            "waived_by": self.waived_by,
            **self.evidence,
        }
        if self.reproduce is not None:
            doc["reproduce"] = {"curl": self.reproduce.curl, "replay": self.reproduce.replay}
        return doc


@dataclass(frozen=True)
class FailureClass:
    """A kind of failure of a requirement: its check and the class of the case (``Case.case_class``)."""

    check: str
    case_class: str

    def document(self) -> JSON:
        """This class as summary.json writes it."""
        return {"check": self.check, "case_class": self.case_class}


@dataclass(frozen=True)
class RequirementResult:
    """One requirement of the catalogue as the run judged it."""

    id: str
    outcome: Outcome
    title: str = ""
    group: str = ""
    severity: str = ""
    level: str = ""
    seed_ref: str = ""
    reason: str | None = None  # why it was not exercised, or the user's not-applicable reason
    checks_run: int = 0
    failure_count: int = 0  # all failures; ``failures`` keeps the first few
    ambiguities: tuple[str, ...] = ()
    failures: tuple[Failure, ...] = ()
    # Every (check, case class) that failed, not only the kept examples: what --fail-on new compares.
    failure_classes: tuple[FailureClass, ...] = ()
    failure_classes_complete: bool = True  # False: more classes failed than the run keeps

    @property
    def waived(self) -> bool:
        """Failed, and every failure accepted by a waiver (or the baseline)."""
        return self.outcome is Outcome.WAIVED

    def document(self) -> JSON:
        """This requirement as summary.json writes it."""
        return {
            "id": self.id,
            "title": self.title,
            "group": self.group,
            "severity": self.severity,
            "level": self.level,
            "seed_ref": self.seed_ref,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "checks_run": self.checks_run,
            "failure_count": self.failure_count,
            "waived": self.waived,
            "ambiguities": list(self.ambiguities),
            "failures": [f.document() for f in self.failures],
            "failure_classes": [c.document() for c in self.failure_classes],
            "failure_classes_complete": self.failure_classes_complete,
        }


@dataclass(frozen=True)
class Declared:
    """A requirement the user declared not applicable, with the reason given and who declared it."""

    id: str
    reason: str
    by: str = ""  # "--not-applicable" on the command line, a config file, or a waiver


@dataclass(frozen=True)
class Setting:
    """A run option or profile setting that differs from its default, and where the value came from."""

    name: str
    default: str
    value: str
    source: str  # "command line", "config file F", "config file F [env.N]", "profile file F"
    kind: str = field(default=OPTION, metadata={CHOICES: SETTING_KINDS})
    fixed_by: str | None = None  # contract: what the vendor document fixes that the value changes

    @property
    def modifies_contract(self) -> bool:
        """The value changes a limit the vendor document fixes."""
        return self.kind == CONTRACT


def run_settings(options: RunOptions, profile: Profile) -> tuple[Setting, ...]:
    """Every run option and profile setting that differs from its default, with where it came from."""
    rows = [Setting(name, default, value, source) for name, default, value, source in option_changes(options)]
    where = f"profile file {options.profile}"
    for change in profile_changes(profile):
        kind = CONTRACT if change.fixed_by else READING
        rows.append(Setting(change.name, change.default, change.value, where, kind, change.fixed_by))
    return tuple(rows)


@dataclass(frozen=True)
class AmbiguityReading:
    """A reading of the ambiguity register the run relied on, and the requirements it served."""

    id: str
    reading: str
    requirements: tuple[str, ...]


@dataclass(frozen=True)
class TestResult:
    """One conformance test as the run saw it."""

    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: str
    duration_s: float = 0.0
    message: str = ""
    requests: int = 0


@dataclass(frozen=True)
class RunFacts:
    """What was run, where and when: the identity of a run (no bearing on its verdict but stopped_early)."""

    target: str | None = None
    target_version: str | None = None
    user_id: int | None = None  # the user in the key's scope
    foreign_user_id: int | None = None  # a user outside it (None: LT-AUTH-USER-SCOPE not exercised)
    unknown_user_ids: tuple[int, ...] = ()  # users known not to exist
    mode: str | None = field(default=None, metadata={CHOICES: MODES})
    profile: str | None = None
    seed: int | None = None
    max_examples: int | None = None
    suite_version: str | None = None
    suite_commit: str | None = None
    started: str | None = None
    finished: str | None = None
    duration_s: float | None = None
    cassettes: tuple[JSON, ...] = field(default=(), metadata={SHAPE: tuple[CassetteRef, ...]})
    stale_interactions: tuple[JSON, ...] = field(default=(), metadata={SHAPE: tuple[StaleInteraction, ...]})
    unused_cassettes: tuple[str, ...] = ()
    throttled: int = 0
    throttle_waited_s: float = 0.0
    user_agent: str | None = None  # the stock identity's User-Agent (a stock client's, or --user-agent)
    # GET/HEAD/OPTIONS also sent the valid key in the query string (loopback or --send-key-in-query);
    # False: only a fixed wrong key travelled in a URL. None: not known (a stub).
    valid_key_in_query: bool | None = None
    token_entropy: JSON | None = field(default=None, metadata={SHAPE: TokenEntropy | None})
    stopped_early: str | None = None  # why the run stopped sending early: at best incomplete
    # what the preflight noted on the configuration (e.g. a --foreign-user-id refused like an unknown user)
    preflight_notes: tuple[str, ...] = ()
    # replay: the recording judged (target, recorded_at, age_days ...)
    recording: JSON | None = field(default=None, metadata={SHAPE: Recording | None})
    config_file: str | None = None  # the config file the options came from (found or --config)
    # every option and profile setting that differs from its default; a "contract" one bears on the verdict
    settings: tuple[Setting, ...] = ()

    @property
    def modified_contract(self) -> tuple[Setting, ...]:
        """The settings that change what the vendor document fixes."""
        return tuple(s for s in self.settings if s.modifies_contract)

    def document(self, *, only: tuple[str, ...] | None = None) -> JSON:
        """These facts as summary.json writes them (``only``: just these, when set)."""
        out: JSON = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if only is not None and (f.name not in only or value is None):
                continue
            if f.name == "settings":
                value = tuple(dataclasses.asdict(s) for s in value)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> RunFacts:
        """The facts of a summary.json document (absent ones left at their defaults); SummaryError."""
        return decode(cls, doc)


@dataclass(frozen=True)
class Summary:
    """A run's summary: its facts, every requirement's outcome and the evidence; the verdict derived."""

    facts: RunFacts = field(default_factory=RunFacts, metadata={INLINE: True})  # beside the other keys
    requirements: tuple[RequirementResult, ...] = ()
    error: str | None = None
    # the exit code of an error verdict (2, 3, 4, 5, 130); written as exit_code
    error_code: int | None = field(default=None, metadata={KEY: "exit_code", CHOICES: tuple(EXIT_CODES)})
    requests: int = 0
    not_applicable: tuple[Declared, ...] = ()
    # WaiverSet.report(): file, today, applied, expired, unused
    waivers: JSON | None = field(default=None, metadata={SHAPE: Waivers | None})
    ambiguities_exercised: tuple[AmbiguityReading, ...] = ()
    tests: tuple[TestResult, ...] = ()
    leaked_files: tuple[str, ...] | None = None  # after a live run whose files held a secret
    # written before the run had a verdict: only the error and the run's identity
    stub: bool = field(default=False, metadata={DERIVED: True})
    schema_version: int = field(default=SCHEMA_VERSION, metadata={CHOICES: (SCHEMA_VERSION,)})

    def __post_init__(self) -> None:
        # An exit code of its own only for an error verdict; otherwise the verdict alone gives it.
        if self.verdict is not Verdict.ERROR:
            object.__setattr__(self, "error_code", None)
        elif self.error_code is None:
            object.__setattr__(self, "error_code", EXIT_SUITE_ERROR)

    @classmethod
    def stub_of(cls, facts: RunFacts, *, error: str, exit_code: int) -> Summary:
        """A summary that holds no verdict: a run in progress, or one that ended before it had one."""
        return cls(facts=facts, error=error, error_code=exit_code, stub=True)

    @cached_property
    def verdict(self) -> Verdict:
        """The verdict the requirement outcomes give (nothing verified at all: error)."""
        outcomes = {r.id: r.outcome for r in self.requirements}
        return verdict_of(
            outcomes,
            must=frozenset(r.id for r in self.requirements if r.level == Level.MUST),
            error=self.error,
            stopped=self.facts.stopped_early is not None,
            modified=bool(self.facts.modified_contract),
        )

    @property
    def exit_code(self) -> int:
        """The process exit code for this summary."""
        return exit_code_of(self.verdict, error_code=self.error_code)

    @property
    def complete(self) -> bool:
        """The run finished and exercised every MUST requirement."""
        return self.verdict not in (Verdict.ERROR, Verdict.INCOMPLETE)

    def not_exercised(self, *, level: str | None = "must") -> list[tuple[str, str]]:
        """(ID, reason) for each requirement (of ``level``) no check exercised."""
        return [
            (r.id, r.reason or "not exercised")
            for r in self.requirements
            if r.outcome is Outcome.SKIPPED and (level is None or r.level == level)
        ]

    def declared_not_applicable(self) -> list[tuple[str, str]]:
        """(ID, who declared it and the reason) for each requirement declared not applicable."""
        return [(r.id, r.reason or "") for r in self.requirements if r.outcome is Outcome.NOT_APPLICABLE]

    def count(self, outcome: Outcome) -> int:
        """How many requirements had ``outcome``."""
        return sum(1 for r in self.requirements if r.outcome is outcome)

    def outcomes(self) -> dict[str, Outcome]:
        """Each requirement's outcome by ID."""
        return {r.id: r.outcome for r in self.requirements}

    def document(self) -> JSON:
        """The summary.json document (docs/summary-format.md), keys in their documented order."""
        head: JSON = {
            "schema_version": self.schema_version,
            "verdict": self.verdict.value,
            "complete": self.complete,
            "exit_code": self.exit_code,
            "error": self.error,
        }
        if self.stub:
            doc = {**head, **self.facts.document(only=STUB_FACTS), "requirements": []}
        else:
            doc = {
                **head,
                **self.facts.document(),
                "requests": self.requests,
                "not_exercised": [
                    {"id": r.id, "level": r.level, "reason": r.reason}
                    for r in self.requirements
                    if r.outcome is Outcome.SKIPPED
                ],
                "not_applicable": [{"id": d.id, "reason": d.reason, "by": d.by} for d in self.not_applicable],
                "waivers": self.waivers,
                "requirements": [r.document() for r in self.requirements],
                "ambiguities_exercised": [
                    {"id": a.id, "reading": a.reading, "requirements": list(a.requirements)}
                    for a in self.ambiguities_exercised
                ],
                "tests": [
                    {
                        "nodeid": t.nodeid,
                        "outcome": t.outcome,
                        "duration_s": t.duration_s,
                        "requests": t.requests,
                        "message": t.message,
                    }
                    for t in self.tests
                ],
            }
        if self.leaked_files is not None:
            doc["leaked_files"] = list(self.leaked_files)
        return doc

    def to_json(self) -> str:
        """summary.json's text."""
        return json.dumps(self.document(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Summary:
        """Read summary.json's text; SummaryError if it is not a summary, SummaryContradiction if it lies."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SummaryError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
        except (ValueError, RecursionError) as exc:  # an integer of thousands of digits; nesting too deep
            raise SummaryError(f"not a JSON document this suite reads ({type(exc).__name__})") from None
        if not isinstance(document, Mapping):
            raise SummaryError("not a summary.json object")
        return cls.of(document)

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> Summary:
        """A checked summary.json document: SummaryError naming a bad field, SummaryContradiction a lie."""
        typed = decode(cls, document)
        typed = replace(typed, stub="requests" not in document and not typed.requirements)
        _check_derived(typed, document)
        return typed


def _check_derived(typed: Summary, document: Mapping[str, Any]) -> None:
    """What summary.json states but a Summary derives (verdict, exit code ...) must be what it derives."""
    for req in typed.requirements:
        if req.outcome is Outcome.WAIVED and not (req.failures and all(f.waived_by for f in req.failures)):
            raise SummaryContradiction(
                f"summary.json says requirement {req.id!r} is waived, but not every failure of it "
                "names its waiver; it was edited or written by another tool: run the suite again"
            )
    stated = document.get("verdict")
    if stated != typed.verdict:
        raise SummaryContradiction(
            f"summary.json states verdict {_short(stated)} but its requirement outcomes give "
            f"'{typed.verdict}'; it was edited or written by another tool: run the suite again"
        )
    stated_exit = document.get("exit_code")
    if stated_exit != typed.exit_code or isinstance(stated_exit, bool):
        raise SummaryContradiction(
            f"summary.json states exit code {_short(stated_exit)} but verdict '{typed.verdict}' "
            f"means exit {typed.exit_code}"
        )
    derived = typed.document()
    stated_requirements = document.get("requirements") or []
    places = [("complete", document, derived)] + [
        (f"requirements[{i}].waived", given, written)
        for i, (given, written) in enumerate(zip(stated_requirements, derived["requirements"], strict=True))
    ]
    if "not_exercised" in document:  # compared by ID: what else an entry says is the outcome's reason
        listed = document["not_exercised"]
        if not isinstance(listed, list) or not all(isinstance(e, Mapping) for e in listed):
            raise SummaryError(f"field not_exercised: expected a list of objects, got {_short(listed)}")
        stated_ids = {"not_exercised": [e.get("id") for e in listed]}
        derived_ids = {"not_exercised": [e["id"] for e in derived.get("not_exercised", [])]}
        places.append(("not_exercised", stated_ids, derived_ids))
    for where, given, written in places:
        key = where.rsplit(".", 1)[-1]
        if key not in given:
            continue
        if key not in written or given[key] != written[key] or type(given[key]) is not type(written[key]):
            derived_value = _short(written[key]) if key in written else "none (a summary without a verdict)"
            raise SummaryContradiction(
                f"summary.json field {where} states {_short(given[key])} but its requirement outcomes "
                f"give {derived_value}; it was edited or written by another tool: run the suite again"
            )


def read_summary(path: Path) -> Summary:
    """The checked Summary of a summary.json file; SummaryError naming the file and the problem."""
    try:
        document = load_summary(path)
    except SummaryUnreadable as exc:
        raise SummaryError(f"{exc}; give the summary.json of a run") from None
    try:
        return Summary.of(document)
    except SummaryContradiction as exc:
        raise SummaryContradiction(f"{path}: {exc}") from None
    except SummaryError as exc:
        raise SummaryError(f"{path}: {exc}; give the summary.json of a run") from None


def write_summary(path: Path, summary: Summary) -> None:
    """Write summary.json so that a reader never sees a half-written file."""
    write_atomic(path, summary.to_json())


def build_summary(
    run: Run,
    *,
    facts: RunFacts | None = None,
    error: str | None = None,
    error_code: int | None = None,
    replay_command: str = "conformance run",
    key_variable: str = DEFAULT_KEY_VARIABLE,
    coverage: Coverage | None = None,
    waivers: WaiverSet | None = None,
) -> Summary:
    """The Summary of a finished (or aborted) run (``waivers``: accepted failures)."""
    coverage = coverage or Coverage()
    waivers = waivers or WaiverSet()
    facts = RunFacts.of(_plain((facts or RunFacts()).document()))  # JSON-native: equal to its round trip
    if coverage.stopped is not None and facts.stopped_early is None:
        facts = replace(facts, stopped_early=coverage.stopped)
    requirements = []
    for req in REQUIREMENTS:
        entry = run.ledger[req.id]
        exempt = req.id in coverage.not_applicable
        waived_by = [
            waivers.waiver_for(
                req.id, record.failure.check, record.case.label, case_class=record.case.case_class
            )
            for record in entry.failures
        ]
        # Only the first failures are kept: the rest are covered by a waiver of the whole requirement, or
        # by the baseline when it knows every class of failure the requirement had (--fail-on new).
        all_seen = (
            entry.failure_count == len(entry.failures)
            or waivers.covers_whole(req.id)
            or (entry.classes_complete and waivers.baseline_knows(req.id, entry.failure_classes))
        )
        waived = bool(waived_by) and all(w is not None for w in waived_by) and all_seen
        level = req.level_for(http_strict=run.context.profile.http_strict)
        outcome = requirement_outcome(entry, level, exempt=exempt, waived=waived)
        reason: str | None = None
        if outcome is Outcome.SKIPPED:
            reason = not_exercised_reason(req.id, run, coverage)
        elif outcome is Outcome.NOT_APPLICABLE:
            by = coverage.declared_by.get(req.id)
            reason = f"declared not applicable{f' by {by}' if by else ''}: {coverage.not_applicable[req.id]}"
        failures = []
        for record, waiver in zip(entry.failures, waived_by, strict=True):
            url = record.evidence["request"]["url"]
            test_name = record.test.rsplit("::", 1)[-1] if record.test else ""
            failures.append(
                Failure(
                    check=record.failure.check,
                    title=record.failure.title,
                    expected=record.failure.expected,
                    received=record.failure.received,
                    case=record.case.label,
                    test=record.test,
                    sequence=record.sequence,
                    waived_by=waiver,
                    evidence=_plain(record.evidence),
                    reproduce=Reproduce(
                        # a Cookie the target set is a credential: the command shows its stand-in
                        curl=run.redactor.text(curl_command(record.case, url, key_variable=key_variable)),
                        replay=f"{replay_command} -k {test_name}"
                        if replay_command and test_name
                        else replay_command,
                    ),
                )
            )
        requirements.append(
            RequirementResult(
                id=req.id,
                outcome=outcome,
                title=req.title,
                group=req.group,
                severity=req.severity.value,
                level=level.value,
                seed_ref=req.seed_ref,
                reason=reason,
                checks_run=entry.checks_run,
                failure_count=entry.failure_count,
                ambiguities=tuple(req.ambiguities),
                failures=tuple(failures),
                failure_classes=tuple(FailureClass(*c) for c in sorted(entry.failure_classes)),
                failure_classes_complete=entry.classes_complete,
            )
        )
    exercised: dict[str, list[str]] = {}
    for requirement, req in zip(requirements, REQUIREMENTS, strict=True):
        if requirement.outcome not in (Outcome.SKIPPED, Outcome.NOT_APPLICABLE):
            for amb in req.ambiguities:
                exercised.setdefault(amb, []).append(req.id)
    return Summary(
        facts=facts,
        requirements=tuple(requirements),
        error=error,
        error_code=error_code,
        requests=run.requests,
        not_applicable=tuple(
            Declared(rid, text, coverage.declared_by.get(rid, ""))
            for rid, text in coverage.not_applicable.items()
        ),
        waivers=_plain(waivers.report()),
        ambiguities_exercised=tuple(
            AmbiguityReading(amb, AMBIGUITIES_BY_ID[amb].default_reading, tuple(reqs))
            for amb, reqs in exercised.items()
        ),
        tests=tuple(
            TestResult(t.nodeid, t.outcome, round(t.duration_s, 3), t.message, t.requests)
            for t in run.tests.values()
        ),
    )


def verdict_line(summary: Summary) -> str:
    """One plain line: the verdict, why when it is not conformant, the counts and the exit code."""
    missing = summary.not_exercised()
    reason = f" ({summary.error})" if summary.error else ""
    stopped = summary.facts.stopped_early
    if not reason and summary.verdict is Verdict.INCOMPLETE and stopped and not missing:
        reason = f" ({stopped})"
    elif not reason and summary.verdict is Verdict.INCOMPLETE:
        shown = ", ".join(r for r, _ in missing[:LISTED]) + (", …" if len(missing) > LISTED else "")
        reason = f" ({len(missing)} MUST requirement(s) not exercised: {shown})"
    elif not reason and summary.verdict is Verdict.MODIFIED_CONTRACT:
        changed = ", ".join(f"{s.name} = {s.value}" for s in summary.facts.modified_contract)
        reason = f" (a setting changes what the vendor document fixes: {changed})"
    return (
        f"verdict: {summary.verdict}{reason} · {summary.count(Outcome.PASSED)} passed, "
        f"{summary.count(Outcome.FAILED)} failed, {summary.count(Outcome.WAIVED)} waived, "
        f"{summary.count(Outcome.WARNING)} warnings, "
        f"{summary.count(Outcome.SKIPPED)} not exercised, "
        f"{summary.count(Outcome.NOT_APPLICABLE)} not applicable · "
        f"{summary.requests} requests · exit {summary.exit_code} ({EXIT_CODES.get(summary.exit_code, '')})"
    )


def waiver_lines(summary: Summary) -> list[str]:
    """Plain lines on waivers: each waived requirement, each expired and each unused waiver."""
    lines = []
    for req in summary.requirements:
        if req.waived:
            by = sorted({str(f.waived_by) for f in req.failures})
            lines.append(f"waived: {req.id} — {req.failure_count} failure(s) accepted by {', '.join(by)}")
    block = summary.waivers or {}
    for kind, says in (("expired", "no longer applies"), ("unused", "matched no failure")):
        for waiver in block.get(kind) or []:
            if isinstance(waiver, Mapping):
                lines.append(
                    f"{kind} waiver: {waiver.get('requirement')} {waiver.get('ticket')} "
                    f"(expires {waiver.get('expires')}) {says}"
                )
    return lines


def _plain(value: Any) -> Any:
    """``value`` as JSON reads it back (tuples become lists): a Summary equals its own round trip."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def _short(value: object) -> str:
    """A stated value in one short line."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"
