"""Cassettes: record against a real loopback server, replay offline, redaction, matching, file safety."""

from __future__ import annotations

import gzip
import itertools
import os
import re
import secrets
import socket
import string
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.cassettes import (
    BookReport,
    CassetteBook,
    CassetteCorrupt,
    CassetteError,
    CassetteMiss,
    api_key_spellings,
    cassette_file_name,
)
from conformance.cassettes import format as cassette_format
from conformance.cassettes.format import MAX_REPLAYED_BODY, Interaction, dump_cassette, load_cassette
from conformance.cassettes.redaction import StandIns
from conformance.core.files import write_atomic
from conformance.core.model import API_KEY_PLACEHOLDER, Exchange, TransportError
from tests.support.cassette_cases import TEST_NAME, VALID, Form, case, header, token_of

CANARY_KEY = "CANARY-KEY-5b1e2f9a"
FORM_TYPE = {"content-type": "application/x-www-form-urlencoded"}
OTHER_NAME = "test_user_id.py::test_missing"
JOIN_SECONDS = 5.0
POLL_SECONDS = 0.02
HEX_ALPHABETS = ("0123456789abcdef", "0123456789ABCDEF")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        if "reset" in form:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        token = self.server.next_token()
        message = f"echo {form.get('api_key', '')}" if "echo" in form else "ok"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<user_response>\n  <status>200</status>\n'
            f"  <message>{message}</message>\n  <user_id>{form.get('user_id', '')}</user_id>\n"
            f"  <token>{token}</token>\n  <qrcode>https://qr.example/{token}.png</qrcode>\n"
            "  <expire>1700000060</expire>\n</user_response>\n"
        ).encode()
        gzipped = "gzip" in form
        if gzipped:
            body = gzip.compress(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Token", token)
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        if "echo" in form:
            self.send_header("X-Echo", form.get("api_key", ""))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tokens: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tokens = tokens
        self.counter = 4_000_000_000
        self.lock = threading.Lock()
        self.issued: list[str] = []

    def next_token(self) -> str:
        with self.lock:
            self.counter += 1
            token = {
                "random": secrets.token_hex(16),
                "sequential": f"{self.counter:010d}",
                "repeated": "Tok-Same-0042-abcXYZ",
            }[self.tokens]
            self.issued.append(token)
            return token

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/user/login_token"


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    """A real loopback server answering the endpoint (tokens: random, sequential or repeated)."""
    srv = _Server(getattr(request, "param", "random"))
    thread = threading.Thread(target=srv.serve_forever, args=(POLL_SECONDS,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(JOIN_SECONDS)


def send(client: httpx.Client, url: str, form: Form, *, api_key: str) -> httpx.Response:
    """POST like the transport does: streamed, body read chunk by chunk."""
    with client.stream("POST", url, content=case(form).body(api_key=api_key), headers=FORM_TYPE) as response:
        response.read()
        return response


def record(
    directory: Path, srv: _Server, tests: dict[str, list[Form]], *, api_key: str = CANARY_KEY
) -> list[httpx.Response]:
    """Record each test's forms against ``srv``; settle gives every exchange a fixed time."""
    book = CassetteBook(directory, mode="record", header=header(srv.endpoint), api_key=api_key)
    responses = []
    with httpx.Client(transport=book.transport(httpx.HTTPTransport())) as client:
        for name, forms in tests.items():
            with book.use(name) as session:
                for number, form in enumerate(forms):
                    responses.append(send(client, srv.endpoint, form, api_key=api_key))
                    session.settle(Exchange(case(form), sent_at=1_700_000_000.0 + number, elapsed=0.25))
    book.finish()
    book.commit()
    return responses


def replay(directory: Path, name: str, forms: list[Form]) -> list[tuple[int, Any, bytes, float, float]]:
    """Replay ``forms`` under ``name``: status, headers, body and the settled time of each."""
    book = CassetteBook(directory, mode="replay")
    out = []
    with httpx.Client(transport=book.transport()) as client, book.use(name) as session:
        for form in forms:
            response = send(
                client, "http://replay.invalid/v1/user/login_token", form, api_key=API_KEY_PLACEHOLDER
            )
            exchange = Exchange(case(form), sent_at=0.0, elapsed=0.0)
            session.settle(exchange)
            out.append(
                (
                    response.status_code,
                    response.headers.multi_items(),
                    response.content,
                    exchange.sent_at,
                    exchange.elapsed,
                )
            )
    return out


# -- round trip, no network, determinism ---------------------------------------------------------------


def test_record_then_replay_round_trip(tmp_path: Path, server: _Server) -> None:
    live = record(tmp_path, server, {TEST_NAME: [VALID, VALID]})
    replayed = replay(tmp_path, TEST_NAME, [VALID, VALID])
    assert [r[0] for r in replayed] == [200, 200]
    assert [(r[3], r[4]) for r in replayed] == [(1_700_000_000.0, 0.25), (1_700_000_001.0, 0.25)]
    for live_response, (_, headers, body, _, _) in zip(live, replayed, strict=True):
        stand_in = token_of(body)
        assert body == live_response.content.replace(
            token_of(live_response.content).encode(), stand_in.encode()
        )
        assert ("x-token", stand_in) in headers
        assert ("content-type", "application/xml") in headers


def test_replay_is_identical_every_time(tmp_path: Path, server: _Server) -> None:
    record(tmp_path, server, {TEST_NAME: [VALID, VALID, VALID]})
    assert replay(tmp_path, TEST_NAME, [VALID] * 3) == replay(tmp_path, TEST_NAME, [VALID] * 3)


def test_replay_opens_no_socket(tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    record(tmp_path, server, {TEST_NAME: [VALID]})

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("sockets are blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with httpx.Client() as client, pytest.raises(httpx.ConnectError):  # the guard works on live calls...
        send(client, server.endpoint, VALID, api_key=CANARY_KEY)
    assert replay(tmp_path, TEST_NAME, [VALID])[0][0] == 200  # ...and replay never reaches it


def test_replay_needs_no_target_and_restores_transport_errors(tmp_path: Path, server: _Server) -> None:
    reset: Form = (*VALID, ("reset", "1"))
    book = CassetteBook(tmp_path, mode="record", header=header(server.endpoint), api_key=CANARY_KEY)
    with (
        httpx.Client(transport=book.transport(httpx.HTTPTransport())) as client,
        book.use(TEST_NAME) as session,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            send(client, server.endpoint, reset, api_key=CANARY_KEY)
        session.settle(Exchange(case(reset), sent_at=5.0, elapsed=0.5, error=TransportError.PROTOCOL))
    book.finish()
    book.commit()
    replay_book = CassetteBook(tmp_path, mode="replay")
    with httpx.Client(transport=replay_book.transport()) as client, replay_book.use(TEST_NAME) as session:
        with pytest.raises(httpx.RemoteProtocolError):
            send(client, "http://replay.invalid/v1/user/login_token", reset, api_key=API_KEY_PLACEHOLDER)
        exchange = Exchange(case(reset), sent_at=0.0, elapsed=0.0, error=TransportError.PROTOCOL)
        session.settle(exchange)
    assert (exchange.sent_at, exchange.elapsed) == (5.0, 0.5)


def test_a_recorded_deadline_replays_as_a_timeout(tmp_path: Path, server: _Server) -> None:
    book = CassetteBook(tmp_path, mode="record", header=header(server.endpoint), api_key=CANARY_KEY)
    with (
        httpx.Client(transport=book.transport(httpx.HTTPTransport())) as client,
        book.use(TEST_NAME) as session,
    ):
        send(client, server.endpoint, VALID, api_key=CANARY_KEY)
        session.settle(Exchange(case(VALID), sent_at=5.0, elapsed=10.0, error=TransportError.TIMEOUT))
    book.finish()
    book.commit()
    replay_book = CassetteBook(tmp_path, mode="replay")
    with (
        httpx.Client(transport=replay_book.transport()) as client,
        replay_book.use(TEST_NAME),
        pytest.raises(httpx.ReadTimeout),
    ):
        send(client, "http://replay.invalid/v1/user/login_token", VALID, api_key=API_KEY_PLACEHOLDER)


def test_gzip_bodies_are_stored_decoded(tmp_path: Path, server: _Server) -> None:
    zipped: Form = (*VALID, ("gzip", "1"))
    live = record(tmp_path, server, {TEST_NAME: [zipped]})
    text = (tmp_path / cassette_file_name(TEST_NAME)).read_text()
    assert "<user_response>" in text
    assert "content-encoding" not in text.split("notes:")[0]
    (_, headers, body, _, _) = replay(tmp_path, TEST_NAME, [zipped])[0]
    assert len(body) == len(live[0].content)
    assert ("content-length", str(len(body))) in headers


# -- misses, stale, corrupt --------------------------------------------------------------------------


def test_miss_names_request_cassette_and_fix(tmp_path: Path, server: _Server) -> None:
    record(tmp_path, server, {TEST_NAME: [VALID]})
    other: Form = (("api_key", API_KEY_PLACEHOLDER), ("user_id", "99"), ("token_expire", ""))
    with pytest.raises(CassetteMiss) as caught:
        replay(tmp_path, TEST_NAME, [other])
    message = str(caught.value)
    assert "\n" not in message
    assert str(tmp_path / cassette_file_name(TEST_NAME)) in message
    assert (
        f"POST /v1/user/login_token form api_key='{API_KEY_PLACEHOLDER}' user_id='99' token_expire=''"
        in message
    )
    assert f"re-record with: conformance run --target {server.endpoint} --record" in message
    assert "request #1 is not in the cassette" in message
    assert CANARY_KEY not in message


def test_miss_when_a_request_is_sent_more_often_than_recorded(tmp_path: Path, server: _Server) -> None:
    record(tmp_path, server, {TEST_NAME: [VALID, VALID]})
    with pytest.raises(CassetteMiss, match=r"request #3 was recorded 2x and all are replayed already"):
        replay(tmp_path, TEST_NAME, [VALID] * 3)


def test_miss_without_a_cassette_file(tmp_path: Path, server: _Server) -> None:
    record(tmp_path, server, {TEST_NAME: [VALID]})
    with pytest.raises(CassetteMiss, match=r"no cassette file for this test: POST /v1/user/login_token"):
        replay(tmp_path, OTHER_NAME, [VALID])


def test_stale_interactions_and_unused_cassettes_are_reported(tmp_path: Path, server: _Server) -> None:
    extra: Form = (("api_key", API_KEY_PLACEHOLDER), ("user_id", "7"), ("token_expire", "600"))
    record(tmp_path, server, {TEST_NAME: [VALID, extra, VALID], OTHER_NAME: [VALID]})
    book = CassetteBook(tmp_path, mode="replay")
    with httpx.Client(transport=book.transport()) as client, book.use(TEST_NAME):
        send(client, "http://replay.invalid/v1/user/login_token", VALID, api_key=API_KEY_PLACEHOLDER)
    report = book.finish()
    (cassette,) = report.cassettes
    assert cassette.stale == (
        f"POST /v1/user/login_token form api_key='{API_KEY_PLACEHOLDER}' user_id='12345' token_expire='60' "
        "(recorded 2x, replayed 1x)",
        f"POST /v1/user/login_token form api_key='{API_KEY_PLACEHOLDER}' user_id='7' token_expire='600' "
        "(recorded 1x, replayed 0x)",
    )
    assert report.stale_count == 2
    assert report.unused == (tmp_path / cassette_file_name(OTHER_NAME),)
    assert len(cassette.sha256) == 64
    assert any("unused cassette" in line for line in report.lines())


def _corrupt(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new, 1))


CORRUPTIONS: dict[str, tuple[Callable[[Path], object], str]] = {
    "bad-yaml": (lambda p: p.write_text("format: 1\nheader: [unclosed\n"), "is not valid YAML at line 3"),
    "not-a-mapping": (lambda p: p.write_text("- just\n- a list\n"), "is not a cassette"),
    "missing-header": (lambda p: _corrupt(p, "header:", "heading:"), "the header is missing"),
    "seed-not-int": (lambda p: _corrupt(p, "seed: 7", "seed: seven"), "header.seed must be int, not str"),
    "no-status": (
        lambda p: _corrupt(p, "status: 200", "state: 200"),
        "interaction 1.response has no 'status'",
    ),
    "status-out-of-range": (lambda p: _corrupt(p, "status: 200", "status: 2000"), "is not an HTTP status"),
    "hand-edited": (lambda p: _corrupt(p, "<status>200</status>", "<status>201</status>"), "digest does not"),
    "not-utf8": (lambda p: p.write_bytes(b"\xff\xfe\x00"), "is not UTF-8 text"),
    "old-format": (lambda p: _corrupt(p, "format: 1", "format: 0"), "has format 0"),
    "bad-time": (lambda p: _corrupt(p, "recorded_at: '2025", "recorded_at: 'x2025"), "is not ISO 8601"),
    "sent-at-nan": (
        lambda p: p.write_text(re.sub(r"sent_at: \S+", "sent_at: .nan", p.read_text())),
        "interaction 1.sent_at is no finite number of seconds",
    ),
    "elapsed-infinite": (
        lambda p: p.write_text(re.sub(r"elapsed: \S+", "elapsed: .inf", p.read_text())),
        "interaction 1.elapsed is no finite number of seconds",
    ),
}


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_corrupt_cassette_is_one_line_naming_file_and_problem(
    tmp_path: Path, server: _Server, kind: str
) -> None:
    record(tmp_path, server, {TEST_NAME: [VALID]})
    path = tmp_path / cassette_file_name(TEST_NAME)
    corrupt, problem = CORRUPTIONS[kind]
    corrupt(path)
    with pytest.raises(CassetteCorrupt) as caught:
        replay(tmp_path, TEST_NAME, [VALID])
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert "; re-record with: conformance run --target " in message


@pytest.mark.parametrize("kind", ["hand-edited", "bad-yaml", "status-out-of-range"])
def test_a_cassette_read_before_is_remembered_only_while_its_bytes_stay_the_same(
    tmp_path: Path, server: _Server, kind: str
) -> None:
    record(tmp_path, server, {TEST_NAME: [VALID]})
    path = tmp_path / cassette_file_name(TEST_NAME)
    first = load_cassette(path)
    assert load_cassette(path) is first  # a replay reads its set twice: once for the options, once to run
    corrupt, problem = CORRUPTIONS[kind]
    corrupt(path)
    with pytest.raises(CassetteCorrupt, match=re.escape(problem)):
        load_cassette(path)


def test_the_most_recently_read_are_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long-lived process (a test worker, the selftest) reads more sets than it remembers: the least
    recently read goes, and what was read last is remembered still."""
    monkeypatch.setattr(cassette_format, "MAX_READ_REMEMBERED", 2)
    monkeypatch.setattr(cassette_format, "_READ", {})
    paths = []
    for seed in (1, 2, 3):
        path = tmp_path / str(seed) / cassette_file_name(TEST_NAME)
        path.parent.mkdir()
        write_atomic(path, dump_cassette(TEST_NAME, header(seed=seed), []))
        paths.append(path)
    first, second = load_cassette(paths[0]), load_cassette(paths[1])
    assert load_cassette(paths[0]) is first  # read again: now the most recent of the two
    third = load_cassette(paths[2])  # the third goes in, the least recently read (the second) out
    assert load_cassette(paths[0]) is first and load_cassette(paths[2]) is third
    assert load_cassette(paths[1]) is not second


def test_renamed_cassette_is_corrupt(tmp_path: Path, server: _Server) -> None:
    record(tmp_path, server, {TEST_NAME: [VALID]})
    (tmp_path / cassette_file_name(TEST_NAME)).rename(tmp_path / cassette_file_name(OTHER_NAME))
    with pytest.raises(CassetteCorrupt, match=r"belongs to test 'test_token_expire\.py::test_boundaries'"):
        replay(tmp_path, OTHER_NAME, [VALID])


# -- header ------------------------------------------------------------------------------------------


def test_header_is_shared_and_disagreement_is_an_error(tmp_path: Path) -> None:
    write_atomic(tmp_path / cassette_file_name(TEST_NAME), dump_cassette(TEST_NAME, header(seed=7), []))
    assert CassetteBook(tmp_path, mode="replay").header.seed == 7
    write_atomic(tmp_path / cassette_file_name(OTHER_NAME), dump_cassette(OTHER_NAME, header(seed=8), []))
    with pytest.raises(CassetteError, match=r"recorded with seed 8 but .* with 7; delete the cassettes"):
        _ = CassetteBook(tmp_path, mode="replay").header


@pytest.mark.parametrize("make_dir", [False, True])
def test_header_of_a_missing_or_empty_directory(tmp_path: Path, make_dir: bool) -> None:
    directory = tmp_path / "cassettes"
    if make_dir:
        directory.mkdir()
    with pytest.raises(CassetteError, match=r"(no such cassette directory|holds no cassettes); record"):
        _ = CassetteBook(directory, mode="replay").header


def test_recorded_header_drops_credentials_from_the_target(tmp_path: Path) -> None:
    book = CassetteBook(
        tmp_path, mode="record", header=header("https://user:pw@api.test:8443/base?k=1#x"), api_key=CANARY_KEY
    )
    assert book.header.target == "https://api.test:8443/base"


def test_short_keys_are_refused_for_recording(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="fewer than 8 characters") as caught:
        CassetteBook(tmp_path, mode="record", header=header(), api_key="123")
    assert "123" not in str(caught.value)


# -- secrets -----------------------------------------------------------------------------------------


def test_no_key_and_no_live_token_reaches_any_file(tmp_path: Path, server: _Server) -> None:
    echo: Form = (*VALID, ("echo", "1"))
    live = record(tmp_path, server, {TEST_NAME: [VALID, echo], OTHER_NAME: [echo, VALID]})
    assert CANARY_KEY.encode() in live[1].content  # the target really echoed the key
    files = list(tmp_path.iterdir())
    assert len(files) == 2
    for path in files:
        content = path.read_bytes()
        for spelling in api_key_spellings(CANARY_KEY):
            assert spelling.encode() not in content, path
        for token in server.issued:
            assert token.encode() not in content, path
    (_, headers, body, _, _) = replay(tmp_path, TEST_NAME, [VALID, echo])[1]
    assert f"<message>echo {API_KEY_PLACEHOLDER}</message>".encode() in body
    assert ("x-echo", API_KEY_PLACEHOLDER) in headers


def test_key_spellings_are_scrubbed_with_matching_placeholder_spellings(tmp_path: Path) -> None:
    from conformance.cassettes.redaction import CassetteRedactor

    key = "k&y<with>spaces and+plus"
    body = f"{key}|{quote_plus(key)}|k&amp;y&lt;with&gt;spaces and+plus".encode()
    _, redacted = CassetteRedactor(key).response([], body)
    assert redacted.decode() == f"{API_KEY_PLACEHOLDER}|{quote_plus(API_KEY_PLACEHOLDER)}|" + (
        API_KEY_PLACEHOLDER.replace("<", "&lt;").replace(">", "&gt;")
    )


@pytest.mark.parametrize("server", ["repeated"], indirect=True)
def test_the_same_live_token_gets_the_same_stand_in_across_cassettes(tmp_path: Path, server: _Server) -> None:
    record(tmp_path, server, {TEST_NAME: [VALID], OTHER_NAME: [VALID]})
    first = token_of(replay(tmp_path, TEST_NAME, [VALID])[0][2])
    second = token_of(replay(tmp_path, OTHER_NAME, [VALID])[0][2])
    assert first == second != "Tok-Same-0042-abcXYZ"


@pytest.mark.parametrize("server", ["sequential"], indirect=True)
def test_sequential_tokens_stay_sequential(tmp_path: Path, server: _Server) -> None:
    record(tmp_path, server, {TEST_NAME: [VALID] * 5})
    stand_ins = [token_of(r[2]) for r in replay(tmp_path, TEST_NAME, [VALID] * 5)]
    live = [int(t) for t in server.issued]
    assert [int(s) for s in stand_ins] != live
    assert all(len(s) == 10 and s.isdigit() for s in stand_ins)
    modulus = 10**10
    assert [(int(b) - int(a)) % modulus for a, b in itertools.pairwise(stand_ins)] == [
        (b - a) % modulus for a, b in itertools.pairwise(live)
    ]


def _class(char: str) -> str:
    for name, alphabet in (
        ("d", string.digits),
        ("l", string.ascii_lowercase),
        ("u", string.ascii_uppercase),
    ):
        if char in alphabet:
            return name
    return char


@given(st.lists(st.text(alphabet=string.ascii_letters + string.digits + "-_.~", max_size=40), max_size=8))
def test_stand_ins_keep_shape_equality_and_distinctness(tokens: list[str]) -> None:
    stand_ins = StandIns()
    mapped = [stand_ins.stand_in(t) for t in tokens]
    for token, stand_in in zip(tokens, mapped, strict=True):
        assert len(stand_in) == len(token)
        hex_alphabet = next((a for a in HEX_ALPHABETS if token and set(token) <= set(a)), None)
        if hex_alphabet is not None:  # offset-mapped: the class is the whole (lower or upper) hex alphabet
            assert set(stand_in) <= set(hex_alphabet)
        else:
            assert [_class(c) for c in stand_in] == [_class(c) for c in token]
        assert stand_ins.stand_in(token) == stand_in
    assert len(set(mapped)) == len(set(tokens))


def test_hex_offset_and_entities() -> None:
    stand_ins = StandIns(offset=1)
    # The shift is at least a quarter of the space (16**4 // 4 = 0x4000; 10**4 // 4 = 2500), plus the offset.
    assert stand_ins.stand_in("00fe") == "40ff"
    # A hex stand-in keeps a letter (cycle walking past all-digit values), so it never equals the
    # stand-in of an all-digit token: 0x4100 and 0x8101 are skipped, and the wrap past ffff likewise.
    assert stand_ins.stand_in("00ff") == "c102"
    assert stand_ins.stand_in("ffff") == "c002"
    assert StandIns(offset=1).stand_in("0099") == "2600"  # all digits: plain decimal offset
    assert stand_ins.stand_in("") == ""
    mapped = StandIns().stand_in("ab&amp;CD")
    assert mapped[2:7] == "&amp;"
    assert re.fullmatch(r"[a-z]{2}&amp;[A-Z]{2}", mapped)


# -- matching ----------------------------------------------------------------------------------------


def test_matching_ignores_parameter_order_but_keeps_blank_values(tmp_path: Path, server: _Server) -> None:
    blank: Form = (("api_key", API_KEY_PLACEHOLDER), ("user_id", "1"), ("token_expire", ""))
    record(tmp_path, server, {TEST_NAME: [blank]})
    assert replay(tmp_path, TEST_NAME, [tuple(reversed(blank))])[0][0] == 200
    missing: Form = (("api_key", API_KEY_PLACEHOLDER), ("user_id", "1"))
    with pytest.raises(CassetteMiss, match="is not in the cassette"):
        replay(tmp_path, TEST_NAME, [missing])


def test_repeated_parameters_matter(tmp_path: Path, server: _Server) -> None:
    twice: Form = (("api_key", API_KEY_PLACEHOLDER), ("user_id", "1"), ("user_id", "2"))
    record(tmp_path, server, {TEST_NAME: [twice]})
    assert replay(tmp_path, TEST_NAME, [twice])[0][0] == 200
    for other in [twice[:2], (twice[0], twice[2], twice[1])]:
        with pytest.raises(CassetteMiss):
            replay(tmp_path, TEST_NAME, [other])


def test_duplicate_requests_replay_in_recorded_order(tmp_path: Path, server: _Server) -> None:
    live = record(tmp_path, server, {TEST_NAME: [VALID] * 5})
    loaded = load_cassette(tmp_path / cassette_file_name(TEST_NAME))
    recorded = [token_of(i.response_body) for i in loaded.interactions]
    assert len(set(recorded)) == 5
    assert [token_of(r[2]) for r in replay(tmp_path, TEST_NAME, [VALID] * 5)] == recorded
    assert len({token_of(r.content) for r in live}) == 5


# -- files -------------------------------------------------------------------------------------------


def test_cassette_file_names_are_safe_and_distinct() -> None:
    assert cassette_file_name(TEST_NAME) == "test_token_expire.py__test_boundaries.yaml"
    names = ["t.py::f[a/b]", "t.py::f[a b]", "t.py::f[a__b]", "t.py::f[a::b]", "../../etc/passwd", "x" * 300]
    files = [cassette_file_name(n) for n in names]
    assert len(set(files)) == len(files)
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+\.yaml", f) and len(f) < 120 and "/" not in f for f in files)


def re_record(
    tmp_path: Path, server: _Server, *, prune_unused: bool = False, commit: bool = True
) -> tuple[CassetteBook, BookReport]:
    """Record TEST_NAME and OTHER_NAME, then re-record TEST_NAME alone; commit it or discard it."""
    record(tmp_path, server, {TEST_NAME: [VALID] * 3, OTHER_NAME: [VALID]})
    book = CassetteBook(tmp_path, mode="record", header=header(server.endpoint), api_key=CANARY_KEY)
    with httpx.Client(transport=book.transport(httpx.HTTPTransport())) as client, book.use(TEST_NAME):
        send(client, server.endpoint, VALID, api_key=CANARY_KEY)
    assert len(load_cassette(tmp_path / cassette_file_name(TEST_NAME)).interactions) == 3  # not yet
    report = book.finish(prune_unused=prune_unused)
    assert len(load_cassette(tmp_path / cassette_file_name(TEST_NAME)).interactions) == 3  # staged only
    book.commit() if commit else book.discard()
    return book, report


def test_a_recording_of_every_test_replaces_the_set_whole(tmp_path: Path, server: _Server) -> None:
    book, report = re_record(tmp_path, server, prune_unused=True)
    assert len(load_cassette(tmp_path / cassette_file_name(TEST_NAME)).interactions) == 1
    assert report.removed == (tmp_path / cassette_file_name(OTHER_NAME),)
    assert not (tmp_path / cassette_file_name(OTHER_NAME)).exists()
    assert book.finish() is report  # once


def test_a_recording_of_some_tests_keeps_the_others(tmp_path: Path, server: _Server) -> None:
    _, report = re_record(tmp_path, server)
    assert len(load_cassette(tmp_path / cassette_file_name(TEST_NAME)).interactions) == 1
    assert (tmp_path / cassette_file_name(OTHER_NAME)).exists() and report.removed == ()


def test_a_recording_not_committed_leaves_the_old_set_and_no_staging(tmp_path: Path, server: _Server) -> None:
    re_record(tmp_path, server, prune_unused=True, commit=False)
    assert len(load_cassette(tmp_path / cassette_file_name(TEST_NAME)).interactions) == 3
    assert (tmp_path / cassette_file_name(OTHER_NAME)).exists()
    assert not [p for p in tmp_path.parent.iterdir() if p.name.startswith(f".{tmp_path.name}.")]


def test_interrupted_recording_keeps_the_previous_cassette(tmp_path: Path, server: _Server) -> None:
    record(tmp_path, server, {TEST_NAME: [VALID]})
    path = tmp_path / cassette_file_name(TEST_NAME)
    before = path.read_bytes()
    book = CassetteBook(tmp_path, mode="record", header=header(server.endpoint), api_key=CANARY_KEY)

    def interrupted_test() -> None:
        with httpx.Client(transport=book.transport(httpx.HTTPTransport())) as client, book.use(TEST_NAME):
            send(client, server.endpoint, VALID, api_key=CANARY_KEY)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_test()
    assert path.read_bytes() == before


def test_atomic_write_leaves_the_old_file_intact_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    write_atomic(path, b"old")

    def fail(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, b"new content")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]


@given(
    body=st.binary(max_size=200),
    response_body=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
    reason=st.text(max_size=20),
    value=st.text(max_size=30),
)
def test_any_interaction_survives_the_file_format(
    body: bytes, response_body: bytes, reason: str, value: str
) -> None:
    import tempfile

    interaction = Interaction("POST", "/p?q=1", body, 1.5, 0.25, 200, reason, [("x-h", value)], response_body)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / cassette_file_name(TEST_NAME)
        write_atomic(path, dump_cassette(TEST_NAME, header(), [interaction]))
        (loaded,) = load_cassette(path).interactions
    assert loaded == interaction


# -- a book's transport -----------------------------------------------------------------------------


def test_a_book_transport_answers_only_inside_one_cassette_and_never_reaches_the_target(
    tmp_path: Path, server: _Server
) -> None:
    record(tmp_path, server, {TEST_NAME: [VALID]})
    issued = list(server.issued)
    book = CassetteBook(tmp_path, mode="replay")
    with httpx.Client(transport=book.transport()) as client:
        with pytest.raises(CassetteError, match="outside a cassette"):
            send(client, server.endpoint, VALID, api_key=API_KEY_PLACEHOLDER)
        with book.use(TEST_NAME):
            assert send(client, server.endpoint, VALID, api_key=API_KEY_PLACEHOLDER).status_code == 200
            with pytest.raises(CassetteError, match="do not nest"), book.use(OTHER_NAME):
                pass
    assert server.issued == issued  # the replay answered from the cassette, even with the live URL
    with pytest.raises(ValueError, match="takes no real transport"):
        book.transport(httpx.HTTPTransport())
    recording = CassetteBook(tmp_path, mode="record", header=header(server.endpoint), api_key=CANARY_KEY)
    with pytest.raises(ValueError, match="needs the real transport"):
        recording.transport()
    with httpx.Client(transport=recording.transport(httpx.HTTPTransport())) as client:
        assert (
            send(client, server.endpoint, VALID, api_key=CANARY_KEY).status_code == 200
        )  # no test: not recorded
    assert len(server.issued) == len(issued) + 1
    assert recording.finish().cassettes == ()


def _excerpted(length: int, sha256: str = "ab" * 32) -> Interaction:
    interaction = Interaction("POST", "/v1/user/login_token", b"a=1", 1.0, 0.5, status=200)
    interaction.response_body = b"<user_response><status>200</status></user_response>"
    interaction.excerpt_of = (length, sha256)
    interaction.judged = [
        ("status_code_conformance", "LT-HTTP-SUCCESS-200", None),
        ("no_key_echo", "LT-SEC-KEY-NOT-ECHOED", {
            "requirement": "LT-SEC-KEY-NOT-ECHOED", "title": "key echoed", "expected": "no key",
            "received": API_KEY_PLACEHOLDER}),
        ("qrcode_image", None, None),
    ]  # fmt: skip
    return interaction


def test_an_excerpted_body_keeps_its_length_digest_and_judged_results(tmp_path: Path) -> None:
    path = tmp_path / cassette_file_name(TEST_NAME)
    path.write_bytes(dump_cassette(TEST_NAME, header(), [_excerpted(300_000)]))
    (loaded,) = load_cassette(path).interactions
    assert loaded.excerpt_of == (300_000, "ab" * 32)
    assert loaded.judged == _excerpted(300_000).judged


@pytest.mark.parametrize(
    ("length", "sha256"), [(10, "ab" * 32), (MAX_REPLAYED_BODY + 1, "ab" * 32), (300_000, "not-a-digest")]
)
def test_an_excerpt_that_replay_could_not_serve_is_refused(tmp_path: Path, length: int, sha256: str) -> None:
    path = tmp_path / cassette_file_name(TEST_NAME)
    path.write_bytes(dump_cassette(TEST_NAME, header(), [_excerpted(length, sha256)]))
    with pytest.raises(CassetteCorrupt, match="excerpt_of needs a sha256 and bytes"):
        load_cassette(path)
