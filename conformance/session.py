"""A session: RunOptions resolved into a live Run (target, key, users, transport, cassettes) and its ending.

Both front ends (CLI and pytest plugin) open sessions here; every configuration problem becomes a
ConfigError with a one-line message and the exit code it deserves.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from conformance._thirdparty import ThirdPartyMismatch, check_installed
from conformance.cassettes import CassetteBook, CassetteError, CassetteHeader
from conformance.cassettes.agreement import (
    adding_problems,
    age_message,
    mismatch_message,
    option_mismatches,
    partial_recording_problem,
    recording_facts,
    set_to_add_to,
)
from conformance.checks import CheckContext
from conformance.engine import Run
from conformance.entropy import token_entropy_summary
from conformance.inputs import DEFAULT_UNKNOWN_USER_ID, CaseBuilder, Users, sentinel_cases
from conformance.misconfig import FirstAnswerGuard, TargetMisconfigured
from conformance.model import API_KEY_PLACEHOLDER, CheckResult, Exchange, key_probe_secrets
from conformance.options import DEFAULT_KEY_VARIABLE, DEFAULT_MAX_EXAMPLES, REFERENCE_TARGET, RunOptions
from conformance.printable import printable
from conformance.profile import Profile, ProfileError, load_profile
from conformance.redact import Redactor
from conformance.rejudge import recorded_inputs
from conformance.reportdir import ReportDirError, locked, set_aside_earlier_run
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
    Coverage,
    build_summary,
    write_json_atomic,
)
from conformance.waivers import WaiverError, WaiverSet, load_waivers

MAX_EXAMPLES_LIMIT = 100_000
MIN_SECONDS = 0.001
MAX_TIMEOUT = 3600.0
MIN_RATE = 0.001  # requests/second
MAX_THROTTLE_WAIT_LIMIT = 86_400.0
IN_PROGRESS = "run in progress, or it did not finish (interrupted or killed)"
VERSION_HEADERS = ("x-api-version", "x-app-version", "x-version", "api-version")
REFERENCE_REPLAY_URL = "http://127.0.0.1"  # replay of a reference recording: matched by path, never sent


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
    keyword: str | None = None  # -k EXPR
    targets: dict[str, tuple[str, ...]] = field(default_factory=dict)  # test nodeid -> requirement IDs
    deselected: set[str] = field(default_factory=set)  # nodeids -k left out
    not_applicable: dict[str, str] = field(default_factory=dict)  # requirement ID -> the user's reason
    # diff's live side: the recorded inputs of generated tests come from these cassettes (see rejudge).
    recorded_inputs: CassetteBook | None = None
    recording: dict[str, Any] | None = None  # replay: which recording this run judges (summary, sign-off)
    waivers: WaiverSet | None = None  # --waivers / --fail-on new: accepted failures

    @contextlib.contextmanager
    def test(self, nodeid: str) -> Iterator[Run]:
        """Run one conformance test: its own cassette (record/replay) and its attribution in the ledger."""
        with contextlib.ExitStack() as stack:
            if self.book is not None:
                cassette = stack.enter_context(self.book.use(nodeid))
                self.run.settle = cassette.settle
            replaying = self.book is not None and self.book.mode == "replay"
            source = self.book if replaying else self.recorded_inputs
            if source is not None:
                self.run.recorded = recorded_inputs(source, nodeid, self.run)
            stack.enter_context(self.run.test(nodeid))
            if isinstance(self.run.after_exchange, Sentinels):
                self.run.after_exchange.begin(nodeid)
            try:
                yield self.run
            finally:
                self.run.settle = None
                self.run.recorded = None

    def check_partial_recording(self) -> None:
        """A recording of some tests (-k) into a directory holding a recorded set would mix two sets."""
        if self.book is None or not self.options.record or self.full_run or self.options.record_missing:
            return
        problem = partial_recording_problem(self.book.directory, self.book.existing_set())
        if problem:
            raise ConfigError(problem)

    def already_recorded(self, nodeid: str) -> bool:
        """--record-missing: this test's cassette is in the set already, so the test is not run."""
        return self.options.record_missing and self.book is not None and self.book.path_for(nodeid).exists()

    def on_exchange(
        self,
        exchange: Exchange,
        results: list[CheckResult],  # noqa: ARG002 - the Observer protocol
        *,
        evidence: dict[str, Any],  # noqa: ARG002
    ) -> None:
        """Observer: learn the target's version from a response header when it sends one."""
        if self.target_version is None:
            version = next((v for h in VERSION_HEADERS if (v := exchange.header(h))), None)
            self.target_version = None if version is None else printable(self.run.redactor.text(version))

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
            whole = error is None and aborted is None  # a recording that ended early replaces nothing
            whole_set = self.full_run and self.options.record and not self.options.record_missing
            report = self.book.finish(prune_unused=whole_set, commit=whole)
            cassettes = [{"path": str(c.path), "sha256": c.sha256} for c in report.cassettes]
            stale = [{"cassette": str(c.path), "request": r} for c in report.cassettes for r in c.stale]
            unused = [str(p) for p in report.unused]
        stopped_early = str(aborted) if aborted is not None and aborted.exit_code is None else None
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
            "throttle_waited_s": round(self.run.throttle_waited, 3),
            "token_entropy": token_entropy_summary(self.run.context.tokens.ordered),
            "stopped_early": stopped_early,
            "recording": self.recording,
            "users": users_summary(self.run.builder.users),
        }
        self.summary = build_summary(
            self.run,
            meta=meta,
            error=error,
            error_code=error_code,
            replay_command=f"conformance run --cassettes {self.options.cassettes}",
            key_variable=self.key_variable,
            coverage=Coverage(
                targets=dict(self.targets),
                deselected=frozenset(self.deselected),
                keyword=self.keyword,
                stopped=stopped_early,
                not_applicable=dict(self.not_applicable),
            ),
            waivers=self.waivers,
        )
        write_json_atomic(self.options.report_dir / "summary.json", self.summary)
        return self.summary

    def fail_writing(self, reason: str) -> dict[str, Any]:
        """The run could not write its reports: an error summary naming why (exit 2), written if possible."""
        self.summary = _stub_summary(self.options, error=reason, exit_code=EXIT_USAGE)
        with contextlib.suppress(OSError):
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
                "error": IN_PROGRESS,
                "target": self.target_url,
                "mode": self.options.mode,
                "seed": self.seed,
                "suite_version": __version__,
                "started": self.started.isoformat(timespec="seconds"),
                "requirements": [],
            },
        )


def users_summary(users: Users) -> dict[str, Any]:
    """The summary's ``users``: who the run asked for (every unknown user, in order)."""
    return {
        "user_id": users.user_id,
        "foreign_user_id": users.foreign_user_id,
        "unknown_user_ids": list(users.unknown_user_ids),
    }


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
    if options.fetch_qrcode and (options.target is None or options.mode == "record"):
        # The image and its payload may carry the token, which a cassette may hold only as a stand-in.
        raise ConfigError(
            "--fetch-qrcode judges images live and is never recorded or replayed; "
            "drop --record/--record-missing, or run live with --target"
        )
    for name, value, low, high in (
        ("--max-examples", options.max_examples, 1, MAX_EXAMPLES_LIMIT),
        ("--timeout", options.timeout, MIN_SECONDS, MAX_TIMEOUT),
        ("--rate", options.rate, MIN_RATE, math.inf),
        ("--max-requests", options.max_requests, 1, math.inf),
        ("--max-body-bytes", options.max_body_bytes, 1, math.inf),
        ("--max-throttle-wait", options.max_throttle_wait, 0, MAX_THROTTLE_WAIT_LIMIT),
        ("--seed", options.seed, 0, 2**64 - 1),
    ):
        if value is None:
            continue
        if not math.isfinite(value) or not low <= value <= high:
            top = "" if math.isinf(high) else f" and at most {high:g}"
            raise ConfigError(f"{name} must be a finite number of at least {low:g}{top}, not {value}")
    for name, user in (
        ("--user-id", options.user_id),
        ("--foreign-user-id", options.foreign_user_id),
        *(("--unknown-user-id", unknown) for unknown in options.unknown_user_id),
    ):
        if user is not None and not 0 <= user < 2**63:
            raise ConfigError(f"{name} must be a user ID from 0 to {2**63 - 1}, not {user}")
    not_applicable_reasons(options.not_applicable)
    if options.baseline is not None and not options.baseline.is_file():
        raise ConfigError(f"--baseline {options.baseline} is not a file; name a previous summary.json")


def run_waivers(options: RunOptions) -> WaiverSet:
    """The run's waivers (--waivers, --fail-on new with --baseline); a ConfigError naming the problem."""
    try:
        return load_waivers(options.waivers, fail_on=options.fail_on, baseline=options.baseline)
    except WaiverError as exc:
        raise ConfigError(str(exc)) from None


def not_applicable_reasons(values: tuple[str, ...]) -> dict[str, str]:
    """--not-applicable ID=REASON values as {ID: reason}; a ConfigError for an unknown ID or no reason."""
    from conformance.contract import REQUIREMENTS_BY_ID

    reasons: dict[str, str] = {}
    for value in values:
        rid, _, reason = value.partition("=")
        rid, reason = rid.strip(), reason.strip().strip('"').strip()
        if rid not in REQUIREMENTS_BY_ID:
            raise ConfigError(
                f"--not-applicable {value!r}: unknown requirement {rid!r}; "
                "list them with `conformance catalogue`"
            )
        if not reason:
            raise ConfigError(
                f'--not-applicable {value!r}: give the reason, as {rid}="why it does not apply"'
            )
        reasons[rid] = reason
    return reasons


def _stub_summary(options: RunOptions, *, error: str, exit_code: int) -> dict[str, Any]:
    """A summary.json that holds no verdict: a run in progress, or one that ended before it had one."""
    return {
        "schema_version": SCHEMA_VERSION,
        "verdict": "error",
        "complete": False,
        "exit_code": exit_code,
        "error": error,
        "target": options.target or f"replay:{options.cassettes}",
        "mode": options.mode,
        "suite_version": __version__,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "requirements": [],
    }


@contextlib.contextmanager
def open_session(options: RunOptions) -> Iterator[Session]:
    """Claim the report directory, then open the session; a ConfigError leaves its own error summary.

    Before anything else: the directory's lock (a second run is refused), the earlier run's files moved to
    previous/, and an "in progress" summary.json; so whatever ends this run, no earlier verdict is shown.
    """
    summary_path = options.report_dir / "summary.json"
    with contextlib.ExitStack() as claim:
        try:
            claim.enter_context(locked(options.report_dir))
            set_aside_earlier_run(options.report_dir)
        except ReportDirError as exc:
            raise ConfigError(str(exc)) from None
        try:
            write_json_atomic(
                summary_path, _stub_summary(options, error=IN_PROGRESS, exit_code=EXIT_INTERRUPTED)
            )
        except OSError as exc:
            raise ConfigError(str(exc)) from None
        try:
            with _open_session(options) as session:
                yield session
        except ConfigError as exc:
            with contextlib.suppress(OSError):
                write_json_atomic(
                    summary_path, _stub_summary(options, error=str(exc), exit_code=exc.exit_code)
                )
            raise


@contextlib.contextmanager
def _open_session(options: RunOptions) -> Iterator[Session]:
    """Resolve the options, start what the run needs (reference server, transport), yield the Session."""
    if options.record_missing:
        options = dataclasses.replace(options, record=True)
    _validate(options)
    waivers = run_waivers(options)
    try:
        check_installed()
    except ThirdPartyMismatch as exc:
        raise ConfigError(str(exc)) from None
    try:
        profile = load_profile(options.profile)
    except ProfileError as exc:
        raise ConfigError(str(exc)) from None
    with contextlib.ExitStack() as stack:
        book: CassetteBook | None = None
        recording: dict[str, Any] | None = None
        users_default: Users | None = None
        seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**32)
        max_examples = options.max_examples or DEFAULT_MAX_EXAMPLES
        adding_to = _set_to_add_to(options)  # --record-missing: the recorded set's header
        if adding_to is not None:
            seed, max_examples = adding_to.seed, adding_to.max_examples
        if options.target == REFERENCE_TARGET:
            from conformance.reference import (
                REFERENCE_API_KEY,
                REFERENCE_FOREIGN_USER_ID,
                REFERENCE_UNKNOWN_USER_ID,
                REFERENCE_USER_ID,
                ReferenceServer,
            )

            try:
                server = ReferenceServer(fault=options.fault, serve_qrcodes=options.fetch_qrcode)
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
            # A recording of the embedded reference names it, not the loopback port it happened to use.
            replay_url = REFERENCE_REPLAY_URL if header.target == REFERENCE_TARGET else header.target
            target, api_key, label = replay_url, API_KEY_PLACEHOLDER, f"replay:{options.cassettes}"
            recording = check_recording(header, options=options, profile=profile.name)
            seed = header.seed
            max_examples = header.max_examples
            users_default = Users(
                header.user_id, header.unknown_user_id, header.foreign_user_id, header.more_unknown_user_ids
            )
        users = _users(options, users_default, recorded=book is not None)
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
        if adding_to is not None:
            _check_adding_to(adding_to, options=options, users=users, profile=profile.name, target=target)
        if options.record:
            header = CassetteHeader(
                target=REFERENCE_TARGET if options.target == REFERENCE_TARGET else endpoint_url(target),
                suite_version=__version__,
                profile=profile.name,
                recorded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                seed=seed,
                max_examples=max_examples,
                user_id=users.user_id,
                unknown_user_id=users.unknown_user_id,
                foreign_user_id=users.foreign_user_id,
                more_unknown_user_ids=users.more_unknown_user_ids,
            )
            book = CassetteBook(options.cassettes, mode="record", header=header, api_key=api_key)
        live = book is None or options.record
        run = Run(
            sender=FirstAnswerGuard(transport) if live else transport,
            context=CheckContext(
                profile=profile,
                api_key=api_key,
                not_owned=users.not_owned,
                **_qrcode_fetching(options, settings, api_key=api_key, target=target, stack=stack),
            ),
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
            not_applicable={
                **qrcode_not_applicable(options),
                **waivers.not_applicable(),
                **not_applicable_reasons(options.not_applicable),
            },
            recording=recording,
            waivers=waivers,
        )
        run.after_exchange = Sentinels(sentinel_cases(run.builder))
        run.parallel = book is None  # a cassette records and replays one exchange at a time
        if book is not None and not options.record:
            run.sleep = lambda _seconds: None  # replay: the recorded answers come without waiting
        run.throttle_budget = options.max_throttle_wait
        run.observers.append(session)
        session.mark_started()
        run.abort_codes = {
            CassetteError: EXIT_CASSETTE_MISS,
            RequestBudgetExceeded: EXIT_USAGE,
            TargetMisconfigured: EXIT_UNREACHABLE,
        }
        yield session


def qrcode_not_applicable(options: RunOptions) -> dict[str, str]:
    """LT-QRCODE-IMAGE is exercised only when the images are fetched; otherwise it is said so."""
    if options.fetch_qrcode:
        return {}
    return {"LT-QRCODE-IMAGE": "the QR code images were not fetched (pass --fetch-qrcode to judge them)"}


def _qrcode_fetching(
    options: RunOptions,
    settings: TransportSettings,
    *,
    api_key: str,
    target: str,
    stack: contextlib.ExitStack,
) -> dict[str, Any]:
    """The CheckContext fields of --fetch-qrcode: the fetcher, and the reference's own http image host."""
    if not options.fetch_qrcode:
        return {}
    from conformance.qrfetch import QrFetcher

    fetcher = QrFetcher(api_key=api_key, settings=settings)
    stack.callback(fetcher.close)
    # The embedded reference has no TLS: its QR images are served over http from its loopback address.
    own = frozenset({urlsplit(target).hostname or ""}) if options.target == REFERENCE_TARGET else frozenset()
    return {"qrcode_fetcher": fetcher, "qrcode_http_hosts": own}


def check_recording(header: CassetteHeader, *, options: RunOptions, profile: str) -> dict[str, Any]:
    """Replay: the options must agree with the recording (else exit 2); its age, checked (see agreement)."""
    mismatches = option_mismatches(header, options=options, profile=profile, suite_version=__version__)
    if mismatches:
        raise ConfigError(mismatch_message(header, mismatches))
    if options.max_cassette_age < 0:
        raise ConfigError("--max-cassette-age must be a number of days, 0 or more")
    facts = recording_facts(header, now=dt.datetime.now(dt.UTC), max_age_days=options.max_cassette_age)
    if facts["too_old"] and options.strict_cassette_age:
        raise ConfigError(age_message(facts))
    return facts


def _set_to_add_to(options: RunOptions) -> CassetteHeader | None:
    try:
        return set_to_add_to(options)
    except CassetteError as exc:
        raise ConfigError(str(exc)) from None


def _check_adding_to(
    header: CassetteHeader, *, options: RunOptions, users: Users, profile: str, target: str
) -> None:
    recorded_as = REFERENCE_TARGET if options.target == REFERENCE_TARGET else endpoint_url(target)
    problems = adding_problems(header, options=options, users=users, profile=profile, target=recorded_as)
    if problems:
        raise ConfigError(
            f"--record-missing cannot add to {options.cassettes}: {'; '.join(problems)}; "
            "record the whole set again with --record instead"
        )


def _users(options: RunOptions, default: Users | None, *, recorded: bool = False) -> Users:
    user_id = options.user_id if options.user_id is not None else (default.user_id if default else None)
    if user_id is None:
        raise ConfigError("--user-id is required with --target URL: a user the key may issue tokens for")
    unknown = options.unknown_user_id or (default.unknown_user_ids if default else (DEFAULT_UNKNOWN_USER_ID,))
    # The reference's default foreign user belongs with its default user: a user given on the command
    # line without --foreign-user-id means no user outside the key's scope is known (LT-AUTH-USER-SCOPE
    # not exercised). A replay's users are the recording's: an option not given takes the recorded value.
    foreign = options.foreign_user_id
    if foreign is None and (options.user_id is None or recorded) and default is not None:
        foreign = default.foreign_user_id
    named = [u for u in (user_id, *unknown, foreign) if u is not None]
    if len(set(named)) < len(named):
        raise ConfigError("--user-id, --foreign-user-id and each --unknown-user-id must be different users")
    return Users(
        user_id=user_id,
        unknown_user_id=unknown[0],
        foreign_user_id=foreign,
        more_unknown_user_ids=unknown[1:],
    )
