"""No false alarm on real stacks (issue 20): the contract as a developer writes it on FastAPI with uvicorn,
Flask with gunicorn and aiohttp (tests/support/stacks/), each served by its own server process on loopback, is
conformant under the default profile, for three seeds each. Under the strict HTTP profile (one small run
each) the only failures are HTTP message rules the stack's server skips, each naming its RFC section.

Each stack's runs share one server and one xdist group (the stacks run in parallel on separate workers).
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import SMALL_TOKEN_SAMPLE, conformance, summary
from tests.support.stacks.login_token import FOREIGN_USER_ID, USER_ID
from tests.support.stacks.serving import (
    STACKS,
    RunningStack,
    Stack,
    StackFailed,
    living_in_group,
    serve,
    stop,
)

pytestmark = pytest.mark.e2e

SEEDS = (1, 2, 3)
# A canary key (with an '&': the form must be percent-encoded and decoded by the framework) per module.
API_KEY = f"CANARY&KEY-{secrets.token_hex(12)}"
OTHER_API_KEY = f"other-tenant-{secrets.token_hex(12)}"
STRICT_SEED = 1
# What each stock server gets under the strict HTTP profile (http_strict = true): (requirement, raw probe).
# uvicorn with h11 answers its own 400s without Date, keeps a connection open after Content-Length with
# chunked and answers the absolute-form 404; gunicorn answers its own 400s without Date and serves a
# request without Host or with two; aiohttp keeps every rule.
STRICT_FINDINGS = {
    "fastapi": {
        ("LT-HTTP-MSG-DATE", "host-missing"),
        ("LT-HTTP-MSG-DATE", "host-twice"),
        ("LT-HTTP-MSG-DATE", "conflicting-length"),
        ("LT-HTTP-MSG-FRAMING", "length-and-chunked"),
        ("LT-HTTP-MSG-CONNECTION", "absolute-form"),
    },
    "flask": {
        ("LT-HTTP-MSG-DATE", "conflicting-length"),
        ("LT-HTTP-MSG-DATE", "length-and-chunked"),
        ("LT-HTTP-MSG-HOST", "host-missing"),
        ("LT-HTTP-MSG-HOST", "host-twice"),
    },
    "aiohttp": set(),
}
RFC_SECTION = re.compile(r"\bRFC 911[012] sections? [0-9]+(?:\.[0-9]+)*")
RAW_PROBE_CASE = re.compile(r"raw probe ([a-z0-9.-]+):")


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The named stack serving on loopback; gone, with every worker, after the module."""
    name: str = request.param
    workdir = tmp_path_factory.mktemp(name)
    with serve(STACKS[name], api_key=API_KEY, other_api_key=OTHER_API_KEY, workdir=workdir) as running:
        yield running


EACH_STACK = pytest.mark.parametrize(
    "stack",
    [pytest.param(name, marks=pytest.mark.xdist_group(f"stack-{name}")) for name in STACKS],
    indirect=True,
)


def _key_leaked_to(report_dir: Path) -> list[str]:
    return [p.name for p in report_dir.rglob("*") if p.is_file() and API_KEY.encode() in p.read_bytes()]


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"seed{seed}")
@EACH_STACK
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
    assert not (leaked := _key_leaked_to(report_dir)), f"the key is in {leaked}"


@EACH_STACK
def test_under_the_strict_http_profile_each_http_message_finding_names_its_rfc_section(
    stack: RunningStack, tmp_path: Path
) -> None:
    # A small complete run (every conformance test, fewer generated examples and tokens): the rules judged
    # on every answer (Date, Allow, HEAD, Cache-Control) see every family's answers, the raw probes run whole.
    profile, report_dir = tmp_path / "strict.toml", tmp_path / "report"
    profile.write_text(f"http_strict = true\ntoken_sample = {SMALL_TOKEN_SAMPLE}\n", encoding="utf-8")
    result = conformance(
        *("run", "--target", stack.url, "--seed", str(STRICT_SEED), "--report-dir", str(report_dir)),
        *("--user-id", str(USER_ID), "--foreign-user-id", str(FOREIGN_USER_ID)),
        *("--max-examples", "5", "--profile", str(profile)),
        env={"CONFORMANCE_API_KEY": API_KEY, "NO_COLOR": "1"},
        cwd=tmp_path,
    )
    assert result.returncode in (0, 1), f"{stack.name}:\n{result.stdout[-6000:]}{result.stderr[-2000:]}"
    document = summary(report_dir)
    findings = [r for r in document["requirements"] if r["outcome"] in ("failed", "warning")]
    failed = {r["id"] for r in findings if r["outcome"] == "failed"}
    assert all(r.startswith("LT-HTTP-MSG-") for r in failed), f"{stack.name} failed {sorted(failed)}"
    found = set()
    for requirement in (r for r in findings if r["id"].startswith("LT-HTTP-MSG-")):
        assert len(requirement["failures"]) == requirement["failure_count"], "findings beyond those kept"
        for failure in requirement["failures"]:
            said = f"{failure['expected']} / {failure['received']}"
            print(f"{stack.name}: [{requirement['id']}] {failure['title']}: {said}")
            assert RFC_SECTION.search(said), (
                f"{stack.name}: [{requirement['id']}] names no RFC section: {said}"
            )
            probe = RAW_PROBE_CASE.match(failure["case"])
            found.add((requirement["id"], probe.group(1) if probe else failure["case"]))
    assert found == STRICT_FINDINGS[stack.name]
    assert document["verdict"] == ("non-conformant" if found else "conformant")
    assert not (leaked := _key_leaked_to(report_dir)), f"the key is in {leaked}"


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
