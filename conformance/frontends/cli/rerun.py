"""`conformance rerun FAILURES`: re-send only the failing cases of a summary.json, N times each.

Each distinct failure (requirement, check, request) is sent again ``--times`` times against the live
target exactly as it was sent (method, path variant, form in the body or the query, spelling, added
headers, or as the same raw-message probe, as its evidence records), every check runs on every answer,
and the failure is classified: reproducible (the same check failed every time), intermittent (some
times), fixed (every time an answer came and the check passed it or had no cause to judge it) or
unconfirmed (neither: no answer came, the check could not judge).
Exit 1 when any failure is still there, 6 when none is but one is unconfirmed, 0 when every one is fixed.
The rerun never touches the summary it reads: its own bookkeeping goes to a scratch directory.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from conformance.core.errors import EXIT_SUITE_ERROR, ConfigError, ConformanceError
from conformance.core.model import API_KEY_PLACEHOLDER, PATH_VARIANTS, Case, Expect
from conformance.core.printable import one_line
from conformance.core.wire import SPELLINGS
from conformance.exchange.raw import PROBES
from conformance.frontends.cli.run import run_options
from conformance.frontends.local import open_session
from conformance.inputs import OTHER_METHODS, QUERY_METHODS, VALID_TOKEN_EXPIRE, CaseBuilder, Param
from conformance.inputs.side_channels import MALFORMED_EXPIRE, cookie_header
from conformance.results.summary import Summary, read_summary
from conformance.run.engine import Run, RunAborted
from conformance.session.config import resolve_options

DEFAULT_TIMES = 3
EXIT_ALL_FIXED = 0
EXIT_STILL_FAILING = 1
PARAMETERS = ("api_key", "user_id", "token_expire")
CLASSES = ("reproducible", "intermittent", "fixed", "unconfirmed")
EXIT_UNCONFIRMED = 6  # as a run's "incomplete": nothing failed, but not everything was judged


@dataclass(frozen=True)
class Target:
    """One failure of the summary to send again."""

    requirement: str
    check: str
    case: Case
    after_error: bool = False  # sent after an error that left its connection open


@dataclass(frozen=True)
class Verdict:
    """How a failure behaved when sent again."""

    target: Target
    failed: int
    sent: int
    passed: int = 0  # answers the same check judged and found right

    @property
    def classification(self) -> str:
        """reproducible | intermittent | fixed | unconfirmed."""
        if self.failed == self.sent:
            return "reproducible"
        if self.failed:
            return "intermittent"
        return "fixed" if self.passed == self.sent else "unconfirmed"


def failing_cases(summary: Summary, builder: CaseBuilder) -> list[Target]:
    """Every distinct failure of a summary as a case the builder classifies again (its form kept as sent)."""
    seen, targets = set(), []
    for requirement in summary.requirements:
        for failure in requirement.failures:
            request = failure.evidence["request"]
            case = _case(request, builder, label=failure.case)
            after_error = bool(request.get("after_error", False))
            key = (requirement.id, failure.check, case.wire, after_error)
            if key not in seen:
                seen.add(key)
                targets.append(Target(requirement.id, failure.check, case, after_error))
    return targets


def _case(request: dict[str, Any], builder: CaseBuilder, *, label: str) -> Case:
    """The case as it was sent: its form, method and channel from the evidence, classified again by the
    builder unless the evidence says what was expected (a route probe's expectation is not the form's)."""
    form = tuple((str(n), str(v)) for n, v in request["form"])
    case = dataclasses.replace(
        _classified(form, builder, label=label),
        method=str(request.get("method", "POST")),  # every name checked when the summary was read
        path_variant=str(request.get("path_variant", "")),
        form_in_query=bool(request.get("form_in_query", False)),
        fresh_connection=bool(request.get("fresh_connection", False)),
        alternate_identity=bool(request.get("alternate_identity", False)),
        spelling=str(request.get("spelling", "")),
        headers=tuple((str(n), str(v)) for n, v in request.get("headers", ())),
        raw=str(request.get("raw", "")),
    )
    if "expect" in request and "requirement" in request:
        case = dataclasses.replace(
            case, expect=Expect(request["expect"]), requirement=str(request["requirement"])
        )
    return case


def _classified(form: tuple[tuple[str, str], ...], builder: CaseBuilder, *, label: str) -> Case:
    defaults = {
        "api_key": Param.of(API_KEY_PLACEHOLDER),
        "user_id": Param.of(str(builder.users.user_id)),
        "token_expire": Param.of(str(VALID_TOKEN_EXPIRE)),
    }
    params = {name: Param(tuple(v for n, v in form if n == name)) for name in PARAMETERS}
    varied = {name: param for name, param in params.items() if param != defaults[name]}
    # The builder classifies (what the contract expects); the form stays exactly as it was sent.
    return dataclasses.replace(builder.case(**varied, label=label or None), form=form)


def resend(run: Run, targets: Iterable[Target], *, times: int) -> list[Verdict]:
    """Send each target ``times`` times; count the answers on which its check failed again."""
    verdicts = []
    for target in targets:
        failed = passed = 0
        with run.test(f"rerun::{target.requirement}::{target.check}"):
            for _ in range(times):
                case, exact = _as_sent(run, target.case)
                stock = _stock(case)
                if stock.wire != case.wire or target.after_error:  # what a comparing check compares with
                    run.exchange(stock)
                if target.after_error:  # the same error first, on the same connection, as in the run
                    run.exchange(run.builder.case(token_expire=Param.of(MALFORMED_EXPIRE), label="malformed"))
                    exact = exact and run.context.state.after_error  # it may close the connection now
                exchange, results = run.exchange(case)
                same = [r for r in results if r.check == target.check and r.requirement == target.requirement]
                failed += any(r.failure is not None for r in same)
                # Passed: the check judged the answer right, or an answer came that it had no cause to judge
                # (a refusal where a token was wrongly issued); no answer at all, or a request that could not
                # be sent as it was, proves nothing.
                passed += exact and (bool(same) or exchange.answered) and all(r.passed for r in same)
        verdicts.append(Verdict(target, failed, times, passed))
    return verdicts


def _stock(case: Case) -> Case:
    """The same request sent plainly: no added headers, the pooled connection, the stock identity and
    spelling (the answer checks.against_stock compares a varied channel's answer with, as the run sent it
    first)."""
    return dataclasses.replace(
        case, headers=(), fresh_connection=False, alternate_identity=False, spelling=""
    )


def _as_sent(run: Run, case: Case) -> tuple[Case, bool]:
    """The case as the run sent it, and whether it could be. A Cookie header is one the target set after
    a grant (the evidence shows only its stand-in): a grant first, its cookies sent back, as the run did;
    when the target sets none now, the request cannot be sent as it was."""
    if not any(name.lower() == "cookie" for name, _ in case.headers):
        return case, True
    grant, _ = run.exchange(run.builder.case(label="a grant (its cookies are sent back)"))
    cookie = cookie_header(grant.header_values("set-cookie"))
    headers = tuple((n, cookie if n.lower() == "cookie" else v) for n, v in case.headers)
    return dataclasses.replace(case, headers=headers), bool(cookie)


def _load(path: Path) -> Summary:
    summary = read_summary(path)  # a SummaryError names what is wrong with it
    if summary.stub:
        raise ConfigError(f"{path} is not a summary.json of a finished run (no requirements list)")
    for requirement in summary.requirements:
        for failure in requirement.failures:
            if "request" not in failure.evidence:
                raise ConfigError(
                    f"{path}: a failure of {requirement.id} has no request to send again (no field "
                    "'request'); give the summary.json of a run"
                )
            _check_request(path, requirement.id, failure.evidence["request"])
    return summary


# The names a request's evidence may give (a summary.json is anyone's file), each with its default when
# absent: each must be one the suite sends.
KNOWN_NAMES: dict[str, tuple[str, Collection[str]]] = {
    "method": ("POST", ("POST", *OTHER_METHODS, *QUERY_METHODS)),
    "path_variant": ("", ("", *PATH_VARIANTS)),
    "spelling": ("", SPELLINGS),
    "raw": ("", ("", *PROBES)),
}


def _check_request(path: Path, requirement: str, request: Mapping[str, Any]) -> None:
    """ConfigError unless the request's evidence names only what the suite can send again exactly."""
    for field, (default, known) in KNOWN_NAMES.items():
        name = request.get(field, default)
        if name not in known:
            raise ConfigError(
                f"{path}: a failure of {requirement} names an unknown {field} {one_line(repr(name))[:60]}; "
                "give the summary.json of a run of this version of the suite"
            )


@click.command("rerun")
@click.argument("failures", type=click.Path(dir_okay=False, path_type=Path), metavar="FAILURES")
@click.option(
    "--times",
    "-n",
    type=click.IntRange(1, 100),
    default=DEFAULT_TIMES,
    show_default=True,
    help="How often each failing case is sent again.",
)
@run_options
def rerun_command(failures: Path, times: int, **values: Any) -> int:
    """Send the failing cases of FAILURES (a summary.json) to --target again: reproducible or fixed?"""
    try:
        options = resolve_options(values)
        if options.target is None or options.record:
            raise ConfigError("rerun needs --target (the live deployment to send the failing cases to)")
        summary = _load(failures)
        with tempfile.TemporaryDirectory(prefix="conformance-rerun-") as scratch:
            options = dataclasses.replace(options, report_dir=Path(scratch))
            with open_session(options) as session:
                targets = failing_cases(summary, session.run.builder)
                click.echo(
                    one_line(
                        f"rerun: {len(targets)} failing case(s) of {failures}, {times}x each, "
                        f"against {session.target_url}"
                    )
                )
                try:
                    verdicts = resend(session.run, targets, times=times)
                except RunAborted as exc:
                    click.echo(f"conformance: error: rerun stopped: {one_line(str(exc))}", err=True)
                    return exc.exit_code or EXIT_STILL_FAILING
                if session.run.check_crashes:  # a check of the suite raised: nothing can be called fixed
                    click.echo(f"conformance: error: suite error: {session.run.check_crashes[0]}", err=True)
                    return EXIT_SUITE_ERROR
    except ConformanceError as exc:  # printed as one line: a summary.json is anyone's file
        click.echo(f"conformance: error: {one_line(str(exc))}", err=True)
        return exc.exit_code
    for verdict in verdicts:
        # Every field comes from the summary.json read (a file anyone can edit) or the target: one line each.
        target = verdict.target
        click.echo(
            f"{verdict.classification:<13}{verdict.failed}/{verdict.sent}  {one_line(target.requirement)}  "
            f"{one_line(target.check)}  {one_line(target.case.label)}"
        )
    counts = {name: sum(v.classification == name for v in verdicts) for name in CLASSES}
    shown = [name for name in CLASSES if name != "unconfirmed" or counts[name]]  # the usual three, always
    click.echo(", ".join(f"{counts[name]} {name}" for name in shown))
    if counts["reproducible"] + counts["intermittent"]:
        return EXIT_STILL_FAILING
    return EXIT_UNCONFIRMED if counts["unconfirmed"] else EXIT_ALL_FIXED
