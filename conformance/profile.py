"""Profiles: the readings of the ambiguity register that a deployment may differ on, as TOML settings.

Precedence, resolved here and nowhere else: command line > profile file > the defaults below.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from conformance.contract import TOKEN_EXPIRE_MAX, TOKEN_EXPIRE_MIN

DEFAULT_PROFILE_NAME = "default"
EXPIRE_READINGS = ("absolute", "relative")


class ProfileError(ValueError):
    """A profile file that cannot be used; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class Profile:
    """Settings for one deployment family; every field has a default matching the ambiguity register."""

    name: str = DEFAULT_PROFILE_NAME
    token_expire_min: int = TOKEN_EXPIRE_MIN
    token_expire_max: int = TOKEN_EXPIRE_MAX
    token_expire_required: bool = True
    expire_reading: str = "absolute"
    expire_tolerance: float = 5.0
    content_types: tuple[str, ...] = ("application/xml", "text/xml")
    qrcode_schemes: tuple[str, ...] = ("https",)
    rejection_statuses: tuple[int, ...] = ()  # empty: any 4xx
    rejection_schema: str = "error_response.xsd"
    success_schema: str = "user_response.xsd"
    token_min_bits: int = 64
    # Tokens judged together for collisions and bias (AMB-TOKEN-SAMPLE): with n tokens from a space of
    # N the chance of no collision is about exp(-n(n-1)/2N): n = 560 makes it 1% for N = 2**15 and 9%
    # for N = 2**16 while a loopback run stays under 1,000 requests; 780 makes it 1% for N = 2**16.
    token_sample: int = 560
    user_id_max: int = 2**63 - 1  # AMB-USER-ID-BOUND: larger ids name no user and must be refused
    burst_size: int = 8  # parallel identical requests in the concurrency burst
    production_hosts: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.expire_reading not in EXPIRE_READINGS:
            raise ProfileError(
                f"expire_reading must be one of {EXPIRE_READINGS}, not {self.expire_reading!r}"
            )
        if not 0 <= self.token_expire_min <= self.token_expire_max:
            raise ProfileError("token_expire_min must be >= 0 and <= token_expire_max")
        if self.expire_tolerance < 0:
            raise ProfileError("expire_tolerance must be >= 0 seconds")
        if self.token_sample < 2 or self.burst_size < 1 or self.user_id_max < 0:
            raise ProfileError("token_sample must be >= 2, burst_size >= 1 and user_id_max >= 0")


def load_profile(path: Path | None) -> Profile:
    """The default profile, or the one in a TOML file (keys are Profile field names)."""
    if path is None:
        return Profile()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror}; check --profile") from None
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
