"""Drift: what changed between the recorded cassettes and the live target (`conformance diff`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.engine import ExchangeNote


@dataclass(frozen=True)
class Change:
    """One difference: where, what it was, what it is now."""

    where: str
    was: str
    now: str

    def __str__(self) -> str:
        return f"{self.where}: {self.was} -> {self.now}"


def _keyed(notes: Iterable[ExchangeNote]) -> dict[tuple[str, str, int], ExchangeNote]:
    # The same case can be sent several times in one test (token sampling): key by occurrence too.
    seen: Counter[tuple[str, str]] = Counter()
    keyed = {}
    for note in notes:
        seen[(note.test, note.case)] += 1
        keyed[(note.test, note.case, seen[(note.test, note.case)])] = note
    return keyed


def _schema(valid: bool | None) -> str:
    return {True: "schema-valid", False: "schema-invalid", None: "not schema-checked"}[valid]


def exchange_changes(recorded: Iterable[ExchangeNote], live: Iterable[ExchangeNote]) -> list[Change]:
    """Per request: status, schema validity and the checks that now pass or fail."""
    before, after = _keyed(recorded), _keyed(live)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        where = f"{key[0].rsplit('::', 1)[-1]} / {key[1]}" + (f" #{key[2]}" if key[2] > 1 else "")
        old, new = before.get(key), after.get(key)
        if old is None or new is None:
            changes.append(
                Change(where, "recorded" if old else "not recorded", "sent" if new else "not sent")
            )
            continue
        if old.outcome != new.outcome:
            changes.append(Change(where, old.outcome, new.outcome))
        if old.schema_valid != new.schema_valid:
            changes.append(Change(where, _schema(old.schema_valid), _schema(new.schema_valid)))
        for check in sorted(set(new.failed_checks) - set(old.failed_checks)):
            changes.append(Change(where, f"{check} passed", f"{check} fails"))
        for check in sorted(set(old.failed_checks) - set(new.failed_checks)):
            changes.append(Change(where, f"{check} failed", f"{check} passes"))
    return changes


def requirement_changes(recorded: Mapping[str, Any], live: Mapping[str, Any]) -> list[Change]:
    """Requirements whose outcome differs between two summaries."""
    before = {r["id"]: r["outcome"] for r in recorded["requirements"]}
    return [
        Change(r["id"], before.get(r["id"], "absent"), r["outcome"])
        for r in live["requirements"]
        if before.get(r["id"]) != r["outcome"]
    ]
