"""Waivers: accepted deviations (a reason, a ticket, an approver and an expiry) and known baseline failures.

A waivers file (``--waivers FILE``, TOML) holds ``[[waiver]]`` tables::

    [[waiver]]
    requirement = "LT-TOKEN-UNIQUE"   # the requirement ID (required)
    check = "token_unique"            # optional: only failures of this check
    case = "expire=60"                # optional: only failures whose case label contains this text
    reason = "known defect, fixed in 2.4"
    ticket = "PAY-1234"
    expires = 2026-12-31              # a TOML date; from that day on the waiver no longer applies
    approver = "QA lead"
    not_applicable = false            # true: declare the requirement not applicable, with the reason

A waived failure keeps its evidence; a requirement whose every failure is waived is ``waived`` and the run
is ``conformant with waivers``. With ``--fail-on new`` and ``--baseline``, a failure whose requirement,
check and case class (``Case.case_class``) already failed in the baseline is accepted the same way (waiver
``baseline``): however many cases fail, a class the baseline had is not new. The verdict rule
itself stays in ``verdict.verdict_of``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.core.contract import REQUIREMENTS_BY_ID
from conformance.core.errors import EXIT_USAGE, ConformanceError
from conformance.core.files import InputUnreadable, SummaryUnreadable, load_summary, read_input_text

FAIL_ON_ANY = "any"
FAIL_ON_NEW = "new"
FAIL_ON_CHOICES = (FAIL_ON_ANY, FAIL_ON_NEW)
BASELINE_WAIVER = "baseline"
_REQUIRED = ("requirement", "reason", "ticket", "expires", "approver")
_OPTIONAL = ("check", "case", "not_applicable")


class WaiverError(ConformanceError, ValueError):
    """A waivers file that cannot be used; the message names the problem and the fix."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Waiver:
    """One accepted deviation, as the waivers file states it."""

    requirement: str
    reason: str
    ticket: str
    expires: dt.date
    approver: str
    check: str | None = None
    case: str | None = None
    not_applicable: bool = False

    @property
    def label(self) -> str:
        """How reports name this waiver: the ticket, or the requirement when several share none."""
        return self.ticket

    def expired(self, today: dt.date) -> bool:
        """True from the expiry date on."""
        return today >= self.expires

    def matches(self, requirement: str, check: str, case: str) -> bool:
        """Does this waiver cover a failure of ``check`` on ``case`` under ``requirement``?"""
        if self.not_applicable or requirement != self.requirement:
            return False
        if self.check is not None and check != self.check:
            return False
        return self.case is None or self.case in case

    def as_dict(self) -> dict[str, Any]:
        """The waiver as summary.json reports it."""
        return {
            "requirement": self.requirement,
            "check": self.check,
            "case": self.case,
            "reason": self.reason,
            "ticket": self.ticket,
            "expires": self.expires.isoformat(),
            "approver": self.approver,
            "not_applicable": self.not_applicable,
        }


@dataclass
class WaiverSet:
    """The waivers of a run, judged against ``today``, and which of them were used."""

    waivers: tuple[Waiver, ...] = ()
    today: dt.date = field(default_factory=dt.date.today)
    # (requirement, check, case class) failing in the baseline; class None: any (an older baseline's)
    known_failures: frozenset[tuple[str, str, str | None]] = frozenset()
    source: str | None = None
    fail_on_new: bool = False
    used: set[int] = field(default_factory=set)

    def active(self) -> list[tuple[int, Waiver]]:
        """(index, waiver) of the waivers that have not expired."""
        return [(i, w) for i, w in enumerate(self.waivers) if not w.expired(self.today)]

    def not_applicable(self) -> dict[str, str]:
        """Requirement ID -> reason for the unexpired waivers that declare a requirement not applicable."""
        out: dict[str, str] = {}
        for i, waiver in self.active():
            if waiver.not_applicable:
                self.used.add(i)
                out[waiver.requirement] = (
                    f"{waiver.reason} (waiver {waiver.ticket}, approved by {waiver.approver})"
                )
        return out

    def waiver_for(
        self, requirement: str, check: str, case: str, *, case_class: str | None = None
    ) -> str | None:
        """The label of the first unexpired waiver (or the baseline) that accepts this failure, else None."""
        for i, waiver in self.active():
            if waiver.matches(requirement, check, case):
                self.used.add(i)
                return waiver.label
        if self._known(requirement, check, case_class):
            return BASELINE_WAIVER
        return None

    def baseline_knows(self, requirement: str, classes: Iterable[tuple[str, str]]) -> bool:
        """Did the baseline fail ``requirement`` with every one of these (check, case class)?"""
        return all(self._known(requirement, check, case_class) for check, case_class in classes)

    def _known(self, requirement: str, check: str, case_class: str | None) -> bool:
        known = self.known_failures
        return (requirement, check, None) in known or (
            case_class is not None and (requirement, check, case_class) in known
        )

    def covers_whole(self, requirement: str) -> bool:
        """Is there an unexpired waiver of every failure of ``requirement`` (no check or case filter)?"""
        return any(
            w.requirement == requirement and not w.not_applicable and w.check is None and w.case is None
            for _, w in self.active()
        )

    def report(self) -> dict[str, Any]:
        """summary.json's ``waivers`` block: the file, the day judged, applied, expired and unused waivers."""
        applied, expired, unused = [], [], []
        for i, waiver in enumerate(self.waivers):
            if waiver.expired(self.today):
                expired.append(waiver.as_dict())
            elif i in self.used:
                applied.append(waiver.as_dict())
            else:
                unused.append(waiver.as_dict())
        return {
            "file": self.source,
            "today": self.today.isoformat(),
            "fail_on_new": self.fail_on_new,
            "applied": applied,
            "expired": expired,
            "unused": unused,
        }


def parse_waivers(text: str, *, source: str = "waivers file") -> tuple[Waiver, ...]:
    """The waivers of a TOML document; WaiverError naming the first problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WaiverError(f"{source} is not valid TOML: {exc}") from None
    unknown_top = set(document) - {"waiver"}
    if unknown_top:
        raise WaiverError(f"{source}: unknown key(s) {sorted(unknown_top)}; write each waiver as [[waiver]]")
    tables = document.get("waiver", [])
    if not isinstance(tables, list):
        raise WaiverError(f"{source}: write each waiver as a [[waiver]] table")
    return tuple(_waiver(table, n, source) for n, table in enumerate(tables, start=1))


def _waiver(table: Mapping[str, Any], n: int, source: str) -> Waiver:
    where = f"{source}, waiver {n}"
    unknown = set(table) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        hint = did_you_mean(sorted(unknown)[0], _REQUIRED + _OPTIONAL)
        raise WaiverError(
            f"{where}: unknown key(s) {sorted(unknown)}{hint}; allowed: {', '.join(_REQUIRED + _OPTIONAL)}"
        )
    missing = [key for key in _REQUIRED if key not in table or table[key] in ("", None)]
    if missing:
        raise WaiverError(
            f"{where}: missing {', '.join(missing)} (every waiver needs {', '.join(_REQUIRED)})"
        )
    requirement = str(table["requirement"])
    if requirement not in REQUIREMENTS_BY_ID:
        raise WaiverError(
            f"{where}: unknown requirement {requirement!r}{did_you_mean(requirement, REQUIREMENTS_BY_ID)}; "
            "list them with `conformance catalogue`"
        )
    expires = table["expires"]
    if isinstance(expires, dt.datetime) or not isinstance(expires, dt.date):
        raise WaiverError(f"{where}: expires must be a TOML date such as 2026-12-31, not {expires!r}")
    for key in ("reason", "ticket", "approver", "check", "case"):
        if key in table and not isinstance(table[key], str):
            raise WaiverError(f"{where}: {key} must be a string")
    not_applicable = table.get("not_applicable", False)
    if not isinstance(not_applicable, bool):
        raise WaiverError(f"{where}: not_applicable must be true or false")
    if not_applicable and ("check" in table or "case" in table):
        raise WaiverError(f"{where}: a not_applicable waiver covers the whole requirement; drop check/case")
    return Waiver(
        requirement=requirement,
        reason=str(table["reason"]),
        ticket=str(table["ticket"]),
        expires=expires,
        approver=str(table["approver"]),
        check=table.get("check"),
        case=table.get("case"),
        not_applicable=not_applicable,
    )


def did_you_mean(typed: str, known: Iterable[str]) -> str:
    """' (did you mean 'X'?)' for the closest known spelling of a typo, else ''."""
    close = difflib.get_close_matches(typed, list(known), n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(typed.upper(), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def baseline_failures(document: Mapping[str, Any]) -> frozenset[tuple[str, str, str | None]]:
    """(requirement, check, case class) of every failure class a baseline summary.json records.

    A summary written before failure classes were recorded names only the kept examples' checks: each
    is taken for every case class (None).
    """
    known: set[tuple[str, str, str | None]] = set()
    for req in document.get("requirements") or []:
        if not isinstance(req, Mapping):
            continue
        rid = str(req.get("id"))
        classes = req.get("failure_classes")
        if isinstance(classes, list):
            known |= {
                (rid, str(c.get("check")), str(c.get("case_class")))
                for c in classes
                if isinstance(c, Mapping)
            }
            continue
        for failure in req.get("failures") or []:
            if isinstance(failure, Mapping):
                known.add((rid, str(failure.get("check")), None))
    return frozenset(known)


def load_waivers(
    path: Path | None,
    *,
    fail_on: str | None = None,
    baseline: Path | None = None,
    today: dt.date | None = None,
) -> WaiverSet:
    """The run's WaiverSet from ``--waivers``, ``--fail-on`` and ``--baseline``; WaiverError if unusable."""
    waivers: tuple[Waiver, ...] = ()
    if path is not None:
        try:
            text = read_input_text(path, what="--waivers")
        except InputUnreadable as exc:
            raise WaiverError(str(exc)) from None
        waivers = parse_waivers(text, source=f"--waivers {path}")
    known: frozenset[tuple[str, str, str | None]] = frozenset()
    if fail_on not in (None, *FAIL_ON_CHOICES):
        raise WaiverError(f"--fail-on {fail_on!r}: use one of {', '.join(FAIL_ON_CHOICES)}")
    if fail_on == FAIL_ON_NEW:
        if baseline is None:
            raise WaiverError("--fail-on new needs --baseline FILE (a previous summary.json)")
        try:
            known = baseline_failures(load_summary(baseline))
        except SummaryUnreadable as exc:
            raise WaiverError(f"--baseline: {exc}") from None
    return WaiverSet(
        waivers=waivers,
        today=today or dt.datetime.now(dt.UTC).date(),
        known_failures=known,
        source=None if path is None else str(path),
        fail_on_new=fail_on == FAIL_ON_NEW,
    )


def waived_ids(requirements: Iterable[Mapping[str, Any]]) -> list[str]:
    """IDs of the requirements a summary reports as waived."""
    return [str(r.get("id")) for r in requirements if r.get("outcome") == "waived"]
