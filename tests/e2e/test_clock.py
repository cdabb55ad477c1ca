"""End to end: a target whose clock is 13 hours off is non-conformant (issue 9, item 6)."""

from __future__ import annotations

import email.utils
import secrets
import socket
import time
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from tests.support.cli import conformance, summary
from tests.support.hostile_server import VALID_TEMPLATE, XML, HostileServer, ReceivedRequest, _response

pytestmark = pytest.mark.e2e
SKEW_SECONDS = 13 * 3600


class SkewedClockServer(HostileServer):
    """Grants everything, consistently with its own clock, which is SKEW_SECONDS ahead of the real one."""

    def __init__(self, skew: float) -> None:
        super().__init__("valid")
        self.skew = skew

    def _answer(self, conn: socket.socket, request: ReceivedRequest) -> bool:
        form = dict(parse_qsl(request.body.decode("ascii", "replace")))
        now = time.time() + self.skew
        seconds = int(form.get("token_expire", "3600")) if form.get("token_expire", "").isdigit() else 3600
        body = VALID_TEMPLATE.format(
            user_id=form.get("user_id", "0"), token=secrets.token_hex(16), expire=int(now) + seconds
        ).encode()
        headers = [
            ("Content-Type", XML),
            ("Cache-Control", "no-store"),
            ("Date", email.utils.formatdate(now, usegmt=True)),
        ]
        conn.sendall(_response("200 OK", headers, body))
        return True


@pytest.mark.parametrize("skew", [SKEW_SECONDS, -SKEW_SECONDS])
def test_a_target_clock_13_hours_off_is_non_conformant(tmp_path: Path, skew: float) -> None:
    with SkewedClockServer(skew) as server:
        result = conformance(
            "run",
            "--target",
            server.url,
            "--user-id",
            "12345",
            "--report-dir",
            str(tmp_path / "r"),
            "-k",
            "test_valid_request_is_granted",
            env={"CONFORMANCE_API_KEY": "CANARY-KEY-clock-e2e-01"},
            cwd=tmp_path,
        )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    requirements = {r["id"]: r for r in summary(tmp_path / "r")["requirements"]}
    failure = requirements["LT-EXPIRE-CONSISTENT"]["failures"][0]
    assert "suite clock" in failure["expected"]
    drift = int(failure["received"].rsplit("(", 1)[1].rstrip("s)"))
    assert abs(drift - skew) <= 2  # the 13 hours, by the suite's clock
