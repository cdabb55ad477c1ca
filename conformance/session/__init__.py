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
import shlex
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
from conformance.cassettes.seal import NOT_SEALED
from conformance.checks import CheckContext
from conformance.core._thirdparty import ThirdPartyMismatch, check_installed
from conformance.core.entropy import token_entropy_summary
from conformance.core.files import SummaryUnreadable, load_summary
from conformance.core.model import API_KEY_PLACEHOLDER, CheckResult, Exchange
from conformance.core.options import (
    COMMAND_LINE,
    DEFAULT_KEY_VARIABLE,
    DEFAULT_MAX_DURATION_LOOPBACK,
    DEFAULT_MAX_DURATION_REMOTE,
    DEFAULT_MAX_EXAMPLES,
    REFERENCE_TARGET,
    RunOptions,
)
from conformance.core.printable import printable
from conformance.core.profile import Profile, ProfileError, load_profile
from conformance.core.version import __version__
from conformance.exchange.transport import (
    NetworkTransport,
    RequestBudgetExceeded,
    TargetRefused,
    Transport,
    TransportSettings,
    client_identities,
    endpoint_url,
    is_loopback,
)
from conformance.inputs import DEFAULT_UNKNOWN_USER_ID, INPUTS_VERSION, CaseBuilder, Users, sentinel_cases
from conformance.redaction.run_secrets import RunSecrets
from conformance.results.reportdir import ReportDirError, locked, set_aside_earlier_run
from conformance.results.sealing import sealer, verified_seal
from conformance.results.summary import (
    RunFacts,
    Setting,
    Summary,
    SummaryError,
    build_summary,
    read_summary,
    run_settings,
    write_summary,
)
from conformance.results.verdict import (
    EXIT_CASSETTE_MISS,
    EXIT_CONFORMANT,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_NON_CONFORMANT,
    EXIT_SUITE_ERROR,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    Coverage,
)
from conformance.results.waivers import WaiverError, WaiverSet, did_you_mean, load_waivers
from conformance.run.engine import Observer, Run, Sender
from conformance.run.misconfig import FirstAnswerGuard, TargetMisconfigured
from conformance.run.preflight import (
    AnswerWatch,
    ConfigurationRefused,
    Configured,
    TargetWentAway,
    check_configuration,
)
from conformance.run.rejudge import recorded_inputs
from conformance.run.sentinels import Sentinels

MAX_EXAMPLES_LIMIT = 100_000
# A recording replaces the old set only after a run that judged the target to the end (exit 6 included: a
# setup without a foreign user is incomplete every time); any other end leaves the old set as it was.
RECORDING_KEPT_EXITS = (EXIT_CONFORMANT, EXIT_NON_CONFORMANT, EXIT_INCOMPLETE)
MIN_SECONDS = 0.001
MAX_TIMEOUT = 3600.0
MIN_RATE = 0.001  # requests/second
MAX_THROTTLE_WAIT_LIMIT = 86_400.0
MAX_DURATION_LIMIT = 7 * 86_400.0
IN_PROGRESS = "run in progress, or it did not finish (interrupted or killed)"
VERSION_HEADERS = ("x-api-version", "x-app-version", "x-version", "api-version")
REFERENCE_REPLAY_URL = "http://127.0.0.1"  # replay of a reference recording: matched by path, never sent
QRCODE_IMAGE = "LT-QRCODE-IMAGE"
NOT_RECORDED_IMAGES = (
    "a recording holds no QR code image (images are fetched only in live runs, never recorded, replayed "
    "or compared with a recording): run live against the target, or declare it not applicable with the "
    "reason"
)


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
    summary: Summary | None = None  # the outcome: written by finish()
    key_variable: str = DEFAULT_KEY_VARIABLE
    keyword: str | None = None  # -k EXPR
    not_applicable: dict[str, str] = field(default_factory=dict)  # requirement ID -> the user's reason
    declared_by: dict[str, str] = field(default_factory=dict)  # requirement ID -> who declared it
    cannot_exercise: dict[str, str] = field(default_factory=dict)  # requirement ID -> why this run cannot
    settings: tuple[Setting, ...] = ()  # the options and profile settings that differ from the defaults
    # diff's live side: the recorded inputs of generated tests come from these cassettes (see rejudge).
    recorded_inputs: CassetteBook | None = None
    recording: dict[str, Any] | None = None  # replay: which recording this run judges (summary, sign-off)
    recording_complete: bool = False  # record: every test ran to its end (set by finish)
    waivers: WaiverSet | None = None  # --waivers / --fail-on new: accepted failures
    version: VersionWatch = field(default_factory=lambda: VersionWatch())
    preflight_notes: tuple[str, ...] = ()  # what the preflight noted on the configuration (no error)
    secrets: RunSecrets = field(default_factory=RunSecrets, repr=False)  # the run's (conformance.redaction)

    @property
    def full_run(self) -> bool:
        """False under -k: a record run then keeps the cassettes of the tests it did not run."""
        return self.keyword is None

    @property
    def target_version(self) -> str | None:
        """The version the target announced in a response header, if any."""
        return self.version.seen

    @contextlib.contextmanager
    def test(self, nodeid: str, *, observers: Sequence[Observer] = ()) -> Iterator[Run]:
        """Run one conformance test: its own cassette (record/replay), its attribution in the ledger, and
        ``observers`` (a reporter's, e.g. Allure's) watching its exchanges."""
        with contextlib.ExitStack() as stack:
            settle = None
            if self.book is not None:
                cassette = stack.enter_context(self.book.use(nodeid))
                settle = cassette.settle
                if self.book.mode == "record":  # an excerpted body keeps what the checks concluded of it
                    observers = [*observers, cassette]
            replaying = self.book is not None and self.book.mode == "replay"
            source = self.book if replaying else self.recorded_inputs
            recorded = None
            if source is not None:
                recorded = recorded_inputs(source, nodeid, self.run, map_users=not replaying)
            stack.enter_context(self.run.test(nodeid, settle=settle, recorded=recorded, observers=observers))
            if isinstance(self.run.after_exchange, Sentinels):
                self.run.after_exchange.begin(nodeid)
            yield self.run

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

    def finish(
        self,
        *,
        error: str | None = None,
        error_code: int | None = None,
        targets: Mapping[str, tuple[str, ...]] | None = None,
        deselected: Iterable[str] = (),
    ) -> Summary:
        """Build and write summary.json (atomically); returns it.

        ``targets`` (test nodeid -> requirement IDs) and ``deselected`` (nodeids -k left out) are what
        pytest collected; the front end passes them as the run ends.
        """
        aborted = self.run.aborted
        if error is None and aborted is not None and aborted.exit_code is not None:
            error, error_code = str(aborted), aborted.exit_code
        if error is None and self.run.check_crashes:  # the suite's defect decides: never the target's
            error, error_code = f"suite error: {self.run.check_crashes[0]}", EXIT_SUITE_ERROR
        finished = dt.datetime.now(dt.UTC)
        cassettes: list[dict[str, str]] = []
        stale: list[dict[str, str]] = []
        unused: list[str] = []
        if self.book is not None:
            # a recording that ended early replaces nothing (see keep_recording)
            self.recording_complete = error is None and aborted is None
            whole_set = self.full_run and self.options.record and not self.options.record_missing
            report = self.book.finish(prune_unused=whole_set)
            cassettes = [{"path": str(c.path), "sha256": c.sha256} for c in report.cassettes]
            stale = [{"cassette": str(c.path), "request": r} for c in report.cassettes for r in c.stale]
            unused = [str(p) for p in report.unused]
        stopped_early = str(aborted) if aborted is not None and aborted.exit_code is None else None
        facts = RunFacts(
            target=self.target_url,
            target_version=self.options.target_version or self._shown_target_version(),
            user_id=self.run.builder.users.user_id,
            foreign_user_id=self.run.builder.users.foreign_user_id,
            unknown_user_ids=self.run.builder.users.unknown_user_ids,
            mode=self.options.mode,
            profile=self.profile.name,
            seed=self.seed,
            max_examples=self.run.max_examples,
            suite_version=__version__,
            suite_commit=suite_commit(),
            started=self.started.isoformat(timespec="seconds"),
            finished=finished.isoformat(timespec="seconds"),
            duration_s=round((finished - self.started).total_seconds(), 3),
            cassettes=tuple(cassettes),
            stale_interactions=tuple(stale),
            unused_cassettes=tuple(unused),
            throttled=self.run.throttled,
            throttle_waited_s=round(self.run.throttle_waited, 3),
            user_agent=client_identities(self.options.user_agent)[0].user_agent,
            valid_key_in_query=self.run.builder.valid_key_in_query,
            token_entropy=token_entropy_summary(self.run.context.tokens.ordered),
            stopped_early=stopped_early,
            preflight_notes=self.preflight_notes,
            recording=self.recording,
            config_file=_shown_path(self.options.provenance.config_file),
            settings=self.settings,
        )
        self.summary = build_summary(
            self.run,
            facts=facts,
            error=error,
            error_code=error_code,
            replay_command=self.replay_command(),
            key_variable=self.key_variable,
            coverage=Coverage(
                targets=dict(targets or {}),
                deselected=frozenset(deselected),
                keyword=self.keyword,
                stopped=stopped_early,
                not_applicable=dict(self.not_applicable),
                declared_by=dict(self.declared_by),
                cannot_exercise=dict(self.cannot_exercise),
            ),
            waivers=self.waivers,
        )
        write_summary(self.options.report_dir / "summary.json", self.summary)
        return self.summary

    def keep_recording(self, summary: Summary) -> None:
        """Swap a recording in only when the run completed and its files passed the leak scan."""
        if self.book is None or not self.options.record:
            return
        if self.recording_complete and summary.exit_code in RECORDING_KEPT_EXITS:
            self.book.commit()
        self.book.discard()

    def replay_command(self) -> str:
        """How to replay this run's failures from its cassettes; "" when it has none (a live run)."""
        if self.book is None:
            return ""
        profile = f" --profile {shlex.quote(str(self.options.profile))}" if self.options.profile else ""
        return f"conformance run --cassettes {shlex.quote(str(self.options.cassettes))}{profile}"

    def _shown_target_version(self) -> str | None:
        seen = self.target_version
        return None if seen is None else printable(self.run.redactor.text(seen))

    def fail_writing(self, reason: str) -> Summary:
        """The run could not write its reports: an error summary naming why (exit 2), written if possible."""
        self.summary = _stub_summary(self.options, error=reason, exit_code=EXIT_USAGE)
        with contextlib.suppress(OSError):
            write_summary(self.options.report_dir / "summary.json", self.summary)
        return self.summary

    def mark_started(self) -> None:
        """Write an incomplete summary.json first, so a run killed outright still leaves one."""
        facts = RunFacts(
            target=self.target_url,
            mode=self.options.mode,
            seed=self.seed,
            suite_version=__version__,
            started=self.started.isoformat(timespec="seconds"),
        )
        write_summary(
            self.options.report_dir / "summary.json",
            Summary.stub_of(facts, error=IN_PROGRESS, exit_code=EXIT_INTERRUPTED),
        )


class VersionWatch:
    """Observer: the target's version, from the first response header that carries one."""

    def __init__(self) -> None:
        self.seen: str | None = None  # raw: redacted and made printable where it is shown

    def on_exchange(
        self,
        exchange: Exchange,
        results: list[CheckResult],  # noqa: ARG002 - the Observer protocol
        *,
        evidence: Callable[[], dict[str, Any]],  # noqa: ARG002
    ) -> None:
        """Keep the first version header seen."""
        if self.seen is None:
            self.seen = next((v for h in VERSION_HEADERS if (v := exchange.header(h))), None)


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


def _api_key(options: RunOptions, key: str) -> str:
    if not key.strip():
        raise ConfigError(
            f"environment variable {options.api_key_env} is not set; export the API key there "
            "(or name another variable with --api-key-env)"
        )
    return key


def _validate(options: RunOptions) -> None:
    if options.record and options.target is None:
        raise ConfigError("--record needs --target (a URL or 'reference') to record from")
    if options.sign_key_env is not None and not options.record:
        raise ConfigError("--sign-key-env seals a recording: add --record, or drop it")
    if options.public_key is not None and options.target is not None:
        raise ConfigError(
            "--public-key checks the seal of the cassettes a replay reads: drop --target, or it"
        )
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
        ("--max-duration", options.max_duration, MIN_SECONDS, MAX_DURATION_LIMIT),
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
    if options.baseline is not None:
        try:  # read now, not when the run ends: a FIFO, a device or a non-summary is refused up front
            load_summary(options.baseline, what="--baseline")
        except SummaryUnreadable as exc:
            raise ConfigError(f"{exc}; name a previous summary.json") from None
    if options.baseline is not None:
        try:  # before anything is sent: a malformed baseline is refused now, not after the run
            read_summary(options.baseline)
        except SummaryError as exc:
            raise ConfigError(f"--baseline {exc}") from None


def run_waivers(options: RunOptions) -> WaiverSet:
    """The run's waivers (--waivers, --fail-on new with --baseline); a ConfigError naming the problem."""
    try:
        return load_waivers(options.waivers, fail_on=options.fail_on, baseline=options.baseline)
    except WaiverError as exc:
        raise ConfigError(str(exc)) from None


def not_applicable_reasons(values: tuple[str, ...]) -> dict[str, str]:
    """--not-applicable ID=REASON values as {ID: reason}; a ConfigError for an unknown ID or no reason."""
    from conformance.core.contract import REQUIREMENTS_BY_ID

    reasons: dict[str, str] = {}
    for value in values:
        rid, _, reason = value.partition("=")
        rid, reason = rid.strip(), reason.strip().strip('"').strip()
        if rid not in REQUIREMENTS_BY_ID:
            hint = did_you_mean(rid, REQUIREMENTS_BY_ID)
            raise ConfigError(
                f"--not-applicable {value!r}: unknown requirement {rid!r}{hint}; "
                "list them with `conformance catalogue`"
            )
        if not reason:
            raise ConfigError(
                f'--not-applicable {value!r}: give the reason, as {rid}="why it does not apply"'
            )
        reasons[rid] = reason
    return reasons


def _shown_path(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _stub_summary(options: RunOptions, *, error: str, exit_code: int) -> Summary:
    """A summary.json that holds no verdict: a run in progress, or one that ended before it had one."""
    facts = RunFacts(
        target=options.target or f"replay:{options.cassettes}",
        mode=options.mode,
        suite_version=__version__,
        started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    return Summary.stub_of(facts, error=error, exit_code=exit_code)


@dataclass(frozen=True)
class LocalTarget:
    """An embedded target (the reference) that a front end resolved for --target reference.

    The core never imports the reference (ARCHITECTURE.md): the CLI, the plugin and the selftest pass
    this in, and the session starts it from the plan.
    """

    api_key: str
    users: Users
    # (fault name or None, serve real QR images) -> a context manager serving it, yielding its base URL;
    # a ValueError names an unknown fault.
    # serve(fault, serve_qrcodes): the target's URL while it runs (with real QR images when asked)
    serve: Callable[[str | None, bool], contextlib.AbstractContextManager[str]]


@dataclass(frozen=True)
class Found:
    """What resolving the options reads from outside them: files, the environment, the clock, entropy."""

    profile: Profile
    waivers: WaiverSet
    replay_header: CassetteHeader | None = None  # replay: the header of the --cassettes set
    adding_to: CassetteHeader | None = None  # --record-missing: the header of the set added to
    seal: str = ""  # replay: how the set's seal was checked (cassettes.seal)
    api_key: str = field(default="", repr=False)  # the value of --api-key-env's variable ("" when unset)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    fresh_seed: int = 0  # the seed when --seed is not given (and no recording fixes it)


@dataclass(frozen=True)
class SessionPlan:
    """Everything a session will be opened with, resolved from the options; no resource is open yet."""

    options: RunOptions
    profile: Profile
    seed: int
    max_examples: int
    target: str | None  # the URL to send to; None: the local target's, known once it is started
    label: str | None  # the summary's name for the target (replay:DIR); None: the URL sent to
    api_key: str = field(repr=False)
    users: Users
    settings: TransportSettings
    waivers: WaiverSet
    not_applicable: Mapping[str, str]
    recording: Mapping[str, Any] | None = None  # replay: the recording judged (see check_recording)
    local: LocalTarget | None = None
    keyword: str | None = None  # -k EXPR: a part of the suite
    inputs_from: Path | None = None  # diff's live side: generated inputs as recorded in these cassettes
    declared_by: Mapping[str, str] = field(default_factory=dict)  # requirement ID -> who declared it

    @property
    def fetches_qrcodes(self) -> bool:
        """QR code images are fetched (LT-QRCODE-IMAGE) in every live run not declaring it not applicable;
        but not in diff's live side, compared with a recording that holds no image."""
        live = self.options.mode == "live" and self.inputs_from is None
        return live and QRCODE_IMAGE not in self.not_applicable

    @property
    def cannot_exercise(self) -> dict[str, str]:
        """Requirement ID -> why this run cannot exercise it (a recording holds no QR image)."""
        if self.fetches_qrcodes or QRCODE_IMAGE in self.not_applicable:
            return {}
        return {QRCODE_IMAGE: NOT_RECORDED_IMAGES}

    @property
    def replay(self) -> bool:
        """True when the answers come from the cassettes (no target is contacted)."""
        return self.options.target is None

    @property
    def recorded_as(self) -> str:
        """The target a recording names: 'reference', or the endpoint URL."""
        if self.options.target == REFERENCE_TARGET or self.target is None:
            return REFERENCE_TARGET
        return endpoint_url(self.target)


def resolve(
    options: RunOptions,
    found: Found,
    *,
    local: LocalTarget | None = None,
    keyword: str | None = None,
    inputs_from: Path | None = None,
) -> SessionPlan:
    """The options resolved into a plan (pure: everything read from outside comes in ``found``).

    A ConfigError names any problem; nothing is started and no file is written.
    """
    options = checked(options)
    profile = found.profile
    seed = options.seed if options.seed is not None else found.fresh_seed
    max_examples = options.max_examples or DEFAULT_MAX_EXAMPLES
    if found.adding_to is not None:
        seed, max_examples = found.adding_to.seed, found.adding_to.max_examples
    recording: dict[str, Any] | None = None
    label: str | None = None
    users_default: Users | None = None
    target: str | None
    if options.target == REFERENCE_TARGET:
        if local is None:
            raise ConfigError("--target reference is not available here; give --target URL")
        target, api_key, users_default = None, local.api_key, local.users
    elif options.target is not None:
        target, api_key = options.target, _api_key(options, found.api_key)
        try:
            endpoint_url(target)
        except TargetRefused as exc:
            raise ConfigError(str(exc)) from None
    else:
        header = found.replay_header
        if header is None:
            raise ConfigError(f"no recording found in {options.cassettes}")
        # A recording of the embedded reference names it, not the loopback port it happened to use.
        target = REFERENCE_REPLAY_URL if header.target == REFERENCE_TARGET else header.target
        api_key, label = API_KEY_PLACEHOLDER, f"replay:{options.cassettes}"
        recording = check_recording(
            header, options=options, profile=profile.name, now=found.now, seal=found.seal
        )
        seed, max_examples = header.seed, header.max_examples
        users_default = Users(
            header.user_id, header.unknown_user_id, header.foreign_user_id, header.more_unknown_user_ids
        )
    users = _users(options, users_default, recorded=options.target is None)
    declared = declarations(options, found.waivers)
    settings = TransportSettings(
        timeout=options.timeout,
        max_body_bytes=options.max_body_bytes,
        rate=math.inf if options.target is None else options.rate,  # replay talks to no server
        max_requests=options.max_requests,
        ca_bundle=options.ca_bundle,
        allow_http=options.allow_http,
        allow_production=options.allow_production,
        production_hosts=profile.production_hosts,
    )
    plan = SessionPlan(
        options=options,
        profile=profile,
        seed=seed,
        max_examples=max_examples,
        target=target,
        label=label,
        api_key=api_key,
        users=users,
        settings=settings,
        waivers=found.waivers,
        not_applicable={rid: reason for rid, (reason, _) in declared.items()},
        declared_by={rid: by for rid, (_, by) in declared.items()},
        recording=recording,
        local=local if options.target == REFERENCE_TARGET else None,
        keyword=keyword,
        inputs_from=inputs_from,
    )
    if found.adding_to is not None:
        _check_adding_to(found.adding_to, options=options, users=users, profile=profile.name, plan=plan)
    return plan


def declarations(options: RunOptions, waivers: WaiverSet) -> dict[str, tuple[str, str]]:
    """Requirement ID -> (reason, who declared it) for each requirement the user declared not applicable."""
    by = options.provenance.source("not_applicable")
    in_waivers = f"waivers file {options.waivers}"
    declared = {
        **{rid: (reason, in_waivers) for rid, reason in waivers.not_applicable().items()},
        **{
            rid: (reason, "--not-applicable" if by == COMMAND_LINE else by)
            for rid, reason in not_applicable_reasons(options.not_applicable).items()
        },
    }
    if options.fetch_qrcode and QRCODE_IMAGE in declared:
        raise ConfigError(
            f"--fetch-qrcode judges {QRCODE_IMAGE}, which {declared[QRCODE_IMAGE][1]} declares not "
            "applicable; drop one of the two"
        )
    return declared


def _keyed(options: RunOptions) -> bool:
    """A live target given by URL: the only kind of run that reads the key from the environment."""
    return options.target not in (None, REFERENCE_TARGET)


def checked(options: RunOptions) -> RunOptions:
    """The options normalised (--record-missing records) and validated; a ConfigError names a bad one."""
    if options.record_missing:
        options = dataclasses.replace(options, record=True)
    _validate(options)
    return options


def find(options: RunOptions) -> Found:
    """Read what resolving needs from outside the options: the profile, waivers, cassette headers."""
    waivers = run_waivers(options)
    try:
        check_installed()
    except ThirdPartyMismatch as exc:
        raise ConfigError(str(exc)) from None
    try:
        profile = load_profile(options.profile)
    except ProfileError as exc:
        raise ConfigError(str(exc)) from None
    replay_header: CassetteHeader | None = None
    seal = ""
    if options.target is None:
        try:
            book = _replay_book(options)
            replay_header, seal = book.header, book.seal_status
        except CassetteError as exc:
            raise ConfigError(str(exc)) from None
    return Found(
        profile=profile,
        waivers=waivers,
        replay_header=replay_header,
        seal=seal,
        adding_to=_set_to_add_to(options),
        api_key=os.environ.get(options.api_key_env, "")
        if options.target not in (None, REFERENCE_TARGET)
        else "",
        fresh_seed=random.SystemRandom().randrange(2**32),
    )


@contextlib.contextmanager
def open_session(
    options: RunOptions,
    *,
    local: LocalTarget | None = None,
    keyword: str | None = None,
    inputs_from: Path | None = None,
) -> Iterator[Session]:
    """Claim the report directory, then open the session; a ConfigError leaves its own error summary.

    Before anything else: the directory's lock (a second run is refused), the earlier run's files moved to
    previous/, and an "in progress" summary.json; so whatever ends this run, no earlier verdict is shown.
    ``local`` serves --target reference (the front ends pass conformance.frontends.local.reference_target()).
    """
    summary_path = options.report_dir / "summary.json"
    with contextlib.ExitStack() as claim:
        try:
            claim.enter_context(locked(options.report_dir))
        except ReportDirError as exc:  # another run's directory, or none usable: nothing of it is touched
            raise ConfigError(str(exc)) from None
        try:
            try:
                set_aside_earlier_run(options.report_dir)
                write_summary(
                    summary_path, _stub_summary(options, error=IN_PROGRESS, exit_code=EXIT_INTERRUPTED)
                )
            except (ReportDirError, OSError) as exc:
                raise ConfigError(str(exc)) from None
            found = find(checked(options))  # the options' own mistakes first, before any file is read
            plan = resolve(options, found, local=local, keyword=keyword, inputs_from=inputs_from)
            with start(plan) as session:
                yield session
        except ConfigError as exc:
            with contextlib.suppress(OSError):
                write_summary(summary_path, _stub_summary(options, error=str(exc), exit_code=exc.exit_code))
            raise


def refuse_run(report_dir: Path, error: ConfigError) -> None:
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
            report_dir / "summary.json", _stub_summary(options, error=str(error), exit_code=error.exit_code)
        )


@contextlib.contextmanager
def start(plan: SessionPlan) -> Iterator[Session]:
    """Open what the plan needs (local target, transport, cassettes), build the Run and the Session."""
    options = plan.options
    with contextlib.ExitStack() as stack:
        target = plan.target
        if plan.local is not None:
            try:
                target = stack.enter_context(plan.local.serve(options.fault, plan.fetches_qrcodes))
            except ValueError as exc:
                raise ConfigError(f"{exc}; list them with `conformance faults`") from None
        assert target is not None
        secrets = RunSecrets(plan.api_key)  # the run's secrets: one object, passed wherever they are needed
        book: CassetteBook | None = None
        try:
            if plan.replay:
                book = _replay_book(options)
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
        except (TargetRefused, CassetteError, ValueError) as exc:
            raise ConfigError(str(exc)) from None
        live = not plan.replay
        sender = AnswerWatch(FirstAnswerGuard(transport)) if live else transport
        notes: tuple[str, ...] = ()
        if live:
            preflight(transport.url, timeout=options.timeout)
            notes = _check_configuration(plan, sender, secrets)
        recorded_inputs: CassetteBook | None = None
        if plan.inputs_from is not None:
            recorded_inputs = CassetteBook(plan.inputs_from, mode="replay")
        builder = CaseBuilder(
            users=plan.users,
            profile=plan.profile,
            valid_key_in_query=transport.key_in_query,
            loopback=is_loopback(transport.host),
        )
        version = VersionWatch()
        run = Run(
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


def _check_configuration(plan: SessionPlan, sender: Sender, secrets: RunSecrets) -> tuple[str, ...]:
    """The preflight (conformance.run.preflight): a wrong key or user is exit 2 before the run explores; its
    notes on the configuration."""
    options = plan.options
    try:
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
    except ConfigurationRefused as exc:
        raise ConfigError(str(exc)) from None
    except (TargetMisconfigured, TargetWentAway) as exc:
        raise ConfigError(str(exc), exit_code=EXIT_UNREACHABLE) from None
    except RequestBudgetExceeded as exc:
        raise ConfigError(str(exc)) from None


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


def _replay_book(options: RunOptions) -> CassetteBook:
    """The cassettes a replay reads; with --public-key, only the bytes of a set whose seal verifies."""
    sealed = None if options.public_key is None else verified_seal(options.cassettes, options.public_key)
    return CassetteBook(options.cassettes, mode="replay", sealed=sealed)


def check_recording(
    header: CassetteHeader,
    *,
    options: RunOptions,
    profile: str,
    now: dt.datetime | None = None,
    seal: str = NOT_SEALED,
) -> dict[str, Any]:
    """Replay: the options must agree with the recording (else exit 2); its age, checked (see agreement)."""
    mismatches = option_mismatches(header, options=options, profile=profile, suite_version=__version__)
    if mismatches:
        raise ConfigError(mismatch_message(header, mismatches, options=options))
    if options.max_cassette_age < 0:
        raise ConfigError("--max-cassette-age must be a number of days, 0 or more")
    now = dt.datetime.now(dt.UTC) if now is None else now
    facts = recording_facts(header, now=now, max_age_days=options.max_cassette_age, seal=seal)
    if facts["too_old"] and options.strict_cassette_age:
        raise ConfigError(age_message(facts))
    return facts


def _set_to_add_to(options: RunOptions) -> CassetteHeader | None:
    try:
        return set_to_add_to(options)
    except CassetteError as exc:
        raise ConfigError(str(exc)) from None


def _check_adding_to(
    header: CassetteHeader, *, options: RunOptions, users: Users, profile: str, plan: SessionPlan
) -> None:
    problems = adding_problems(header, options=options, users=users, profile=profile, target=plan.recorded_as)
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
