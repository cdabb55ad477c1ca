"""What the transport tests send and look for: a canary key, a valid case, a short deadline, no key seen."""

from __future__ import annotations

import socket

from conformance.core.model import API_KEY_PLACEHOLDER, Case, Exchange, Expect
from conformance.exchange.transport import TransportSettings

KEY = "CANARY-KEY-7f3a9c"
TIMEOUT = 1.0
FAST = TransportSettings(timeout=TIMEOUT)
CASE = Case(
    label="valid request",
    form=(("api_key", API_KEY_PLACEHOLDER), ("user_id", "12345"), ("token_expire", "3600")),
    expect=Expect.ACCEPT,
    requirement="LT-INPUT-USER-VALID",
    user_id=12345,
    token_expire=3600,
)


def assert_secret_free(exchange: Exchange) -> None:
    """The key appears neither in the error detail nor in the exchange's repr."""
    assert KEY not in exchange.error_detail
    assert KEY not in repr(exchange)


def read_request(conn: socket.socket) -> None:
    """Read one whole HTTP request (head and Content-Length body), so closing leaves nothing unread."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += conn.recv(65536)
