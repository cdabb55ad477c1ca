"""A session: RunOptions resolved into a live Run (target, key, users, transport, cassettes) and its ending.

Both front ends (CLI and pytest plugin) open sessions here; every configuration problem becomes a
ConfigError with a one-line message and the exit code it deserves.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import random
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance import __version__
from conformance.cassettes import CassetteBook, CassetteError, CassetteHeader
from conformance.checks import CheckContext
from conformance.engine import Run
from conformance.entropy import token_entropy_summary
from conformance.inputs import DEFAULT_UNKNOWN_USER_ID, CaseBuilder, Users, sentinel_cases
from conformance.model import API_KEY_PLACEHOLDER, CheckResult, Exchange, key_probe_secrets
from conformance.options import DEFAULT_KEY_VARIABLE, DEFAULT_MAX_EXAMPLES, REFERENCE_TARGET, RunOptions
from conformance.profile import Profile, ProfileError, load_profile
from conformance.redact import Redactor
from conformance.sentinels import Sentinels
from conformance.transport import (
    RequestBudgetExceeded,
    TargetRefused,
    Transport,
    TransportSettings,
    endpoint_url,
)
from conformance.verdict import (
    EXIT_CASSETTE_MISS,
    EXIT_INTERRUPTED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    SCHEMA_VERSION,
    build_summary,
    write_json_atomic,
)

VERSION_HEADERS = ("x-api-version", "x-app-version", "x-version", "api-version")


class ConfigError(Exception):
    """The run cannot start or go on; one line naming the problem and the fix, and an exit code."""

    def __init__(self, message: str, *, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Session:
    """A Run with everything it was opened with, and the bookkeeping to end it."""

    options: RunOptions
    run: Run
    profile: Profile
    target_url: str
    seed: int
    book: CassetteBook | None = None
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    target_version: str | None = None
    summary: dict[str, Any] | None = None
    key_variable: str = DEFAULT_KEY_VARIABLE
    full_run: bool = True  # False under -k: a record run then keeps cassettes of tests it did not run

    @contextlib.contextmanager
    def test(self, nodeid: str) -> Iterator[Run]:
        """Run one conformance test: its own cassette (record/replay) and its attribution in the ledger."""
        with contextlib.ExitStack() as stack:
            if self.book is not None:
                cassette = stack.enter_context(self.book.use(nodeid))
                self.run.settle = cassette.settle
            stack.enter_context(self.run.test(nodeid))
            try:
                yield self.run
            finally:
                self.run.settle = None

    def on_exchange(
        self,
        exchange: Exchange,
        results: list[CheckResult],  # noqa: ARG002 - the Observer protocol
        *,
        evidence: dict[str, Any],  # noqa: ARG002
    ) -> None:
        """Observer: learn the target's version from a response header when it sends one."""
        if self.target_version is None:
            self.target_version = next((v for h in VERSION_HEADERS if (v := exchange.header(h))), None)

    def finish(self, *, error: str | None = None, error_code: int | None = None) -> dict[str, Any]:
        """Build and write summary.json (atomically); returns it."""
        aborted = self.run.aborted
        if error is None and aborted is not None and aborted.exit_code is not None:
            error, error_code = str(aborted), aborted.exit_code
        finished = dt.datetime.now(dt.UTC)
        cassettes: list[dict[str, str]] = []
        stale: list[dict[str, str]] = []
        unused: list[str] = []
        if self.book is not None:
            report = self.book.finish(prune_unused=self.full_run and self.options.record)
            cassettes = [{"path": str(c.path), "sha256": c.sha256} for c in report.cassettes]
            stale = [{"cassette": str(c.path), "request": r} for c in report.cassettes for r in c.stale]
            unused = [str(p) for p in report.unused]
        meta = {
            "target": self.target_url,
            "target_version": self.options.target_version or self.target_version,
            "mode": self.options.mode,
            "profile": self.profile.name,
            "seed": self.seed,
            "max_examples": self.run.max_examples,
            "suite_version": __version__,
            "suite_commit": suite_commit(),
            "started": self.started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "duration_s": round((finished - self.started).total_seconds(), 3),
            "cassettes": cassettes,
            "stale_interactions": stale,
            "unused_cassettes": unused,
            "throttled": self.run.throttled,
            "token_entropy": token_entropy_summary(self.run.context.tokens.ordered),
            "stopped_early": str(aborted) if aborted is not None and aborted.exit_code is None else None,
        }
        self.summary = build_summary(
            self.run,
            meta=meta,
            error=error,
            error_code=error_code,
            replay_command=f"conformance run --cassettes {self.options.cassettes}",
            key_variable=self.key_variable,
        )
        write_json_atomic(self.options.report_dir / "summary.json", self.summary)
        return self.summary

    def mark_started(self) -> None:
        """Write an incomplete summary.json first, so a run killed outright still leaves one."""
        write_json_atomic(
            self.options.report_dir / "summary.json",
            {
                "schema_version": SCHEMA_VERSION,
                "verdict": "error",
                "complete": False,
                "exit_code": EXIT_INTERRUPTED,
                "error": "run did not finish (interrupted or killed)",
                "target": self.target_url,
                "mode": self.options.mode,
                "seed": self.seed,
                "suite_version": __version__,
                "started": self.started.isoformat(timespec="seconds"),
                "requirements": [],
            },
        )


def suite_commit() -> str | None:
    """The git commit of the suite's checkout, when it runs from one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def preflight(url: str, *, timeout: float) -> None:
    """Exit 3 when nothing listens at the target at all (a target that answers badly is a finding)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    try:
        with socket.create_connection((host, port), timeout=min(timeout, 10.0)):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"target unreachable: cannot connect to {host}:{port} ({reason}); check --target and that the "
            "service is up",
            exit_code=EXIT_UNREACHABLE,
        ) from None


def _api_key(options: RunOptions) -> str:
    key = os.environ.get(options.api_key_env, "")
    if not key.strip():
        raise ConfigError(
            f"environment variable {options.api_key_env} is not set; export the API key there "
            "(or name another variable with --api-key-env)"
        )
    return key


def _validate(options: RunOptions) -> None:
    if options.record and options.target is None:
        raise ConfigError("--record needs --target (a URL or 'reference') to record from")
    if options.fault and options.target != REFERENCE_TARGET:
        raise ConfigError("--fault only applies to --target reference")
    if options.max_examples is not None and options.max_examples < 1:
        raise ConfigError("--max-examples must be at least 1")
    if options.timeout <= 0:
        raise ConfigError("--timeout must be a positive number of seconds")


@contextlib.contextmanager
def open_session(options: RunOptions) -> Iterator[Session]:
    """Resolve the options, start what the run needs (reference server, transport), yield the Session."""
    _validate(options)
    try:
        profile = load_profile(options.profile)
    except ProfileError as exc:
        raise ConfigError(str(exc)) from None
    with contextlib.ExitStack() as stack:
        book: CassetteBook | None = None
        users_default: Users | None = None
        seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**32)
        max_examples = options.max_examples or DEFAULT_MAX_EXAMPLES
        if options.target == REFERENCE_TARGET:
            from conformance.reference import (
                REFERENCE_API_KEY,
                REFERENCE_FOREIGN_USER_ID,
                REFERENCE_UNKNOWN_USER_ID,
                REFERENCE_USER_ID,
                ReferenceServer,
            )

            try:
                server = ReferenceServer(fault=options.fault)
            except ValueError as exc:
                raise ConfigError(f"{exc}; list them with `conformance faults`") from None
            stack.enter_context(server)
            target, api_key, label = server.url, REFERENCE_API_KEY, None
            users_default = Users(REFERENCE_USER_ID, REFERENCE_UNKNOWN_USER_ID, REFERENCE_FOREIGN_USER_ID)
        elif options.target is not None:
            target, api_key, label = options.target, _api_key(options), None
        else:
            try:
                book = CassetteBook(options.cassettes, mode="replay")
                header = book.header
            except CassetteError as exc:
                raise ConfigError(str(exc)) from None
            target, api_key, label = header.target, API_KEY_PLACEHOLDER, f"replay:{options.cassettes}"
            seed = header.seed
            max_examples = options.max_examples or header.max_examples
            users_default = Users(header.user_id, header.unknown_user_id, header.foreign_user_id)
        users = _users(options, users_default)
        settings = TransportSettings(
            timeout=options.timeout,
            max_body_bytes=options.max_body_bytes,
            rate=math.inf if book is not None else options.rate,  # replay talks to no server
            max_requests=options.max_requests,
            ca_bundle=options.ca_bundle,
            allow_http=options.allow_http,
            allow_production=options.allow_production,
            production_hosts=profile.production_hosts,
        )
        try:
            transport = stack.enter_context(
                Transport(target, api_key=api_key, settings=settings, passthrough=(CassetteError,))
            )
        except (TargetRefused, ValueError) as exc:
            raise ConfigError(str(exc)) from None
        if book is None:
            preflight(transport.url, timeout=options.timeout)
        if options.record:
            header = CassetteHeader(
                target=endpoint_url(target),
                suite_version=__version__,
                profile=profile.name,
                recorded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                seed=seed,
                max_examples=max_examples,
                user_id=users.user_id,
                unknown_user_id=users.unknown_user_id,
                foreign_user_id=users.foreign_user_id,
            )
            book = CassetteBook(options.cassettes, mode="record", header=header, api_key=api_key)
        run = Run(
            sender=transport,
            context=CheckContext(profile=profile, api_key=api_key, not_owned=users.not_owned),
            builder=CaseBuilder(users=users, profile=profile),
            redactor=Redactor(secrets=[api_key, *key_probe_secrets(api_key)]),
            max_examples=max_examples,
            seed=seed,
        )
        session = Session(
            options=options,
            run=run,
            profile=profile,
            target_url=label or transport.url,
            seed=seed,
            book=book,
            key_variable=options.api_key_env,
        )
        run.after_exchange = Sentinels(sentinel_cases(run.builder))
        run.parallel = book is None  # a cassette records and replays one exchange at a time
        if book is not None and not options.record:
            run.sleep = lambda _seconds: None  # replay: the recorded answers come without waiting
        run.observers.append(session)
        session.mark_started()
        run.abort_codes = {CassetteError: EXIT_CASSETTE_MISS, RequestBudgetExceeded: EXIT_USAGE}
        yield session


def _users(options: RunOptions, default: Users | None) -> Users:
    user_id = options.user_id if options.user_id is not None else (default.user_id if default else None)
    if user_id is None:
        raise ConfigError("--user-id is required with --target URL: a user the key may issue tokens for")
    unknown = options.unknown_user_id or (default.unknown_user_id if default else DEFAULT_UNKNOWN_USER_ID)
    foreign = options.foreign_user_id or (default.foreign_user_id if default else None)
    if len({user_id, unknown, foreign} - {None}) < len(
        [u for u in (user_id, unknown, foreign) if u is not None]
    ):
        raise ConfigError("--user-id, --foreign-user-id and --unknown-user-id must be three different users")
    return Users(user_id=user_id, unknown_user_id=unknown, foreign_user_id=foreign)
