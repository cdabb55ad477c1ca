"""The config file end to end: a run it configures equals the command line's (CLI and plain pytest)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tests.support.cli import conformance, small_profile

pytestmark = pytest.mark.e2e

CONFIGURED_RUN = """
[env.staging]
target = "reference"
fault = "${FAULT}"
seed = 31
max-examples = 5
profile = "small.toml"
user-id = 12345
foreign-user-id = "${FOREIGN}"
report-dir = "reports"
"""
SAME_ON_THE_COMMAND_LINE = (
    "--target", "reference", "--fault", "qrcode_missing", "--seed", "31", "--max-examples", "5",
    "--profile", "small.toml", "--user-id", "12345", "--foreign-user-id", "54321", "--report-dir", "reports",
)  # fmt: skip
SAME_RUN = ("verdict", "exit_code", "mode", "profile", "seed", "max_examples", "requests", "target_version")


def _run_identity(summary_file: Path) -> dict[str, Any]:
    """What makes two runs the same run (ports, dates and tokens of a live reference differ every time)."""
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    return {
        **{key: summary[key] for key in SAME_RUN},
        "tests": [(t["nodeid"], t["outcome"]) for t in summary["tests"]],
        "requirements": [
            (r["id"], r["outcome"], r["checks_run"], [(f["check"], f["case"]) for f in r["failures"]])
            for r in summary["requirements"]
        ],
    }


def test_a_run_configured_only_by_the_file_equals_the_command_line_run(tmp_path: Path) -> None:
    configured, commanded = tmp_path / "configured", tmp_path / "commanded"
    configured.mkdir()
    commanded.mkdir()
    small_profile(configured), small_profile(commanded)  # a small run: 5 examples, a small token sample
    (configured / "conformance.toml").write_text(CONFIGURED_RUN, encoding="utf-8")
    variables = {"FAULT": "qrcode_missing", "FOREIGN": "54321"}
    by_file = conformance("run", "--env", "staging", cwd=configured, env=variables)
    by_flags = conformance("run", *SAME_ON_THE_COMMAND_LINE, cwd=commanded)
    assert by_file.returncode == by_flags.returncode == 1, by_file.stderr + by_flags.stderr
    first = _run_identity(configured / "reports" / "summary.json")
    second = _run_identity(commanded / "reports" / "summary.json")
    assert (first["verdict"], first["seed"], first["max_examples"]) == ("non-conformant", 31, 5)
    scope = next(r for r in first["requirements"] if r[0] == "LT-AUTH-USER-SCOPE")
    assert scope[2] > 0  # exercised: the foreign user came through ${FOREIGN}
    assert first == second


def test_cli_config_error_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "conformance.toml").write_text("max-exmaples = 3\n", encoding="utf-8")
    done = conformance("run", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "conformance: error: conformance.toml: top level: unknown option 'max-exmaples'; "
        "did you mean 'max-examples'?"
    )
    diff = conformance("diff", "--target", "reference", cwd=tmp_path)
    assert diff.returncode == 2
    assert "did you mean 'max-examples'?" in diff.stderr


def test_the_pytest_plugin_reads_the_same_config(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    small_profile(tmp_path)
    config.write_text(
        CONFIGURED_RUN.replace("${FAULT}", "qrcode_missing").replace("${FOREIGN}", "54321"), encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-q", "--config", str(config), "--env", "staging"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text(encoding="utf-8"))
    assert (summary["verdict"], summary["seed"]) == ("non-conformant", 31)
    assert "LT-QRCODE-URL" in done.stdout
