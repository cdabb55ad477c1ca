"""httpx behind the safety rails: overall deadline, body caps, no redirects, rate, budget, TLS, targets."""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from conformance.core._limits import BodyTooLarge, CappedBody, Deadline, RateLimiter, UnsupportedEncoding
from conformance.core.contract import ENDPOINT_PATH
from conformance.core.errors import EXIT_USAGE, ConformanceError
from conformance.core.files import InputUnreadable, read_input
from conformance.core.model import (
    API_KEY_PLACEHOLDER,
    KEY_PROBE,
    Case,
    Exchange,
    RawOutcome,
    TransportError,
    path_variant,
)
from conformance.core.options import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT  # the run defaults, one home
from conformance.core.wire import Written, write
from conformance.exchange._network import DeadlineBackend, PoolTransport, current_deadline, within
from conformance.exchange.raw import (
    FRAMING_FIELDS,
    RAW_OUTCOME,
    RAW_PROBE,
    carrier_method,
    converse,
    get_probe,
    tls_connect,
)
from conformance.redaction.run_secrets import RunSecrets, secrets_of

DEFAULT_REMOTE_RATE = 5.0  # requests/second to a non-loopback host when --rate is not given
DETAIL_MAX_CHARS = 200
# The suite is not recognisable by its headers (issue 19): by default it sends what a stock httpx client
# sends (User-Agent python-httpx/<version>, Accept */*; Accept-Encoding limited to what CappedBody decodes
# under the cap, which is also httpx's own offer without brotli/zstd installed). A sample of the security
# probes goes again under a second identity, a stock curl asking for XML without compression: a target that
# answers them differently decides by who the client claims to be (LT-SEC-IDENTITY-BLIND).
DEFAULT_USER_AGENT = f"python-httpx/{httpx.__version__}"
ALTERNATE_USER_AGENT = "curl/8.5.0"
USER_AGENT_VALUE = re.compile(r"[!-~](?:[ !-~]{0,198}[!-~])?")


@dataclass(frozen=True)
class ClientIdentity:
    """The request headers that say who the client is."""

    user_agent: str
    accept: str
    accept_encoding: str

    def headers(self) -> dict[str, str]:
        """The headers that say who the client is (a body's own come from its spelling:
        conformance.core.wire)."""
        return {
            "Accept": self.accept,
            "Accept-Encoding": self.accept_encoding,
            "User-Agent": self.user_agent,
        }


def client_identities(user_agent: str | None = None) -> tuple[ClientIdentity, ClientIdentity]:
    """The stock identity and the second one; ``user_agent`` (--user-agent) is sent by both, since a
    deployment that requires one would refuse any other before the endpoint decides.

    ValueError names a User-Agent that is no valid header value (RFC 9110 section 5.5: visible ASCII).
    """
    if user_agent is not None and not USER_AGENT_VALUE.fullmatch(user_agent):
        raise ValueError(
            f"--user-agent {user_agent[:60]!r} is not a valid header value; "
            "give 1 to 200 visible ASCII characters and spaces"
        )
    return (
        ClientIdentity(user_agent or DEFAULT_USER_AGENT, "*/*", "gzip, deflate"),
        ClientIdentity(user_agent or ALTERNATE_USER_AGENT, "application/xml", "identity"),
    )


TLS_MARKERS = ("[SSL", "CERTIFICATE_VERIFY_FAILED", "certificate verify failed")
# httpx's words when a server closes the connection without a byte of response. With a reset (RST: the
# server closed with our request unread) this is what an idle keep-alive connection closed by the server
# looks like on reuse; browsers and HTTP libraries retry it once. The rule looks only at the error, not at
# whether the connection was pooled, so a replay (which has no connections) makes the same decision.
HUNG_UP = "Server disconnected without sending a response"
# A request extension: send this request on a connection of its own (NetworkTransport honours it; a
# replaying or mock transport has no connections and ignores it).
FRESH_CONNECTION = "conformance.fresh_connection"
INVALID_TARGET = "invalid target URL {target!r}: expected http(s)://host[:port][/base]"


@dataclass(frozen=True)
class TransportSettings:
    """The rails: per-request deadline, body cap, rate, request budget, trust and target permissions."""

    timeout: float = DEFAULT_TIMEOUT  # per request, total (connect + whole body), seconds
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # applied to the wire bytes and to the decoded bytes
    # requests/second; None: unlimited on loopback, DEFAULT_REMOTE_RATE elsewhere; math.inf: never limited
    rate: float | None = None
    max_requests: int | None = None  # sending request max_requests + 1 raises RequestBudgetExceeded
    ca_bundle: Path | None = None  # extra CA (PEM) trusted on top of the system/certifi roots
    allow_http: bool = False  # plain http to a non-loopback host
    allow_production: bool = False
    production_hosts: tuple[str, ...] = ()  # fnmatch patterns (any case), refused unless allow_production

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout}")
        if self.max_body_bytes <= 0:
            raise ValueError(f"max_body_bytes must be > 0, got {self.max_body_bytes}")
        if self.rate is not None and self.rate <= 0:
            raise ValueError(f"rate must be > 0 requests/second, got {self.rate}")
        if self.max_requests is not None and self.max_requests < 0:
            raise ValueError(f"max_requests must be >= 0, got {self.max_requests}")


DEFAULT_SETTINGS = TransportSettings()


class TargetRefused(ConformanceError):
    """The target is refused by configuration; the one-line message names the problem and the fix."""

    exit_code = EXIT_USAGE


class KeyInUrlRefused(Exception):
    """A case would put the key, or a wrong key derived from it, in a URL the rails do not allow."""


def _carries_key(case: Case) -> bool:
    return any(API_KEY_PLACEHOLDER in value or KEY_PROBE.search(value) for _, value in case.form)


class RequestBudgetExceeded(ConformanceError):
    """The run reached --max-requests; a configuration-level stop, not a finding about the target."""

    exit_code = EXIT_USAGE


def endpoint_url(target: str) -> str:
    """The endpoint URL for ``http(s)://host[:port][/base]``: ENDPOINT_PATH appended unless already there."""
    try:
        parts = urlsplit(target.strip())
        _ = parts.port  # raises ValueError on a malformed or out-of-range port
    except ValueError:
        raise TargetRefused(INVALID_TARGET.format(target=target)) from None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
    ):
        raise TargetRefused(INVALID_TARGET.format(target=target))
    path = parts.path.rstrip("/")
    if not path.endswith(ENDPOINT_PATH):
        path += ENDPOINT_PATH
    return f"{parts.scheme.lower()}://{parts.netloc}{path}"


def resolve_host(name: str) -> list[str]:
    """Every address ``name`` resolves to (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


def _loopback_address(text: str) -> bool | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_loopback(host: str, *, resolve: Callable[[str], list[str]] = resolve_host) -> bool:
    """True for a loopback literal (127.0.0.0/8, ::1) or ``localhost`` itself.

    Any other name (``evil.localhost`` included) counts as loopback only when everything it resolves to
    is a loopback address: a name is judged by where it leads, not by how it is spelled.
    """
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    literal = _loopback_address(name)
    if literal is not None:
        return literal
    addresses = resolve(name) if name else []
    return bool(addresses) and all(_loopback_address(a) is True for a in addresses)


def _check_target(url: str, settings: TransportSettings) -> str:
    host = (urlsplit(url).hostname or "").lower()
    for pattern in settings.production_hosts:
        if fnmatchcase(host, pattern.lower()) and not settings.allow_production:
            raise TargetRefused(
                f"target host {host!r} matches production pattern {pattern!r}; "
                "pass --allow-production to test it"
            )
    if url.startswith("http://") and not is_loopback(host) and not settings.allow_http:
        raise TargetRefused(
            f"plain http to non-loopback host {host!r} would send the api key unencrypted; "
            "use https or pass --allow-http"
        )
    if settings.ca_bundle is not None:
        _check_ca_bundle(settings.ca_bundle)
    return host


def _check_ca_bundle(ca_bundle: Path) -> bytes:
    try:
        return read_input(ca_bundle, what="--ca-bundle")
    except InputUnreadable as exc:
        raise TargetRefused(str(exc)) from None


def _ssl_context(ca_bundle: Path) -> ssl.SSLContext:
    import certifi

    pem = _check_ca_bundle(ca_bundle).decode("ascii", "replace")  # read once, safely: PEM is ASCII
    context = ssl.create_default_context(cafile=certifi.where())
    try:
        context.load_verify_locations(cadata=pem)
    except (ssl.SSLError, OSError) as exc:
        raise TargetRefused(
            f"CA bundle {str(ca_bundle)!r} is not a readable PEM file; fix --ca-bundle"
        ) from exc
    return context


@functools.lru_cache(maxsize=1)
def _default_context() -> ssl.SSLContext:
    # One per process: loading the CA store costs ~50 ms, and a context is shared safely by clients.
    import certifi

    return ssl.create_default_context(cafile=certifi.where())  # what httpx builds for verify=True


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # bounded walk of the cause/context chain
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def classify(exc: BaseException) -> TransportError:
    """The TransportError kind for an exception raised while talking to the target."""
    if isinstance(exc, httpx.TimeoutException):
        return TransportError.TIMEOUT
    # A replayed error has no cause chain, only the recorded message: recognise TLS by its text as well.
    tls_text = any(marker in str(exc) for marker in TLS_MARKERS)
    if _caused_by(exc, ssl.SSLCertVerificationError) or (
        isinstance(exc, httpx.ConnectError) and (tls_text or _caused_by(exc, ssl.SSLError))
    ):
        return TransportError.TLS
    if isinstance(exc, httpx.ConnectError):
        return TransportError.CONNECT
    if isinstance(exc, httpx.ReadError | httpx.WriteError) or _caused_by(exc, ConnectionResetError):
        return TransportError.RESET
    if isinstance(exc, httpx.RemoteProtocolError) and "without sending complete message body" in str(exc):
        return TransportError.RESET
    if isinstance(exc, ssl.SSLError):
        return TransportError.TLS
    return TransportError.PROTOCOL


def hung_up_unanswered(exc: BaseException) -> bool:
    """True when the target closed or reset the connection before a byte of response (worth one retry)."""
    if isinstance(exc, httpx.RemoteProtocolError):
        return HUNG_UP in str(exc)
    return isinstance(exc, httpx.ReadError | httpx.WriteError) and not any(m in str(exc) for m in TLS_MARKERS)


class _ClosingStream(httpx.SyncByteStream):
    """A response stream that closes the one-off transport it came through when it is closed."""

    def __init__(self, stream: httpx.SyncByteStream, transport: httpx.BaseTransport) -> None:
        self._stream = stream
        self._transport = transport

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._transport.close()


class NetworkTransport(httpx.BaseTransport):
    """The network, with the rails' TLS trust: pooled connections, or a connection of its own per request
    that carries the FRESH_CONNECTION extension. Every socket operation is bounded by the deadline of the
    request it serves (conformance.exchange._network); ``connect_to`` maps a host name to the address to
    connect to.
    """

    def __init__(
        self,
        *,
        settings: TransportSettings = DEFAULT_SETTINGS,
        connect_to: Callable[[str], str] | None = None,
    ) -> None:
        # One TLS context for every connection: a fresh connection must not reload the CA store (~0.1 s).
        self._verify = (
            _ssl_context(settings.ca_bundle) if settings.ca_bundle is not None else _default_context()
        )
        self._backend = DeadlineBackend(connect_to=connect_to)
        self._max_body = settings.max_body_bytes
        self._timeout = settings.timeout
        self._pool = self._connect()

    def _connect(self) -> PoolTransport:
        return PoolTransport(ssl_context=self._verify, backend=self._backend)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send on a pooled connection, or on a one-off one closed with the response; a raw-message probe
        (the RAW_PROBE extension) on a connection of its own, its outcome in the RAW_OUTCOME extension."""
        probe = request.extensions.get(RAW_PROBE)
        if probe is not None:
            url = str(request.url)
            outcome = converse(
                get_probe(probe),
                connect=lambda: tls_connect(
                    self._backend, url, ssl_context=self._verify, timeout=self._timeout
                ),
                url=url,
                form=request.read(),
                # The client's own fields, spelled and ordered as it sends them (a probe must not be told
                # from an ordinary request by its head); the probe writes the framing fields itself.
                headers=tuple(
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in request.headers.raw
                    if name.decode("latin-1").lower() not in FRAMING_FIELDS
                ),
                deadline=current_deadline(),
                max_bytes=self._max_body,
            )
            return httpx.Response(200, extensions={RAW_OUTCOME: outcome})
        if not request.extensions.get(FRESH_CONNECTION):
            return self._pool.handle_request(request)
        one_off = self._connect()
        try:
            response = one_off.handle_request(request)
        except BaseException:
            one_off.close()
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _ClosingStream(response.stream, one_off)
        return response

    def close(self) -> None:
        """Close the connection pool."""
        self._pool.close()


class Transport:
    """Sends Cases to one endpoint URL and returns Exchanges; never raises for what the target does."""

    def __init__(
        self,
        target: str,
        *,
        api_key: str,
        settings: TransportSettings = DEFAULT_SETTINGS,
        passthrough: tuple[type[BaseException], ...] = (),
        now: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
        user_agent: str | None = None,
        send_key_in_query: bool = False,
        secrets: RunSecrets | None = None,
    ) -> None:
        """``transport``: the httpx transport every request goes through (a recording or replaying one, a
        ``httpx.MockTransport``); the default is the network (``NetworkTransport``) with the rails' TLS.
        ``user_agent``: the User-Agent a deployment requires (--user-agent); None: a stock client's.
        ``send_key_in_query`` (--send-key-in-query): the valid key may travel in a URL to a host that is
        not loopback (URLs end up in access logs). ``secrets``: the run's (the key scrubbed from error
        details); None: the transport's own, for ``api_key``."""
        self.url = endpoint_url(target)
        self.host = _check_target(self.url, settings)
        self.settings = settings
        self.passthrough = passthrough
        self.rate = settings.rate
        if self.rate is None and not is_loopback(self.host):
            self.rate = DEFAULT_REMOTE_RATE  # loopback stays unthrottled: our reference or a dev server
        self.requests_sent = 0
        # Whether the key (or a wrong key derived from it) may travel in a query string: on loopback, or
        # when the user opts in. Elsewhere a case that would put it there is a suite defect, never sent.
        self.key_in_query = send_key_in_query or is_loopback(self.host)
        self._api_key = api_key
        self._secrets = secrets_of(api_key, secrets)
        self._identities = client_identities(user_agent)
        self._now = now
        self._limiter = RateLimiter(self.rate)
        self._client = httpx.Client(
            transport=transport if transport is not None else NetworkTransport(settings=settings),
            timeout=httpx.Timeout(self.settings.timeout),
            follow_redirects=False,
            trust_env=False,  # never route the key through a proxy named in the environment
            # No cookie jar: a request carries only the cookies its Case names, so what goes on the wire
            # follows from the case alone (Case.wire), live and replayed, and a cookie the target set
            # never travels unasked with a later probe (the cookie probes send them deliberately).
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )

    def __repr__(self) -> str:
        return f"Transport({self.url!r}, requests_sent={self.requests_sent})"

    def send(self, case: Case) -> Exchange:
        """POST the case's form (with the api key) and return what came back, or why nothing complete did."""
        messages = len(get_probe(case.raw).messages) if case.raw else 1  # a raw probe may send several
        budget = self.settings.max_requests
        if budget is not None and self.requests_sent + messages > budget:
            raise RequestBudgetExceeded(f"request budget of {budget} exhausted; raise --max-requests")
        self._limiter.wait()
        self.requests_sent += messages
        written = write(case.spelling, case.pairs(api_key=self._api_key))
        exchange, stale = self._attempt(case, written)
        if stale:  # the pooled connection was closed while idle: once more, on a fresh connection
            exchange, _ = self._attempt(case, written)
        return exchange

    def _request(self, case: Case, written: Written) -> tuple[str, str, Written]:
        """Method, URL and body of a case: the exact endpoint, or the variant the case asks for."""
        if case.on_endpoint:
            return "POST", self.url, written
        split = urlsplit(self.url)
        path = path_variant(split.path, case.path_variant) if case.path_variant else split.path
        if case.form_in_query:
            if not self.key_in_query and _carries_key(case):
                raise KeyInUrlRefused(
                    f"{case.label!r} would send the api key in the URL to {self.host!r}; "
                    "pass --send-key-in-query to allow it"
                )
            path += ("&" if "?" in path else "?") + written.body.decode("ascii")
            written = Written(b"", written.headers)
        return case.method, f"{split.scheme}://{split.netloc}{path}", written

    def _attempt(self, case: Case, written: Written) -> tuple[Exchange, bool]:
        """One try; True when the target hung up before answering at all (an idle keep-alive closed)."""
        exchange = Exchange(case=case, sent_at=0.0, elapsed=0.0, url=self.url, sequence=self.requests_sent)
        deadline = Deadline(self.settings.timeout)
        exchange.sent_at = self._now()
        started = time.monotonic()
        stale = False
        try:
            with within(deadline):  # connect to last byte, the recorder's reading included
                self._exchange(exchange, written, deadline)
        except self.passthrough:
            raise
        except (httpx.HTTPError, OSError) as exc:
            kind = TransportError.TIMEOUT if deadline.expired else classify(exc)
            self._fail(exchange, kind, self._detail(exc, kind))
            stale = exchange.status is None and not deadline.expired and hung_up_unanswered(exc)
        finally:
            exchange.elapsed = time.monotonic() - started
        return exchange, stale

    def _exchange(self, exchange: Exchange, written: Written, deadline: Deadline) -> None:
        case = exchange.case
        if case.raw:
            self._exchange_raw(exchange, written)
            return
        extensions: dict[str, Any] = {}
        if case.fresh_connection:
            extensions[FRESH_CONNECTION] = True
        method, url, written = self._request(case, written)
        # The URL kept as evidence: a form in the query shows the key as the placeholder.
        exchange.url = self._request(case, write(case.spelling, case.pairs(api_key=API_KEY_PLACEHOLDER)))[1]
        headers = self._identities[case.alternate_identity].headers() | written.headers
        headers.update(case.headers)
        with self._client.stream(
            method,
            url,
            content=iter(written.content) if isinstance(written.content, tuple) else written.content,
            headers=headers,
            extensions=extensions,
        ) as response:
            exchange.status = response.status_code
            exchange.reason = response.reason_phrase
            exchange.headers = tuple((name.lower(), value) for name, value in response.headers.multi_items())
            try:
                encoding = response.headers.get("content-encoding", "")
                body = CappedBody(encoding, max_bytes=self.settings.max_body_bytes)
            except UnsupportedEncoding as exc:
                self._fail(exchange, TransportError.PROTOCOL, str(exc))
                return
            complete = False
            try:
                for chunk in response.iter_raw():
                    body.feed(chunk)
                    deadline.check()
                    if deadline.expired:
                        break
                else:
                    exchange.body = body.finish()
                    complete = True
            except BodyTooLarge as exc:
                exchange.body = exc.evidence
                self._fail(exchange, TransportError.TOO_LARGE, exc.detail)
            except zlib.error as exc:
                self._fail(exchange, TransportError.PROTOCOL, f"undecodable {body.encoding} body: {exc}")
            finally:
                if not complete and not exchange.body:
                    exchange.body = body.partial()  # what arrived before the timeout or reset, as evidence
            if deadline.expired:
                self._fail(exchange, TransportError.TIMEOUT, self._timeout_detail())

    def _exchange_raw(self, exchange: Exchange, written: Written) -> None:
        """A raw-message probe: the form goes to the httpx transport as a carrier request (never sent as
        such: the network sends the probe's own messages, a cassette records or replays its outcome)."""
        request = self._client.build_request(
            carrier_method(exchange.case.raw),
            self.url,
            content=written.body,
            headers=self._identities[exchange.case.alternate_identity].headers(),
            extensions={RAW_PROBE: exchange.case.raw},
        )
        response = self._client.send(request)
        outcome = response.extensions.get(RAW_OUTCOME)
        if not isinstance(outcome, RawOutcome):
            self._fail(exchange, TransportError.PROTOCOL, "the transport does not send raw-message probes")
            return
        detail = self._redact(outcome.error_detail)
        exchange.raw = dataclasses.replace(outcome, error_detail=detail)
        if outcome.responses:
            first = outcome.responses[0]
            exchange.status, exchange.reason = first.status, first.reason
            exchange.headers, exchange.body = first.headers, first.body
        elif outcome.error:
            self._fail(exchange, TransportError(outcome.error), detail)

    def _fail(self, exchange: Exchange, kind: TransportError, detail: str) -> None:
        exchange.error = kind
        exchange.error_detail = self._redact(detail)

    def _timeout_detail(self) -> str:
        return f"no complete response within the {self.settings.timeout:g} s deadline"

    def _detail(self, exc: BaseException, kind: TransportError) -> str:
        if kind is TransportError.TIMEOUT:
            return self._timeout_detail()
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def _redact(self, text: str) -> str:
        return self._secrets.key_book().scrub(" ".join(text.split()))[:DETAIL_MAX_CHARS]

    def close(self) -> None:
        """Close the client and the httpx transport under it."""
        self._client.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
