"""`conformance catalogue --write` or `--check` from an installed package (no README beside it): exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("flag", ["--write", "--check"])
def test_without_a_checkout_it_is_a_one_line_usage_error(tmp_path: Path, flag: str) -> None:
    site = tmp_path / "site-packages"  # the package alone, as a wheel installs it
    shutil.copytree(ROOT / "conformance", site / "conformance", ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "catalogue", flag],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"conformance: error: no README.md at {site}: ")
    assert "run this from a clone of the repository" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site-packages"]  # nothing written
    printed = subprocess.run(
        [sys.executable, "-m", "conformance", "catalogue"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert printed.stdout.startswith("| ID | Requirement |")  # printing needs no checkout
