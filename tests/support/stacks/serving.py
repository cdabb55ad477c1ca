"""Starting a stack app as its own server process on loopback, and making sure it is gone afterwards.

The listening socket is bound here (port 0: a free port, no race with other tests) and handed to the
server process as a file descriptor, which every server takes natively (uvicorn ``Server.run(sockets=...)``,
gunicorn ``fd://``, aiohttp ``run_app(sock=...)``). The server runs in a process group of its own, so teardown
signals it and all its workers, first politely, then with SIGKILL, and checks none is left.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import ROOT
from tests.support.stacks.login_token import API_KEY_ENV, OTHER_API_KEY_ENV, PUBLIC_URL_ENV, QRCODE_DIR_ENV

HOST = "127.0.0.1"
STARTUP_SECONDS = 60.0  # bound on a server's start, generous for a loaded 2-core machine
STOP_SECONDS = 10.0  # after SIGTERM, before SIGKILL
GONE_SECONDS = 5.0  # after the server exited, for its workers to go too
POLL_SECONDS = 0.1
PROBE_SECONDS = 2.0  # one readiness request
READY_PATH = "/qr/readiness-probe.png"  # any answer from the app itself (a 404) means it is serving


@dataclass(frozen=True)
class Stack:
    """One web stack: how to start it on an inherited listening socket."""

    name: str
    command: Callable[[int], list[str]]  # listening socket fd -> the server's command line


PYTHON = sys.executable
STACKS: Mapping[str, Stack] = {
    stack.name: stack
    for stack in (
        Stack("fastapi", lambda fd: [PYTHON, "-m", "tests.support.stacks.fastapi_app", str(fd)]),
        # gunicorn's default (sync) workers, two of them: each answer closes its connection, an idle
        # connection holds one worker while the other serves. No proxy stands in front, so no client's
        # X-Forwarded-Proto is trusted (gunicorn trusts loopback peers by default).
        Stack(
            "flask",
            lambda fd: [
                *(PYTHON, "-m", "gunicorn", "--bind", f"fd://{fd}", "--workers", "2"),
                *("--forwarded-allow-ips", "", "--graceful-timeout", "2", "--log-level", "warning"),
                "tests.support.stacks.flask_app:app",
            ],
        ),
        Stack("aiohttp", lambda fd: [PYTHON, "-m", "tests.support.stacks.aiohttp_app", str(fd)]),
    )
}


class StackFailed(RuntimeError):
    """The server did not start in time, or left a process behind."""


@dataclass(frozen=True)
class RunningStack:
    """A stack serving on loopback."""

    name: str
    url: str  # http://127.0.0.1:PORT
    pid: int  # the server's process, also its process group


@contextlib.contextmanager
def serve(
    stack: Stack, *, api_key: str, other_api_key: str, workdir: Path, startup: float = STARTUP_SECONDS
) -> Iterator[RunningStack]:
    """Serve ``stack`` with these tenants' keys until the block ends; its files (QR codes, its output in
    server.log) go to ``workdir``. A server not answering within ``startup`` seconds is a StackFailed."""
    listener = socket.create_server((HOST, 0))
    url = f"http://{HOST}:{listener.getsockname()[1]}"
    qrcodes, log = workdir / "qrcodes", workdir / "server.log"
    qrcodes.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), API_KEY_ENV: api_key, OTHER_API_KEY_ENV: other_api_key}
    env |= {PUBLIC_URL_ENV: url, QRCODE_DIR_ENV: str(qrcodes)}
    with listener, log.open("wb") as output:
        process = subprocess.Popen(
            stack.command(listener.fileno()),
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
            start_new_session=True,
        )
    # The server holds its own copy of the socket; the port is free again once the server is gone.
    try:
        _wait_ready(process, url, log, startup)
        yield RunningStack(stack.name, url, process.pid)
    finally:
        stop(process)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, startup: float) -> None:
    deadline = time.monotonic() + startup
    host, port = url.removeprefix("http://").split(":")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackFailed(f"the server exited with {process.returncode}: {_tail(log)}")
        connection = http.client.HTTPConnection(host, int(port), timeout=PROBE_SECONDS)
        try:
            connection.request("GET", READY_PATH)
            if connection.getresponse().status == 404:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(POLL_SECONDS)
    raise StackFailed(f"the server did not answer within {startup:g} s: {_tail(log)}")


def stop(process: subprocess.Popen[Any], *, grace: float = STOP_SECONDS) -> None:
    """End the server's process group (SIGTERM, SIGKILL after ``grace`` seconds) and check none of its
    processes is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_SECONDS)
    deadline = time.monotonic() + GONE_SECONDS
    while (left := living_in_group(process.pid)) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    if left:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        raise StackFailed(f"processes {sorted(left)} of group {process.pid} outlived the server")


def living_in_group(group: int) -> set[int]:
    """The processes of process group ``group`` that still run (zombies awaiting a reaper not counted)."""
    living = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text(encoding="ascii", errors="replace")
        except OSError:
            continue  # the process ended while the directory was read
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'.
        state, _ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == group and state != "Z":
            living.add(int(stat.parent.name))
    return living


def _tail(log: Path) -> str:
    text = log.read_text(encoding="utf-8", errors="replace").strip()
    return text[-2000:] or "(no output)"
