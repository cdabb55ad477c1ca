"""A stock HTTP/1.1 server for the raw-message tests: h11 parses every request (chunked bodies, Expect:
100-continue, a missing Host), the way uvicorn with h11 does; it grants one key and echoes it."""

from __future__ import annotations

import secrets
import socket
import threading
from email.utils import formatdate
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

import h11

ENDPOINT = "/v1/user/login_token"
READ_BYTES = 65536
SOCKET_TIMEOUT = 5.0


class H11Server:
    """Serves the endpoint on loopback with h11; grants ``api_key`` and echoes it in a header."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.tokens: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> H11Server:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.settimeout(SOCKET_TIMEOUT)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        connection = h11.Connection(h11.SERVER)
        request: h11.Request | None = None
        body = bytearray()
        try:
            while True:
                try:
                    event = connection.next_event()
                except h11.RemoteProtocolError:
                    if connection.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                        self._answer(sock, connection, 400, b"bad request", close=True)
                    return
                if event is h11.NEED_DATA:
                    connection.receive_data(sock.recv(READ_BYTES))
                elif isinstance(event, h11.Request):
                    request, body = event, bytearray()
                    if connection.they_are_waiting_for_100_continue:
                        sock.sendall(connection.send(h11.InformationalResponse(status_code=100, headers=[])))
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage) and request is not None:
                    self._respond(sock, connection, request, bytes(body))
                    if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
                        return
                    connection.start_next_cycle()
                else:
                    return
        except OSError:
            return
        finally:
            sock.close()

    def _respond(
        self, sock: socket.socket, connection: h11.Connection, request: h11.Request, body: bytes
    ) -> None:
        path = urlsplit(request.target.decode()).path
        if path != ENDPOINT:
            self._answer(sock, connection, 404, b"not found")
        elif request.method != b"POST":
            self._answer(sock, connection, 405, b"", allow=True)
        else:
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            key = form.get("api_key", "")
            if key != self.api_key:
                self._answer(sock, connection, 401, b"<user_response><status>401</status></user_response>")
                return
            token = secrets.token_hex(16)
            self.tokens.append(token)
            xml = f"<user_response><message>{key}</message><token>{token}</token></user_response>"
            self._answer(sock, connection, 200, xml.encode(), echo=key)

    def _answer(
        self,
        sock: socket.socket,
        connection: h11.Connection,
        status: int,
        body: bytes,
        *,
        allow: bool = False,
        close: bool = False,
        echo: str = "",
    ) -> None:
        headers = [
            ("Date", formatdate(usegmt=True)),
            ("Content-Type", "application/xml"),
            ("Cache-Control", "no-store"),
            ("Content-Length", str(len(body))),
        ]
        headers += [("Allow", "POST")] if allow else []
        headers += [("X-Echo", echo)] if echo else []
        headers += [("Connection", "close")] if close else []
        data = connection.send(h11.Response(status_code=status, headers=headers)) or b""
        data += connection.send(h11.Data(data=body)) or b"" if body else b""
        data += connection.send(h11.EndOfMessage()) or b""
        sock.sendall(data)
