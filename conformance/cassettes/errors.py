"""The cassette errors: each message is one line naming the file, the problem and the fix."""

from __future__ import annotations

import shlex
from pathlib import Path

from conformance.core.errors import EXIT_USAGE, ConformanceError
from conformance.core.printable import printable

RERECORD_COMMAND = "conformance run --target {target} --record"
UNKNOWN_TARGET = "URL"
CASSETTE_TARGET_NOTE = "the target as the cassette header names it: check it is yours before sending your key"


def rerecord_hint(
    target: str | None = None,
    *,
    cassettes: Path | None = None,
    user_id: int | None = None,
    foreign_user_id: int | None = None,
    unknown_user_ids: tuple[int, ...] = (),
) -> str:
    """The command that re-records cassettes with the recording's own target, directory and users.

    A cassette is a file anyone can edit: its target is shown shell-quoted with its control characters
    escaped, and the hint says where it came from, so nobody runs it with their key without looking.
    """
    quoted = shlex.quote(printable(one_line(target))) if target else UNKNOWN_TARGET
    command = RERECORD_COMMAND.format(target=quoted)
    options = (
        ("--cassettes", cassettes),
        ("--user-id", user_id),
        ("--foreign-user-id", foreign_user_id),
        *(("--unknown-user-id", unknown) for unknown in unknown_user_ids),
    )
    for option, value in options:
        if value is not None:
            command += f" {option} {shlex.quote(str(value))}"
    return f"{command} ({CASSETTE_TARGET_NOTE})" if target else command


def one_line(text: str) -> str:
    """``text`` with every line break and tab turned into a space, so a message stays one line."""
    return " ".join(text.split())


class CassetteError(ConformanceError):
    """Base of every cassette problem; ``str(e)`` is one line naming the file, the problem and the fix."""

    exit_code = EXIT_USAGE


class CassetteCorrupt(CassetteError):
    """A cassette file that cannot be trusted: unreadable, malformed, or edited by hand."""

    def __init__(self, path: Path, problem: str, *, target: str | None = None) -> None:
        self.path = path
        self.problem = one_line(problem)
        hint = rerecord_hint(target, cassettes=path.parent)
        super().__init__(f"{path}: {self.problem}; re-record with: {hint}")


class CassetteMiss(CassetteError):
    """Replay met a request its cassette does not hold (or holds fewer times than it was sent)."""

    def __init__(  # users: the recording's (user_id, foreign_user_id), for the re-record hint
        self,
        path: Path,
        request: str,
        reason: str,
        *,
        target: str | None = None,
        users: tuple[int, int | None] | None = None,
    ) -> None:
        self.path = path
        self.request = one_line(request)
        self.reason = one_line(reason)
        user_id, foreign_user_id = users or (None, None)
        hint = rerecord_hint(target, cassettes=path.parent, user_id=user_id, foreign_user_id=foreign_user_id)
        super().__init__(f"{path}: {self.reason}: {self.request}; re-record with: {hint}")
