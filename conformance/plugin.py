"""The pytest plugin: a thin adapter (options, a fixture, a marker, Allure wiring) over conformance.session.

`pytest conformance/suite --target URL` and `conformance run` execute the same tests; the CLI hands its
already-open Session in as a SessionProvider plugin object, plain pytest opens one from the
options below (which mirror the CLI's, both built from conformance.options.OPTION_SPECS).
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from conformance.contract import REQUIREMENTS_BY_ID
from conformance.engine import Run
from conformance.options import OPTION_SPECS, options_from
from conformance.session import ConfigError, Session, open_session

MESSAGE_LINES = 12  # of a failing test's message kept in the summary
# Options of other well-known plugins that share a name with ours.
KNOWN_CLASHES = {"--timeout": "pytest_timeout"}
_STASH_SESSION = pytest.StashKey[Session]()
_STASH_STACK = pytest.StashKey[contextlib.ExitStack]()


class SessionProvider:
    """Registered by the CLI: carries a Session opened outside pytest."""

    def __init__(self, session: Session) -> None:
        self.session = session


@pytest.hookimpl(trylast=True)  # after other plugins, so a name they own can be seen and avoided
def pytest_addoption(parser: pytest.Parser) -> None:
    """Every run option, kebab-case, in one group (named as on the CLI)."""
    taken = _option_names(parser)
    group = parser.getgroup("conformance", "login-token conformance suite")
    for spec in OPTION_SPECS:
        settings: dict[str, Any] = {"dest": f"conformance_{spec.field}", "help": spec.help}
        if spec.flag:
            settings["action"] = "store_true"
        else:
            settings.update(type=spec.kind, default=None, metavar=spec.metavar)
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


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that names the requirements a conformance test targets."""
    config.addinivalue_line("markers", "requirements(*ids): requirement IDs a conformance test targets")


def _provider(config: pytest.Config) -> SessionProvider | None:
    return next((p for p in config.pluginmanager.get_plugins() if isinstance(p, SessionProvider)), None)


def _session(config: pytest.Config) -> Session:
    if _STASH_SESSION in config.stash:
        return config.stash[_STASH_SESSION]
    provider = _provider(config)
    if provider is not None:
        session = provider.session
    else:
        values = {spec.field: config.getoption(f"conformance_{spec.field}") for spec in OPTION_SPECS}
        stack = contextlib.ExitStack()
        try:
            session = stack.enter_context(open_session(options_from(values)))
        except ConfigError as exc:
            stack.close()
            pytest.exit(f"conformance: {exc}", returncode=exc.exit_code)
        config.stash[_STASH_STACK] = stack
    config.stash[_STASH_SESSION] = session
    if config.getoption("allure_report_dir", None):
        from conformance.report.allure import AllureObserver

        session.run.observers.append(AllureObserver())
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
    if allure:
        from conformance.report.allure import label_test

        label_test(requirement_ids=targeted)
    with session.test(request.node.nodeid) as run:
        yield run
        failed = sorted(run.tests[request.node.nodeid].failed_requirements)
    if allure and failed:
        label_test(requirement_ids=failed, failed=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, Any, Any]:
    """Keep each conformance test's outcome for the summary."""
    report = yield
    session = item.config.stash.get(_STASH_SESSION, None)
    record = session.run.tests.get(item.nodeid) if session else None
    if record is not None and (report.when == "call" or report.outcome != "passed"):
        record.outcome = report.outcome
        crash = getattr(report.longrepr, "reprcrash", None)
        if report.failed and crash is not None:
            record.message = "\n".join(crash.message.splitlines()[:MESSAGE_LINES])
    if session is not None and session.run.aborted is not None:
        item.session.shouldstop = str(session.run.aborted)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, Any, Any]:
    """After every other plugin wrote its files (junit.xml): summary, reports; the verdict's exit code."""
    result = yield
    conformance_session = session.config.stash.get(_STASH_SESSION, None)
    if conformance_session is None:
        return result
    if _provider(session.config) is None:  # the CLI finishes its own session
        summary = conformance_session.finish()
        from conformance.publish import publish

        publish(conformance_session, summary)
        session.exitstatus = summary["exit_code"]
    return result


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop what plain pytest started (the reference server, the transport)."""
    stack = config.stash.get(_STASH_STACK, None)
    if stack is not None:
        stack.close()
