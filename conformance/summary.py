"""Reading a summary.json: the verdict every report derives from the requirement outcomes, and its lines.

The sign-off, JUnit, the Allure environment and the console all take the verdict from here, so a summary
whose stated verdict contradicts its own requirement outcomes is refused rather than shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.verdict import (
    EXIT_CODES,
    NOT_APPLICABLE,
    OUTCOMES,
    SKIPPED,
    Verdict,
    exit_code_of,
    verdict_of,
)

LISTED = 4  # requirement IDs named in the verdict line


class SummaryContradiction(ValueError):
    """A summary whose verdict or exit code does not follow from its requirement outcomes."""


def derived_verdict(summary: Mapping[str, Any]) -> Verdict:
    """The verdict the requirement outcomes and the error of a summary imply."""
    outcomes = {str(r.get("id")): str(r.get("outcome")) for r in summary.get("requirements") or []}
    error = summary.get("error")
    if not outcomes and error is None:
        return Verdict.ERROR  # no requirement at all: nothing can have been verified
    stopped = bool(summary.get("stopped_early"))
    return verdict_of(outcomes, error=None if error is None else str(error), stopped=stopped)


def checked_verdict(summary: Mapping[str, Any]) -> Verdict:
    """The summary's verdict, after checking it follows from its outcomes; SummaryContradiction if not."""
    stated = summary.get("verdict")
    derived = derived_verdict(summary)
    if stated != derived:
        raise SummaryContradiction(
            f"summary.json states verdict {stated!r} but its requirement outcomes give '{derived}'; "
            "it was edited or written by another tool: run the suite again"
        )
    unknown = {str(r.get("outcome")) for r in summary.get("requirements") or []} - set(OUTCOMES)
    if unknown:
        raise SummaryContradiction(f"summary.json has unknown requirement outcome(s) {sorted(unknown)}")
    error_code = summary.get("exit_code") if derived == "error" else None
    expected_exit = exit_code_of(derived, error_code=error_code if isinstance(error_code, int) else None)
    if summary.get("exit_code") != expected_exit:
        raise SummaryContradiction(
            f"summary.json states exit code {summary.get('exit_code')!r} but verdict '{derived}' "
            f"means exit {expected_exit}"
        )
    return derived


def not_exercised(summary: Mapping[str, Any], *, level: str | None = "must") -> list[tuple[str, str]]:
    """(requirement ID, reason) for each requirement (of ``level``) that no check exercised."""
    return [
        (str(r.get("id")), str(r.get("reason") or "not exercised"))
        for r in summary.get("requirements") or []
        if r.get("outcome") == SKIPPED and (level is None or r.get("level") == level)
    ]


def declared_not_applicable(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(requirement ID, the user's reason) for each requirement declared not applicable."""
    return [
        (str(r.get("id")), str(r.get("reason") or ""))
        for r in summary.get("requirements") or []
        if r.get("outcome") == NOT_APPLICABLE
    ]


def verdict_line(summary: Mapping[str, Any]) -> str:
    """One plain line: the verdict, why when it is not conformant, the counts and the exit code."""
    verdict = checked_verdict(summary)
    counts: dict[str, int] = {}
    for r in summary.get("requirements") or []:
        counts[str(r.get("outcome"))] = counts.get(str(r.get("outcome")), 0) + 1
    missing = not_exercised(summary)
    reason = f" ({summary['error']})" if summary.get("error") else ""
    if not reason and verdict == "incomplete" and summary.get("stopped_early") and not missing:
        reason = f" ({summary['stopped_early']})"
    elif not reason and verdict == "incomplete":
        shown = ", ".join(r for r, _ in missing[:LISTED]) + (", …" if len(missing) > LISTED else "")
        reason = f" ({len(missing)} MUST requirement(s) not exercised: {shown})"
    exit_code = summary.get("exit_code")
    return (
        f"verdict: {verdict}{reason} · {counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed, "
        f"{counts.get('warning', 0)} warnings, {counts.get(SKIPPED, 0)} not exercised, "
        f"{counts.get(NOT_APPLICABLE, 0)} not applicable · {summary.get('requests', 0)} requests · "
        f"exit {exit_code} ({EXIT_CODES.get(exit_code, '') if isinstance(exit_code, int) else ''})"
    )
