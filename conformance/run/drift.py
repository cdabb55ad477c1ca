"""Drift: what changed between the recorded cassettes and the live target (`conformance diff`).

Signal first: the requirements whose outcome changed, then per request only what changed for requests
both sides sent (in the order they were sent), and one line for the requests one side never sent
because it stopped early.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from conformance.run.engine import ExchangeNote

Key = tuple[str, str, int]


@dataclass(frozen=True)
class Change:
    """One difference: where, what it was, what it is now."""

    where: str
    was: str
    now: str

    def __str__(self) -> str:
        return f"{self.where}: {self.was} -> {self.now}"


@dataclass
class Drift:
    """Everything `conformance diff` reports."""

    requirements: list[Change] = field(default_factory=list)
    requests: list[Change] = field(default_factory=list)
    not_sent_live: int = 0  # recorded requests the live run never sent (it stopped early)
    not_recorded: int = 0  # live requests the recording does not hold

    @property
    def drifted(self) -> bool:
        """True when anything changed (not-sent requests count: the live side did less)."""
        return bool(self.requirements or self.requests or self.not_sent_live or self.not_recorded)

    def lines(self, *, live_stopped: str | None = None) -> list[str]:
        """The report: requirement changes, request changes, then one line for the unsent."""
        out: list[str] = []
        if self.requirements:
            out.append(f"requirement outcomes changed ({len(self.requirements)}):")
            out += [f"  {change}" for change in self.requirements]
        if self.requests:
            out.append(f"requests answered differently ({len(self.requests)}, in the order sent):")
            out += [f"  {change}" for change in self.requests]
        if self.not_sent_live:
            why = f": {live_stopped}" if live_stopped else ""
            out.append(f"{self.not_sent_live} recorded request(s) not sent live{why}")
        if self.not_recorded:
            out.append(f"{self.not_recorded} live request(s) the recording does not hold")
        return out


def _keyed(notes: Iterable[ExchangeNote]) -> dict[Key, ExchangeNote]:
    # The same case can be sent several times in one test (token sampling): key by occurrence too.
    # Insertion order is the order sent.
    seen: Counter[tuple[str, str]] = Counter()
    keyed = {}
    for note in notes:
        seen[(note.test, note.case)] += 1
        keyed[(note.test, note.case, seen[(note.test, note.case)])] = note
    return keyed


def _schema(valid: bool | None) -> str:
    return {True: "schema-valid", False: "schema-invalid", None: "not schema-checked"}[valid]


def _where(key: Key) -> str:
    return f"{key[0].rsplit('::', 1)[-1]} / {key[1]}" + (f" (occurrence {key[2]})" if key[2] > 1 else "")


def exchange_changes(recorded: Iterable[ExchangeNote], live: Iterable[ExchangeNote]) -> list[Change]:
    """Per request both sides sent, in the recorded order: status, schema validity, checks that flipped."""
    before, after = _keyed(recorded), _keyed(live)
    changes = []
    for key, old in before.items():
        new = after.get(key)
        if new is None:
            continue
        where = _where(key)
        if old.outcome != new.outcome:
            changes.append(Change(where, old.outcome, new.outcome))
        if old.schema_valid != new.schema_valid:
            changes.append(Change(where, _schema(old.schema_valid), _schema(new.schema_valid)))
        for check in sorted(set(new.failed_checks) - set(old.failed_checks)):
            changes.append(Change(where, f"{check} passed", f"{check} fails"))
        for check in sorted(set(old.failed_checks) - set(new.failed_checks)):
            changes.append(Change(where, f"{check} failed", f"{check} passes"))
    return changes


def requirement_changes(recorded: Mapping[str, str], live: Mapping[str, str]) -> list[Change]:
    """Requirements whose outcome differs between two runs (each: requirement ID -> outcome)."""
    return [
        Change(rid, str(recorded.get(rid, "absent")), str(outcome))
        for rid, outcome in live.items()
        if recorded.get(rid) != outcome
    ]


def compare(
    recorded: Mapping[str, str],
    live: Mapping[str, str],
    recorded_log: Iterable[ExchangeNote],
    live_log: Iterable[ExchangeNote],
) -> Drift:
    """The drift between a replay and a live run of the same inputs."""
    before, after = _keyed(recorded_log), _keyed(live_log)
    return Drift(
        requirements=requirement_changes(recorded, live),
        requests=exchange_changes(before.values(), after.values()),
        not_sent_live=len(before.keys() - after.keys()),
        not_recorded=len(after.keys() - before.keys()),
    )
