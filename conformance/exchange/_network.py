"""The network under httpx: httpcore with a backend that holds every socket operation to one deadline.

httpx timeouts bound each socket operation, not a request: a server trickling header bytes, sending
``100 Continue`` every second or dripping its body one byte a second never trips them. Here every
connect, TLS handshake, read and write of a request is given at most what is left of that request's
``Deadline`` (``within``), on a new connection and a pooled one alike, and fails as a timeout once
nothing is left: one deadline from connect to last byte, with no thread per request. Whatever reads the
response (the transport, the recorder under it, the QR image fetcher) reads it through this backend.

A backend may also be told which address to connect to for a host name (``connect_to``): the QR image
fetcher checks an address, then connects to exactly that one (no second lookup to rebind).
"""

from __future__ import annotations

import contextlib
import ssl
import typing
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar

import httpcore
import httpx

from conformance.core._limits import Deadline

# httpx's own connection limits (httpx.Limits() defaults): the burst of parallel cases needs more than
# httpcore's 10 connections.
MAX_CONNECTIONS = 100
MAX_KEEPALIVE_CONNECTIONS = 20
# Longer than httpx's 5 s: the idle-connection grant (suite/test_side_channels.py) waits on a pooled
# connection up to twice the expire tolerance + 1 s; a server that closes it sooner is met by the stale-
# connection retry (transport.HUNG_UP).
KEEPALIVE_EXPIRY = 60.0
DEADLINE_PASSED = "the request's overall deadline passed"

SocketOptions = (
    Iterable[tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]] | None
)

_current: ContextVar[Deadline | None] = ContextVar("conformance_deadline", default=None)


@contextlib.contextmanager
def within(deadline: Deadline) -> Iterator[Deadline]:
    """Hold every socket operation in the block (this thread) to ``deadline``."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def current_deadline() -> Deadline | None:
    """The deadline this thread's socket operations are held to (None outside ``within``)."""
    return _current.get()


def _bounded(timeout: float | None, kind: type[httpcore.TimeoutException]) -> float | None:
    """The operation's own timeout, cut to what is left of the current deadline (``kind`` when none is)."""
    deadline = _current.get()
    if deadline is None:
        return timeout
    left = deadline.remaining()
    if left <= 0:
        deadline.expired = True
        raise kind(DEADLINE_PASSED)
    return left if timeout is None else min(timeout, left)


@contextlib.contextmanager
def _noting_expiry() -> Iterator[None]:
    try:
        yield
    except httpcore.TimeoutException:
        deadline = _current.get()
        if deadline is not None:
            deadline.check()
        raise


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation is bounded by the deadline current when it runs."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _noting_expiry():
            return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _noting_expiry():
            self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        # Python bounds a whole handshake by the socket timeout (not each of its reads).
        with _noting_expiry():
            bounded = _bounded(timeout, httpcore.ConnectTimeout)
            return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, every operation bounded by the current deadline; ``connect_to`` maps a host
    name to the one address to connect to (raising httpcore.ConnectError to refuse it)."""

    def __init__(self, *, connect_to: Callable[[str], str] | None = None) -> None:
        self._inner = httpcore.SyncBackend()
        self._connect_to = connect_to

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.NetworkStream:
        address = host if self._connect_to is None else self._connect_to(host)
        with _noting_expiry():
            bounded = _bounded(timeout, httpcore.ConnectTimeout)
            stream = self._inner.connect_tcp(address, port, bounded, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,  # noqa: ARG002 - the NetworkBackend interface
        timeout: float | None = None,  # noqa: ARG002
        socket_options: SocketOptions = None,  # noqa: ARG002
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never used")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpcore's exceptions as the httpx ones of the same name (what httpx's own transport raises)."""
    try:
        yield
    except Exception as exc:
        for kind in type(exc).__mro__:
            mapped = getattr(httpx, kind.__name__, None) if kind.__module__.startswith("httpcore") else None
            if isinstance(mapped, type) and issubclass(mapped, httpx.TransportError):
                raise mapped(str(exc)) from exc
        raise


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            with _httpx_errors():
                close()


class PoolTransport(httpx.BaseTransport):
    """httpx over an httpcore connection pool on a DeadlineBackend (httpx.HTTPTransport takes no backend)."""

    def __init__(self, *, ssl_context: ssl.SSLContext, backend: DeadlineBackend) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_EXPIRY,
            network_backend=backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on a pooled (or new) connection; the body is read as the response is iterated."""
        assert isinstance(request.stream, httpx.SyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = self._pool.handle_request(core)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()
