"""Raw-message probes: h11 builds the messages (and one named edit changes what h11 refuses to build),
h11 reads the answers on a connection of the probe's own, under the deadline and the cap."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import h11
import httpcore
import pytest

from conformance.core._limits import Deadline
from conformance.core.model import Case, Expect
from conformance.exchange._network import DeadlineBackend, within
from conformance.exchange.raw import (
    PAD,
    PROBES,
    RAW_REQUESTS,
    Message,
    build,
    converse,
    get_probe,
)
from conformance.exchange.transport import Transport, TransportSettings
from tests.support.h11_server import H11Server

URL = "http://api.test:8080/v1/user/login_token"
FORM = b"api_key=k&user_id=12345&token_expire=3600"
KEY = "CANARY-RAW-KEY-71c9e0"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\nok"


def _parsed(built_head: bytes, body: bytes) -> tuple[h11.Request, bytes]:
    """What a strict HTTP/1.1 server reads of the bytes (h11 server side)."""
    server = h11.Connection(h11.SERVER)
    server.receive_data(built_head + body)
    request = server.next_event()
    assert isinstance(request, h11.Request)
    data = b""
    while not isinstance(event := server.next_event(), h11.EndOfMessage):
        assert isinstance(event, h11.Data)
        data += event.data
    return request, data


def test_a_plain_message_is_what_h11_reads_back() -> None:
    built = build(Message(), url=URL, form=FORM)
    request, body = _parsed(built.head, built.body)
    assert (request.method, request.target, body) == (b"POST", b"/v1/user/login_token", FORM)
    assert (b"host", b"api.test:8080") in list(request.headers)


def test_chunked_and_absolute_form_messages_carry_the_whole_form() -> None:
    built = build(Message(chunked=True, absolute=True), url=URL, form=FORM)
    request, body = _parsed(built.head, built.body)
    assert request.target == URL.encode()
    assert body == FORM
    assert built.body.count(b"\r\n") > 4  # two chunks and the last one


@pytest.mark.parametrize(
    ("edit", "refused"),
    [
        ("drop-host", "Missing mandatory Host"),
        ("second-host", "multiple Host"),
        ("conflicting-length", "Content-Length"),
    ],
)
def test_an_edit_makes_what_h11_refuses_to_build(edit: str, refused: str) -> None:
    built = build(Message(edit=edit), url=URL, form=FORM)
    server = h11.Connection(h11.SERVER)
    server.receive_data(built.head + built.body)
    with pytest.raises(h11.RemoteProtocolError, match=refused):
        server.next_event()


def test_the_conflicting_lengths_each_cover_the_whole_form() -> None:
    built = build(Message(edit="conflicting-length"), url=URL, form=FORM)
    lengths = [
        int(line.split(b":")[1]) for line in built.head.split(b"\r\n") if line.startswith(b"Content-Length")
    ]
    assert lengths == [len(FORM), len(FORM) + len(PAD)]
    assert built.body == FORM + PAD


def test_http_10_changes_only_the_request_line() -> None:
    built = build(Message(edit="http-1.0"), url=URL, form=FORM)
    assert built.head.startswith(b"POST /v1/user/login_token HTTP/1.0\r\nHost: api.test:8080\r\n")


def test_the_probes_add_at_most_100_requests() -> None:
    assert RAW_REQUESTS == sum(len(p.messages) for p in PROBES.values()) <= 100
    with pytest.raises(KeyError, match="unknown raw probe 'nope'"):
        get_probe("nope")


@contextmanager
def canned(answer: bytes, *, close: bool) -> Iterator[int]:
    """A loopback server that reads one request, writes ``answer`` and closes or keeps the connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        sock, _ = listener.accept()
        sock.recv(65536)
        sock.sendall(answer)
        if close:
            sock.close()
        else:
            held.append(sock)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join(5)
        for sock in held:
            sock.close()
        listener.close()


def _converse(name: str, port: int, *, max_bytes: int = 65536, seconds: float = 5.0) -> object:
    backend = DeadlineBackend()
    deadline = Deadline(seconds)
    with within(deadline):
        return converse(
            get_probe(name),
            connect=lambda: backend.connect_tcp("127.0.0.1", port),
            url=f"http://127.0.0.1:{port}/v1/user/login_token",
            form=FORM,
            deadline=deadline,
            max_bytes=max_bytes,
        )


def test_a_closed_connection_and_the_bytes_after_the_answer_are_seen() -> None:
    with canned(ANSWER + b"HTTP/1.1 400 Bad\r\n\r\n", close=True) as port:
        outcome = _converse("connection-close", port)
    assert [r.status for r in outcome.responses] == [200]  # type: ignore[attr-defined]
    assert outcome.closed is True  # type: ignore[attr-defined]
    assert outcome.trailing == len(b"HTTP/1.1 400 Bad\r\n\r\n")  # type: ignore[attr-defined]


def test_a_connection_kept_open_is_seen_after_the_close_wait() -> None:
    with canned(ANSWER, close=False) as port:
        outcome = _converse("connection-close", port)
    assert outcome.closed is False  # type: ignore[attr-defined]
    assert outcome.error == ""  # type: ignore[attr-defined]


def test_pipelined_answers_are_read_in_order_and_a_missing_one_is_seen() -> None:
    second = b"HTTP/1.1 401 No\r\nContent-Length: 0\r\n\r\n"
    with canned(ANSWER + second, close=False) as port:
        both = _converse("pipelined", port)
    with canned(ANSWER, close=False) as port:
        one = _converse("pipelined", port)
    assert [r.status for r in both.responses] == [200, 401]  # type: ignore[attr-defined]
    assert [r.status for r in one.responses] == [200]  # type: ignore[attr-defined]


def test_answers_over_the_cap_end_the_outcome_with_an_error() -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000
    with canned(big, close=True) as port:
        outcome = _converse("chunked", port, max_bytes=1000)
    assert outcome.error == "response too large"  # type: ignore[attr-defined]


def test_bytes_that_are_no_http_end_the_outcome_as_a_protocol_error() -> None:
    with canned(b"SSH-2.0-OpenSSH_9.6\r\n", close=True) as port:
        outcome = _converse("chunked", port)
    assert (outcome.responses, outcome.error) == ((), "protocol error")  # type: ignore[attr-defined]


def test_a_silent_server_is_a_timeout_within_the_deadline() -> None:
    with canned(b"", close=False) as port:
        outcome = _converse("chunked", port, seconds=0.3)
    assert outcome.error == "timeout"  # type: ignore[attr-defined]


def test_a_refused_connection_is_a_connect_error() -> None:
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    outcome = _converse("chunked", port)
    assert outcome.error == "connect"  # type: ignore[attr-defined]


def test_through_the_transport_a_stock_h11_server_reads_chunked_and_expect_continue() -> None:
    form = (("api_key", "__API_KEY_REDACTED__"), ("user_id", "12345"), ("token_expire", "3600"))
    with H11Server(KEY) as server, Transport(server.url, api_key=KEY) as transport:
        outcomes = {
            name: transport.send(Case(name, form, Expect.EITHER, PROBES[name].requirement, raw=name))
            for name in ("chunked", "expect-continue", "host-missing", "pipelined")
        }
        assert transport.requests_sent == 5  # the pipelined probe sends two requests
    assert outcomes["chunked"].status == 200
    assert outcomes["expect-continue"].status == 200
    assert outcomes["expect-continue"].raw.interim == (100,)  # type: ignore[union-attr]
    assert outcomes["host-missing"].status == 400
    assert [r.status for r in outcomes["pipelined"].raw.responses] == [200, 401]  # type: ignore[union-attr]


def test_a_raw_probe_counts_against_the_request_budget() -> None:
    from conformance.exchange.transport import RequestBudgetExceeded

    form = (("api_key", "x"),)
    with (
        Transport("http://127.0.0.1:9", api_key=KEY, settings=TransportSettings(max_requests=1)) as transport,
        pytest.raises(RequestBudgetExceeded),
    ):
        transport.send(Case("p", form, Expect.EITHER, "LT-HTTP-MSG-CONNECTION", raw="pipelined"))


def test_the_read_bound_is_httpcore_s_own_timeout() -> None:
    assert issubclass(httpcore.ReadTimeout, httpcore.TimeoutException)


def test_interim_headers_and_trailers_are_read() -> None:
    interim = b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
        b"2\r\nok\r\n0\r\nX-Trailer: after the body\r\n\r\n"
    )
    with canned(interim + chunked, close=True) as port:
        outcome = _converse("connection-close", port)
    assert outcome.interim == (103,)  # type: ignore[attr-defined]
    assert outcome.interim_headers == (("link", "</a>; rel=preload"),)  # type: ignore[attr-defined]
    (answer,) = outcome.responses  # type: ignore[attr-defined]
    assert (answer.body, answer.trailers) == (b"ok", (("x-trailer", "after the body"),))


@contextmanager
def recording_heads(count: int) -> Iterator[tuple[int, list[bytes]]]:
    """A loopback server that answers ``count`` connections once each, keeping each request's head."""
    listener = socket.create_server(("127.0.0.1", 0))
    heads: list[bytes] = []

    def serve() -> None:
        for _ in range(count):
            sock, _ = listener.accept()
            with sock:
                data = b""
                while b"\r\n\r\n" not in data and (piece := sock.recv(65536)):
                    data += piece
                heads.append(data.split(b"\r\n\r\n", 1)[0])
                sock.sendall(b"HTTP/1.1 401 No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], heads
    finally:
        thread.join(5)
        listener.close()


def test_a_probe_carrying_the_form_has_the_head_of_an_ordinary_request() -> None:
    form = (("api_key", "__API_KEY_REDACTED__"), ("user_id", "12345"), ("token_expire", "3600"))
    with recording_heads(2) as (port, heads), Transport(f"http://127.0.0.1:{port}", api_key=KEY) as transport:
        transport.send(Case("ordinary", form, Expect.EITHER, "LT-HTTP-MSG-CONNECTION"))
        transport.send(Case("raw", form, Expect.EITHER, "LT-HTTP-MSG-CONNECTION", raw="connection-close"))
    ordinary, probe = heads
    # The same fields, spelled and ordered alike; only the Connection field says what the probe asks.
    assert probe == ordinary.replace(b"Connection: keep-alive", b"Connection: close")


def test_a_compressed_answer_is_read_as_the_client_reads_it() -> None:
    import gzip

    body = gzip.compress(b"<user_response><status>401</status></user_response>")
    head = f"HTTP/1.1 401 No\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    with canned(head + body, close=True) as port:
        outcome = _converse("connection-close", port)
    (answer,) = outcome.responses  # type: ignore[attr-defined]
    assert answer.body == b"<user_response><status>401</status></user_response>"
