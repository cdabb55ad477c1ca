"""Authentication and authorization sentinels spread over the whole run, not only its first test.

A target that caches authentication per connection or per key, or whose checks fail open after some
number of requests, passes a suite that probes keys and scope only at its start. The sentinels follow
the first grant of each test and then every SENTINEL_EVERY grants of it: one on the keep-alive
connection that has just carried the good key, one on a fresh connection. The suite's last test sends a
final round (see suite/test_vigilance.py).
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from conformance.checks import Subject
from conformance.core.model import Case, Exchange

if TYPE_CHECKING:
    from conformance.run.engine import Run

SENTINEL_EVERY = 50  # grants between two rounds (about a dozen rounds in a default run)


class Sentinels:
    """The hook a Run calls after each exchange; sends the next sentinels after the grants it counts."""

    def __init__(self, cases: Sequence[Case], *, every: int = SENTINEL_EVERY) -> None:
        self.cases = tuple(cases)
        self.every = every
        self.grants = 0
        self.sent = 0
        self._busy = False

    def begin(self, nodeid: str) -> None:
        """Start counting afresh for the test ``nodeid``.

        Each test's rounds depend on its own exchanges only, so a test's cassette is whole by itself: a
        ``-k`` run, ``--record-missing`` and a replay of any subset send the same rounds as the full run.
        The rotation starts at a place derived from the test's name, so tests still probe differently.
        """
        self.grants = 0
        self.sent = zlib.crc32(nodeid.encode()) % len(self.cases) if self.cases else 0

    def __call__(self, run: Run, exchange: Exchange) -> None:
        """After a grant: the next sentinel on the same connection, then one on a fresh connection."""
        if self._busy or not self.cases or not _granted(exchange):
            return
        self.grants += 1
        if self.grants != 1 and self.grants % self.every:
            return
        self.send_round(run)

    def send_round(self, run: Run) -> None:
        """Two sentinels: the pooled connection first, then a fresh one."""
        self._busy = True
        try:
            for fresh in (False, True):
                case = self.cases[self.sent % len(self.cases)]
                self.sent += 1
                run.exchange(dataclasses.replace(case, fresh_connection=fresh))
        finally:
            self._busy = False


def _granted(exchange: Exchange) -> bool:
    subject = Subject(exchange)
    return exchange.case.on_endpoint and 200 <= subject.status < 300 and bool(subject.token)
