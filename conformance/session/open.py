"""Opening a session: what the options read from outside, the report directory claimed, then a plan's
resources (local target, transport, cassettes, the preflight) opened and a Run built complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance.cassettes import CassetteBook, CassetteError, CassetteHeader
from conformance.checks import CheckContext
from conformance.core.errors import (
    EXIT_CASSETTE_MISS,
    EXIT_INTERRUPTED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    ConfigError,
    ConformanceError,
)
from conformance.core.options import (
    DEFAULT_MAX_DURATION_LOOPBACK,
    DEFAULT_MAX_DURATION_REMOTE,
    REFERENCE_TARGET,
    RunOptions,
)
from conformance.core.version import __version__
from conformance.exchange.transport import (
    NetworkTransport,
    RequestBudgetExceeded,
    Transport,
    is_loopback,
)
from conformance.inputs import INPUTS_VERSION, CaseBuilder, sentinel_cases
from conformance.redaction.run_secrets import RunSecrets
from conformance.results.reportdir import ReportDirError, locked, set_aside_earlier_run
from conformance.results.sealing import sealer
from conformance.results.summary import run_settings, write_summary
from conformance.run.engine import Run, Sender
from conformance.run.misconfig import FirstAnswerGuard, TargetMisconfigured
from conformance.run.preflight import (
    AnswerWatch,
    Configured,
    TargetWentAway,
    check_configuration,
)
from conformance.run.sentinels import Sentinels
from conformance.session.facts import IN_PROGRESS, stub_summary
from conformance.session.found import find, replay_book
from conformance.session.live import Session, VersionWatch
from conformance.session.plan import LocalTarget, SessionPlan, checked, resolve


@contextlib.contextmanager
def open_session(
    options: RunOptions,
    *,
    local: LocalTarget | None = None,
    keyword: str | None = None,
    inputs_from: Path | None = None,
) -> Iterator[Session]:
    """Claim the report directory, then open the session; a ConformanceError leaves its own error summary.

    Before anything else: the directory's lock (a second run is refused), the earlier run's files moved to
    previous/, and an "in progress" summary.json; so whatever ends this run, no earlier verdict is shown.
    ``local`` serves --target reference (the front ends pass conformance.frontends.local.reference_target()).
    """
    summary_path = options.report_dir / "summary.json"
    with contextlib.ExitStack() as claim:
        # A ReportDirError here: another run's directory, or none usable; nothing of it is touched.
        claim.enter_context(locked(options.report_dir))
        try:
            try:
                set_aside_earlier_run(options.report_dir)
                write_summary(
                    summary_path, stub_summary(options, error=IN_PROGRESS, exit_code=EXIT_INTERRUPTED)
                )
            except OSError as exc:  # a ReportDirError travels as itself
                raise ConfigError(str(exc)) from None
            found = find(checked(options))  # the options' own mistakes first, before any file is read
            plan = resolve(options, found, local=local, keyword=keyword, inputs_from=inputs_from)
            with start(plan) as session:
                yield session
        except ConformanceError as exc:
            with contextlib.suppress(OSError):
                write_summary(summary_path, stub_summary(options, error=str(exc), exit_code=exc.exit_code))
            raise


def refuse_run(report_dir: Path, error: ConformanceError) -> None:
    """A run refused before its session opened (its config unreadable): no earlier verdict left standing.

    Only a report directory that exists is claimed (the earlier run's files set aside, this error's summary
    in their place); one held by another run is left alone.
    """
    if not report_dir.is_dir():
        return
    options = RunOptions(report_dir=report_dir)
    with contextlib.suppress(ReportDirError, OSError), locked(report_dir):
        with contextlib.suppress(ReportDirError):  # a foreign previous/: the files are set aside anyway
            set_aside_earlier_run(report_dir)
        write_summary(
            report_dir / "summary.json", stub_summary(options, error=str(error), exit_code=error.exit_code)
        )


@contextlib.contextmanager
def start(plan: SessionPlan) -> Iterator[Session]:
    """Open what the plan needs (local target, transport, cassettes), build the Run and the Session."""
    options = plan.options
    with contextlib.ExitStack() as stack:
        target = _serve_local(plan, stack)
        secrets = RunSecrets(plan.api_key)  # the run's secrets: one object, passed wherever they are needed
        book, transport = _open_transport(plan, target, stack, secrets)
        live = not plan.replay
        sender = AnswerWatch(FirstAnswerGuard(transport)) if live else transport
        notes: tuple[str, ...] = ()
        if live:
            preflight(transport.url, timeout=options.timeout)
            notes = _check_configuration(plan, sender, secrets)
        recorded_inputs: CassetteBook | None = None
        if plan.inputs_from is not None:
            recorded_inputs = CassetteBook(plan.inputs_from, mode="replay")
        version = VersionWatch()
        run = _build_run(
            plan,
            sender,
            transport=transport,
            book=book,
            target=target,
            version=version,
            secrets=secrets,
            stack=stack,
        )
        session = Session(
            options=options,
            run=run,
            profile=plan.profile,
            target_url=plan.label or transport.url,
            seed=plan.seed,
            book=book,
            key_variable=options.api_key_env,
            not_applicable=dict(plan.not_applicable),
            declared_by=dict(plan.declared_by),
            cannot_exercise=plan.cannot_exercise,
            settings=run_settings(options, plan.profile),
            recording=None if plan.recording is None else dict(plan.recording),
            waivers=plan.waivers,
            recorded_inputs=recorded_inputs,
            keyword=plan.keyword,
            version=version,
            preflight_notes=notes,
            secrets=secrets,
        )
        session.mark_started()
        yield session


def _serve_local(plan: SessionPlan, stack: contextlib.ExitStack) -> str:
    """The URL to send to: the plan's, or the local target's once it is started (until ``stack`` closes)."""
    if plan.local is None:
        assert plan.target is not None
        return plan.target
    try:
        return stack.enter_context(plan.local.serve(plan.options.fault, plan.fetches_qrcodes))
    except ValueError as exc:
        raise ConfigError(f"{exc}; list them with `conformance faults`") from None


def _open_transport(
    plan: SessionPlan, target: str, stack: contextlib.ExitStack, secrets: RunSecrets
) -> tuple[CassetteBook | None, Transport]:
    """The cassettes (replay or record) and the transport to ``target`` through them, open until ``stack``
    closes."""
    options = plan.options
    book: CassetteBook | None = None
    try:
        if plan.replay:
            book = replay_book(options)
        if options.record:
            book = CassetteBook(
                options.cassettes,
                mode="record",
                header=_header(plan),
                api_key=plan.api_key,
                seal=None if options.sign_key_env is None else sealer(options.sign_key_env),
                secrets=secrets,
            )
            stack.callback(book.discard)  # whatever ends the run, an uncommitted recording goes
        # Record: the book's transport wraps the network; replay: it answers from the cassettes alone;
        # live without recording: the Transport's own network transport.
        wire = None
        if book is not None:
            wire = book.transport(None if plan.replay else NetworkTransport(settings=plan.settings))
        transport = stack.enter_context(
            Transport(
                target,
                api_key=plan.api_key,
                settings=plan.settings,
                passthrough=(CassetteError,),
                transport=wire,
                user_agent=options.user_agent,
                send_key_in_query=options.send_key_in_query,
                secrets=secrets,
            )
        )
    except ValueError as exc:  # a TargetRefused or a CassetteError travels as itself
        raise ConfigError(str(exc)) from None
    return book, transport


def _build_run(
    plan: SessionPlan,
    sender: Sender,
    *,
    transport: Transport,
    book: CassetteBook | None,
    target: str,
    version: VersionWatch,
    secrets: RunSecrets,
    stack: contextlib.ExitStack,
) -> Run:
    """The Run, complete: its checks' context, its case builder, its limits and what aborts it."""
    options = plan.options
    live = not plan.replay
    builder = CaseBuilder(
        users=plan.users,
        profile=plan.profile,
        valid_key_in_query=transport.key_in_query,
        loopback=is_loopback(transport.host),
    )
    return Run(
        sender=sender,
        context=CheckContext(
            profile=plan.profile,
            api_key=plan.api_key,
            not_owned=plan.users.not_owned,
            unknown_users=frozenset(plan.users.unknown_user_ids),
            **_qrcode_fetching(plan, secrets=secrets, target=target, stack=stack),
            run_secrets=secrets,
        ),
        builder=builder,
        redactor=secrets.redactor(),
        max_examples=plan.max_examples,
        seed=plan.seed,
        observers=[version],
        abort_codes={
            CassetteError: EXIT_CASSETTE_MISS,
            RequestBudgetExceeded: EXIT_USAGE,
            TargetMisconfigured: EXIT_UNREACHABLE,
            TargetWentAway: None,  # stopped early: incomplete, unless something failed before
        },
        throttle_budget=options.max_throttle_wait,
        # replay: the recorded answers come without waiting
        sleep=time.sleep if live else _no_wait,
        after_exchange=Sentinels(sentinel_cases(builder)),
        parallel=book is None,  # a cassette records and replays one exchange at a time
        max_duration=run_budget(options, transport.host) if live else None,  # replay waits for nothing
    )


def _check_configuration(plan: SessionPlan, sender: Sender, secrets: RunSecrets) -> tuple[str, ...]:
    """The preflight (conformance.run.preflight): a wrong key or user is exit 2 before the run explores; its
    notes on the configuration. What ends it travels as itself: ConfigurationRefused, RequestBudgetExceeded
    (exit 2), TargetMisconfigured, TargetWentAway (exit 3)."""
    options = plan.options
    return check_configuration(
        sender.send,
        builder=CaseBuilder(users=plan.users, profile=plan.profile),
        configured=Configured(
            key_variable=options.api_key_env if _keyed(options) else None,
            user_id=options.user_id is not None,
            unknown_user_ids=bool(options.unknown_user_id) or _keyed(options),
            foreign_user_id=options.foreign_user_id is not None,
        ),
        redactor=secrets.redactor(),
    ).notes


def _keyed(options: RunOptions) -> bool:
    """A live target given by URL: the only kind of run that reads the key from the environment."""
    return options.target not in (None, REFERENCE_TARGET)


def preflight(url: str, *, timeout: float) -> None:
    """Exit 3 when nothing listens at the target at all (a target that answers badly is a finding)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    try:
        with socket.create_connection((host, port), timeout=min(timeout, 10.0)):
            pass
    except socket.gaierror as exc:
        raise ConfigError(
            f"target unreachable: cannot resolve host {host!r} (DNS: {exc.strerror}); "
            "check the host name in --target",
            exit_code=EXIT_UNREACHABLE,
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"target unreachable: cannot connect to {host}:{port} ({reason}); check --target (host, port, "
            "http:// vs https://) and that the service is up",
            exit_code=EXIT_UNREACHABLE,
        ) from None


def _no_wait(_seconds: float) -> None:
    return None


def run_budget(options: RunOptions, host: str) -> float:
    """--max-duration, else the default for a loopback or a remote target host."""
    if options.max_duration is not None:
        return options.max_duration
    return DEFAULT_MAX_DURATION_LOOPBACK if is_loopback(host) else DEFAULT_MAX_DURATION_REMOTE


def _header(plan: SessionPlan) -> CassetteHeader:
    """The header of a recording made from the plan."""
    return CassetteHeader(
        target=plan.recorded_as,
        suite_version=__version__,
        profile=plan.profile.name,
        recorded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        seed=plan.seed,
        max_examples=plan.max_examples,
        user_id=plan.users.user_id,
        unknown_user_id=plan.users.unknown_user_id,
        foreign_user_id=plan.users.foreign_user_id,
        more_unknown_user_ids=plan.users.more_unknown_user_ids,
        inputs_version=INPUTS_VERSION,
    )


def _qrcode_fetching(
    plan: SessionPlan, *, secrets: RunSecrets, target: str, stack: contextlib.ExitStack
) -> dict[str, Any]:
    """The CheckContext fields of a live run: the image fetcher (every grant's with --fetch-qrcode, else a
    spread of them), and the reference's own http image host."""
    options = plan.options
    if not plan.fetches_qrcodes:
        return {}
    from conformance.exchange.qrfetch import QrFetcher

    fetcher = QrFetcher(api_key=secrets.api_key, settings=plan.settings, target=target, secrets=secrets)
    stack.callback(fetcher.close)
    # A plain-http target on loopback (the embedded reference, `conformance serve`, a developer's own stack)
    # has no TLS: its QR images may come over http from its own host. Any other target's must be https.
    parts = urlsplit(target)
    host = parts.hostname or ""
    own_http = options.target == REFERENCE_TARGET or (parts.scheme == "http" and is_loopback(host))
    own = frozenset({host}) if own_http else frozenset()
    return {"qrcode_fetcher": fetcher, "qrcode_http_hosts": own, "qrcode_every_grant": options.fetch_qrcode}
