"""The transport against real servers on loopback: deadlines, body caps, redirects, TLS, the budget."""

from __future__ import annotations

import dataclasses
import socket
import threading
import tracemalloc

import httpx
import pytest

from conformance.core._limits import (
    EVIDENCE_BYTES,
)
from conformance.core.model import (
    Exchange,
    TransportError,
)
from conformance.exchange.transport import (
    FRESH_CONNECTION,
    NetworkTransport,
    RequestBudgetExceeded,
    Transport,
    TransportSettings,
)
from tests.support.hostile_server import HostileServer, TlsServer, gzip_bomb
from tests.support.transport import CASE, FAST, KEY, TIMEOUT, assert_secret_free, read_request

pytestmark = pytest.mark.e2e

SLACK = 0.5  # scheduling slack on top of the deadline; the point is "not 30 s", not precision
MEMORY_LIMIT = 8 * 1_048_576  # below the 10 MiB huge_body, so reading it whole would fail (capped: ~3 MiB)
# Bodies the transport must deliver as they are: judging them is the parser's and the checks' job.
DELIVERED_AS_IS = {
    "non_xml": (200, b"Service temporarily unavailable"),
    "truncated_xml": (200, b'<?xml version="1.0" encoding="UTF-8"?>'),
    "wrong_encoding": (200, b'encoding="UTF-16"'),
    "empty_body": (200, b""),
    "html_error": (500, b"<!DOCTYPE html>"),
    "external_entity": (200, b'<!ENTITY local SYSTEM "file:///etc/passwd">'),
    "billion_laughs": (200, b"<!ENTITY lol9"),
    "path_body": (200, b"/etc/passwd"),
    "url_body": (200, b"/x.xsd"),
}


def send_once(server: HostileServer, settings: TransportSettings = FAST) -> Exchange:
    """One request through a fresh Transport to ``server``."""
    with Transport(server.url, api_key=KEY, settings=settings) as transport:
        return transport.send(CASE)


# -- the request budget --------------------------------------------------------------------------------


def test_request_budget_stops_before_the_next_request() -> None:
    with HostileServer("valid") as server:
        settings = TransportSettings(timeout=TIMEOUT, max_requests=2)
        with Transport(server.url, api_key=KEY, settings=settings) as transport:
            first, second = transport.send(CASE), transport.send(CASE)
            with pytest.raises(RequestBudgetExceeded) as exceeded:
                transport.send(CASE)
            assert transport.requests_sent == 2
        assert len(server.requests) == 2
    assert (first.sequence, second.sequence) == (1, 2)
    assert str(exceeded.value) == "request budget of 2 exhausted; raise --max-requests"


# -- what a well-behaved target yields -----------------------------------------------------------------


def test_valid_exchange_records_the_request_and_the_response() -> None:
    with HostileServer("valid") as server:
        transport = Transport(server.url, api_key=KEY, settings=FAST, now=lambda: 1234.5)
        with transport:
            exchange = transport.send(CASE)
        (received,) = server.requests
    assert exchange.answered
    assert exchange.status == 200
    assert exchange.sent_at == 1234.5
    assert 0 < exchange.elapsed < TIMEOUT
    assert exchange.url == f"{server.url}/v1/user/login_token"
    assert exchange.sequence == 1
    assert exchange.header("Content-Type") == "application/xml; charset=UTF-8"
    assert all(name == name.lower() for name, _ in exchange.headers)
    assert b"<user_id>12345</user_id>" in exchange.body
    headers = dict(received.headers)
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert received.body == f"api_key={KEY}&user_id=12345&token_expire=3600".encode()


def test_other_methods_paths_and_fresh_connections_go_as_the_case_says() -> None:
    get = dataclasses.replace(CASE, method="GET", form_in_query=True, fresh_connection=True)
    slash = dataclasses.replace(CASE, path_variant="trailing-slash")
    with HostileServer("valid") as server, Transport(server.url, api_key=KEY, settings=FAST) as transport:
        got, slashed = transport.send(get), transport.send(slash)
        first, second = server.requests
    assert (first.method, first.body) == ("GET", b"")
    assert first.path == f"/v1/user/login_token?api_key={KEY}&user_id=12345&token_expire=3600"
    assert KEY not in got.url and "api_key=__API_KEY_REDACTED__" in got.url  # evidence never holds the key
    assert (second.method, second.path) == ("POST", "/v1/user/login_token/")
    assert slashed.url.endswith("/v1/user/login_token/")


def test_gzip_body_is_decoded() -> None:
    with HostileServer("valid_gzip") as server:
        exchange = send_once(server)
    assert exchange.answered
    assert exchange.header("content-encoding") == "gzip"
    assert exchange.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_proxy_environment_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    with HostileServer("valid") as server:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, server.canary.url(""))
        exchange = send_once(server)
        assert server.canary.connections == 0
    assert exchange.status == 200


# -- hostile targets -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(DELIVERED_AS_IS))
def test_hostile_body_is_delivered_unjudged_and_nothing_is_fetched(case: str) -> None:
    status, fragment = DELIVERED_AS_IS[case]
    with HostileServer(case) as server:
        exchange = send_once(server)
        assert server.canary.connections == 0
    assert exchange.error is None
    assert exchange.status == status
    assert fragment in exchange.body


def send_traced(server: HostileServer) -> tuple[Exchange, int]:
    """One request, and the peak of Python memory allocated while it ran."""
    tracemalloc.start()
    try:
        exchange = send_once(server)
        return exchange, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_huge_body_stops_at_the_cap_in_bounded_memory() -> None:
    with HostileServer("huge_body") as server:
        exchange, peak = send_traced(server)
    assert exchange.error is TransportError.TOO_LARGE
    assert "on the wire" in exchange.error_detail
    assert exchange.status == 200
    assert len(exchange.body) == EVIDENCE_BYTES
    assert exchange.body.startswith(b"<?xml")
    assert peak < MEMORY_LIMIT
    assert_secret_free(exchange)


def test_gzip_bomb_stops_at_the_decompressed_cap_in_bounded_memory() -> None:
    gzip_bomb()  # built before tracing: the server's copy is not the client's memory
    with HostileServer("gzip_bomb") as server:
        exchange, peak = send_traced(server)
    assert exchange.error is TransportError.TOO_LARGE
    assert "decompressed body exceeds the 1048576-byte cap" in exchange.error_detail
    assert len(exchange.body) <= EVIDENCE_BYTES
    assert peak < MEMORY_LIMIT


def test_small_cap_applies_to_wire_and_to_decoded_bytes() -> None:
    with HostileServer("valid") as server:
        wire = send_once(server, TransportSettings(timeout=TIMEOUT, max_body_bytes=100))
        server.case = "valid_gzip"  # ~250 bytes compressed, ~360 decoded
        decoded = send_once(server, TransportSettings(timeout=TIMEOUT, max_body_bytes=300))
    assert wire.error is TransportError.TOO_LARGE
    assert "on the wire" in wire.error_detail
    assert decoded.error is TransportError.TOO_LARGE
    assert "decompressed" in decoded.error_detail


@pytest.mark.parametrize(("case", "status"), [("slow", None), ("slow_drip", 200)])
def test_whole_request_ends_within_the_deadline(case: str, status: int | None) -> None:
    with HostileServer(case) as server:
        exchange = send_once(server)
    assert exchange.error is TransportError.TIMEOUT
    assert exchange.status == status
    assert exchange.elapsed < TIMEOUT + SLACK
    assert exchange.error_detail == "no complete response within the 1 s deadline"
    assert_secret_free(exchange)


def test_slow_drip_is_cut_at_the_deadline_not_at_the_next_byte() -> None:
    # Bytes arrive at 1 s, 2 s, ...: checking the clock between chunks alone would end this at 2 s.
    timeout = 1.3
    with HostileServer("slow_drip") as server:
        exchange = send_once(server, TransportSettings(timeout=timeout))
    assert exchange.error is TransportError.TIMEOUT
    assert exchange.elapsed < timeout + SLACK


def test_deadline_holds_on_a_reused_connection() -> None:
    with HostileServer("valid") as server:
        with Transport(server.url, api_key=KEY, settings=FAST) as transport:
            first = transport.send(CASE)
            server.case = "slow_drip"
            second = transport.send(CASE)
        assert server.connections == 1  # the second request really went over the pooled connection
    assert first.answered
    assert second.error is TransportError.TIMEOUT
    assert second.elapsed < TIMEOUT + SLACK


def test_reset_mid_body_is_reported_as_reset() -> None:
    with HostileServer("reset_mid_body") as server:
        exchange = send_once(server)
    assert exchange.error is TransportError.RESET
    assert not exchange.answered
    assert_secret_free(exchange)


def test_malformed_http_is_a_protocol_error() -> None:
    with HostileServer("malformed_http") as server:
        exchange = send_once(server)
    assert exchange.error is TransportError.PROTOCOL
    assert exchange.status is None
    assert exchange.error_detail.startswith("RemoteProtocolError")


def test_redirect_is_returned_and_never_followed() -> None:
    with HostileServer("redirect_other_host") as server:
        exchange = send_once(server)
        assert server.canary.connections == 0
        assert len(server.requests) == 1
        location = server.canary.url("/steal")
    assert exchange.error is None
    assert exchange.status == 302
    assert exchange.header("location") == location


def test_connection_refused_is_reported_as_connect() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before use: nothing listens there
    with Transport(f"http://127.0.0.1:{port}", api_key=KEY, settings=FAST) as transport:
        exchange = transport.send(CASE)
    assert exchange.error is TransportError.CONNECT
    assert exchange.status is None
    assert_secret_free(exchange)


def test_unverifiable_certificate_fails_and_ca_bundle_fixes_it() -> None:
    with TlsServer("valid") as server:
        refused = send_once(server)
        trusted = send_once(server, TransportSettings(timeout=TIMEOUT, ca_bundle=server.cert_path))
    assert refused.error is TransportError.TLS
    assert "CERTIFICATE_VERIFY_FAILED" in refused.error_detail
    assert trusted.answered
    assert trusted.status == 200


# -- the network's own httpx transport -----------------------------------------------------------------


def test_network_transport_pools_connections_and_opens_one_of_its_own_when_asked() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n"
    peers: list[int] = []

    def serve(listener: socket.socket) -> None:
        for _ in range(2):  # the pooled connection (two requests), then the fresh one (one request)
            conn, peer = listener.accept()
            with conn:
                for _ in range(2 if not peers else 1):
                    read_request(conn)
                    peers.append(peer[1])
                    body = str(peer[1]).encode()
                    conn.sendall(head % len(body) + body)

    with socket.create_server(("127.0.0.1", 0)) as listener:
        thread = threading.Thread(target=serve, args=(listener,), daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        with httpx.Client(transport=NetworkTransport(settings=FAST)) as client:
            first = client.post(url, content=b"a").text
            second = client.post(url, content=b"b").text
            alone = client.post(url, content=b"c", extensions={FRESH_CONNECTION: True}).text
        thread.join(timeout=5)
    assert first == second != alone
    assert len(set(peers)) == 2
