"""A real HTTP(S) server on loopback that answers the endpoint with one hostile behaviour, for tests."""

from __future__ import annotations

import atexit
import base64
import functools
import html
import itertools
import re
import secrets
import select
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qsl, quote

from tests.support.spellings import KEY_SPELLINGS, for_line

HOST = "127.0.0.1"
CANARY_HOST = "127.0.0.2"  # another loopback address: a "different host" that is still local
ENDPOINT_PATH = "/v1/user/login_token"
POLL_SECONDS = 0.05
MAX_REQUEST_BYTES = 1_048_576
REQUEST_READ_SECONDS = 5.0
SLOW_SECONDS = 30.0
RESET_PAUSE_SECONDS = 0.2
HUGE_BODY_BYTES = 10 * 1_048_576
HUGE_CHUNK_BYTES = 64 * 1024
BOMB_INFLATED_BYTES = 200 * 1_048_576
JOIN_SECONDS = 2.0
# Every token any hostile server issued in this process (a canary test greps files for each).
ISSUED_TOKENS: list[str] = []
# One <user_response> under the 1 MiB body cap with as many attributes as fit: the quadratic case for
# XSD validation.
ATTRIBUTE_HEAVY_BYTES = 1_040_000
CASES = (
    "valid",
    "valid_gzip",
    "non_xml",
    "truncated_xml",
    "wrong_encoding",
    "empty_body",
    "html_error",
    "huge_body",
    "gzip_bomb",
    "external_entity",
    "billion_laughs",
    "path_body",
    "url_body",
    "slow",
    "slow_drip",
    "reset_mid_body",
    "redirect_other_host",
    "malformed_http",
    # Secrets in unusual spellings and places (issue 10): none may reach a file.
    "token_cdata",
    "token_spaced_tag",
    "token_comment_split",
    "utf16_body",
    "token_in_reason",
    "key_in_version_header",
    "key_percent_echo",
    "key_xml_escaped_echo",
    "key_numeric_refs_echo",
    "key_base64_header",
    # Bounded cost and printable output (issue 10).
    "attribute_heavy",
    "control_chars",
    # Issue 19: the key in any reversible spelling, credentials on every channel; issue 23: short tokens.
    "key_spelled_echo",
    "credentials_everywhere",
    "short_numeric_token",
)
XML = "application/xml; charset=UTF-8"
# Special cases close the connection after answering: say so, or the client reuses a dead connection.
CLOSE = ("Connection", "close")
VALID_TEMPLATE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<user_response>\n'
    "    <status>200</status>\n    <message>The request has been successfully processed</message>\n"
    "    <user_id>{user_id}</user_id>\n    <token>{token}</token>\n"
    "    <qrcode>https://qr.example.test/{token}.png</qrcode>\n"
    "    <expire>{expire}</expire>\n</user_response>\n"
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10)
    )
    + "]>\n<user_response><status>200</status><message>&lol9;</message></user_response>\n"
).encode()


@functools.cache
def gzip_bomb() -> bytes:
    """A gzip body (about 200 KB) that inflates to BOMB_INFLATED_BYTES zero bytes; built once per process."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1_048_576)
    parts = [compressor.compress(block) for _ in range(BOMB_INFLATED_BYTES // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


@functools.cache
def self_signed_cert() -> tuple[Path, Path]:
    """(cert.pem, key.pem) for 127.0.0.1, made once per process with the openssl CLI."""
    folder = Path(tempfile.mkdtemp(prefix="hostile-tls-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def _response(
    status: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    length: int | None = None,
) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers)]
    lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the server read it."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class _Listener:
    """A listening socket with a bounded, stoppable accept loop that hands each connection to a thread."""

    def __init__(self, host: str) -> None:
        self.stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self.host, self.port = self._sock.getsockname()[:2]
        self.connections = 0
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def _accept_loop(self) -> None:
        while not self.stop.is_set():
            readable, _, _ = select.select([self._sock], [], [], POLL_SECONDS)
            if not readable or self.stop.is_set():
                continue
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            worker = threading.Thread(target=self._guarded, args=(conn,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _guarded(self, conn: socket.socket) -> None:
        try:
            self.handle(conn)
        except (OSError, ValueError):
            pass  # the client went away or sent garbage: a hostile server stays quiet about it
        finally:
            conn.close()

    def handle(self, conn: socket.socket) -> None:
        """Serve one accepted connection."""

    def __enter__(self) -> _Listener:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop.set()
        self._thread.join(JOIN_SECONDS)
        self._sock.close()
        for worker in self._threads:
            worker.join(JOIN_SECONDS)


class CanaryListener(_Listener):
    """Listens on 127.0.0.2 (127.0.0.1 if unavailable) and counts connections; nothing should ever connect."""

    def __init__(self) -> None:
        try:
            super().__init__(CANARY_HOST)
        except OSError:
            super().__init__(HOST)

    def url(self, path: str) -> str:
        """An http URL on the canary."""
        return f"http://{self.host}:{self.port}{path}"

    def __enter__(self) -> CanaryListener:
        super().__enter__()
        return self


class HostileServer(_Listener):
    """Answers POST /v1/user/login_token with the behaviour named by ``case`` (settable between requests)."""

    scheme = "http"

    def __init__(self, case: str, *, canary: CanaryListener | None = None) -> None:
        if case not in CASES:
            raise ValueError(f"unknown hostile case {case!r}; expected one of {', '.join(CASES)}")
        super().__init__(HOST)
        self.case = case
        self._own_canary = canary is None
        self.canary = canary if canary is not None else CanaryListener()
        self.requests: list[ReceivedRequest] = []

    @property
    def url(self) -> str:
        """The base URL (no endpoint path)."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def __enter__(self) -> HostileServer:
        if self.case == "gzip_bomb":
            gzip_bomb()  # built before serving: building it (seconds on a busy machine) is not the answer
        if self._own_canary:
            self.canary.__enter__()
        super().__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        super().__exit__(exc_type, exc, tb)
        if self._own_canary:
            self.canary.__exit__(exc_type, exc, tb)

    def wrap(self, conn: socket.socket) -> socket.socket:
        """Hook for TLS; plain http returns the socket unchanged."""
        return conn

    def handle(self, conn: socket.socket) -> None:
        """Read requests and answer each with the current case until one answer closes the connection."""
        conn.settimeout(POLL_SECONDS)
        with self.wrap(conn) as stream:  # the TLS wrapper owns the descriptor: close it, not ``conn``
            buffer = b""
            while not self.stop.is_set():
                request, buffer = self._read_request(stream, buffer)
                if request is None:
                    return
                self.requests.append(request)
                keep_alive = self._answer(stream, request)
                if not keep_alive or ("connection", "close") in request.headers:
                    return

    def _read_request(self, conn: socket.socket, buffer: bytes) -> tuple[ReceivedRequest | None, bytes]:
        give_up = time.monotonic() + REQUEST_READ_SECONDS
        while b"\r\n\r\n" not in buffer or len(buffer) < self._wanted(buffer):
            if self.stop.is_set() or time.monotonic() > give_up or len(buffer) > MAX_REQUEST_BYTES:
                return None, b""
            try:
                data = conn.recv(65536)
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            if not data:
                return None, b""
            buffer += data
        head, _, rest = buffer.partition(b"\r\n\r\n")
        length = self._wanted(buffer) - len(head) - 4
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = tuple(
            (name.strip().lower(), value.strip())
            for name, _, value in (line.partition(":") for line in header_lines)
        )
        return ReceivedRequest(method, path, headers, rest[:length]), rest[length:]

    @staticmethod
    def _wanted(buffer: bytes) -> int:
        head, found, _ = buffer.partition(b"\r\n\r\n")
        if not found:
            return len(buffer) + 1
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                return len(head) + 4 + int(value.strip())
        return len(head) + 4

    def _answer(self, conn: socket.socket, request: ReceivedRequest) -> bool:
        """Send the answer for the current case; True when the connection may serve another request."""
        case = self.case
        if request.method != "POST" or request.path.split("?")[0] != ENDPOINT_PATH:
            # A HEAD answer carries no body: a client reads none, so one would garble the next answer.
            body = b"" if request.method == "HEAD" else b"not found"
            conn.sendall(_response("404 Not Found", [("Content-Type", "text/plain")], body, length=9))
            return True
        if case in ISSUE10_CASES:
            status, extra, body = _issue10_answer(case, request)
            headers = [("Content-Type", XML), ("Cache-Control", "no-store"), *extra]
            headers = list({name.lower(): (name, value) for name, value in headers}.values())
            conn.sendall(_response(status, headers, body))
            return True
        special = getattr(self, f"_case_{case}", None)
        if special is not None:
            special(conn, request)
            return False
        status, content_type, body = self._simple(case, request)
        conn.sendall(_response(status, [("Content-Type", content_type), ("Cache-Control", "no-store")], body))
        return True

    def _simple(self, case: str, request: ReceivedRequest) -> tuple[str, str, bytes]:
        valid = _valid_body(request)
        canary_entity = self.canary.url("/entity")
        bodies: dict[str, tuple[str, str, bytes]] = {
            "valid": ("200 OK", XML, valid),
            "non_xml": ("200 OK", "text/plain", b"Service temporarily unavailable, please try again later\n"),
            "wrong_encoding": ("200 OK", XML, valid.replace(b"UTF-8", b"UTF-16").replace(
                b"successfully processed", "trait\u00e9 avec succ\u00e8s".encode())),
            "empty_body": ("200 OK", XML, b""),
            "html_error": ("500 Internal Server Error", "text/html",
                           b"<!DOCTYPE html><html><head><title>500</title></head>"
                           b"<body><h1>Internal Server Error</h1><hr></body></html>\n"),
            "external_entity": ("200 OK", XML, (
                '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE user_response [\n'
                f'  <!ENTITY remote SYSTEM "{canary_entity}">\n'
                '  <!ENTITY local SYSTEM "file:///etc/passwd">\n]>\n'
                "<user_response><status>200</status><message>&remote;&local;</message></user_response>\n"
            ).encode()),
            "billion_laughs": ("200 OK", XML, BILLION_LAUGHS),
            "path_body": ("200 OK", XML, b"/etc/passwd"),
            "url_body": ("200 OK", XML, self.canary.url("/x.xsd").encode()),
        }  # fmt: skip
        return bodies[case]

    def _case_valid_gzip(self, conn: socket.socket, request: ReceivedRequest) -> None:
        body = zlib.compress(_valid_body(request), wbits=16 + zlib.MAX_WBITS)
        headers = [("Content-Type", XML), ("Content-Encoding", "gzip"), CLOSE]
        conn.sendall(_response("200 OK", headers, body))

    def _case_truncated_xml(self, conn: socket.socket, request: ReceivedRequest) -> None:
        body = _valid_body(request)
        conn.sendall(_response("200 OK", [("Content-Type", XML), CLOSE], body[: len(body) // 2]))

    def _case_huge_body(self, conn: socket.socket, request: ReceivedRequest) -> None:
        head = b'<?xml version="1.0" encoding="UTF-8"?>\n<user_response><message>'
        conn.sendall(_response("200 OK", [("Content-Type", XML)], head, length=HUGE_BODY_BYTES))
        filler = b"A" * HUGE_CHUNK_BYTES
        sent = len(head)
        while sent < HUGE_BODY_BYTES and not self.stop.is_set():
            piece = filler[: HUGE_BODY_BYTES - sent]
            self._send_blocking(conn, piece)
            sent += len(piece)

    def _case_gzip_bomb(self, conn: socket.socket, request: ReceivedRequest) -> None:
        headers = [("Content-Type", XML), ("Content-Encoding", "gzip")]
        self._send_blocking(conn, _response("200 OK", headers, gzip_bomb()))

    def _case_slow(self, conn: socket.socket, request: ReceivedRequest) -> None:
        if not self.stop.wait(SLOW_SECONDS):
            conn.sendall(_response("200 OK", [("Content-Type", XML)], _valid_body(request)))

    def _case_slow_drip(self, conn: socket.socket, request: ReceivedRequest) -> None:
        body = _valid_body(request)
        conn.sendall(_response("200 OK", [("Content-Type", XML)], b"", length=len(body)))
        for index in range(len(body)):
            if self.stop.wait(1.0):
                return
            conn.sendall(body[index : index + 1])

    def _case_reset_mid_body(self, conn: socket.socket, request: ReceivedRequest) -> None:
        body = _valid_body(request)
        conn.sendall(_response("200 OK", [("Content-Type", XML)], body[: len(body) // 2], length=len(body)))
        self.stop.wait(RESET_PAUSE_SECONDS)
        # SO_LINGER with a zero timeout turns close() into a RST instead of an orderly FIN.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _case_redirect_other_host(self, conn: socket.socket, request: ReceivedRequest) -> None:
        headers = [("Location", self.canary.url("/steal")), ("Content-Type", "text/plain"), CLOSE]
        conn.sendall(_response("302 Found", headers, b"moved"))

    def _case_malformed_http(self, conn: socket.socket, request: ReceivedRequest) -> None:
        conn.sendall(b"HTTP/1.1 two hundred OK\r\nContent-Length: 2\r\n\r\nok")

    def _send_blocking(self, conn: socket.socket, data: bytes) -> None:
        # The poll timeout on the socket would abort a large sendall; send in stop-aware pieces instead.
        view = memoryview(data)
        while view and not self.stop.is_set():
            try:
                view = view[conn.send(view[:HUGE_CHUNK_BYTES]) :]
            except (TimeoutError, ssl.SSLWantWriteError):
                continue


class TlsServer(HostileServer):
    """HostileServer over TLS with a self-signed certificate for 127.0.0.1 (``cert_path`` is its PEM)."""

    scheme = "https"

    def __init__(self, case: str = "valid", *, canary: CanaryListener | None = None) -> None:
        super().__init__(case, canary=canary)
        self.cert_path, key_path = self_signed_cert()
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(self.cert_path, key_path)

    def wrap(self, conn: socket.socket) -> socket.socket:
        """Complete the server side of the TLS handshake (a client refusing the certificate ends it)."""
        conn.settimeout(REQUEST_READ_SECONDS)
        tls = self._context.wrap_socket(conn, server_side=True)
        tls.settimeout(POLL_SECONDS)
        return tls

    def __enter__(self) -> TlsServer:
        super().__enter__()
        return self


def _valid_body(request: ReceivedRequest, *, token: str | None = None) -> bytes:
    form = dict(parse_qsl(request.body.decode("ascii", "replace")))
    user_id = form.get("user_id", "12345")
    seconds = form.get("token_expire", "")
    # A well-formed answer for any input: huge numbers (10**5000, beyond int()'s digit limit) included.
    expire = int(time.time()) + (int(seconds) if seconds.isdecimal() and len(seconds) < 10 else 3600)
    token = secrets.token_hex(16) if token is None else token
    ISSUED_TOKENS.append(token)
    return VALID_TEMPLATE.format(user_id=user_id, token=token, expire=expire).encode()


# -- issue 10: secrets in unusual spellings and places, costly shapes, control characters -------------


def _token_of(body: bytes) -> str:
    return body.split(b"<token>", 1)[1].split(b"</token>", 1)[0].decode()


def _api_key_of(request: ReceivedRequest) -> str:
    return dict(parse_qsl(request.body.decode("ascii", "replace"))).get("api_key", "")


def _numeric_refs(text: str) -> str:
    return "".join(f"&#{ord(c)};" if i % 2 else f"&#x{ord(c):X};" for i, c in enumerate(text))


def _attribute_heavy(request: ReceivedRequest) -> bytes:
    body = _valid_body(request)
    pieces, size, number = [], len(body), 0
    while size < ATTRIBUTE_HEAVY_BYTES:
        piece = f' a{number}="{number % 10}"'
        pieces.append(piece)
        size += len(piece)
        number += 1
    return body.replace(b"<user_response>", b"<user_response" + "".join(pieces).encode() + b">", 1)


# Answers counted across a process: each key spelling in turn, in the body, a header and the reason
# phrase at once; the short tokens count up from the user id, so the first one equals it.
_ANSWERS = itertools.count()
_SHORT_TOKENS = itertools.count(12345)


def _issued(token: str) -> str:
    ISSUED_TOKENS.append(token)
    return token


def _key_spelled_echo(request: ReceivedRequest) -> tuple[str, list[tuple[str, str]], bytes]:
    spell = list(KEY_SPELLINGS.values())[next(_ANSWERS) % len(KEY_SPELLINGS)]
    spelled, body = spell(_api_key_of(request)), _valid_body(request)
    message = f"echo {html.escape(spelled)}".encode()
    body = body.replace(b"The request has been successfully processed", message)
    return f"200 {for_line(spelled)}", [("X-Echo", for_line(spelled))], body


def _credentials_everywhere(request: ReceivedRequest) -> tuple[str, list[tuple[str, str]], bytes]:
    def fresh() -> str:
        return _issued(secrets.token_hex(16))

    headers = [
        ("Location", f"https://app.example.test/welcome#token={fresh()}"),
        ("Set-Cookie", f"sid={fresh()}; Path=/; HttpOnly"),
        ("Link", f"<https://app.example.test/next?access_token={fresh()}>; rel=next"),
        ("X-Next-Token", fresh()),
    ]
    formats = (
        '{{"token": "{}"}}',
        "token={}&amp;next=1",
        "Your session is ready: {}",
        '&lt;input type="hidden" name="csrf_token" value="{}"&gt;',
        "Authorization: Bearer {}",
    )
    message = formats[next(_ANSWERS) % len(formats)].format(fresh())
    body = _valid_body(request).replace(b"The request has been successfully processed", message.encode())
    attribute = f'<user_response refresh_token="{fresh()}">'.encode()
    return f"200 OK session={fresh()}", headers, body.replace(b"<user_response>", attribute, 1)


def _issue10_answer(case: str, request: ReceivedRequest) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status line, extra headers and body for the issue-10 (and later) cases."""
    if case == "key_spelled_echo":
        return _key_spelled_echo(request)
    if case == "credentials_everywhere":
        return _credentials_everywhere(request)
    if case == "short_numeric_token":
        return "200 OK", [], _valid_body(request, token=str(next(_SHORT_TOKENS)))
    body, key = _valid_body(request), _api_key_of(request)
    token = _token_of(body)
    text = body.decode()
    if case == "token_cdata":
        return "200 OK", [], text.replace(f"<token>{token}<", f"<token><![CDATA[{token}]]><").encode()
    if case == "token_spaced_tag":
        return "200 OK", [], text.replace(f"<token>{token}</token>", f"<token >{token}</token >").encode()
    if case == "token_comment_split":
        split = f"<token>{token[:11]}<!-- split -->{token[11:]}</token>"
        # The qrcode would repeat the token whole: it names it split as well, so only parsing finds it.
        text = text.replace(f"/{token}.png", f"/{token[:11]}<!-- -->{token[11:]}.png")
        return "200 OK", [], text.replace(f"<token>{token}</token>", split).encode()
    if case == "utf16_body":
        return (
            "200 OK",
            [("Content-Type", "application/xml; charset=UTF-16")],
            text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
        )
    if case == "token_in_reason":
        return f"200 {token}", [], body
    if case == "key_in_version_header":
        # Only the test's canary key: the run learns its version from the first answer that names one.
        return "200 OK", [("X-API-Version", f"2.1 ({key})")] if key.startswith("CANARY") else [], body
    if case == "key_percent_echo":
        message = "echo " + re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(key, safe=""))
    elif case == "key_xml_escaped_echo":
        message = f"echo {html.escape(key)}"
    elif case == "key_numeric_refs_echo":
        message = f"echo {_numeric_refs(key)}"
    elif case == "key_base64_header":
        return "200 OK", [("X-Debug-Auth", base64.b64encode(f"user:{key}".encode()).decode())], body
    elif case == "attribute_heavy":
        return "200 OK", [], _attribute_heavy(request)
    elif case == "control_chars":
        # A C1 CSI (8-bit "clear screen"), NEL, a right-to-left override in a field that fails
        # its check (the body stays well-formed XML 1.0, which allows C1 but not C0).
        hostile = "12345\x9b2J\x85\u202eevil"
        return (
            "200 OK",
            [("X-Note", "a\x9b2Jb")],
            re.sub(r"<user_id>[^<]*</user_id>", f"<user_id>{hostile}</user_id>", text).encode(),
        )
    else:
        raise ValueError(case)
    return "200 OK", [], text.replace("The request has been successfully processed", message).encode()


ISSUE10_CASES = frozenset(CASES[CASES.index("token_cdata") :])


PADDING_BYTES = 256 * 1024


class PaddedServer(HostileServer):
    """Valid answers, each padded with a 256 KB comment that does not compress (issue 23: the recorder)."""

    def __init__(self, *, echo_key: bool = False) -> None:
        super().__init__("valid")
        self.case = "padded_comment"  # answered by _case_padded_comment, outside CASES: not a finding
        self.echo_key = (
            echo_key  # the api key in the middle of the padding: a finding only the whole body shows
        )

    def _case_padded_comment(self, conn: socket.socket, request: ReceivedRequest) -> None:
        half = secrets.token_hex(PADDING_BYTES // 4)
        middle = f" {_api_key_of(request)} " if self.echo_key else ""
        padding = f"<!-- {half}{middle}{secrets.token_hex(PADDING_BYTES // 4)} -->".encode()
        body = _valid_body(request).replace(b"<user_response>", b"<user_response>" + padding, 1)
        conn.sendall(_response("200 OK", [("Content-Type", XML), ("Cache-Control", "no-store"), CLOSE], body))


class StallingServer(HostileServer):
    """A HostileServer whose 'slow' answers announce themselves, so a test knows a request is in flight."""

    def __init__(self, case: str) -> None:
        super().__init__(case)
        self.stalled = threading.Event()

    def __enter__(self) -> StallingServer:
        super().__enter__()
        return self

    def _case_slow(self, conn: socket.socket, request: ReceivedRequest) -> None:
        self.stalled.set()
        super()._case_slow(conn, request)
