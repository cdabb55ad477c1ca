"""The reference target as a real, quiet, threaded HTTP server (stdlib http.server)."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from conformance.core.contract import ENDPOINT_PATH
from conformance.reference.behaviour import (
    QRCODE_PATH,
    Behaviour,
    Options,
    Rejection,
    Reply,
)
from conformance.reference.faults import Fault, get_fault

# The overrides keep http.server's signatures, used or not.
# ruff: noqa: ARG002

DEFAULT_SLOW_DELAY = 15.0  # seconds; above the suite's default 10 s request timeout
MAX_BODY_BYTES = 64 * 1024
MAX_CHUNK_LINE = 1024  # a chunk-size line with its extensions, or a trailer line
MAX_TRAILER_LINES = 32
CHUNK_SIZE_DIGITS = 8
HEX_DIGITS = b"0123456789abcdefABCDEF"
POLL_INTERVAL = 0.02  # seconds; how soon serve_forever notices stop()
CONNECTION_TIMEOUT = 30.0  # an idle or stalled client connection is dropped after this
SERVER_NAME = "login-token-reference"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        # Connections accepted so far, and when each open one was: Behaviour.connection_opened hears of it
        # on the thread that serves the connection.
        self.accepted = 0
        self.opened: dict[socket.socket, tuple[int, float]] = {}
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
            self.accepted += 1
            self.opened[request] = (self.accepted, time.time())
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
            self.opened.pop(request, None)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Quiet by design: a client that hangs up mid-response is not the server's problem, and
        # per-request noise on stderr would drown the suite's output.
        return

    def drop_connections(self) -> None:
        """Close every open client connection so stop() does not wait on keep-alive clients."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = SERVER_NAME
    sys_version = ""
    timeout = CONNECTION_TIMEOUT
    disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms delayed-ACK stall

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            opened = self.server.opened.pop(self.request, None)
        if opened is not None:
            self.server.behaviour.connection_opened(*opened)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def __getattr__(self, name: str) -> Any:
        # http.server dispatches on do_<METHOD>; every method but POST is a 405, not a 501.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _request_waiting(self) -> bool:
        """Another request is already buffered or arriving (looked at without blocking): sent before this
        answer, so pipelined."""
        self.connection.settimeout(0.0)
        try:
            return bool(self.rfile.peek(1))  # type: ignore[attr-defined]
        except OSError:
            return False
        finally:
            self.connection.settimeout(self.timeout)

    def parse_request(self) -> bool:
        """http.server's parsing, then the HTTP/1.1 rules it leaves out: exactly one Host (RFC 9112 section
        3.2); Connection: close honoured unless a fault ignores it."""
        if not super().parse_request():
            return False
        behaviour = self.server.behaviour
        if self.request_version == "HTTP/1.1":
            if not behaviour.HTTP_HONOUR_CLOSE:
                self.close_connection = False
            if behaviour.HTTP_REQUIRE_HOST and len(self.headers.get_all("Host") or []) != 1:
                self.send_error(400, "an HTTP/1.1 request needs exactly one Host header")
                return False
        return True

    def _framing_refused(self, now: float) -> bool:
        """Refuse (400, then close) a body whose length two fields disagree on (RFC 9112 sections 6.1 and
        6.3, RFC 9110 section 8.6); one Content-Length is left for the body reader. True: refused."""
        behaviour = self.server.behaviour
        lengths = [
            v.strip() for field in self.headers.get_all("Content-Length") or [] for v in field.split(",")
        ]
        chunked = "transfer-encoding" in self.headers
        problem = ""
        if len(set(lengths)) > 1 and behaviour.HTTP_REFUSE_CONFLICTING_LENGTHS:
            problem = "conflicting Content-Length values"
        elif lengths and chunked and behaviour.HTTP_REFUSE_LENGTH_WITH_CHUNKED:
            problem = "Content-Length with Transfer-Encoding"
        if problem:
            self.close_connection = True
            self._send(self._error(400, problem, now))
            return True
        if len(lengths) > 1:  # the same value repeated is one length (RFC 9110 section 8.6); or a fault
            del self.headers["Content-Length"]
            self.headers["Content-Length"] = lengths[0]
        if chunked and (lengths or not behaviour.HTTP_READ_CHUNKED):  # a fault: Transfer-Encoding dropped
            del self.headers["Transfer-Encoding"]
            if not lengths:  # the chunked body ignored: read as empty, the connection closed after
                self.headers["Content-Length"] = "0"
                self.close_connection = True
        return False

    def do_GET(self) -> None:
        reply = None
        if urlsplit(self.path).path.startswith(QRCODE_PATH):
            try:
                reply = self.server.behaviour.serve_qrcode(self.path, time.time())
            except Exception:
                reply = self._error(500, "internal server error", time.time())
        if reply is None:
            self._method_not_allowed()
            return
        self._send(reply)

    def do_POST(self) -> None:
        now = time.time()
        if self._framing_refused(now):
            return
        if not self.server.behaviour.HTTP_ABSOLUTE_FORM and not self.path.startswith("/"):
            self._send(self._error(404, "no such endpoint", now))  # a fault: the URL taken as a path
            return
        if urlsplit(self.path).path != ENDPOINT_PATH and not self.server.behaviour.ROUTES_ELSEWHERE:
            self._send(self._error(404, "no such endpoint", now))
            return
        try:
            body = self._read_body()
        except Rejection as rejection:
            self.close_connection = True  # what is left of the body would be read as the next request
            self._send(self._error(rejection.status, rejection.message, now))
            return
        self._handle(body, now)

    def _read_body(self) -> bytes:
        """The request body: Content-Length bytes, or the chunks of a chunked body (RFC 9112 section 7.1);
        Rejection when it cannot be read whole within MAX_BODY_BYTES."""
        codings = ",".join(self.headers.get_all("Transfer-Encoding") or ())
        if codings.strip():
            listed = [c.strip().lower() for c in codings.split(",")]
            if listed[-1] != "chunked":  # RFC 9112 section 6.3: the length cannot be known
                raise Rejection(400, "a request body's last transfer coding must be chunked")
            if len(listed) > 1:  # RFC 9112 section 6.1
                raise Rejection(501, "the only transfer coding understood is chunked")
            return self._read_chunks()
        length = self.headers.get("Content-Length", "0")
        if not length.isascii() or not length.isdigit():
            raise Rejection(400, "invalid Content-Length")
        if len(length) > len(str(MAX_BODY_BYTES)) or int(length) > MAX_BODY_BYTES:
            raise Rejection(413, "the body is too large")
        body = self.rfile.read(int(length))
        if len(body) < int(length):
            raise Rejection(400, "the body is shorter than its Content-Length")
        return body

    def _read_chunks(self) -> bytes:
        body = bytearray()
        while True:
            size_text = self._chunk_line().split(b";", 1)[0].rstrip(b" \t")
            if not 0 < len(size_text) <= CHUNK_SIZE_DIGITS or size_text.strip(HEX_DIGITS):
                raise Rejection(400, "invalid chunk size")
            size = int(size_text, 16)
            if size == 0:
                break
            if len(body) + size > MAX_BODY_BYTES:
                raise Rejection(413, "the body is too large")
            data = self.rfile.read(size)
            body += data
            if len(data) < size or self._chunk_line() != b"":
                raise Rejection(400, "a chunk does not end where its size says")
        for _ in range(MAX_TRAILER_LINES):  # the trailer section, ignored, up to its empty line
            if self._chunk_line() == b"":
                return bytes(body)
        raise Rejection(400, "the trailer section is too long")

    def _chunk_line(self) -> bytes:
        line = self.rfile.readline(MAX_CHUNK_LINE + 1)
        if not line.endswith(b"\r\n"):
            raise Rejection(400, "a chunk line is cut short or too long")
        return line[:-2]

    def _handle(self, body: bytes, now: float) -> None:
        try:
            headers = tuple((name.lower(), value) for name, value in self.headers.items())
            reply = self.server.behaviour.serve(self.command, self.path, headers, body, now)
            if reply is None:
                self._not_routed(now)
                return
        except Exception:
            # A bug in a stage (or a fault) is answered as what it is, a 500, instead of a dropped
            # connection; the suite then reports LT-HTTP-NO-5XX.
            reply = self._error(500, "internal server error", now)
        self._send(reply, request_body=body)

    def _method_not_allowed(self) -> None:
        now = time.time()
        if self._framing_refused(now):
            return
        # The body is read either way: left unread it would be parsed as the connection's next request.
        length = self.headers.get("Content-Length", "0")
        size = int(length) if length.isascii() and length.isdigit() and len(length) < 7 else -1
        if size < 0 or size > MAX_BODY_BYTES or "transfer-encoding" in self.headers:
            self.close_connection = True
            body = b""
        else:
            body = self.rfile.read(size)
        if self.server.behaviour.ROUTES_ELSEWHERE:  # a fault that serves other methods
            self._handle(body, now)
            return
        self._not_routed(now)

    def _not_routed(self, now: float) -> None:
        if urlsplit(self.path).path != ENDPOINT_PATH:
            self._send(self._error(404, "no such endpoint", now))
        else:
            allow = (("Allow", "POST"),) if self.server.behaviour.ALLOW_ON_405 else ()
            self._send(self._error(405, "only POST is allowed", now), extra=allow)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors http.server detects itself, answered in the same XML shape."""
        self.close_connection = True
        # http.server leaves the version at its HTTP/0.9 default when the request line is unreadable,
        # and would then send a body without a status line; every answer here gets one.
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        self._send(self._error(code, message or HTTPStatus(code).phrase, time.time()))

    def _error(self, status: int, message: str, now: float) -> Reply:
        return self.server.behaviour.reject(Rejection(status, message), now=now)

    def _send(
        self, reply: Reply, *, extra: tuple[tuple[str, str], ...] = (), request_body: bytes = b""
    ) -> None:
        behaviour = self.server.behaviour
        # A fault: a request pipelined behind this one is never answered (the connection is dropped).
        dropped = not behaviour.HTTP_PIPELINING and self._request_waiting()
        http11 = self.request_version == "HTTP/1.1"
        interim = behaviour.interim_headers(request_body) if http11 else ()
        if interim:  # a fault: a 103 (Early Hints) before the answer
            lines = "".join(f"{name}: {value}\r\n" for name, value in interim)
            self.wfile.write(f"HTTP/1.1 103 Early Hints\r\n{lines}\r\n".encode("latin-1", "replace"))
        trailers = behaviour.trailers(request_body) if http11 else ()
        self.send_response_only(reply.status)
        headers = (
            reply.headers
            if any(k == "Date" for k, _ in reply.headers)
            else (*reply.headers, *self.server.behaviour.http_date(time.time()))
        )
        for name, value in (*headers, *extra):
            self.send_header(name, value)
        self.send_header("Server", SERVER_NAME)
        if trailers:  # a fault: the body chunked, with a trailer section
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD" and behaviour.HTTP_HEAD_WITHOUT_CONTENT:
            pass
        elif trailers:
            fields = "".join(f"{name}: {value}\r\n" for name, value in trailers).encode("latin-1", "replace")
            chunk = f"{len(reply.body):x}\r\n".encode() + reply.body + b"\r\n" if reply.body else b""
            self.wfile.write(chunk + b"0\r\n" + fields + b"\r\n")
        else:
            self.wfile.write(reply.body)
        if dropped:
            self.close_connection = True


class ReferenceServer:
    """The reference target on a real socket; a context manager. ``fault`` names a FAULTS entry."""

    def __init__(
        self,
        *,
        fault: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        slow_delay: float = DEFAULT_SLOW_DELAY,
        serve_qrcodes: bool = False,
        behaviour: type[Behaviour] | None = None,
    ) -> None:
        """``behaviour``: a Behaviour class to serve instead of the reference's or the fault's (a
        deployment with other users, for tests)."""
        self.fault: Fault | None = None if fault is None else get_fault(fault)
        self.behaviour = behaviour
        self.host = host
        self.port = port
        self.options = Options(slow_delay=slow_delay, serve_qrcodes=serve_qrcodes)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:PORT (the server must be started)."""
        if self._server is None:
            raise RuntimeError("the reference server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def endpoint(self) -> str:
        """The full URL of POST /v1/user/login_token."""
        return self.url + ENDPOINT_PATH

    def start(self) -> None:
        """Bind and serve in a daemon thread; returns once the socket is listening."""
        if self._server is not None:
            return
        self.options.stopping.clear()
        self._server = _Server((self.host, self.port), Behaviour(self.options))  # replaced once bound
        if self.options.serve_qrcodes:  # the <qrcode> URLs point at this server, now that it has a port
            self.options = dataclasses.replace(self.options, qrcode_base=self.url + QRCODE_PATH)
        served = self.behaviour or (Behaviour if self.fault is None else self.fault.behaviour)
        self._server.behaviour = served(self.options)
        name = f"reference-server-{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_INTERVAL,), name=name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, wake stalled handlers and close every connection; idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        self.options.stopping.set()
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> ReferenceServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        fault = self.fault.name if self.fault else None
        where = self.url if self._server is not None else "stopped"
        return f"ReferenceServer(fault={fault!r}, {where})"
