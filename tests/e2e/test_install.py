"""The suite installed as a wheel (make dist), outside any checkout: the demo replay runs and its report is
built (issue 22, item 8). The wheel goes into its own directory, first on the path; the dependencies are the
locked ones this test runs with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conformance.results.report.html import ALLURE_ENV, find_allure
from tests.support import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make dist`'s wheel, installed into an empty directory (no checkout beside it)."""
    dist, into = tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dist), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("conformance/_cassettes/") and n.endswith(".yaml") for n in names)
    assert "conformance/_tools/package-lock.json" in names
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(into), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return into


def conformance_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CONFORMANCE_API_KEY")}
    env["PYTHONPATH"] = str(site)  # the installed wheel, not the checkout
    # The Allure this checkout's `make test` installed, as a user's own would be (`--install-allure` is npm).
    env[ALLURE_ENV] = str(find_allure())
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        capture_output=True, text=True, timeout=300, env=env, cwd=cwd, check=False,
    )  # fmt: skip


def test_the_installed_wheel_replays_the_demo_and_builds_its_report(installed: Path, tmp_path: Path) -> None:
    """pip install login_token_conformance-*.whl; conformance run --demo; conformance report."""
    probe = subprocess.run(
        [sys.executable, "-c", "import conformance; print(conformance.__file__)"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(installed)}, cwd=tmp_path,
        check=True,
    )  # fmt: skip
    assert probe.stdout.startswith(str(installed))
    ran = conformance_installed(installed, tmp_path, "run", "--demo", "-q")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (
        json.loads((tmp_path / "reports" / "summary.json").read_text(encoding="utf-8"))["verdict"]
        == "conformant"
    )
    built = conformance_installed(installed, tmp_path, "report")
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "reports" / "allure-report" / "allure-report.html").is_file()
    assert (tmp_path / "reports" / "signoff.md").is_file()


def test_demo_with_a_target_is_one_line_exit_2(installed: Path, tmp_path: Path) -> None:
    done = conformance_installed(installed, tmp_path, "run", "--demo", "--target", "reference")
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "conformance: error: --demo replays the demo cassettes: drop --target and --cassettes"
    )
