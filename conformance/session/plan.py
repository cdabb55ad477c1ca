"""The pure half of a session: RunOptions resolved into a frozen SessionPlan (validated, users chosen).

Nothing here opens, reads or sends: what resolving needs from outside the options (files, the environment,
the clock, entropy) comes in a ``Found`` (conformance.session.found.find reads it). Every problem is a
ConformanceError (a ConfigError, or a TargetRefused for the URL) with a one-line message naming the fix.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.cassettes import CassetteHeader
from conformance.cassettes.agreement import (
    adding_problems,
    age_message,
    mismatch_message,
    option_mismatches,
    recording_facts,
)
from conformance.cassettes.seal import NOT_SEALED
from conformance.core.errors import ConfigError
from conformance.core.model import API_KEY_PLACEHOLDER
from conformance.core.options import COMMAND_LINE, DEFAULT_MAX_EXAMPLES, REFERENCE_TARGET, RunOptions
from conformance.core.profile import Profile
from conformance.core.version import __version__
from conformance.exchange.transport import TransportSettings, endpoint_url
from conformance.inputs import DEFAULT_UNKNOWN_USER_ID, Users
from conformance.results.waivers import WaiverSet, did_you_mean

MAX_EXAMPLES_LIMIT = 100_000
MIN_SECONDS = 0.001
MAX_TIMEOUT = 3600.0
MIN_RATE = 0.001  # requests/second
MAX_THROTTLE_WAIT_LIMIT = 86_400.0
MAX_DURATION_LIMIT = 7 * 86_400.0
REFERENCE_REPLAY_URL = "http://127.0.0.1"  # replay of a reference recording: matched by path, never sent
QRCODE_IMAGE = "LT-QRCODE-IMAGE"
NOT_RECORDED_IMAGES = (
    "a recording holds no QR code image (images are fetched only in live runs, never recorded, replayed "
    "or compared with a recording): run live against the target, or declare it not applicable with the "
    "reason"
)


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

    A ConformanceError names any problem; nothing is started and no file is written.
    """
    options = checked(options)
    profile = found.profile
    aim = _aim(options, found, local=local)
    users = _users(options, aim.users, recorded=options.target is None)
    declared = declarations(options, found.waivers)
    seed, max_examples = aim.seed, aim.max_examples
    if found.adding_to is not None:
        seed, max_examples = found.adding_to.seed, found.adding_to.max_examples
    plan = SessionPlan(
        options=options,
        profile=profile,
        seed=seed,
        max_examples=max_examples,
        target=aim.url,
        label=aim.label,
        api_key=aim.api_key,
        users=users,
        settings=_transport_settings(options, profile),
        waivers=found.waivers,
        not_applicable={rid: reason for rid, (reason, _) in declared.items()},
        declared_by={rid: by for rid, (_, by) in declared.items()},
        recording=aim.recording,
        local=local if options.target == REFERENCE_TARGET else None,
        keyword=keyword,
        inputs_from=inputs_from,
    )
    if found.adding_to is not None:
        _check_adding_to(found.adding_to, options=options, users=users, profile=profile.name, plan=plan)
    return plan


@dataclass(frozen=True)
class _Aim:
    """What a run is aimed at: the target (or the recording replayed), and what it fixes."""

    url: str | None  # None: the local target's, known once it is started
    api_key: str = field(repr=False)
    seed: int
    max_examples: int
    label: str | None = None  # replay:DIR
    users: Users | None = None  # the default users: the local target's, or the recording's
    recording: dict[str, Any] | None = None  # replay: the recording judged (see check_recording)


def _aim(options: RunOptions, found: Found, *, local: LocalTarget | None) -> _Aim:
    """--target reference, --target URL, or a replay of the --cassettes recording."""
    seed = options.seed if options.seed is not None else found.fresh_seed
    max_examples = options.max_examples or DEFAULT_MAX_EXAMPLES
    if options.target == REFERENCE_TARGET:
        if local is None:
            raise ConfigError("--target reference is not available here; give --target URL")
        return _Aim(None, local.api_key, seed, max_examples, users=local.users)
    if options.target is not None:
        api_key = _api_key(options, found.api_key)
        endpoint_url(options.target)  # a TargetRefused names a URL the rails refuse
        return _Aim(options.target, api_key, seed, max_examples)
    header = found.replay_header
    if header is None:
        raise ConfigError(f"no recording found in {options.cassettes}")
    recording = check_recording(
        header, options=options, profile=found.profile.name, now=found.now, seal=found.seal
    )
    return _Aim(
        # A recording of the embedded reference names it, not the loopback port it happened to use.
        REFERENCE_REPLAY_URL if header.target == REFERENCE_TARGET else header.target,
        API_KEY_PLACEHOLDER,
        header.seed,
        header.max_examples,
        label=f"replay:{options.cassettes}",
        users=Users(
            header.user_id, header.unknown_user_id, header.foreign_user_id, header.more_unknown_user_ids
        ),
        recording=recording,
    )


def _transport_settings(options: RunOptions, profile: Profile) -> TransportSettings:
    """How the transport sends: the options' limits and the profile's production hosts."""
    return TransportSettings(
        timeout=options.timeout,
        max_body_bytes=options.max_body_bytes,
        rate=math.inf if options.target is None else options.rate,  # replay talks to no server
        max_requests=options.max_requests,
        ca_bundle=options.ca_bundle,
        allow_http=options.allow_http,
        allow_production=options.allow_production,
        production_hosts=profile.production_hosts,
    )


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


def checked(options: RunOptions) -> RunOptions:
    """The options normalised (--record-missing records) and validated; a ConfigError names a bad one."""
    if options.record_missing:
        options = dataclasses.replace(options, record=True)
    _validate(options)
    return options


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


def _api_key(options: RunOptions, key: str) -> str:
    if not key.strip():
        raise ConfigError(
            f"environment variable {options.api_key_env} is not set; export the API key there "
            "(or name another variable with --api-key-env)"
        )
    return key


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
