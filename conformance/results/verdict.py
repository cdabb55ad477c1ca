"""The verdict rule: requirement outcomes → verdict and exit code (the typed summary: ``summary``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from conformance.core.contract import REQUIREMENTS_BY_ID, Level
from conformance.core.errors import (
    EXIT_CASSETTE_MISS,
    EXIT_CONFORMANT,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_MODIFIED_CONTRACT,
    EXIT_NON_CONFORMANT,
    EXIT_SUITE_ERROR,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)
from conformance.run.engine import RequirementLedger, Run


class Verdict(StrEnum):
    """The run's verdict; summary.json writes its value."""

    CONFORMANT = "conformant"
    CONFORMANT_WITH_WAIVERS = "conformant with waivers"
    MODIFIED_CONTRACT = "conformant under a modified contract"
    NON_CONFORMANT = "non-conformant"
    INCOMPLETE = "incomplete"
    ERROR = "error"


class Outcome(StrEnum):
    """One requirement's outcome; SKIPPED means no check exercised it."""

    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"
    NOT_APPLICABLE = "not-applicable"
    WAIVED = "waived"  # failed, and every failure accepted by a waiver (or, with --fail-on new, the baseline)


CONFORMANT, CONFORMANT_WITH_WAIVERS, MODIFIED_CONTRACT, NON_CONFORMANT, INCOMPLETE, ERROR = Verdict
VERDICTS = tuple(Verdict)
PASSED, FAILED, WARNING, SKIPPED, NOT_APPLICABLE, WAIVED = Outcome
OUTCOMES = tuple(Outcome)
NO_TEST_REASON = "no conformance test exercised it"

EXIT_CODES: dict[int, str] = {
    EXIT_CONFORMANT: "conformant (or conformant with waivers): every MUST requirement exercised and passed, "
    "or failed only where a waiver accepts it (warnings allowed)",
    EXIT_NON_CONFORMANT: "non-conformant: at least one MUST requirement failed",
    EXIT_USAGE: "usage or configuration error (bad option or profile, missing key, invalid URL, corrupt "
    "cassette, report directory locked or unusable, --max-requests reached)",
    EXIT_UNREACHABLE: "target unreachable or misconfigured before any answer "
    "(refused, DNS, TLS, http vs https)",
    EXIT_CASSETTE_MISS: "replay incomplete: a request is not in the cassettes (re-record them)",
    EXIT_SUITE_ERROR: "the suite itself failed (a defect: please report it)",
    EXIT_INCOMPLETE: "incomplete: nothing failed, but a MUST requirement was not exercised (see why)",
    EXIT_MODIFIED_CONTRACT: "conformant under a modified contract: nothing failed, but a profile setting "
    "loosened or changed a limit the vendor document fixes (listed with the run's settings)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C or a signal); summary.json is marked incomplete",
}


def requirement_outcome(
    entry: RequirementLedger, level: Level, *, exempt: bool = False, waived: bool = False
) -> Outcome:
    """passed | failed | warning | waived | skipped (not exercised) | not-applicable for one requirement.

    ``waived``: every failure of the requirement is accepted by a waiver.
    """
    if entry.failure_count:
        if waived:
            return WAIVED
        return FAILED if level is Level.MUST else WARNING
    if exempt:
        return NOT_APPLICABLE
    return PASSED if entry.checks_run else SKIPPED


def verdict_of(
    outcomes: Mapping[str, str],
    *,
    error: str | None,
    stopped: bool = False,
    modified: bool = False,
    must: Collection[str] | None = None,
) -> Verdict:
    """conformant | conformant with waivers | under a modified contract | non-conformant | incomplete | error.

    A MUST requirement that was not exercised cannot pass: the run is then incomplete, unless something
    failed (a failure is a failure whatever else was not looked at). A run that stopped early (the target
    stopped answering, the throttle budget was spent) did not send all it meant to: incomplete as well.
    ``modified``: a setting changed a limit the vendor document fixes; a pass is then a pass of another
    contract, never plain conformant (with or without waivers). ``must``: the requirements held as MUST
    under the run's profile (the strict HTTP profile holds more); None: the catalogue's levels.
    """
    if error is not None or not outcomes:
        return ERROR  # no requirement judged at all: nothing can have been verified
    if FAILED in outcomes.values():
        return NON_CONFORMANT

    def is_must(rid: str) -> bool:
        return _is_must(rid) if must is None else rid in must

    if stopped or any(o == SKIPPED and is_must(rid) for rid, o in outcomes.items()):
        return INCOMPLETE
    if modified:
        return MODIFIED_CONTRACT
    if WAIVED in outcomes.values():
        return CONFORMANT_WITH_WAIVERS
    return CONFORMANT


def _is_must(requirement_id: str) -> bool:
    req = REQUIREMENTS_BY_ID.get(requirement_id)
    return req is not None and req.level is Level.MUST


def exit_code_of(verdict: str, *, error_code: int | None) -> int:
    """The process exit code for a verdict."""
    if verdict == ERROR:
        return error_code if error_code is not None else EXIT_SUITE_ERROR
    codes: dict[str, int] = {
        NON_CONFORMANT: EXIT_NON_CONFORMANT,
        INCOMPLETE: EXIT_INCOMPLETE,
        MODIFIED_CONTRACT: EXIT_MODIFIED_CONTRACT,
    }
    return codes.get(verdict, EXIT_CONFORMANT)


@dataclass(frozen=True)
class Coverage:
    """What the run was told and did about coverage: the facts the not-exercised reasons come from."""

    targets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # test nodeid -> requirement IDs
    deselected: frozenset[str] = frozenset()  # nodeids left out by -k
    keyword: str | None = None
    stopped: str | None = None  # why the run stopped sending early (transport errors, throttle budget)
    not_applicable: Mapping[str, str] = field(default_factory=dict)  # requirement ID -> the user's reason
    declared_by: Mapping[str, str] = field(default_factory=dict)  # requirement ID -> who declared it
    # requirement ID -> why this kind of run cannot exercise it (a replay holds no QR image)
    cannot_exercise: Mapping[str, str] = field(default_factory=dict)


def not_exercised_reason(requirement_id: str, run: Run, coverage: Coverage) -> str:
    """Why a requirement got no check at all: what the run cannot do, a skipped test, an early stop, -k."""
    if requirement_id in coverage.cannot_exercise:
        return coverage.cannot_exercise[requirement_id]
    targeting = [nodeid for nodeid, ids in coverage.targets.items() if requirement_id in ids]
    for nodeid in targeting:
        record = run.tests.get(nodeid)
        if record is not None and record.outcome == "skipped" and record.message:
            return record.message
    if coverage.stopped:
        return f"the run stopped early: {coverage.stopped}"
    left_out = [nodeid.rsplit("::", 1)[-1] for nodeid in targeting if nodeid in coverage.deselected]
    if left_out:
        return f"not selected by -k {coverage.keyword!r}: {', '.join(sorted(left_out))}"
    if targeting and all(run.tests.get(n) is None for n in targeting):
        return f"its test did not run: {', '.join(sorted(n.rsplit('::', 1)[-1] for n in targeting))}"
    ran = [n for n in targeting if n in run.tests]
    if ran:  # it ran: say so, and what it got instead of an answer the requirement's checks could judge
        answers = Counter(note.outcome for note in run.log if note.test in ran)
        got = ", ".join(f"{outcome} x{count}" for outcome, count in answers.most_common(3)) or "no request"
        names = ", ".join(sorted(f"{n.rsplit('::', 1)[-1]} ({run.tests[n].outcome})" for n in ran))
        return f"its test ran but no answer could be judged for it: {names}; answers: {got}"
    return NO_TEST_REASON
