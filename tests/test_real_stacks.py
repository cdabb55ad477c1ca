"""No false alarm on real stacks (issue 20): the contract as a developer writes it on FastAPI with uvicorn,
Flask with gunicorn and aiohttp (tests/stacks/), each served by its own server process on loopback, is
conformant under the default profile, for three seeds each.

Each stack's runs share one server and one xdist group (the stacks run in parallel on separate workers).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_support import conformance, summary
from tests.stacks.login_token import FOREIGN_USER_ID, USER_ID
from tests.stacks.serving import STACKS, RunningStack, Stack, StackFailed, living_in_group, serve, stop

pytestmark = pytest.mark.e2e

SEEDS = (1, 2, 3)
# A canary key (with an '&': the form must be percent-encoded and decoded by the framework) per module.
API_KEY = f"CANARY&KEY-{secrets.token_hex(12)}"
OTHER_API_KEY = f"other-tenant-{secrets.token_hex(12)}"


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The named stack serving on loopback; gone, with every worker, after the module."""
    name: str = request.param
    workdir = tmp_path_factory.mktemp(name)
    with serve(STACKS[name], api_key=API_KEY, other_api_key=OTHER_API_KEY, workdir=workdir) as running:
        yield running


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"seed{seed}")
@pytest.mark.parametrize(
    "stack",
    [pytest.param(name, marks=pytest.mark.xdist_group(f"stack-{name}")) for name in STACKS],
    indirect=True,
)
def test_a_conforming_stack_is_conformant(stack: RunningStack, seed: int, tmp_path: Path) -> None:
    report_dir = tmp_path / "report"
    result = conformance(
        *("run", "--target", stack.url, "--seed", str(seed), "--report-dir", str(report_dir)),
        *("--user-id", str(USER_ID), "--foreign-user-id", str(FOREIGN_USER_ID)),
        env={"CONFORMANCE_API_KEY": API_KEY, "NO_COLOR": "1"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, (
        f"{stack.name}, seed {seed}:\n{result.stdout[-6000:]}{result.stderr[-2000:]}"
    )
    assert summary(report_dir)["verdict"] == "conformant"
    leaked = [p.name for p in report_dir.rglob("*") if p.is_file() and API_KEY.encode() in p.read_bytes()]
    assert not leaked, f"the key is in {leaked}"


def test_stop_ends_a_server_that_ignores_sigterm_and_its_children() -> None:
    # A parent and its child, both ignoring SIGTERM: stop() ends both (SIGKILL to the process group).
    child = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
    code = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"subprocess.Popen([sys.executable, '-c', {child!r}])\n"
        "print('ready', flush=True)\n"
        "time.sleep(120)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 10
        while len(living_in_group(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(living_in_group(process.pid)) == 2
        stop(process, grace=0.5)
        assert living_in_group(process.pid) == set()
        assert process.returncode == -signal.SIGKILL
    finally:
        if living_in_group(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("import time; time.sleep(120)", "did not answer within 2 s"),
        ("import sys; print('cannot start'); sys.exit(3)", "exited with 3: cannot start"),
    ],
    ids=["mute", "exits"],
)
def test_a_server_that_does_not_come_up_is_reported_and_ended(
    tmp_path: Path, code: str, message: str
) -> None:
    broken = Stack("broken", lambda fd: [sys.executable, "-c", code])
    started = time.monotonic()
    with (
        pytest.raises(StackFailed, match=message),
        serve(broken, api_key=API_KEY, other_api_key=OTHER_API_KEY, workdir=tmp_path, startup=2.0),
    ):
        pytest.fail("a server that never answered was taken as running")
    assert time.monotonic() - started < 30
