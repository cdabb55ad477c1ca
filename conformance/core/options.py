"""Run options, declared once: the CLI (`conformance run`) and the pytest plugin both build theirs from here.

Precedence, resolved in conformance.session.config: command line > config file's [env.NAME] > config file >
defaults.
Profile settings are not options: they come from the --profile file or its defaults
(conformance.core.profile).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_KEY_VARIABLE = "CONFORMANCE_API_KEY"
DEFAULT_MAX_EXAMPLES = 100
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BODY_BYTES = 1_048_576
DEFAULT_MAX_THROTTLE_WAIT = 120.0  # seconds, run-wide, waiting on 429/503 answers
# The run budget (--max-duration), seconds of a live run: a default loopback run takes about 11 s (28 s with
# --fetch-qrcode), a remote one about 4 min at the default 5 requests/s.
DEFAULT_MAX_DURATION_LOOPBACK = 600.0
DEFAULT_MAX_DURATION_REMOTE = 1800.0
REFERENCE_TARGET = "reference"
DEFAULT_MAX_CASSETTE_AGE = 90  # days
COMMAND_LINE = "command line"


@dataclass(frozen=True)
class Provenance:
    """Where a run's options came from (conformance.session.config): the config file used, each option's
    source."""

    config_file: Path | None = None
    sources: tuple[tuple[str, str], ...] = ()  # (field, "command line" | "config file F" | "... [env.N]")

    def source(self, name: str) -> str:
        """Where option ``name`` came from (an option set by a program, not a user: the command line)."""
        return dict(self.sources).get(name, COMMAND_LINE)


@dataclass(frozen=True)
class RunOptions:
    """Everything a run is told. ``target`` None means: replay the cassettes."""

    target: str | None = None
    fault: str | None = None
    record: bool = False
    cassettes: Path = Path("cassettes")
    api_key_env: str = DEFAULT_KEY_VARIABLE
    user_id: int | None = None
    foreign_user_id: int | None = None
    unknown_user_id: tuple[int, ...] = ()  # users that do not exist (repeatable); empty: not given
    report_dir: Path = Path("reports")
    max_examples: int | None = None  # None: DEFAULT_MAX_EXAMPLES live, the recorded number in replay
    timeout: float = DEFAULT_TIMEOUT
    seed: int | None = None
    profile: Path | None = None
    rate: float | None = None
    max_requests: int | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    allow_http: bool = False
    allow_production: bool = False
    ca_bundle: Path | None = None
    target_version: str | None = None
    baseline: Path | None = None
    not_applicable: tuple[str, ...] = ()  # "ID=reason" exemptions, shown in the sign-off
    max_throttle_wait: float = DEFAULT_MAX_THROTTLE_WAIT
    max_cassette_age: int = DEFAULT_MAX_CASSETTE_AGE
    strict_cassette_age: bool = False
    record_missing: bool = False
    waivers: Path | None = None
    fail_on: str | None = None  # "any" (default) | "new": with --baseline, fail only on new failures
    fetch_qrcode: bool = False  # fetch and decode each grant's <qrcode> image (live runs only)
    user_agent: str | None = None  # None: a stock httpx client's (conformance.exchange.transport)
    send_key_in_query: bool = False  # the valid key in a query string to a non-loopback target
    sign_key_env: str | None = None  # --record: seal the cassette set with the Ed25519 key in this variable
    public_key: Path | None = None  # replay: refuse cassettes whose seal does not verify with this key
    max_duration: float | None = None  # None: DEFAULT_MAX_DURATION_LOOPBACK or _REMOTE, by target host
    # not an option: where the others came from (shown with every setting that differs from its default)
    provenance: Provenance = field(default_factory=Provenance, compare=False)

    @property
    def mode(self) -> str:
        """live | record | replay."""
        if self.target is None:
            return "replay"
        return "record" if self.record or self.record_missing else "live"


@dataclass(frozen=True)
class OptionSpec:
    """One option as both front ends show it."""

    field: str
    help: str
    kind: type = str
    flag: bool = False
    metavar: str | None = None
    multiple: bool = False  # may be given more than once; the values form a tuple

    @property
    def name(self) -> str:
        """The kebab-case long option, e.g. ``--user-id``."""
        return "--" + self.field.replace("_", "-")


OPTION_SPECS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "target",
        "Target URL (https://host[/base]) or 'reference' for the embedded reference; "
        "omit to replay the cassettes offline.",
        metavar="URL",
    ),
    OptionSpec(
        "fault",
        "With --target reference: make the reference misbehave (see `conformance faults`).",
        metavar="NAME",
    ),
    OptionSpec("record", "Record every interaction into --cassettes (needs --target).", flag=True),
    OptionSpec("cassettes", "Cassette directory to record into or replay from.", kind=Path, metavar="DIR"),
    OptionSpec(
        "api_key_env",
        "Environment variable holding the API key (the key is never taken on the command line).",
        metavar="NAME",
    ),
    OptionSpec("user_id", "A user the key may issue tokens for.", kind=int, metavar="ID"),
    OptionSpec(
        "foreign_user_id",
        "A user that exists outside the key's scope (enables LT-AUTH-USER-SCOPE).",
        kind=int,
        metavar="ID",
    ),
    OptionSpec(
        "unknown_user_id",
        "A user that does not exist (repeatable; default 9223372036854775806).",
        kind=int,
        metavar="ID",
        multiple=True,
    ),
    OptionSpec(
        "report_dir",
        "Where summary.json, junit.xml, allure-results and the sign-off go.",
        kind=Path,
        metavar="DIR",
    ),
    OptionSpec(
        "max_examples",
        f"Hypothesis examples per generated test (default {DEFAULT_MAX_EXAMPLES}; replay: as recorded).",
        kind=int,
        metavar="N",
    ),
    OptionSpec("timeout", "Per-request timeout in seconds (connect + whole body).", kind=float, metavar="S"),
    OptionSpec(
        "seed",
        "Seed for generated inputs (printed on every run; replay uses the recorded seed).",
        kind=int,
        metavar="N",
    ),
    OptionSpec(
        "profile", "Profile TOML with the ambiguity readings of this deployment.", kind=Path, metavar="FILE"
    ),
    OptionSpec(
        "rate",
        "Max requests per second (default 5 for non-loopback targets, unlimited on loopback).",
        kind=float,
        metavar="N",
    ),
    OptionSpec(
        "max_requests",
        "Stop after this many requests (a safety cap for shared staging).",
        kind=int,
        metavar="N",
    ),
    OptionSpec("max_body_bytes", "Response size cap, before and after decompression.", kind=int, metavar="N"),
    OptionSpec("allow_http", "Allow plain http to a non-loopback host.", flag=True),
    OptionSpec("allow_production", "Allow hosts the profile marks as production.", flag=True),
    OptionSpec(
        "ca_bundle", "PEM file of a CA to trust for the target's certificate.", kind=Path, metavar="FILE"
    ),
    OptionSpec(
        "target_version", "Version of the deployment under test, for the sign-off document.", metavar="TEXT"
    ),
    OptionSpec(
        "baseline",
        "A previous summary.json: the sign-off lists what is newly failing and fixed.",
        kind=Path,
        metavar="FILE",
    ),
    OptionSpec(
        "not_applicable",
        "ID=REASON: declare a requirement not applicable to this deployment, with the reason (repeatable; "
        "shown in the sign-off). Without it a MUST requirement that was not exercised makes the run "
        "incomplete.",
        metavar="ID=REASON",
        multiple=True,
    ),
    OptionSpec(
        "max_throttle_wait",
        f"Run-wide budget in seconds for waiting on 429/503 answers (default {DEFAULT_MAX_THROTTLE_WAIT:g}); "
        "past it the run ends incomplete.",
        kind=float,
        metavar="S",
    ),
    OptionSpec(
        "max_cassette_age",
        f"Replay: warn when the cassettes are older than this (days, default {DEFAULT_MAX_CASSETTE_AGE}).",
        kind=int,
        metavar="DAYS",
    ),
    OptionSpec(
        "strict_cassette_age", "Replay: cassettes older than --max-cassette-age are an error.", flag=True
    ),
    OptionSpec(
        "record_missing",
        "Record only the tests whose cassettes --cassettes lacks, adding them to its set (needs --target).",
        flag=True,
    ),
    OptionSpec(
        "waivers",
        "TOML file of waivers: accepted failures (requirement, optional check/case, reason, ticket, "
        "expires, approver) or not-applicable declarations; the run is then 'conformant with waivers'.",
        kind=Path,
        metavar="FILE",
    ),
    OptionSpec(
        "fail_on",
        "'any' (default) or 'new': with --baseline, failures the baseline already had are accepted "
        "(reported as waived by the baseline) and only new failures fail the run.",
        metavar="any|new",
    ),
    OptionSpec(
        "fetch_qrcode",
        "Judge every grant's <qrcode> image, not only a spread of them (a live run fetches those by default: "
        "no key, no redirects, same rails; each must be a QR code of its own, LT-QRCODE-IMAGE). Live runs "
        "only: not with --record or replay.",
        flag=True,
    ),
    OptionSpec(
        "user_agent",
        "User-Agent to send, for a deployment that requires one (default: a stock httpx client's; the "
        "second identity's probes then differ only in Accept and Accept-Encoding).",
        metavar="TEXT",
    ),
    OptionSpec(
        "send_key_in_query",
        "Also send GET/HEAD/OPTIONS with the valid key in the query string to a target that is not loopback "
        "(URLs land in access logs; off by default: the query then carries a fixed wrong key).",
        flag=True,
    ),
    OptionSpec(
        "sign_key_env",
        "With --record: seal the cassette set with the Ed25519 private key (PEM) held by this environment "
        "variable, so a replay with --public-key refuses an edited, added or missing cassette.",
        metavar="NAME",
    ),
    OptionSpec(
        "public_key",
        "Replay: refuse the cassettes unless their seal verifies with this Ed25519 public key (PEM file). "
        "Without it a replay proves integrity against accidental change only.",
        kind=Path,
        metavar="FILE",
    ),
    OptionSpec(
        "max_duration",
        f"Run budget in seconds of a live run (default {DEFAULT_MAX_DURATION_LOOPBACK:g} on loopback, "
        f"{DEFAULT_MAX_DURATION_REMOTE:g} elsewhere): no request is sent past it, and the run ends "
        "incomplete (non-conformant if something failed) naming what was not exercised.",
        kind=float,
        metavar="S",
    ),
)


def options_from(values: dict[str, Any]) -> RunOptions:
    """RunOptions from a mapping of field -> value, where None means 'not given' (keep the default)."""
    # An empty tuple is a repeatable option not given (click's default for multiple=True); argparse's
    # "append" gives a list.
    given: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in values.items()
        if v is not None and v != () and k in _FIELDS
    }
    return dataclasses.replace(RunOptions(), **given)


_FIELDS = {f.name for f in dataclasses.fields(RunOptions)} - {"provenance"}
assert {spec.field for spec in OPTION_SPECS} == _FIELDS, "every run option needs an OptionSpec"


def option_changes(options: RunOptions) -> list[tuple[str, str, str, str]]:
    """(option, default, value, where it came from) for each run option that differs from its default."""
    defaults = RunOptions()
    changes = []
    for spec in OPTION_SPECS:
        value, default = getattr(options, spec.field), getattr(defaults, spec.field)
        if value != default:
            source = options.provenance.source(spec.field)
            changes.append((spec.name, _shown(default), _shown(value), source))
    return changes


def _shown(value: object) -> str:
    if value is None or value == ():
        return "-"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return str(value)
