"""The same suite as plain pytest: `pytest conformance --target ...`, options mirroring the CLI's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.core.options import OPTION_SPECS
from tests.support import ROOT
from tests.support.cli import small_run

pytestmark = pytest.mark.e2e


def pytest_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-q", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )


def test_conformant_reference(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    result = pytest_run("--target", "reference", "--report-dir", str(reports), *small_run(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((reports / "summary.json").read_text())
    assert f"{len(summary['tests'])} passed" in result.stdout  # every conformance test, none skipped
    assert len(summary["tests"]) == len(list((ROOT / "cassettes").glob("test_*.yaml")))
    assert summary["verdict"] == "conformant"
    assert (reports / "signoff.md").is_file()


def test_fault_fails_the_tests_and_names_the_requirement(tmp_path: Path) -> None:
    result = pytest_run(
        "--target",
        "reference",
        "--fault",
        "qrcode_missing",
        "--report-dir",
        str(tmp_path / "r"),
        *small_run(tmp_path),
    )
    assert result.returncode == 1
    assert "[LT-QRCODE-URL] no <qrcode> in a grant" in result.stdout
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["verdict"] == "non-conformant"


def test_configuration_error_is_one_line(tmp_path: Path) -> None:
    result = pytest_run("--target", "http://127.0.0.1:9", "--user-id", "1", "--report-dir", str(tmp_path))
    assert result.returncode == 2
    assert "conformance: environment variable CONFORMANCE_API_KEY is not set" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_plugin_options_mirror_the_cli() -> None:
    plugin_help = pytest_run("--help").stdout
    cli_help = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    for spec in OPTION_SPECS:
        assert spec.name in plugin_help
        assert spec.name in cli_help


def test_an_option_name_another_plugin_owns_gets_a_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.frontends import plugin

    monkeypatch.setitem(plugin.KNOWN_CLASHES, "--rate", "json")  # pretend the json module owns --rate
    parser = pytest.Parser(_ispytest=True)
    plugin.pytest_addoption(parser)
    names = plugin._option_names(parser)
    assert "--conformance-rate" in names
    assert "--target" in names
