"""The transport: target rails, the overall deadline, body caps, redirects, TLS, budget, rate, secrecy."""

from __future__ import annotations

import dataclasses
import math
import socket
import struct
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from conformance.core._limits import (
    EVIDENCE_BYTES,
    BodyTooLarge,
    CappedBody,
    RateLimiter,
    UnsupportedEncoding,
)
from conformance.core.model import (
    API_KEY_PLACEHOLDER,
    TransportError,
    key_probe_secrets,
)
from conformance.core.profile import Profile
from conformance.exchange.transport import (
    DEFAULT_REMOTE_RATE,
    FRESH_CONNECTION,
    KeyInUrlRefused,
    TargetRefused,
    Transport,
    TransportSettings,
    endpoint_url,
    is_loopback,
)
from conformance.inputs import (
    CaseBuilder,
    Users,
    equivalent_cases,
    forbidden_spelling_cases,
    identity_cases,
    key_probe_cases,
    route_cases,
    sentinel_cases,
)
from tests.support import ROOT
from tests.support.transport import CASE, FAST, KEY, TIMEOUT, assert_secret_free, read_request

# -- target rails (nothing is ever connected) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("https://api.example.com", "https://api.example.com/v1/user/login_token"),
        ("https://api.example.com/", "https://api.example.com/v1/user/login_token"),
        ("https://api.example.com/base/", "https://api.example.com/base/v1/user/login_token"),
        ("https://api.example.com/v1/user/login_token", "https://api.example.com/v1/user/login_token"),
        ("HTTP://127.0.0.1:8080", "http://127.0.0.1:8080/v1/user/login_token"),
        ("http://[::1]:9000/x", "http://[::1]:9000/x/v1/user/login_token"),
    ],
)
def test_endpoint_url_appends_the_endpoint_path_once(target: str, expected: str) -> None:
    assert endpoint_url(target) == expected


@pytest.mark.parametrize(
    "target",
    ["", "api.example.com", "ftp://api.example.com", "https://", "http://h:99999", "http://h:port",
     "https://user:pw@api.example.com", "https://api.example.com/?x=1", "https://api.example.com/#f"],
)  # fmt: skip
def test_invalid_target_is_refused_with_the_expected_form(target: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        endpoint_url(target)
    assert str(refused.value) == f"invalid target URL {target!r}: expected http(s)://host[:port][/base]"


# Names resolve through this table (injected): the test never asks a real resolver.
RESOLVED = {
    "api.localhost": ["10.1.2.3"],  # a *.localhost name leading elsewhere is not loopback
    "dev.localhost": ["127.0.0.1", "::1"],
    "mixed.example": ["127.0.0.1", "10.0.0.1"],
    "staging.example.com": ["192.0.2.10"],
}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.9.8.7", True), ("localhost", True), ("LOCALHOST.", True),
     ("api.localhost", False), ("dev.localhost", True), ("mixed.example", False), ("unresolvable", False),
     ("::1", True), ("[::1]", True), ("::ffff:127.0.0.1", True),
     ("10.0.0.1", False), ("staging.example.com", False), ("localhost.example.com", False), ("::2", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    """Literals and `localhost` itself are judged as written; every other name by what it resolves to."""
    assert is_loopback(host, resolve=lambda name: RESOLVED.get(name, [])) is loopback


def test_plain_http_to_a_remote_host_is_refused_unless_allowed() -> None:
    with pytest.raises(TargetRefused) as refused:
        Transport("http://staging.example.com", api_key=KEY)
    message = str(refused.value)
    assert "staging.example.com" in message
    assert "--allow-http" in message
    assert "\n" not in message
    with Transport("http://staging.example.com", api_key=KEY, settings=TransportSettings(allow_http=True)):
        pass


def test_production_host_is_refused_unless_allowed() -> None:
    production = TransportSettings(production_hosts=("*.example.com",))
    with pytest.raises(TargetRefused) as refused:
        Transport("https://API.Example.COM/base", api_key=KEY, settings=production)
    assert "--allow-production" in str(refused.value)
    assert "'*.example.com'" in str(refused.value)
    allowed = TransportSettings(production_hosts=("*.example.com",), allow_production=True)
    with Transport("https://api.example.com", api_key=KEY, settings=allowed) as transport:
        assert transport.url == "https://api.example.com/v1/user/login_token"
    with Transport("https://staging.example.org", api_key=KEY, settings=production):
        pass


def test_missing_or_unreadable_ca_bundle_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TargetRefused, match="--ca-bundle"):
        Transport("https://127.0.0.1", api_key=KEY, settings=TransportSettings(ca_bundle=tmp_path / "no.pem"))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(TargetRefused, match="--ca-bundle"):
        Transport("https://127.0.0.1", api_key=KEY, settings=TransportSettings(ca_bundle=junk))


@pytest.mark.parametrize(
    "settings",
    [{"timeout": 0}, {"max_body_bytes": 0}, {"rate": 0.0}, {"max_requests": -1}],
)
def test_nonsensical_settings_are_rejected(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        TransportSettings(**settings)  # type: ignore[arg-type]


def test_remote_hosts_get_a_default_rate_and_loopback_is_unthrottled() -> None:
    with Transport("https://api.example.com", api_key=KEY) as remote:
        assert remote.rate == DEFAULT_REMOTE_RATE
    with Transport("http://127.0.0.1:1", api_key=KEY) as local:
        assert local.rate is None
    with Transport("https://api.example.com", api_key=KEY, settings=TransportSettings(rate=0.5)) as slow:
        assert slow.rate == 0.5


def test_repr_does_not_show_the_key() -> None:
    with Transport("https://api.example.com", api_key=KEY) as transport:
        assert KEY not in repr(transport)


# -- rate limiter and budget ---------------------------------------------------------------------------


class FakeClock:
    """A monotonic clock that only moves when the limiter sleeps or the test advances it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_limiter_spaces_calls_by_the_interval() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        limiter.wait()
    assert clock.sleeps == pytest.approx([0.25, 0.25, 0.25])
    clock.now += 10.0  # an idle gap longer than the interval needs no sleep
    limiter.wait()
    assert len(clock.sleeps) == 3
    clock.now += 0.1
    limiter.wait()
    assert clock.sleeps[-1] == pytest.approx(0.15)


def test_rate_limiter_without_rate_never_sleeps() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        limiter.wait()
    assert clock.sleeps == []


# -- errors raised inside httpx: classification, redaction, passthrough ---------------------------------


class FakeCassetteMiss(OSError):
    """Stands in for cassettes.CassetteError; an OSError so that only ``passthrough`` lets it through."""


def transport_raising(exc: Exception, **kwargs: object) -> Transport:
    """A Transport whose httpx transport raises ``exc``, as a replayed cassette's recorded error does."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    mock = httpx.MockTransport(handler)
    return Transport("http://127.0.0.1:9", api_key=KEY, settings=FAST, transport=mock, **kwargs)  # type: ignore[arg-type]


def test_error_detail_is_one_redacted_line() -> None:
    exc = httpx.ConnectError(f"refused\nwhile sending api_key={KEY} (also {KEY.lower()!r})")
    with transport_raising(exc) as transport:
        exchange = transport.send(CASE)
    assert exchange.error is TransportError.CONNECT
    assert "\n" not in exchange.error_detail
    assert API_KEY_PLACEHOLDER in exchange.error_detail
    assert_secret_free(exchange)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        # As a replayed cassette raises them: the recorded class and message, no cause chain.
        (httpx.ReadTimeout("timed out"), TransportError.TIMEOUT),
        (httpx.ConnectTimeout("timed out"), TransportError.TIMEOUT),
        (httpx.ConnectError("[Errno 111] Connection refused"), TransportError.CONNECT),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c)"),
         TransportError.TLS),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), TransportError.RESET),
        (httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
         TransportError.RESET),
        (httpx.RemoteProtocolError("illegal status line: bytearray(b'HTTP/9')"), TransportError.PROTOCOL),
        (ConnectionResetError(104, "Connection reset by peer"), TransportError.RESET),
    ],
)  # fmt: skip
def test_errors_raised_inside_httpx_are_classified(exc: Exception, kind: TransportError) -> None:
    with transport_raising(exc) as transport:
        exchange = transport.send(CASE)
    assert exchange.error is kind
    assert exchange.status is None


def test_unlimited_rate_can_be_asked_for_explicitly() -> None:
    settings = TransportSettings(rate=math.inf)
    with Transport("https://api.example.com", api_key=KEY, settings=settings) as transport:
        assert transport.rate == math.inf
    clock = FakeClock()
    limiter = RateLimiter(math.inf, clock=clock, sleep=clock.sleep)
    limiter.wait()
    limiter.wait()
    assert clock.sleeps == []


def test_passthrough_exceptions_propagate() -> None:
    with transport_raising(FakeCassetteMiss("not in cassette")) as swallowing:
        assert swallowing.send(CASE).error is TransportError.PROTOCOL
    with (
        transport_raising(FakeCassetteMiss("not in cassette"), passthrough=(FakeCassetteMiss,)) as passing,
        pytest.raises(FakeCassetteMiss),
    ):
        passing.send(CASE)


def test_non_transport_exceptions_are_not_swallowed() -> None:
    with transport_raising(RuntimeError("a bug, not the target")) as transport, pytest.raises(RuntimeError):
        transport.send(CASE)


@pytest.mark.parametrize(
    ("headers", "content", "detail"),
    [
        ({"Content-Encoding": "br"}, b"\x1b\x00", "unsupported Content-Encoding 'br'"),
        ({"Content-Encoding": "gzip"}, b"definitely not gzip", "undecodable gzip body"),
    ],
)
def test_undecodable_bodies_are_protocol_errors(headers: dict[str, str], content: bytes, detail: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # A stream, not content=: httpx would decode content= eagerly; vcrpy replays this way too.
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(content))

    mock = httpx.MockTransport(handler)
    with Transport("http://127.0.0.1:9", api_key=KEY, settings=FAST, transport=mock) as transport:
        exchange = transport.send(CASE)
    assert exchange.error is TransportError.PROTOCOL
    assert exchange.error_detail.startswith(detail)
    assert exchange.status == 200


# -- the capped reader ---------------------------------------------------------------------------------

PAYLOAD = b"<user_response>" + b"x" * 5000 + b"</user_response>"


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        ("", PAYLOAD),
        ("identity", PAYLOAD),
        ("gzip", zlib.compress(PAYLOAD, wbits=16 + zlib.MAX_WBITS)),
        ("x-gzip", zlib.compress(PAYLOAD, wbits=16 + zlib.MAX_WBITS)),
        ("deflate", zlib.compress(PAYLOAD)),
        ("Deflate", zlib.compress(PAYLOAD, wbits=-zlib.MAX_WBITS)),  # raw deflate, as some servers send
    ],
)
def test_capped_body_decodes_in_small_chunks(encoding: str, encoded: bytes) -> None:
    body = CappedBody(encoding, max_bytes=len(PAYLOAD))  # exactly at the cap is allowed
    for start in range(0, len(encoded), 7):
        body.feed(encoded[start : start + 7])
    assert body.finish() == PAYLOAD


def test_capped_body_one_byte_over_the_cap_is_too_large() -> None:
    body = CappedBody("", max_bytes=len(PAYLOAD) - 1)
    with pytest.raises(BodyTooLarge) as too_large:
        body.feed(PAYLOAD)
    assert too_large.value.evidence == PAYLOAD[:EVIDENCE_BYTES]


@pytest.mark.parametrize("encoding", ["br", "gzip, gzip", "compress"])
def test_capped_body_refuses_encodings_it_cannot_cap(encoding: str) -> None:
    with pytest.raises(UnsupportedEncoding):
        CappedBody(encoding, max_bytes=100)


def hang_up(conn: socket.socket) -> None:
    """Close cleanly (FIN): the client reads end-of-stream before any response."""
    conn.close()


def reset(conn: socket.socket) -> None:
    """Close with an RST, as a server does that closed the connection before the request arrived."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@pytest.mark.parametrize("drop", [hang_up, reset], ids=["hang-up", "reset"])
def test_a_reused_connection_dropped_before_any_answer_is_retried_once_on_a_fresh_one(
    drop: Callable[[socket.socket], None],
) -> None:
    """A server closing an idle keep-alive connection as the next request arrives is not a finding."""
    body = b"<user_response/>"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n"
    answer = head % len(body) + body
    connections: list[int] = []

    def serve(listener: socket.socket) -> None:
        conn, _ = listener.accept()
        connections.append(1)
        read_request(conn)
        conn.sendall(answer)  # keep-alive (HTTP/1.1 default) ...
        read_request(conn)
        drop(conn)  # ... then the next request arrives just as the server drops the connection
        conn, _ = listener.accept()
        connections.append(2)
        with conn:
            read_request(conn)
            conn.sendall(answer)

    with socket.create_server(("127.0.0.1", 0)) as listener:
        thread = threading.Thread(target=serve, args=(listener,), daemon=True)
        thread.start()
        port = listener.getsockname()[1]
        with Transport(f"http://127.0.0.1:{port}", api_key=KEY, settings=FAST) as transport:
            first = transport.send(CASE)
            second = transport.send(CASE)
        thread.join(timeout=5)
    assert (first.status, second.status) == (200, 200), second.error_detail
    assert second.error is None
    assert len(connections) == 2
    assert transport.requests_sent == 2  # the retry is the same request, not a new one


# -- the seam: an httpx transport is injected, never patched in ---------------------------------------


def test_an_injected_httpx_transport_carries_every_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, headers={"Content-Type": "application/xml"}, stream=httpx.ByteStream(b"<ok/>")
        )

    fresh = dataclasses.replace(CASE, fresh_connection=True)
    mock = httpx.MockTransport(handler)
    with Transport("http://127.0.0.1:9", api_key=KEY, settings=FAST, transport=mock) as transport:
        pooled, alone = transport.send(CASE), transport.send(fresh)
    assert (pooled.status, pooled.body, alone.status) == (200, b"<ok/>", 200)
    assert [r.extensions.get(FRESH_CONNECTION, False) for r in seen] == [False, True]
    assert seen[0].content == f"api_key={KEY}&user_id=12345&token_expire=3600".encode()


def test_no_test_touches_transport_internals_or_patches_httpx() -> None:
    """Tests inject httpx transports (MockTransport, a book's, the network's): a seam, not a patch."""
    import re

    forbidden = re.compile(
        r"\._client\b|\._pool\b|\._inner\b|setattr\(\s*httpx\b|patch\(\s*[\"']httpx\.|"
        r"httpx\.\w+\.\w+\s*=[^=]|setattr\(\s*(Transport|NetworkTransport|CassetteTransport)\b"
    )
    marker = "def test_no_test_touches_transport_internals"  # this test's own patterns are not uses
    offending = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").split(marker)[0].splitlines(), 1)
        if forbidden.search(line)
    ]
    assert offending == []
    # The pattern itself catches what it is meant to catch.
    for sample in ("transport._client = x", 'monkeypatch.setattr(httpx, "Client", x)',
                   "httpx.HTTPTransport.handle_request = stub", 'mock.patch("httpx.Client")'):  # fmt: skip
        assert forbidden.search(sample), sample


# -- who the suite says it is, and where the key travels (issue 19) -------------------------------------

REMOTE = "https://192.0.2.1"  # a literal: judged not loopback without a DNS lookup


def recording_transport(
    target: str = "http://127.0.0.1:9", **kwargs: object
) -> tuple[Transport, list[httpx.Request]]:
    """A Transport to ``target`` (never rate-limited) whose requests are kept and answered 401."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, stream=httpx.ByteStream(b""))

    mock = httpx.MockTransport(handler)
    settings = TransportSettings(timeout=TIMEOUT, rate=math.inf)
    return Transport(target, api_key=KEY, settings=settings, transport=mock, **kwargs), seen  # type: ignore[arg-type]


def test_requests_carry_a_stock_client_identity_and_the_second_differs() -> None:
    transport, seen = recording_transport()
    with transport:
        transport.send(CASE)
        transport.send(dataclasses.replace(CASE, alternate_identity=True))
    stock, second = (request.headers for request in seen)
    assert stock["user-agent"] == f"python-httpx/{httpx.__version__}" and stock["accept"] == "*/*"
    assert "conformance" not in str(stock).lower() and "conformance" not in str(second).lower()
    for name in ("user-agent", "accept", "accept-encoding"):
        assert stock[name] != second[name], name
    assert second["user-agent"].startswith("curl/")


def test_user_agent_option_is_sent_by_both_identities() -> None:
    transport, seen = recording_transport(user_agent="Acme-Gateway/2.1 (ops@example.com)")
    with transport:
        transport.send(CASE)
        transport.send(dataclasses.replace(CASE, alternate_identity=True))
    assert {r.headers["user-agent"] for r in seen} == {"Acme-Gateway/2.1 (ops@example.com)"}
    assert len({r.headers["accept"] for r in seen}) == 2


@pytest.mark.parametrize("value", ["", " lead", "trail ", "a\r\nX-Injected: 1", "caf\u00e9", "x" * 201])
def test_user_agent_that_is_no_header_value_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"--user-agent .* is not a valid header value"):
        recording_transport(user_agent=value)


def test_the_key_never_goes_in_a_url_to_a_remote_target_unless_allowed() -> None:
    in_query = dataclasses.replace(CASE, method="GET", form_in_query=True)
    probe = dataclasses.replace(in_query, form=(("api_key", "__API_KEY_PROBE_last__"), *CASE.form[1:]))
    wrong = dataclasses.replace(in_query, form=(("api_key", "placeholder-invalid-key-0000"), *CASE.form[1:]))
    transport, seen = recording_transport(REMOTE)
    with transport:
        assert transport.key_in_query is False
        for case in (in_query, probe):
            with pytest.raises(KeyInUrlRefused, match="--send-key-in-query"):
                transport.send(case)
        transport.send(wrong)
        transport.send(dataclasses.replace(CASE, method="GET"))  # the form in the body
    assert [str(r.url) for r in seen] == [
        f"{REMOTE}/v1/user/login_token?api_key=placeholder-invalid-key-0000&user_id=12345&token_expire=3600",
        f"{REMOTE}/v1/user/login_token",
    ]
    assert KEY.encode() in seen[1].content
    allowed, seen = recording_transport(REMOTE, send_key_in_query=True)
    with allowed:
        assert allowed.key_in_query is True
        allowed.send(in_query)
    assert KEY in str(seen[0].url)


def test_loopback_targets_may_carry_the_key_in_a_url() -> None:
    transport, _ = recording_transport("http://127.0.0.1:9")
    with transport:
        assert transport.key_in_query is True


def test_no_case_the_suite_sends_puts_the_key_in_a_url_to_a_remote_target() -> None:
    transport, seen = recording_transport(REMOTE)
    users = Users(user_id=12345, unknown_user_id=999, foreign_user_id=54321)
    builder = CaseBuilder(users=users, profile=Profile(), valid_key_in_query=transport.key_in_query)
    cases = [
        *route_cases(builder),
        *identity_cases(builder),
        *sentinel_cases(builder),
        *key_probe_cases(builder),
        *equivalent_cases(builder),
        *forbidden_spelling_cases(builder),
    ]
    with transport:
        for case in cases:
            transport.send(case)
    assert len(seen) == len(cases) and any(r.url.query for r in seen)
    urls = [unquote(str(r.url)) for r in seen]
    for secret in (KEY, *key_probe_secrets(KEY)):
        assert not [url for url in urls if secret.strip() in url], secret
