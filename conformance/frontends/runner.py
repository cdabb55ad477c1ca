"""The driver: runs the conformance tests (pytest modules in conformance/suite) in-process for a Session.

It sits above the core and below the front ends: `conformance run`, `conformance diff` and the selftest
all execute the suite through here.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from conformance.core.errors import EXIT_INTERRUPTED, EXIT_SUITE_ERROR, ConfigError
from conformance.frontends.plugin import SUITE_DIR, SessionProvider
from conformance.results.report.junit import JUNIT_OPTIONS
from conformance.results.summary import Summary
from conformance.session.live import Session
from conformance.session.publish import finish_session


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
        # Its clean-up collects garbage (twice) at the end of every session: ~0.15 s a run, and a finding of
        # the conformance tests never comes from an unraisable exception.
        "-p",
        "no:unraisableexception",
        "--alluredir",
        str(report_dir / "allure-results"),
        "--clean-alluredir",
        "--junitxml",
        str(report_dir / "junit.xml"),
        *JUNIT_OPTIONS,
    ]
    return [*args, "-k", keyword] if keyword else args


def check_keyword(keyword: str | None) -> None:
    """A ConfigError (exit 2, one line) when ``-k`` is not an expression pytest can select with."""
    if not keyword:
        return
    # pytest's own -k grammar: no public API parses it, and a copy of the grammar would drift from it.
    from _pytest.mark.expression import Expression

    try:
        Expression.compile(keyword)
    except Exception as exc:  # SyntaxError in pytest 9, its own ParseError before
        problem = str(exc).split(" (<pytest", 1)[0]
        raise ConfigError(
            f"-k {keyword!r} is not a valid expression ({problem}); join test names with and/or/not and "
            "balanced parentheses"
        ) from None


def execute(session: Session, *, plugins: Sequence[object] = ()) -> Summary:
    """Run the conformance tests against an open session, write the reports; returns the summary.

    The plugin finishes the session at the end of the pytest session (the same function plain pytest
    uses); only when pytest never got that far is it finished here.
    """
    session.options.report_dir.mkdir(parents=True, exist_ok=True)
    try:
        status = int(
            pytest.main(
                pytest_args(session, keyword=session.keyword), plugins=[SessionProvider(session), *plugins]
            )
        )
    except KeyboardInterrupt:
        status = -1
    if session.summary is None:
        if status == -1:
            error, code = "interrupted before the run completed", EXIT_INTERRUPTED
        else:
            error, code = f"the conformance tests could not run (pytest exit {status})", EXIT_SUITE_ERROR
        finish_session(session, error=error, error_code=code)
    assert session.summary is not None
    return session.summary
