"""Reading a summary.json: a typed, checked Summary that every report derives its verdict from.

The sign-off, JUnit, the Allure environment and the console all read a summary through
``Summary.of``, which recomputes the verdict from the requirement outcomes (``verdict.verdict_of``, the one
place the rule lives) and refuses a document whose stated verdict or exit code contradicts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.verdict import (
    EXIT_CODES,
    Outcome,
    Verdict,
    exit_code_of,
    verdict_of,
)

LISTED = 4  # requirement IDs named in the verdict line


class SummaryContradiction(ValueError):
    """A summary whose verdict or exit code does not follow from its requirement outcomes."""


@dataclass(frozen=True)
class RequirementResult:
    """One requirement as a summary reports it."""

    id: str
    level: str
    outcome: Outcome
    reason: str | None


@dataclass(frozen=True)
class Summary:
    """The facts of a summary.json a verdict follows from, typed and checked."""

    verdict: Verdict
    exit_code: int
    error: str | None
    stopped_early: str | None
    requests: int
    requirements: tuple[RequirementResult, ...]

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> Summary:
        """Parse and check a summary.json document; SummaryContradiction when it does not add up."""
        requirements = []
        for item in document.get("requirements") or []:
            try:
                outcome = Outcome(str(item.get("outcome")))
            except ValueError:
                raise SummaryContradiction(
                    f"summary.json has an unknown requirement outcome {item.get('outcome')!r}"
                ) from None
            if outcome is Outcome.WAIVED:
                _check_waived(item)
            reason = item.get("reason")
            requirements.append(
                RequirementResult(
                    str(item.get("id")),
                    str(item.get("level")),
                    outcome,
                    None if reason is None else str(reason),
                )
            )
        error = document.get("error")
        stopped = document.get("stopped_early")
        if not requirements and error is None:
            derived = Verdict.ERROR  # no requirement at all: nothing can have been verified
        else:
            outcomes = {r.id: r.outcome.value for r in requirements}
            derived = verdict_of(outcomes, error=None if error is None else str(error), stopped=bool(stopped))
        stated = document.get("verdict")
        if stated != derived:
            raise SummaryContradiction(
                f"summary.json states verdict {stated!r} but its requirement outcomes give '{derived}'; "
                "it was edited or written by another tool: run the suite again"
            )
        stated_exit = document.get("exit_code")
        error_code = stated_exit if derived is Verdict.ERROR and isinstance(stated_exit, int) else None
        expected_exit = exit_code_of(derived, error_code=error_code)
        if stated_exit != expected_exit:
            raise SummaryContradiction(
                f"summary.json states exit code {stated_exit!r} but verdict '{derived}' "
                f"means exit {expected_exit}"
            )
        requests = document.get("requests")
        return cls(
            verdict=derived,
            exit_code=expected_exit,
            error=None if error is None else str(error),
            stopped_early=None if not stopped else str(stopped),
            requests=requests if isinstance(requests, int) else 0,
            requirements=tuple(requirements),
        )

    def not_exercised(self, *, level: str | None = "must") -> list[tuple[str, str]]:
        """(ID, reason) for each requirement (of ``level``) no check exercised."""
        return [
            (r.id, r.reason or "not exercised")
            for r in self.requirements
            if r.outcome is Outcome.SKIPPED and (level is None or r.level == level)
        ]

    def declared_not_applicable(self) -> list[tuple[str, str]]:
        """(ID, the user's reason) for each requirement declared not applicable."""
        return [(r.id, r.reason or "") for r in self.requirements if r.outcome is Outcome.NOT_APPLICABLE]

    def count(self, outcome: Outcome) -> int:
        """How many requirements had ``outcome``."""
        return sum(1 for r in self.requirements if r.outcome is outcome)


def _check_waived(item: Mapping[str, Any]) -> None:
    """A waived requirement has failures, and each names the waiver that accepts it."""
    failures = item.get("failures")
    if (
        not isinstance(failures, list)
        or not failures
        or not all(isinstance(f, Mapping) and f.get("waived_by") for f in failures)
    ):
        raise SummaryContradiction(
            f"summary.json says requirement {item.get('id')!r} is waived, but not every failure of it names "
            "its waiver; it was edited or written by another tool: run the suite again"
        )


def checked_verdict(summary: Mapping[str, Any]) -> Verdict:
    """The summary's verdict, after checking it follows from its outcomes; SummaryContradiction if not."""
    return Summary.of(summary).verdict


def not_exercised(summary: Mapping[str, Any], *, level: str | None = "must") -> list[tuple[str, str]]:
    """(requirement ID, reason) for each requirement (of ``level``) that no check exercised."""
    return Summary.of(summary).not_exercised(level=level)


def declared_not_applicable(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(requirement ID, the user's reason) for each requirement declared not applicable."""
    return Summary.of(summary).declared_not_applicable()


def verdict_line(summary: Mapping[str, Any]) -> str:
    """One plain line: the verdict, why when it is not conformant, the counts and the exit code."""
    typed = Summary.of(summary)
    missing = typed.not_exercised()
    reason = f" ({typed.error})" if typed.error else ""
    if not reason and typed.verdict is Verdict.INCOMPLETE and typed.stopped_early and not missing:
        reason = f" ({typed.stopped_early})"
    elif not reason and typed.verdict is Verdict.INCOMPLETE:
        shown = ", ".join(r for r, _ in missing[:LISTED]) + (", …" if len(missing) > LISTED else "")
        reason = f" ({len(missing)} MUST requirement(s) not exercised: {shown})"
    return (
        f"verdict: {typed.verdict}{reason} · {typed.count(Outcome.PASSED)} passed, "
        f"{typed.count(Outcome.FAILED)} failed, {typed.count(Outcome.WAIVED)} waived, "
        f"{typed.count(Outcome.WARNING)} warnings, "
        f"{typed.count(Outcome.SKIPPED)} not exercised, "
        f"{typed.count(Outcome.NOT_APPLICABLE)} not applicable · "
        f"{typed.requests} requests · exit {typed.exit_code} ({EXIT_CODES.get(typed.exit_code, '')})"
    )


def waiver_lines(summary: Mapping[str, Any]) -> list[str]:
    """Plain lines on waivers: each waived requirement, each expired and each unused waiver."""
    lines = []
    for req in summary.get("requirements") or []:
        if isinstance(req, Mapping) and req.get("outcome") == Outcome.WAIVED:
            by = sorted(
                {str(f.get("waived_by")) for f in req.get("failures") or [] if isinstance(f, Mapping)}
            )
            lines.append(
                f"waived: {req.get('id')} — {req.get('failure_count')} failure(s) accepted by {', '.join(by)}"
            )
    block = summary.get("waivers")
    if isinstance(block, Mapping):
        for kind, says in (("expired", "no longer applies"), ("unused", "matched no failure")):
            for waiver in block.get(kind) or []:
                if isinstance(waiver, Mapping):
                    lines.append(
                        f"{kind} waiver: {waiver.get('requirement')} {waiver.get('ticket')} "
                        f"(expires {waiver.get('expires')}) {says}"
                    )
    return lines
