"""The driver: runs the conformance tests (pytest modules in conformance/suite) in-process for a Session.

It sits above the core and below the front ends: `conformance run`, `conformance diff` and the selftest
all execute the suite through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance.engine import ContractViolation, RunAborted
from conformance.leaks import guard_files
from conformance.plugin import SessionProvider
from conformance.publish import publish
from conformance.report.junit import JUNIT_OPTIONS
from conformance.session import Session
from conformance.verdict import EXIT_INTERRUPTED, EXIT_SUITE_ERROR

SUITE_DIR = Path(__file__).resolve().parent / "suite"
# pytest's own exit codes that mean the suite, not the target, went wrong.
PYTEST_INTERRUPTED = 2
PYTEST_BROKEN = {3: "internal error", 4: "usage error", 5: "no tests collected"}


class RunWatcher:
    """A pytest plugin object: notices interruption, and tests that broke for a reason not the contract's."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.interrupted = False
        self.suite_errors: list[str] = []

    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> None:
        """A test failing with anything but a contract violation, an abort or a skip is a suite error."""
        excinfo = call.excinfo
        if excinfo is None or excinfo.errisinstance((ContractViolation, RunAborted, pytest.skip.Exception)):
            return
        if self.session.run.aborted is None:
            self.suite_errors.append(f"{item.nodeid}: {excinfo.exconly().splitlines()[0][:200]}")

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Ctrl-C or SIGTERM (not pytest stopping on its own): the summary will say the run is incomplete."""
        if not excinfo.errisinstance(pytest.Session.Interrupted):
            self.interrupted = True


def pytest_args(session: Session, *, keyword: str | None) -> list[str]:
    """The pytest command line for the conformance tests of one session."""
    report_dir = session.options.report_dir
    args = [
        str(SUITE_DIR),
        "-c",
        str(SUITE_DIR / "pytest.ini"),
        "--rootdir",
        str(SUITE_DIR),
        "-p",
        "no:terminal",
        "--alluredir",
        str(report_dir / "allure-results"),
        "--clean-alluredir",
        "--junitxml",
        str(report_dir / "junit.xml"),
        *JUNIT_OPTIONS,
    ]
    return [*args, "-k", keyword] if keyword else args


def execute(
    session: Session, *, keyword: str | None = None, plugins: Sequence[object] = ()
) -> dict[str, Any]:
    """Run the conformance tests against an open session, write the reports; returns the summary."""
    session.options.report_dir.mkdir(parents=True, exist_ok=True)
    watcher = RunWatcher(session)
    try:
        status = int(
            pytest.main(
                pytest_args(session, keyword=keyword), plugins=[SessionProvider(session), watcher, *plugins]
            )
        )
    except KeyboardInterrupt:
        status = PYTEST_INTERRUPTED
    error, code = None, None
    if watcher.interrupted or (status == PYTEST_INTERRUPTED and session.run.aborted is None):
        error, code = "interrupted before the run completed", EXIT_INTERRUPTED
    elif status in PYTEST_BROKEN:
        error, code = (
            f"the conformance tests could not run (pytest: {PYTEST_BROKEN[status]})",
            EXIT_SUITE_ERROR,
        )
    elif watcher.suite_errors:
        error, code = f"suite error in {watcher.suite_errors[0]}", EXIT_SUITE_ERROR
    summary = session.finish(error=error, error_code=code)
    publish(session, summary)
    return guard_files(session, summary)
