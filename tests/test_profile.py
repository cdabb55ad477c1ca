"""Profiles: TOML readings of the ambiguity register, strict about what they accept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.profile import Profile, ProfileError, load_profile


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "staging.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_match_the_register() -> None:
    profile = load_profile(None)
    assert profile == Profile()
    assert (profile.token_expire_min, profile.token_expire_max) == (60, 86400)
    assert profile.expire_reading == "absolute" and profile.token_expire_required
    assert profile.content_types == ("application/xml", "text/xml")


def test_file_overrides_and_names_the_profile(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'expire_reading = "relative"\nrejection_statuses = [400, 401]\nexpire_tolerance = 2\n'
    )
    profile = load_profile(path)
    assert profile.name == "staging"
    assert profile.expire_reading == "relative"
    assert profile.rejection_statuses == (400, 401)
    assert profile.expire_tolerance == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nonsense = 1\n", "unknown setting(s) nonsense"),
        ('token_expire_required = "yes"\n', "token_expire_required must be bool"),
        ("content_types = 'text/xml'\n", "content_types must be a list"),
        ('expire_reading = "sideways"\n', "expire_reading must be one of"),
        ("token_expire_min = 100\ntoken_expire_max = 10\n", "token_expire_min must be"),
        ("expire_tolerance = [\n", "not valid TOML"),
    ],
)
def test_bad_profiles_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=re.escape(message)) as caught:
        load_profile(write(tmp_path, text))
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"cannot read --profile .*absent\.toml: No such file"):
        load_profile(tmp_path / "absent.toml")


def test_no_option_sets_a_profile_setting() -> None:
    # profile.py's docstring: a setting comes from the profile file or the default, nothing else.
    import dataclasses

    from conformance.config import CONFIG_SPECS
    from conformance.options import OPTION_SPECS

    settings = {f.name for f in dataclasses.fields(Profile)}
    options = {spec.field for spec in (*OPTION_SPECS, *CONFIG_SPECS)}
    assert not settings & options
