"""The pytest plugin: a thin adapter (options, a fixture, a marker, Allure wiring) over conformance.session.

`pytest conformance/suite --target URL` and `conformance run` execute the same tests; the CLI hands its
already-open Session in as a SessionProvider plugin object, plain pytest opens one from the
options below (which mirror the CLI's, both built from conformance.core.options.OPTION_SPECS).
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.core.contract import REQUIREMENTS_BY_ID
from conformance.core.errors import (
    EXIT_INTERRUPTED,
    EXIT_SUITE_ERROR,
    EXIT_USAGE,
    ConformanceError,
)
from conformance.core.options import OPTION_SPECS, RunOptions
from conformance.core.printable import one_line
from conformance.frontends.local import open_session
from conformance.run.engine import ContractViolation, Observer, Run, RunAborted
from conformance.session.config import CONFIG_SPECS, resolve_options
from conformance.session.live import Session

MESSAGE_LINES = 12  # of a failing test's message kept in the summary
SUITE_DIR = Path(__file__).resolve().parents[1] / "suite"
# pytest's own exit codes that mean the suite, not the target, went wrong.
PYTEST_INTERRUPTED = 2
PYTEST_NO_TESTS = 5
PYTEST_BROKEN = {3: "internal error", 4: "usage error", PYTEST_NO_TESTS: "no tests collected"}
# Options of other well-known plugins that share a name with ours.
KNOWN_CLASHES = {"--timeout": "pytest_timeout"}
_STASH_SESSION = pytest.StashKey[Session]()
_STASH_STACK = pytest.StashKey[contextlib.ExitStack]()
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})


@dataclass(eq=False)  # a plugin object: hashable by identity
class Watch:
    """A pytest plugin object: what pytest tells about the run besides the exchanges."""

    targets: dict[str, tuple[str, ...]] = field(default_factory=dict)  # nodeid -> requirement IDs
    deselected: set[str] = field(default_factory=set)
    interrupted: bool = False
    suite_errors: list[str] = field(default_factory=list)
    write_failed: str | None = None  # a file the run could not write (disk full, read-only, quota)

    def pytest_internalerror(self, excinfo: pytest.ExceptionInfo[BaseException]) -> bool | None:
        """A report file that cannot be written is one line (exit 2), not pages of INTERNALERROR."""
        error = excinfo.value
        if isinstance(error, OSError) and error.errno in WRITE_ERRNOS:
            where = f" {error.filename}" if error.filename else ""
            why = error.strerror or str(error)
            self.write_failed = f"cannot write{where}: {why}; free space there or choose another --report-dir"
            return True  # handled: pytest prints nothing more
        return None

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Tests left out by -k: what only they target is not exercised, and the summary says so."""
        for item in items:
            self.targets[item.nodeid] = _targets(item)
            self.deselected.add(item.nodeid)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Which requirements each selected test targets."""
        self.targets.update({item.nodeid: _targets(item) for item in session.items})

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Ctrl-C or SIGTERM (not pytest stopping on its own): the summary will say the run is incomplete."""
        if not excinfo.errisinstance(pytest.Session.Interrupted):
            self.interrupted = True


_STASH_WATCH = pytest.StashKey[Watch]()


class SessionProvider:
    """Registered by the CLI: carries a Session opened outside pytest."""

    def __init__(self, session: Session) -> None:
        self.session = session


@pytest.hookimpl(trylast=True)  # after other plugins, so a name they own can be seen and avoided
def pytest_addoption(parser: pytest.Parser) -> None:
    """Every run option, kebab-case, in one group (named as on the CLI)."""
    taken = _option_names(parser)
    group = parser.getgroup("conformance", "login-token conformance suite")
    for spec in (*OPTION_SPECS, *CONFIG_SPECS):
        settings: dict[str, Any] = {"dest": f"conformance_{spec.field}", "help": spec.help}
        if spec.flag:
            settings["action"] = "store_true"
        else:
            settings.update(type=spec.kind, default=None, metavar=spec.metavar)
            if spec.multiple:
                settings["action"] = "append"
        # Another plugin may own the name (pytest-timeout's --timeout): then ours is --conformance-timeout.
        name = spec.name if spec.name not in taken else f"--conformance-{spec.name[2:]}"
        group.addoption(name, **settings)


def _option_names(parser: pytest.Parser) -> set[str]:
    # pytest only checks for clashes inside one group; argparse would fail on the whole command line.
    # Plugins loaded after this one are not in the parser yet: the known ones are looked up by module.
    groups = [
        group for group in (*getattr(parser, "_groups", ()), getattr(parser, "_anonymous", None)) if group
    ]
    names = {name for group in groups for option in group.options for name in option.names()}
    return names | {option for option, module in KNOWN_CLASHES.items() if importlib.util.find_spec(module)}


@pytest.hookimpl(tryfirst=True)  # before the junitxml plugin reads --junitxml
def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; a plain-pytest conformance run writes junit.xml into the report directory."""
    config.addinivalue_line("markers", "requirements(*ids): requirement IDs a conformance test targets")
    watch = config.stash[_STASH_WATCH] = Watch()
    config.pluginmanager.register(watch, "conformance-watch")
    if _provider(config) is None and _runs_the_suite(config) and not getattr(config.option, "xmlpath", None):
        report_dir = config.getoption("conformance_report_dir", None) or RunOptions().report_dir
        config.option.xmlpath = str(Path(report_dir) / "junit.xml")


def _runs_the_suite(config: pytest.Config) -> bool:
    """True when pytest was pointed at the conformance tests (or a directory holding them)."""
    for arg in config.args:
        path = Path(str(arg).split("::", 1)[0])
        path = (path if path.is_absolute() else Path(config.invocation_params.dir) / path).resolve()
        if path == SUITE_DIR or SUITE_DIR in path.parents or path in SUITE_DIR.parents:
            return True
    return False


def _targets(item: pytest.Item) -> tuple[str, ...]:
    marker = item.get_closest_marker("requirements")
    return tuple(str(a) for a in marker.args) if marker else ()


def _provider(config: pytest.Config) -> SessionProvider | None:
    return next((p for p in config.pluginmanager.get_plugins() if isinstance(p, SessionProvider)), None)


def _session(config: pytest.Config) -> Session:
    if _STASH_SESSION in config.stash:
        return config.stash[_STASH_SESSION]
    provider = _provider(config)
    if provider is not None:
        session = provider.session
    else:
        specs = (*OPTION_SPECS, *CONFIG_SPECS)
        values = {spec.field: config.getoption(f"conformance_{spec.field}") for spec in specs}
        stack = contextlib.ExitStack()
        try:
            session = stack.enter_context(
                open_session(resolve_options(values), keyword=config.option.keyword or None)
            )
        except ConformanceError as exc:
            stack.close()
            pytest.exit(f"conformance: {exc}", returncode=exc.exit_code)
        config.stash[_STASH_STACK] = stack
    config.stash[_STASH_SESSION] = session
    return session


def _allure_active(config: pytest.Config) -> bool:
    return bool(config.getoption("allure_report_dir", None))


@pytest.fixture
def conformance(request: pytest.FixtureRequest) -> Iterator[Run]:
    """The conformance Run, scoped to this test (its cassette, its ledger entries, its Allure labels)."""
    session = _session(request.config)
    marker = request.node.get_closest_marker("requirements")
    targeted = tuple(marker.args) if marker else ()
    unknown = [r for r in targeted if r not in REQUIREMENTS_BY_ID]
    if unknown:
        raise pytest.UsageError(f"{request.node.nodeid}: unknown requirement IDs {unknown}")
    if session.run.aborted is not None and session.run.aborted.exit_code is None:
        pytest.skip(str(session.run.aborted))
    if session.already_recorded(request.node.nodeid):
        pytest.skip("its cassette is in the set already (--record-missing)")
    allure = _allure_active(request.config)
    observers: list[Observer] = []
    if allure:
        from conformance.results.report.allure import AllureObserver, label_test

        observers.append(AllureObserver(secrets=session.secrets))  # this test's exchanges as Allure steps

        label_test(requirement_ids=targeted)
    with session.test(request.node.nodeid, observers=observers) as run:
        yield run
        failed = sorted(run.tests[request.node.nodeid].failed_requirements)
    if allure and failed:
        label_test(requirement_ids=failed, failed=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Keep each conformance test's outcome for the summary."""
    report = yield
    session = item.config.stash.get(_STASH_SESSION, None)
    record = session.run.tests.get(item.nodeid) if session else None
    if record is not None and (report.when == "call" or report.outcome != "passed"):
        record.outcome = report.outcome
        crash = getattr(report.longrepr, "reprcrash", None)
        if report.failed and crash is not None:
            record.message = "\n".join(crash.message.splitlines()[:MESSAGE_LINES])
        if report.skipped and isinstance(report.longrepr, tuple):
            record.message = str(report.longrepr[-1]).removeprefix("Skipped: ")
    _note_suite_error(item, call)
    if session is not None and session.run.aborted is not None:
        item.session.shouldstop = str(session.run.aborted)
    return report


@pytest.hookimpl(wrapper=True, trylast=True)  # innermost: finished before the terminal summary
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, Any, Any]:
    """After every other plugin wrote its files (junit.xml): summary, reports; the verdict's exit code."""
    result = yield
    conformance_session = session.config.stash.get(_STASH_SESSION, None)
    if conformance_session is None:
        return result
    from conformance.session.publish import finish_session

    error, code = _run_error(session, conformance_session)
    watch = session.config.stash[_STASH_WATCH]
    summary = finish_session(
        conformance_session, error=error, error_code=code, targets=watch.targets, deselected=watch.deselected
    )
    session.exitstatus = summary.exit_code
    if _provider(session.config) is None:  # the CLI appends to the job summary itself
        from conformance.results.report.ci import append_step_summary

        # GitHub Actions' job summary, when $GITHUB_STEP_SUMMARY is set
        append_step_summary(summary, secrets=conformance_session.secrets)
    return result


def _note_suite_error(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    """A test failing with anything but a contract violation, an abort or a skip is a suite error."""
    excinfo = call.excinfo
    if excinfo is None or excinfo.errisinstance((ContractViolation, RunAborted, pytest.skip.Exception)):
        return
    session = item.config.stash.get(_STASH_SESSION, None)
    if session is None or session.run.aborted is None:
        text = excinfo.exconly().strip()
        line = text.splitlines()[0][:200] if text else excinfo.typename
        item.config.stash[_STASH_WATCH].suite_errors.append(f"{item.nodeid}: {line}")


def _run_error(session: pytest.Session, conformance_session: Session) -> tuple[str | None, int | None]:
    """The run's error and exit code when pytest did not run the tests to the end, else (None, None)."""
    watch = session.config.stash[_STASH_WATCH]
    status = int(session.exitstatus)
    if watch.write_failed is not None:
        return watch.write_failed, EXIT_USAGE
    if watch.interrupted or (status == PYTEST_INTERRUPTED and conformance_session.run.aborted is None):
        return "interrupted before the run completed", EXIT_INTERRUPTED
    if status == PYTEST_NO_TESTS and conformance_session.keyword:
        return f"-k {conformance_session.keyword!r} selects no conformance test", EXIT_USAGE
    if status in PYTEST_BROKEN:
        return f"the conformance tests could not run (pytest: {PYTEST_BROKEN[status]})", EXIT_SUITE_ERROR
    if watch.suite_errors:
        return f"suite error in {watch.suite_errors[0]}", EXIT_SUITE_ERROR
    return None, None


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Plain pytest: the seed that reproduces the run and the verdict line."""
    session = config.stash.get(_STASH_SESSION, None)
    if session is None or session.summary is None or _provider(config) is not None:
        return
    from conformance.results.summary import verdict_line

    terminalreporter.write_line(f"conformance: seed {session.seed}")
    terminalreporter.write_line(f"conformance: {one_line(verdict_line(session.summary))}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop what plain pytest started (the reference server, the transport)."""
    stack = config.stash.get(_STASH_STACK, None)
    if stack is not None:
        stack.close()
