"""Profiles: TOML readings of the ambiguity register, strict about what they accept."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from conformance.core.profile import VENDOR_FIXED, Profile, ProfileError, load_profile, profile_changes


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

    from conformance.core.options import OPTION_SPECS
    from conformance.session.config import CONFIG_SPECS

    settings = {f.name for f in dataclasses.fields(Profile)}
    options = {spec.field for spec in (*OPTION_SPECS, *CONFIG_SPECS)}
    assert not settings & options


@pytest.mark.parametrize("text", ['name = "default"\n', 'name = " DEFAULT "\n'])
def test_a_profile_cannot_take_the_built_in_name(tmp_path: Path, text: str) -> None:
    with pytest.raises(ProfileError, match="the name 'default' is the built-in profile's") as caught:
        load_profile(write(tmp_path, text))
    assert "\n" not in str(caught.value)


def test_a_file_named_default_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "default.toml"
    path.write_text("expire_tolerance = 3700\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="rename the file"):
        load_profile(path)


@pytest.mark.parametrize(
    ("text", "name", "fixed"),
    [
        ("token_expire_min = 59\n", "token_expire_min", True),
        ("token_expire_max = 86401\n", "token_expire_max", True),
        ("token_expire_min = 120\n", "token_expire_min", True),  # a narrower range is another contract too
        ("token_expire_required = false\n", "token_expire_required", True),
        ('success_schema = "error_response.xsd"\n', "success_schema", True),
        ("expire_tolerance = 3700\n", "expire_tolerance", True),
        ("expire_tolerance = 31\n", "expire_tolerance", True),
        ("expire_tolerance = 30\n", "expire_tolerance", False),  # a measurement allowance: a reading
        ('expire_reading = "relative"\n', "expire_reading", False),  # the ambiguity register's reading
        ("token_sample = 20\n", "token_sample", False),
        ("date_tolerance = 600\n", "date_tolerance", False),
        ('qrcode_schemes = ["https", "http"]\n', "qrcode_schemes", False),
    ],
)
def test_each_change_is_classed_vendor_fixed_or_a_reading(
    tmp_path: Path, text: str, name: str, fixed: bool
) -> None:
    (change,) = profile_changes(load_profile(write(tmp_path, text)))
    assert change.name == name
    assert (change.fixed_by is not None) == fixed
    assert change.default == _default_shown(name) and change.value != change.default


def _default_shown(name: str) -> str:
    return {
        "token_expire_min": "60",
        "token_expire_max": "86400",
        "token_expire_required": "true",
        "success_schema": "user_response.xsd",
        "expire_tolerance": "5",
        "expire_reading": "absolute",
        "token_sample": "776",
        "date_tolerance": "60",
        "qrcode_schemes": "[https]",
    }[name]


def test_the_default_profile_changes_nothing() -> None:
    assert profile_changes(Profile()) == ()
    assert set(VENDOR_FIXED) <= {f.name for f in dataclasses.fields(Profile)}
