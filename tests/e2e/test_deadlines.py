"""One deadline per request, from connect to last byte, against real hostile servers on loopback (issue 23).

Each shape is a raw-socket server that never lets a per-read timeout trip: header bytes trickled on a
keep-alive connection's second response, ``100 Continue`` forever, a body dripped while recording, a QR
image dripped. Each request must end within its timeout + ``SLACK`` s; a whole run within the bound in
its test's name.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import pytest

from conformance.cassettes import CassetteBook, CassetteError, CassetteHeader
from conformance.cassettes.format import load_cassette
from conformance.core.model import Exchange, TransportError
from conformance.exchange.qrfetch import QrFetcher
from conformance.exchange.transport import NetworkTransport, Transport
from conformance.run.engine import RECENT_WINDOW
from tests.support.cli import conformance, summary
from tests.support.transport import CASE, FAST, TIMEOUT

pytestmark = pytest.mark.e2e
KEY = "CANARY-KEY-deadline-5c1e"
SLACK = 1.0  # each request ends within timeout + 1 s: scheduling slack, the point is "not minutes"
DRIP_SECONDS = 0.2  # a byte this often: no per-read timeout ever trips
GIVE_UP_SECONDS = 30.0  # then the hostile server hangs up, so a regression fails instead of hanging
VALID = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<user_response><status>200</status>'
    b"<message>The request has been successfully processed</message><user_id>12345</user_id>"
    b"<token>%s</token><qrcode>https://qr.example.test/%s.png</qrcode><expire>%d</expire></user_response>\n"
)

# answer(server, connection, number of the request on this connection, number of the request on the server)
Answer = Callable[["RawServer", socket.socket, int, int], None]


def valid_answer(conn: socket.socket) -> None:
    """A complete 200 with a fresh token, keep-alive."""
    token = secrets.token_hex(16).encode()
    body = VALID % (token, token, int(time.time()) + 3600)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nCache-Control: no-store\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


class RawServer:
    """A loopback HTTP/1.1 server on raw sockets whose every answer is ``answer``; keeps connections alive."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.requests = 0
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://127.0.0.1:{self.port}"

    def drip(self, conn: socket.socket, data: bytes, *, repeat: bool = False) -> None:
        """Send ``data`` a byte every DRIP_SECONDS (over and over with ``repeat``) until stopped or cut."""
        until = time.monotonic() + GIVE_UP_SECONDS
        while True:
            for byte in data:
                if self.stop.wait(DRIP_SECONDS):
                    return
                if time.monotonic() > until:
                    raise ConnectionAbortedError("gave up dripping")  # the connection is closed
                conn.sendall(bytes([byte]))
            if not repeat:
                return

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._connection, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            buffer = b""
            for number in range(10_000):
                request, buffer = self._read(conn, buffer)
                if request is None:
                    return
                self.requests += 1
                try:
                    self.answer(self, conn, number, self.requests)
                except OSError:
                    return  # the client cut the connection at its deadline: the point of the test

    def _read(self, conn: socket.socket, buffer: bytes) -> tuple[bytes | None, bytes]:
        conn.settimeout(0.05)
        until = time.monotonic() + GIVE_UP_SECONDS
        while not self.stop.is_set() and time.monotonic() < until:
            head, found, rest = buffer.partition(b"\r\n\r\n")
            if found:
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if len(rest) >= length:
                    return head, rest[length:]
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return None, b""
            if not data:
                return None, b""
            buffer += data
        return None, b""

    def __enter__(self) -> RawServer:
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop.set()
        self.listener.close()
        for thread in self._threads:
            thread.join(2.0)


def timed(send: Callable[[], Exchange]) -> tuple[Exchange, float]:
    started = time.monotonic()
    exchange = send()
    return exchange, time.monotonic() - started


# -- the shapes, one request at a time ---------------------------------------------------------------


def trickled_headers_after_the_first(
    server: RawServer, conn: socket.socket, number: int, _total: int
) -> None:
    """The first answer on a connection is whole; the next trickles its header bytes, never ending."""
    if number == 0:
        valid_answer(conn)
        return
    server.drip(conn, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000)


def endless_continue(server: RawServer, conn: socket.socket, _number: int, _total: int) -> None:
    """``100 Continue`` every DRIP_SECONDS, for ever."""
    server.drip(conn, b"HTTP/1.1 100 Continue\r\n\r\n", repeat=True)


def endless_continue_after_the_first(server: RawServer, conn: socket.socket, number: int, total: int) -> None:
    """A whole first answer on the connection, then ``100 Continue`` for ever."""
    if number == 0:
        valid_answer(conn)
        return
    endless_continue(server, conn, number, total)


def dripped_body(server: RawServer, conn: socket.socket, number: int, _total: int) -> None:
    """Headers at once, then the body a byte every DRIP_SECONDS, after a whole first answer."""
    if number == 0:
        valid_answer(conn)
        return
    body = VALID % (b"0" * 32, b"0" * 32, 0)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    server.drip(conn, body)


@pytest.fixture
def server_of() -> Iterator[Callable[[Answer], RawServer]]:
    """Starts a RawServer for a shape; stops it after the test."""
    started: list[RawServer] = []

    def start(answer: Answer) -> RawServer:
        server = RawServer(answer).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


def test_trickled_headers_of_a_pooled_second_response_end_within_timeout_plus_1s(
    server_of: Callable[[Answer], RawServer],
) -> None:
    server = server_of(trickled_headers_after_the_first)
    with Transport(server.url, api_key=KEY, settings=FAST) as transport:
        first = transport.send(CASE)
        second, elapsed = timed(lambda: transport.send(CASE))
    assert first.status == 200 and first.error is None
    assert server.connections == 1  # the second request went over the pooled connection
    assert second.error is TransportError.TIMEOUT
    assert second.error_detail == "no complete response within the 1 s deadline"
    assert elapsed < TIMEOUT + SLACK


@pytest.mark.parametrize("connection", ["new", "pooled"])
def test_endless_100_continue_ends_within_timeout_plus_1s(
    server_of: Callable[[Answer], RawServer], connection: str
) -> None:
    server = server_of(endless_continue if connection == "new" else endless_continue_after_the_first)
    with Transport(server.url, api_key=KEY, settings=FAST) as transport:
        if connection == "pooled":
            assert transport.send(CASE).status == 200
        exchange, elapsed = timed(lambda: transport.send(CASE))
    assert server.connections == 1
    assert exchange.error is TransportError.TIMEOUT
    assert exchange.status is None
    assert elapsed < TIMEOUT + SLACK


def recording_book(directory: Path, url: str) -> CassetteBook:
    header = CassetteHeader(url, "0.1.0", "default", "2026-12-01T00:00:00Z", 7, 5, 12345, 999, None)
    return CassetteBook(directory, mode="record", header=header, api_key=KEY)


def test_a_body_dripped_while_recording_ends_within_timeout_plus_1s_and_is_recorded_as_a_timeout(
    server_of: Callable[[Answer], RawServer], tmp_path: Path
) -> None:
    server = server_of(dripped_body)
    book = recording_book(tmp_path, server.url)
    wire = book.transport(NetworkTransport(settings=FAST))
    with Transport(
        server.url, api_key=KEY, settings=FAST, transport=wire, passthrough=(CassetteError,)
    ) as transport:
        with book.use("tests/suite/test_x.py::test_drip") as session:
            first = transport.send(CASE)
            session.settle(first)
            second, elapsed = timed(lambda: transport.send(CASE))
            session.settle(second)
        report = book.finish(prune_unused=False)
        book.commit()
    assert first.status == 200
    assert server.connections == 1
    assert second.error is TransportError.TIMEOUT
    assert elapsed < TIMEOUT + SLACK
    (written,) = report.cassettes
    recorded = load_cassette(written.path).interactions
    assert [i.error for i in recorded] == [None, "ReadTimeout"]


def test_a_dripped_qr_image_ends_within_timeout_plus_1s(server_of: Callable[[Answer], RawServer]) -> None:
    def dripped_image(server: RawServer, conn: socket.socket, _number: int, _total: int) -> None:
        image = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n" % len(image))
        server.drip(conn, image)

    server = server_of(dripped_image)
    fetcher = QrFetcher(api_key=KEY, settings=FAST, target=server.url)
    try:
        started = time.monotonic()
        image = fetcher(f"{server.url}/qr.png")
        elapsed = time.monotonic() - started
    finally:
        fetcher.close()
    assert image.payload is None
    assert image.problem is not None and f"within {TIMEOUT:g} s" in image.problem
    assert elapsed < TIMEOUT + SLACK


def test_trickled_headers_of_a_pooled_qr_image_end_within_timeout_plus_1s(
    server_of: Callable[[Answer], RawServer],
) -> None:
    def second_trickles(server: RawServer, conn: socket.socket, number: int, _total: int) -> None:
        if number == 0:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 2\r\n\r\nno")
            return
        server.drip(conn, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000)

    server = server_of(second_trickles)
    fetcher = QrFetcher(api_key=KEY, settings=FAST, target=server.url)
    try:
        assert "not an image" in (fetcher(f"{server.url}/a.png").problem or "")  # read whole: pooled
        started = time.monotonic()
        image = fetcher(f"{server.url}/b.png")
        elapsed = time.monotonic() - started
    finally:
        fetcher.close()
    assert server.connections == 1
    assert image.problem is not None and "no complete response within 1 s" in image.problem
    assert elapsed < TIMEOUT + SLACK


# -- whole runs through the CLI, --timeout 2 ------------------------------------------------------------

RUN_TIMEOUT = 2


def run_against(server: RawServer, tmp_path: Path, *extra: str) -> tuple[int, str, float]:
    started = time.monotonic()
    result = conformance(
        "run",
        "--target",
        server.url,
        "--user-id",
        "12345",
        "--foreign-user-id",
        "777",
        "--timeout",
        str(RUN_TIMEOUT),
        "--report-dir",
        str(tmp_path / "r"),
        *extra,
        env={"CONFORMANCE_API_KEY": KEY},
        cwd=tmp_path,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result.returncode, result.stdout, time.monotonic() - started


def assert_stopped_naming_what_was_not_exercised(tmp_path: Path, stdout: str, why: str) -> None:
    document = summary(tmp_path / "r")
    assert why in (document["stopped_early"] or "")
    skipped = [r for r in document["requirements"] if r["outcome"] == "skipped"]
    assert skipped, "a run stopped this early exercised everything?"
    # A recording never exercises LT-QRCODE-IMAGE (it holds no image), stopped early or not.
    stopped = [r for r in skipped if not r["reason"].startswith("a recording holds no QR code image")]
    assert stopped and all("the run stopped early" in r["reason"] for r in stopped)
    assert f"not exercised: {skipped[0]['id']}" in stdout


def test_a_run_against_trickled_second_responses_ends_within_40s(
    server_of: Callable[[Answer], RawServer], tmp_path: Path
) -> None:
    """Every second response on a connection trickles: timeouts on every other request, never 3 in a row."""
    server = server_of(trickled_headers_after_the_first)
    code, stdout, elapsed = run_against(server, tmp_path)
    assert elapsed < 40, stdout[-2000:]
    assert code == 1, stdout[-2000:]  # the timeouts are LT-HTTP-TIMELY failures: non-conformant
    assert_stopped_naming_what_was_not_exercised(tmp_path, stdout, "5 of the last 10 requests timed out")
    assert summary(tmp_path / "r")["requests"] <= 2 * RECENT_WINDOW  # not an hour of every other timeout


def test_a_run_against_alternate_stalls_ends_within_40s(
    server_of: Callable[[Answer], RawServer], tmp_path: Path
) -> None:
    """Every other request gets no answer at all: the share of timeouts stops it, not three in a row."""

    def every_other_stalls(server: RawServer, conn: socket.socket, _number: int, total: int) -> None:
        if total % 2:
            valid_answer(conn)
        else:
            server.stop.wait(GIVE_UP_SECONDS)

    server = server_of(every_other_stalls)
    code, stdout, elapsed = run_against(server, tmp_path)
    assert elapsed < 40, stdout[-2000:]
    assert code == 1, stdout[-2000:]
    assert_stopped_naming_what_was_not_exercised(tmp_path, stdout, "5 of the last 10 requests timed out")


def test_a_run_against_endless_100_continue_ends_within_30s(
    server_of: Callable[[Answer], RawServer], tmp_path: Path
) -> None:
    server = server_of(endless_continue)
    code, stdout, elapsed = run_against(server, tmp_path)
    assert elapsed < 30, stdout[-2000:]
    assert code == 1, stdout[-2000:]
    assert_stopped_naming_what_was_not_exercised(tmp_path, stdout, "3 transport errors in a row")


def test_a_recording_of_dripped_bodies_ends_within_40s(
    server_of: Callable[[Answer], RawServer], tmp_path: Path
) -> None:
    server = server_of(dripped_body)
    code, stdout, elapsed = run_against(server, tmp_path, "--record", "--cassettes", str(tmp_path / "c"))
    assert elapsed < 40, stdout[-2000:]
    assert code == 1, stdout[-2000:]
    assert_stopped_naming_what_was_not_exercised(tmp_path, stdout, "5 of the last 10 requests timed out")


def test_a_small_max_duration_ends_the_reference_run_incomplete_within_20s(tmp_path: Path) -> None:
    started = time.monotonic()
    result = conformance(
        "run",
        "--target",
        "reference",
        "--max-duration",
        "2",
        "--report-dir",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 6, result.stdout[-2000:]
    assert elapsed < 20
    document = summary(tmp_path / "r")
    assert document["verdict"] == "incomplete"
    assert_stopped_naming_what_was_not_exercised(
        tmp_path, result.stdout, "run budget of 2 s (--max-duration)"
    )
