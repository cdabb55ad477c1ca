"""Profiles: the readings of the ambiguity register that a deployment may differ on, as TOML settings.

A setting comes from the profile file (--profile FILE), else from the defaults below; no command-line
option sets a profile setting (tests/unit/core/test_profile.py keeps it so), so there is no other precedence.

Two kinds of setting (``VENDOR_FIXED``): most are *readings*, where the vendor document is silent and a
deployment may differ (the ambiguity register) or the suite's own rails; a few change what the vendor
document fixes (the 60..86400 range, token_expire being required, the vendor's XSD, an <expire> tolerance
wider than half the shortest lifetime). Every setting that differs from its default is listed by every
report; one that changes what the vendor fixes makes a pass ``conformant under a modified contract``.
The name ``default`` is the built-in profile's: a file cannot take it (it would read as no profile at all).
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from conformance.core.contract import TOKEN_EXPIRE_MAX, TOKEN_EXPIRE_MIN
from conformance.core.entropy import SMALL_SPACE_BITS, tokens_to_catch
from conformance.core.errors import EXIT_USAGE, ConformanceError
from conformance.core.files import InputUnreadable, read_input_text
from conformance.core.xmldoc import DEFAULT_LIMITS, Limits

DEFAULT_PROFILE_NAME = "default"
MAX_SECONDS = 10**9  # beyond any sane expiry or tolerance; also keeps arithmetic finite
MIN_TOKEN_BITS = 1
MAX_TOKEN_BITS = 4096
EXPIRE_READINGS = ("absolute", "relative")
# The Mann-Whitney test cannot reach p < 1e-4 with fewer than 11 samples a side (even fully separated);
# more than 500 is a load test.
MIN_TIMING_SAMPLES = 12
MAX_TIMING_SAMPLES = 500
MAX_IDLE = 600.0  # seconds a connection may be left idle: beyond any keep-alive a server grants
# The idle on loopback (connection_idle = 0): the default loopback run stays short. It catches a target
# stamping the issue time at accept only under an expire_tolerance below half of it; set connection_idle
# to idle as long as on a remote target.
LOOPBACK_CONNECTION_IDLE = 3.0
LIMIT_SETTINGS = ("max_elements", "max_depth", "max_attributes", "max_attribute_chars", "max_text_chars")
MAX_LIMIT = 10**8
# An <expire> tolerance up to half the shortest lifetime the vendor allows (60 s) is a measurement
# allowance (clock skew, latency); beyond it a token of 60 s could live 30 s or 90 s and still pass.
EXPIRE_TOLERANCE_READING_MAX = TOKEN_EXPIRE_MIN / 2
# The settings that can change what the vendor document fixes, and where it fixes it.
VENDOR_FIXED: dict[str, str] = {
    "token_expire_min": f"seed line 14: token_expire minimum {TOKEN_EXPIRE_MIN}",
    "token_expire_max": f"seed line 14: token_expire maximum {TOKEN_EXPIRE_MAX}",
    "token_expire_required": "seed line 14: token_expire is required",
    "success_schema": "seed line 47: the vendor's XSD (user_response.xsd)",
    "expire_tolerance": "seed line 24: <expire> is the issue time + token_expire "
    f"(a tolerance over {EXPIRE_TOLERANCE_READING_MAX:g} s changes it)",
}


class ProfileError(ConformanceError, ValueError):
    """A profile file that cannot be used; the message is one line naming the file and the problem."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Profile:
    """Settings for one deployment family; every field has a default matching the ambiguity register."""

    name: str = DEFAULT_PROFILE_NAME
    token_expire_min: int = TOKEN_EXPIRE_MIN
    token_expire_max: int = TOKEN_EXPIRE_MAX
    token_expire_required: bool = True
    expire_reading: str = "absolute"
    expire_tolerance: float = 5.0
    date_tolerance: float = 60.0  # seconds a Date header may be off the suite's clock
    content_types: tuple[str, ...] = ("application/xml", "text/xml")
    qrcode_schemes: tuple[str, ...] = ("https",)
    # AMB-QRCODE-PAYLOAD: with --fetch-qrcode, whether the decoded QR code must contain the grant's token
    qrcode_carries_token: bool = False
    # AMB-QRCODE-HOST: fnmatch patterns of the vendor's own QR hosts besides the target's host and domain
    qrcode_hosts: tuple[str, ...] = ()
    rejection_statuses: tuple[int, ...] = ()  # empty: any 4xx
    rejection_schema: str = "error_response.xsd"
    success_schema: str = "user_response.xsd"
    token_min_bits: int = 64
    # Tokens judged together for bias (AMB-TOKEN-SAMPLE); every token of the run is checked for collisions.
    # 776, the fewest with which a space of 2**16 repeats a token with probability >= 99%.
    token_sample: int = tokens_to_catch(2**SMALL_SPACE_BITS)
    user_id_max: int = 2**63 - 1  # AMB-USER-ID-BOUND: larger ids name no user and must be refused
    burst_size: int = 8  # parallel identical requests in the concurrency burst
    # AMB-RESPONSE-TIMING: wrong-key requests for the own and an unknown user, interleaved, timing_samples
    # of each; a median difference of at least timing_min_difference_ms at p < 1e-4 fails. timing_test =
    # false (noisy networks) sends none: the run then says nothing of response times.
    timing_test: bool = True
    timing_samples: int = 16
    timing_min_difference_ms: float = 50.0
    # Seconds the pooled connection idles before a grant on it (a target that stamps the issue time when
    # it accepted the connection); 0: twice expire_tolerance + 1 s, or LOOPBACK_CONNECTION_IDLE on loopback.
    connection_idle: float = 0.0
    production_hosts: tuple[str, ...] = field(default_factory=tuple)
    # The strict HTTP profile: every RFC 9110 / 9112 MUST of the HTTP message group is a failure (by
    # default only the rules that protect the endpoint's secrets are; the others warn).
    http_strict: bool = False
    # Structural bounds checked before a body is parsed or validated (see xmldoc.Limits).
    max_elements: int = DEFAULT_LIMITS.max_elements
    max_depth: int = DEFAULT_LIMITS.max_depth
    max_attributes: int = DEFAULT_LIMITS.max_attributes
    max_attribute_chars: int = DEFAULT_LIMITS.max_attribute_chars
    max_text_chars: int = DEFAULT_LIMITS.max_text_chars

    def __post_init__(self) -> None:
        if self.expire_reading not in EXPIRE_READINGS:
            raise ProfileError(
                f"expire_reading must be one of {EXPIRE_READINGS}, not {self.expire_reading!r}"
            )
        if not 0 <= self.token_expire_min <= self.token_expire_max <= MAX_SECONDS:
            raise ProfileError(f"token_expire_min must be >= 0 and <= token_expire_max <= {MAX_SECONDS}")
        for name in ("expire_tolerance", "date_tolerance"):
            value = getattr(self, name)
            if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
                raise ProfileError(
                    f"{name} must be a finite number of seconds from 0 to {MAX_SECONDS}, not {value}"
                )
        if not MIN_TOKEN_BITS <= self.token_min_bits <= MAX_TOKEN_BITS:
            raise ProfileError(
                f"token_min_bits must be from {MIN_TOKEN_BITS} to {MAX_TOKEN_BITS}, not {self.token_min_bits}"
            )
        if any(
            isinstance(s, bool) or not isinstance(s, int) or not 100 <= s <= 599
            for s in self.rejection_statuses
        ):
            raise ProfileError(
                f"rejection_statuses must be HTTP status codes (100..599), not {self.rejection_statuses}"
            )
        for name in ("content_types", "qrcode_schemes", "production_hosts", "qrcode_hosts"):
            if not all(isinstance(v, str) and v.strip() for v in getattr(self, name)):
                raise ProfileError(f"{name} must be a list of non-empty strings")
        for name in ("rejection_schema", "success_schema"):
            _check_schema(name, getattr(self, name))
        if self.token_sample < 2 or self.burst_size < 1 or self.user_id_max < 0:
            raise ProfileError("token_sample must be >= 2, burst_size >= 1 and user_id_max >= 0")
        if not MIN_TIMING_SAMPLES <= self.timing_samples <= MAX_TIMING_SAMPLES:
            raise ProfileError(
                f"timing_samples must be from {MIN_TIMING_SAMPLES} to {MAX_TIMING_SAMPLES}, "
                f"not {self.timing_samples}"
            )
        for name, top in (("timing_min_difference_ms", MAX_SECONDS), ("connection_idle", MAX_IDLE)):
            value = getattr(self, name)
            if not math.isfinite(value) or not 0 <= value <= top:
                raise ProfileError(f"{name} must be a finite number from 0 to {top}, not {value}")
        for name in LIMIT_SETTINGS:
            value = getattr(self, name)
            if isinstance(value, bool) or not 1 <= value <= MAX_LIMIT:
                raise ProfileError(f"{name} must be a whole number from 1 to {MAX_LIMIT}, not {value}")

    def idle_seconds(self, *, loopback: bool) -> float:
        """How long the pooled connection idles before the idle grant: connection_idle when set, else
        twice expire_tolerance + 1 s (LOOPBACK_CONNECTION_IDLE on loopback)."""
        if self.connection_idle:
            return self.connection_idle
        return LOOPBACK_CONNECTION_IDLE if loopback else 2 * self.expire_tolerance + 1

    @property
    def limits(self) -> Limits:
        """The structural bounds a response document is held to."""
        return Limits(
            max_elements=self.max_elements,
            max_depth=self.max_depth,
            max_attributes=self.max_attributes,
            max_attribute_chars=self.max_attribute_chars,
            max_text_chars=self.max_text_chars,
        )


@dataclass(frozen=True)
class ProfileChange:
    """A profile setting that differs from its default; ``fixed_by``: what the vendor fixes, if it does."""

    name: str
    default: str
    value: str
    fixed_by: str | None = None


def profile_changes(profile: Profile) -> tuple[ProfileChange, ...]:
    """Every setting of ``profile`` that differs from the default profile, in declaration order."""
    defaults = Profile()
    changes = []
    for f in fields(Profile):
        value, default = getattr(profile, f.name), getattr(defaults, f.name)
        if f.name == "name" or value == default:
            continue
        changes.append(ProfileChange(f.name, _shown(default), _shown(value), _fixed_by(f.name, value)))
    return tuple(changes)


def _fixed_by(name: str, value: object) -> str | None:
    """What the vendor document fixes that this value changes, or None for a reading."""
    if name == "expire_tolerance" and isinstance(value, int | float):
        return VENDOR_FIXED[name] if value > EXPIRE_TOLERANCE_READING_MAX else None
    return VENDOR_FIXED.get(name)


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_schema(setting: str, name: object) -> None:
    from conformance.core.schema import SchemaError, schema_path

    if not isinstance(name, str) or not name.strip():
        raise ProfileError(f"{setting} must name a schema file")
    try:
        schema_path(name)
    except SchemaError as exc:
        raise ProfileError(f"{setting}: {exc}") from None


def load_profile(path: Path | None) -> Profile:
    """The default profile, or the one in a TOML file (keys are Profile field names)."""
    if path is None:
        return Profile()
    try:
        data = tomllib.loads(read_input_text(path, what="--profile"))
    except InputUnreadable as exc:
        raise ProfileError(str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {path} is not valid TOML: {exc}") from None
    return profile_from_mapping(data, origin=str(path), default_name=path.stem)


def profile_from_mapping(data: dict[str, Any], *, origin: str, default_name: str) -> Profile:
    """Build a Profile from parsed TOML, rejecting unknown keys and wrong types with one-line errors."""
    known = {f.name: f for f in fields(Profile)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ProfileError(
            f"profile {origin}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    values: dict[str, Any] = {"name": default_name}
    defaults = Profile()
    name = data.get("name", default_name)
    if isinstance(name, str) and name.strip().casefold() == DEFAULT_PROFILE_NAME:
        raise ProfileError(
            f"profile {origin}: the name {DEFAULT_PROFILE_NAME!r} is the built-in profile's; rename the "
            "file (or its name setting) so reports say which profile judged the run"
        )
    for key, value in data.items():
        expected = getattr(defaults, key)
        if isinstance(expected, tuple):
            if not isinstance(value, list):
                raise ProfileError(f"profile {origin}: {key} must be a list")
            value = tuple(value)
        elif isinstance(expected, bool) != isinstance(value, bool) or (
            not isinstance(expected, bool) and not isinstance(value, type(expected) | int)
        ):
            raise ProfileError(f"profile {origin}: {key} must be {type(expected).__name__}, got {value!r}")
        values[key] = value
    try:
        return dataclasses.replace(defaults, **values)
    except ProfileError as exc:
        raise ProfileError(f"profile {origin}: {exc}") from None
