"""Raw-message probes (issue 21): HTTP/1.1 messages an ordinary client never sends, each on a connection of
its own, built and parsed with h11.

A probe is one or more request messages carrying the case's form. h11 builds every message; one h11
refuses to build (an HTTP/1.1 request without Host, two Host or two Content-Length fields, HTTP/1.0) is
built valid and then changed by one named edit of its head (``EDITS``). The connection is opened through
the transport's DeadlineBackend (every socket operation bounded by the request's deadline, TLS with the
rails' trust for https targets), the answers are parsed by h11 under the body cap, and what the
connection showed becomes a ``RawOutcome``. Judging is the checks' business (``conformance.checks.message``).
"""

from __future__ import annotations

import ssl
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h11
import httpcore

from conformance.core._limits import DECODING_WBITS, Deadline, decode_whole
from conformance.core.model import RawOutcome, RawResponse, TransportError

RAW_PROBE = "conformance.raw_probe"  # httpx request extension: the probe's name
RAW_OUTCOME = "conformance.raw_outcome"  # httpx response extension: the RawOutcome
# The fields a probe writes itself (its request target's host and its body's framing); the client's other
# fields go with every probe as the client sends them.
FRAMING_FIELDS = frozenset({"host", "content-length", "content-type", "transfer-encoding"})
RAW_METHOD_PREFIX = "RAW-"  # the carrier request's method: RAW-<PROBE>, what a cassette matches it by
CLOSE_WAIT = 1.0  # seconds a probe waits after its answers for the server to close the connection
FOLLOW_WAIT = 2.0  # at least this long for a pipelined request's answer once the first one came
FOLLOW_FACTOR = 3.0  # ... or this many times as long as the first answer took
EXPECT_WAIT = 1.0  # how long the body waits for 100 Continue (RFC 9110 section 10.1.1: a bounded wait)
READ_BYTES = 64 * 1024
# The conflicting-length probe's body ends with empty form pairs, so either of its two lengths reads the
# whole form: a server that picks one serves the request instead of refusing it.
PAD = b"&" * 8
FORM_TYPE = "application/x-www-form-urlencoded"
OTHER_HOST = "conformance.invalid"


@dataclass(frozen=True)
class Message:
    """One request of a probe: the case's form (or an empty body), how it is framed and edited."""

    form: bool = True
    method: str = "POST"
    chunked: bool = False
    absolute: bool = False  # the absolute-form target (RFC 9112 section 3.2.2)
    headers: tuple[tuple[str, str], ...] = ()
    edit: str = ""  # an EDITS name


@dataclass(frozen=True)
class Probe:
    """A raw-message probe: its messages, the requirement it serves and the RFC section it exercises."""

    name: str
    requirement: str
    section: str
    description: str
    messages: tuple[Message, ...]
    await_close: bool = False  # read on after the answers until the server closes (or CLOSE_WAIT passes)
    expect_continue: bool = False  # the first message's body waits for 100 Continue


def _drop_host(head: bytes) -> bytes:
    lines = head.split(b"\r\n")
    return b"\r\n".join(line for line in lines if not line.lower().startswith(b"host:"))


def _second_host(head: bytes) -> bytes:
    first, rest = head.split(b"\r\n", 1)
    return first + b"\r\nHost: " + OTHER_HOST.encode() + b"\r\n" + rest


def _http_10(head: bytes) -> bytes:
    first, rest = head.split(b"\r\n", 1)
    return first.replace(b" HTTP/1.1", b" HTTP/1.0") + b"\r\n" + rest


def _conflicting_length(head: bytes) -> bytes:
    lines = head.split(b"\r\n")
    out = []
    for line in lines:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
            out.append(b"Content-Length: " + str(length - len(PAD)).encode())
        out.append(line)
    return b"\r\n".join(out)


EDITS: dict[str, Callable[[bytes], bytes]] = {
    "drop-host": _drop_host,
    "second-host": _second_host,
    "http-1.0": _http_10,
    "conflicting-length": _conflicting_length,
}

PROBES: dict[str, Probe] = {
    p.name: p
    for p in (
        Probe(
            "host-missing",
            "LT-HTTP-MSG-HOST",
            "RFC 9112 section 3.2",
            "an HTTP/1.1 request without Host",
            (Message(edit="drop-host"),),
        ),
        Probe(
            "host-twice",
            "LT-HTTP-MSG-HOST",
            "RFC 9112 section 3.2",
            "an HTTP/1.1 request with two different Host fields",
            (Message(edit="second-host"),),
        ),
        Probe(
            "conflicting-length",
            "LT-HTTP-MSG-FRAMING",
            "RFC 9112 section 6.3, RFC 9110 section 8.6",
            "a request with two different Content-Length values",
            (Message(edit="conflicting-length"),),
            await_close=True,
        ),
        Probe(
            "length-and-chunked",
            "LT-HTTP-MSG-FRAMING",
            "RFC 9112 sections 6.1 and 6.3",
            "a chunked request that also says Content-Length: 0",
            (Message(chunked=True, headers=(("Content-Length", "0"),)),),
            await_close=True,
        ),
        Probe(
            "connection-close",
            "LT-HTTP-MSG-CONNECTION",
            "RFC 9112 section 9.6",
            "a request with Connection: close",
            (Message(headers=(("Connection", "close"),)),),
            await_close=True,
        ),
        Probe(
            "pipelined",
            "LT-HTTP-MSG-CONNECTION",
            "RFC 9112 section 9.3.2",
            "two requests in one write: the form, then an empty body",
            (Message(), Message(form=False)),
        ),
        Probe(
            "absolute-form",
            "LT-HTTP-MSG-CONNECTION",
            "RFC 9112 section 3.2.2",
            "the form to the endpoint's absolute URL as the request target",
            (Message(absolute=True),),
        ),
        Probe(
            "http-1.0",
            "LT-HTTP-MSG-CONNECTION",
            "RFC 9112 section 2.5",
            "the form in an HTTP/1.0 request",
            (Message(edit="http-1.0"),),
        ),
        Probe(
            "chunked",
            "LT-HTTP-MSG-BODY",
            "RFC 9112 section 7.1",
            "the form in a chunked body (two chunks)",
            (Message(chunked=True),),
        ),
        Probe(
            "expect-continue",
            "LT-HTTP-MSG-BODY",
            "RFC 9110 section 10.1.1",
            "the form after Expect: 100-continue",
            (Message(headers=(("Expect", "100-continue"),)),),
            expect_continue=True,
        ),
        Probe(
            "head",
            "LT-HTTP-MSG-HEAD",
            "RFC 9110 section 9.3.2",
            "HEAD to the endpoint with Connection: close",
            (Message(form=False, method="HEAD", headers=(("Connection", "close"),)),),
            await_close=True,
        ),
    )
}
RAW_REQUESTS = sum(len(p.messages) for p in PROBES.values())  # what the probes add to a run


def get_probe(name: str) -> Probe:
    """The registered probe ``name``; KeyError names it."""
    try:
        return PROBES[name]
    except KeyError:
        raise KeyError(f"unknown raw probe {name!r}") from None


def carrier_method(name: str) -> str:
    """The method of the httpx request that carries probe ``name`` to the transport (never sent)."""
    return RAW_METHOD_PREFIX + name.upper()


@dataclass
class Built:
    """One message as bytes (its head and its body apart) and the h11 events that built it."""

    head: bytes
    body: bytes
    events: list[h11.Event] = field(default_factory=list)


def build(message: Message, *, url: str, form: bytes, headers: tuple[tuple[str, str], ...] = ()) -> Built:
    """The bytes of ``message`` to the endpoint ``url`` carrying ``form`` (h11 builds, EDITS change)."""
    split = urlsplit(url)
    body = form if message.form else b""
    if message.edit == "conflicting-length":
        body += PAD
    # The client's fields in its order; one the message sets (Connection: close) takes its place.
    own = {name.lower(): (name, value) for name, value in message.headers}
    fields_ = [("Host", split.netloc)]
    fields_ += [own.pop(name.lower(), (name, value)) for name, value in headers]
    fields_ += own.values()
    if body:
        fields_.append(("Content-Type", FORM_TYPE))
    if message.chunked:
        fields_.append(("Transfer-Encoding", "chunked"))
    elif message.method != "HEAD":
        fields_.append(("Content-Length", str(len(body))))
    target = url if message.absolute else (split.path or "/") + (f"?{split.query}" if split.query else "")
    connection = h11.Connection(h11.CLIENT)
    request = h11.Request(method=message.method, target=target, headers=fields_)
    head = connection.send(request) or b""
    events: list[h11.Event] = [request]
    pieces = [body[: len(body) // 2], body[len(body) // 2 :]] if message.chunked else [body]
    out = b""
    for piece in pieces:
        if piece:
            data = h11.Data(data=piece)
            out += connection.send(data) or b""
            events.append(data)
    out += connection.send(h11.EndOfMessage()) or b""
    events.append(h11.EndOfMessage())
    edit = EDITS.get(message.edit)
    return Built(edit(head) if edit else head, out, events)


class _BodyCap(Exception):
    pass


class _Reader:
    """Reads a probe's connection into h11 under the deadline, the body cap and shorter waits."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline | None, max_bytes: int) -> None:
        self.stream = stream
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.received = 0
        self.eof = False

    def read(self, wait: float | None) -> bytes | None:
        """Bytes (b'' at EOF); None when ``wait`` passed first (the deadline's own expiry raises)."""
        try:
            data = self.stream.read(READ_BYTES, timeout=wait)
        except httpcore.ReadTimeout:
            if wait is None or (self.deadline is not None and self.deadline.expired):
                raise
            return None
        self.received += len(data)
        if self.received > self.max_bytes:
            raise _BodyCap(f"the answers exceed the {self.max_bytes}-byte cap")
        self.eof = not data
        return data


def _headers(
    event: h11.Response | h11.InformationalResponse | h11.EndOfMessage,
) -> tuple[tuple[str, str], ...]:
    return tuple((n.decode("latin-1").lower(), v.decode("latin-1")) for n, v in event.headers)


def _decoded(body: bytes, headers: tuple[tuple[str, str], ...], *, max_bytes: int) -> bytes:
    """The body as the client reads it: a gzip or deflate Content-Encoding (the client asks for both)
    decoded within ``max_bytes``; anything else, or what does not decode, as it came."""
    coding = ",".join(value for name, value in headers if name == "content-encoding").strip().lower()
    if not body or coding not in DECODING_WBITS:
        return body
    try:
        return decode_whole(coding, body, max_bytes=max_bytes)
    except zlib.error:
        return body


def _response(
    connection: h11.Connection, reader: _Reader, interim: _Interim, *, wait: float | None
) -> RawResponse | None:
    """The next final response; None when the server closed first or ``wait`` passed. The interim (1xx)
    responses before it are noted in ``interim``."""
    head: h11.Response | None = None
    body = bytearray()
    while True:
        try:
            event = connection.next_event()
        except h11.RemoteProtocolError:
            if reader.eof and head is None and not connection.trailing_data[0]:
                return None  # closed before answering (bytes that are no answer are a protocol error)
            raise
        if event is h11.NEED_DATA:
            if reader.eof and connection.trailing_data[0]:
                raise h11.RemoteProtocolError("the connection closed inside an answer")
            if reader.eof:
                return None
            data = reader.read(wait)
            if data is None:
                return None
            connection.receive_data(data)
        elif isinstance(event, h11.InformationalResponse):
            interim.statuses.append(event.status_code)
            interim.headers += _headers(event)
        elif isinstance(event, h11.Response):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            headers = _headers(head)
            return RawResponse(
                head.status_code,
                head.reason.decode("latin-1"),
                head.http_version.decode("latin-1"),
                headers,
                _decoded(bytes(body), headers, max_bytes=reader.max_bytes),
                _headers(event),
            )
        else:  # ConnectionClosed, PAUSED
            return None


def _await_close(reader: _Reader, already: int) -> tuple[bool, int]:
    """Read on until the server closes or CLOSE_WAIT passes: (closed, bytes it sent meanwhile)."""
    trailing = already
    while not reader.eof:
        data = reader.read(CLOSE_WAIT)
        if data is None:
            return False, trailing
        trailing += len(data)
    return True, trailing


def converse(
    probe: Probe,
    *,
    connect: Callable[[], httpcore.NetworkStream],
    url: str,
    form: bytes,
    headers: tuple[tuple[str, str], ...] = (),
    deadline: Deadline | None = None,
    max_bytes: int,
) -> RawOutcome:
    """Send ``probe`` on a connection ``connect`` opens and read what comes back; never raises for what
    the target does (a timeout, a reset, bytes h11 cannot parse or the cap end the outcome with an error)."""
    built = [build(m, url=url, form=form, headers=headers) for m in probe.messages]
    responses: list[RawResponse] = []
    interim = _Interim()
    closed, trailing = False, 0
    try:
        stream = connect()
    except (httpcore.TimeoutException, httpcore.NetworkError, OSError) as exc:
        kind = (
            TransportError.TIMEOUT if isinstance(exc, httpcore.TimeoutException) else TransportError.CONNECT
        )
        return RawOutcome(error=kind.value, error_detail=f"{type(exc).__name__}: {exc}")
    reader = _Reader(stream, deadline, max_bytes)
    connection = h11.Connection(h11.CLIENT)
    try:
        for event in built[0].events:
            connection.send(event)
        if probe.expect_continue:
            stream.write(built[0].head)
            data = reader.read(EXPECT_WAIT)  # 100 Continue, a final answer, or nothing yet
            if data:
                connection.receive_data(data)
            stream.write(built[0].body)
            stream.write(b"".join(b.head + b.body for b in built[1:]))
        else:
            stream.write(b"".join(b.head + b.body for b in built))
        started = deadline.remaining() if deadline is not None else None
        wait: float | None = None
        for number, message in enumerate(built):
            if number:
                if connection.their_state is not h11.DONE or connection.our_state is not h11.DONE:
                    break  # the server said it closes: no later answer is owed
                connection.start_next_cycle()
                for event in message.events:
                    connection.send(event)
            response = _response(connection, reader, interim, wait=wait)
            if response is None:
                break
            responses.append(response)
            if wait is None and deadline is not None and started is not None:
                took = started - deadline.remaining()
                wait = max(FOLLOW_WAIT, FOLLOW_FACTOR * took)
            elif wait is None:
                wait = FOLLOW_WAIT
        closed = reader.eof
        if probe.await_close and responses and not closed:
            closed, trailing = _await_close(reader, len(connection.trailing_data[0]))
        elif responses:
            trailing = len(connection.trailing_data[0])
    except httpcore.TimeoutException as exc:
        return _ended(responses, interim, TransportError.TIMEOUT, exc)
    except (httpcore.NetworkError, OSError) as exc:
        return _ended(responses, interim, TransportError.RESET, exc)
    except (h11.ProtocolError, ValueError) as exc:
        return _ended(responses, interim, TransportError.PROTOCOL, exc)
    except _BodyCap as exc:
        return _ended(responses, interim, TransportError.TOO_LARGE, exc)
    finally:
        stream.close()
    return RawOutcome(
        tuple(responses), tuple(interim.statuses), closed, trailing, interim_headers=tuple(interim.headers)
    )


@dataclass
class _Interim:
    """The interim (1xx) responses read on a connection: their statuses and their headers."""

    statuses: list[int] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)


def _ended(
    responses: list[RawResponse], interim: _Interim, kind: TransportError, exc: BaseException
) -> RawOutcome:
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    statuses, headers = tuple(interim.statuses), tuple(interim.headers)
    return RawOutcome(tuple(responses), statuses, False, 0, kind.value, detail, interim_headers=headers)


def tls_connect(
    backend: httpcore.NetworkBackend, url: str, *, ssl_context: ssl.SSLContext, timeout: float | None
) -> httpcore.NetworkStream:
    """A new connection to ``url``'s host, TLS for https (with ``ssl_context``'s trust), no ALPN: HTTP/1.1."""
    split = urlsplit(url)
    https = split.scheme == "https"
    host = split.hostname or ""
    stream = backend.connect_tcp(host, split.port or (443 if https else 80), timeout)
    if https:
        stream = stream.start_tls(ssl_context, server_hostname=host, timeout=timeout)
    return stream
