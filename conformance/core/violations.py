"""What a run raises to the conformance tests: a contract violation, or the run aborted.

Apart from the engine so that exploration and rejudge, which the engine drives, raise them without
importing the engine back.
"""

from __future__ import annotations


class ContractViolation(AssertionError):
    """A test's cases broke the contract; the message lists each failure with expected and received."""


class RunAborted(Exception):
    """The run cannot go on; the message is one line.

    With an exit code the run ends in error (a cassette miss, the request budget). Without one it merely
    stopped early (the target stopped answering): the verdict still follows from what was found.
    """

    def __init__(self, message: str, *, exit_code: int | None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
