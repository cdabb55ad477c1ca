"""The one door to third-party internals: versions and private APIs checked, a mismatch named."""

from __future__ import annotations

import re
import tomllib
import types
from typing import Any

import pytest

from conformance.core import _thirdparty
from conformance.core._thirdparty import INTERNALS, SUPPORTED, ThirdPartyMismatch, check_installed, in_range
from tests.support import ROOT


def test_the_installed_versions_pass() -> None:
    check_installed()


def test_supported_ranges_are_the_ones_pyproject_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for package in SUPPORTED:
        assert _thirdparty.requirement(package) in declared


@pytest.mark.parametrize(
    ("version", "inside"),
    [
        ("6.135.0", True),
        ("6.135", True),
        ("6.170.17", True),
        ("6.134.9", False),
        ("7.0.0", False),
        ("6.100.0", False),
        ("7.0.0rc1", False),
        ("6.135.0.post1", True),
    ],
)
def test_in_range(version: str, inside: bool) -> None:
    assert in_range(version, "6.135", "7") is inside


def versions(**overrides: str) -> Any:
    installed = {"hypothesis": "6.140.0", "vcrpy": "9.4.2"} | overrides
    return lambda package: installed[package]


@pytest.mark.parametrize(("package", "version"), [("hypothesis", "6.100.0"), ("vcrpy", "10.0.0")])
def test_a_version_outside_the_range_is_named_with_the_range(package: str, version: str) -> None:
    with pytest.raises(ThirdPartyMismatch) as caught:
        check_installed(version_of=versions(**{package: version}))
    message = str(caught.value)
    assert f"{package} {version} is installed" in message
    assert _thirdparty.requirement(package) in message
    assert "\n" not in message


def test_a_moved_internal_is_named() -> None:
    target = INTERNALS[1]  # hypothesis' _get_local_constants

    def importer(name: str) -> Any:
        if name == target.module:
            return types.SimpleNamespace()
        return __import__(name, fromlist=["_"])

    with pytest.raises(ThirdPartyMismatch, match=re.escape(f"{target.name} is missing")):
        check_installed(version_of=versions(), importer=importer)


def test_a_changed_signature_is_named() -> None:
    stub = INTERNALS[0]  # vcrpy's vcr_handle_request

    def importer(name: str) -> Any:
        if name == stub.module:
            return types.SimpleNamespace(vcr_handle_request=lambda cassette, real_handle_request: None)
        return __import__(name, fromlist=["_"])

    with pytest.raises(ThirdPartyMismatch, match=r"takes \(cassette, real_handle_request\), not"):
        check_installed(version_of=versions(), importer=importer)
