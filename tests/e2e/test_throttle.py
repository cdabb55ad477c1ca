"""End to end: throttling is bounded (issue 9, item 5) through the real CLI against a loopback server."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.support.cli import conformance, summary
from tests.support.hostile_server import HostileServer, ReceivedRequest, _response

pytestmark = pytest.mark.e2e
KEY = {"CONFORMANCE_API_KEY": "CANARY-KEY-throttle-0001"}
BUDGET_SECONDS = 3
TIMEOUT_SECONDS = 2
SLACK_SECONDS = 20  # process start, reports: a bound against hours of waiting, not a timing assertion


class ThrottlingServer(HostileServer):
    """Answers every request 429 with the given Retry-After and body."""

    def __init__(self, retry_after: str, body: bytes = b"<error>slow down</error>") -> None:
        super().__init__("valid")
        self.retry_after = retry_after
        self.body = body

    def _answer(self, conn: socket.socket, request: ReceivedRequest) -> bool:
        headers = [("Content-Type", "application/xml"), ("Retry-After", self.retry_after)]
        conn.sendall(_response("429 Too Many Requests", headers, self.body))
        return True


def _run(server: HostileServer, tmp_path: Path) -> tuple[int, str, float]:
    started = time.monotonic()
    result = conformance(
        "run",
        "--target",
        server.url,
        "--user-id",
        "12345",
        "--foreign-user-id",
        "777",
        "--max-throttle-wait",
        str(BUDGET_SECONDS),
        "--timeout",
        str(TIMEOUT_SECONDS),
        "--report-dir",
        str(tmp_path / "r"),
        env=KEY,
        cwd=tmp_path,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result.returncode, result.stdout, time.monotonic() - started


@pytest.mark.parametrize(
    "retry_after", ["1", "²", "-5", "99999999999999999999", "Wed, 21 Oct 2099 07:28:00 GMT"]
)
def test_a_target_throttling_forever_ends_incomplete_within_the_budget(
    tmp_path: Path, retry_after: str
) -> None:
    with ThrottlingServer(retry_after) as server:
        code, stdout, elapsed = _run(server, tmp_path)
    assert code == 6, stdout[-3000:]
    assert elapsed < BUDGET_SECONDS + TIMEOUT_SECONDS + SLACK_SECONDS
    document = summary(tmp_path / "r")
    assert document["verdict"] == "incomplete"
    assert "throttle budget of 3 s" in document["stopped_early"]
    assert document["throttle_waited_s"] <= BUDGET_SECONDS
    assert "throttle budget" in stdout


def test_a_token_in_a_429_is_a_finding(tmp_path: Path) -> None:
    leak = (
        b"<user_response><status>429</status><token>0123456789abcdef0123456789abcdef</token></user_response>"
    )
    with ThrottlingServer("1", leak) as server:
        code, stdout, _ = _run(server, tmp_path)
    assert code == 1, stdout[-3000:]
    requirement = {r["id"]: r for r in summary(tmp_path / "r")["requirements"]}["LT-REJECT-NO-TOKEN"]
    assert requirement["outcome"] == "failed"
    assert "HTTP 429" in requirement["failures"][0]["received"]
