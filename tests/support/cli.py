"""Running the real `conformance` command in a subprocess, as users and CI do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support import ROOT

# Runs the CLI with every socket connection refused: what works this way needs no network.
NO_NETWORK = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network disabled by the test")
socket.socket.connect = refuse
socket.create_connection = refuse
from conformance.frontends.cli import main
sys.exit(main(sys.argv[1:]))
"""


def conformance(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, offline: bool = False
) -> subprocess.CompletedProcess[str]:
    """`conformance ARGS` with CONFORMANCE_API_KEY unset unless ``env`` sets it."""
    environment = {k: v for k, v in os.environ.items() if k != "CONFORMANCE_API_KEY"} | (env or {})
    command = [sys.executable, "-c", NO_NETWORK] if offline else [sys.executable, "-m", "conformance"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=300, env=environment, cwd=cwd, check=False
    )


def summary(report_dir: Path) -> dict[str, Any]:
    """The summary.json a run wrote."""
    document: dict[str, Any] = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    return document


# A small complete run: 5 Hypothesis examples per generated test and a 20-token bias sample (the profile
# minimum is 2) send ~290 requests instead of a default run's ~950, and still exercise every requirement.
SMALL_TOKEN_SAMPLE = 20


def small_profile(directory: Path) -> tuple[str, str]:
    """``--profile FILE`` with the small token sample, the file written into ``directory``.

    A replay of a small run's recording needs it too: the profile is part of the recording.
    """
    profile = directory / "small.toml"
    profile.write_text(f"token_sample = {SMALL_TOKEN_SAMPLE}\n", encoding="utf-8")
    return ("--profile", str(profile))


def small_run(directory: Path) -> tuple[str, ...]:
    """Arguments for a small complete run (its profile written into ``directory``)."""
    return ("--max-examples", "5", *small_profile(directory))
