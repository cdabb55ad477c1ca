"""The exit codes (README "Exit codes") and the root of every error that ends a run or a command.

A ``ConformanceError`` is raised where a problem is found, as its own subclass, with a one-line message
naming the problem and the fix; it travels as itself, and the front ends (the CLI's ``main``, the pytest
plugin) end with its message and its ``exit_code``. A subclass states its exit code once, as a class
attribute; a raise passes ``exit_code=`` only where the same problem deserves another code in that place.
"""

from __future__ import annotations

EXIT_CONFORMANT = 0
EXIT_NON_CONFORMANT = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_CASSETTE_MISS = 4
EXIT_SUITE_ERROR = 5
EXIT_INCOMPLETE = 6
# Every MUST requirement passed, but judged by a contract a setting changed where the vendor document fixes
# it: not 0, so no pipeline takes it for a pass; not 1, since the target failed nothing it was held to.
EXIT_MODIFIED_CONTRACT = 7
EXIT_INTERRUPTED = 130


class ConformanceError(Exception):
    """A run or a command cannot start or go on: one line naming the problem and the fix, and an exit code."""

    exit_code: int = EXIT_USAGE

    def __init__(self, *args: object, exit_code: int | None = None) -> None:
        super().__init__(*args)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(ConformanceError):
    """The options, or what they name, cannot be used (exit 2 unless said otherwise)."""
