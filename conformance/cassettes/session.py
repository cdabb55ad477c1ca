"""One cassette in use: the object vcrpy's httpx stub talks to, recording or replaying one test's requests."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx

from conformance._limits import DECODING_WBITS, decode_whole
from conformance.cassettes.errors import CassetteCorrupt, CassetteMiss
from conformance.cassettes.format import Interaction, LoadedCassette
from conformance.cassettes.index import InteractionIndex, describe_request, request_key
from conformance.model import API_KEY_PLACEHOLDER, KEY_PROBE, Exchange, TransportError

if TYPE_CHECKING:
    from conformance.cassettes.redaction import CassetteRedactor

Mode = Literal["record", "replay"]
TIMEOUT_KINDS = ("ReadTimeout", "ConnectTimeout", "WriteTimeout", "PoolTimeout", "TimeoutException")
TIMEOUT_MESSAGE = "the overall deadline passed while the response was read (recorded live)"


def _path_of(uri: str) -> str:
    split = urlsplit(uri)
    return (split.path or "/") + (f"?{split.query}" if split.query else "")


def error_class(kind: str) -> type[httpx.TransportError] | None:
    """The httpx exception class a recorded error names, or None when it names none."""
    cls = getattr(httpx, kind, None)
    return cls if isinstance(cls, type) and issubclass(cls, httpx.TransportError) else None


class CassetteSession:
    """One test's cassette while it is in use; ``settle`` ties each exchange to its recorded timing."""

    def __init__(
        self,
        path: Path,
        *,
        mode: Mode,
        loaded: LoadedCassette | None = None,
        redactor: CassetteRedactor | None = None,
        target: str | None = None,
        max_body: int,
    ) -> None:
        self.path = path
        self.mode = mode
        self.interactions: list[Interaction] = []
        self._loaded = loaded
        self._redactor = redactor
        self._target = target
        self._max_body = max_body
        self._index = InteractionIndex(loaded.interactions if loaded else ())
        self._pending: Interaction | None = None
        self._checked: tuple[object, Interaction] | None = None
        self._live: tuple[float, float, list[tuple[str, str]], list[str]] | None = None
        self._requests = 0
        for number, interaction in enumerate(loaded.interactions if loaded else (), 1):
            if interaction.error is not None and error_class(interaction.error) is None:
                raise CassetteCorrupt(path, f"interaction {number} names unknown error {interaction.error!r}")

    def settle(self, exchange: Exchange) -> None:
        """Record: keep the exchange's send time and duration; replay: give it the recorded ones."""
        interaction, self._pending = self._pending, None
        if interaction is None or exchange.error is TransportError.CASSETTE_MISS:
            return
        if self.mode == "record":
            interaction.sent_at, interaction.elapsed = exchange.sent_at, exchange.elapsed
            if any(KEY_PROBE.search(value) for _, value in exchange.case.form):
                # A key probe was sent as a value derived from the key: record the probe's marker.
                interaction.body = exchange.case.body(api_key=API_KEY_PLACEHOLDER)
            # The transport's overall deadline judges wall time, which replay never spends: a timeout
            # (whatever httpx raised when the watchdog cut the socket) must replay as a timeout.
            if exchange.error is TransportError.TIMEOUT and interaction.error not in TIMEOUT_KINDS:
                interaction.error, interaction.error_message = "ReadTimeout", TIMEOUT_MESSAGE
        else:
            exchange.sent_at, exchange.elapsed = interaction.sent_at, interaction.elapsed

    def stale(self) -> tuple[str, ...]:
        """Recorded requests this replay did not send (as often as recorded)."""
        return self._index.stale() if self.mode == "replay" else ()

    # -- the cassette protocol of vcr.stubs.httpx_stubs -------------------------------------------------

    @property
    def write_protected(self) -> bool:
        """Replay never falls through to the network."""
        return self.mode == "replay"

    def filter_request(self, request: Any) -> Any:
        """Every request is recorded (redaction happens in ``append``)."""
        return request

    def can_play_response_for(self, request: Any) -> bool:
        """Replay: True, or CassetteMiss (never vcrpy's CannotOverwriteExistingCassetteException)."""
        if self.mode == "record":
            return False
        self._requests += 1
        body = request.body or b""
        path = _path_of(request.uri)
        key = request_key(request.method, path, body)
        interaction = self._index.take(key)
        if interaction is None:
            recorded = self._index.recorded(key)
            if self._loaded is None:
                reason = "no cassette file for this test"
            elif recorded:
                reason = f"request #{self._requests} was recorded {recorded}x and all are replayed already"
            else:
                reason = f"request #{self._requests} is not in the cassette"
            header = self._loaded.header if self._loaded is not None else None
            raise CassetteMiss(
                self.path,
                describe_request(request.method, path, body),
                reason,
                target=self._target,
                users=(header.user_id, header.foreign_user_id) if header else None,
            )
        self._checked = (request, interaction)
        return True

    def play_response(self, request: Any) -> dict[str, Any]:
        """The recorded response for the request just matched (or its recorded transport error, raised)."""
        if self._checked is None or self._checked[0] is not request:
            self.can_play_response_for(request)
        assert self._checked is not None
        interaction = self._checked[1]
        self._checked = None
        self._pending = interaction
        if interaction.error is not None:
            cls = error_class(interaction.error)
            assert cls is not None  # checked on load
            raise cls(interaction.error_message)
        headers: dict[str, list[str]] = {}
        for name, value in interaction.headers:
            headers.setdefault(name, []).append(value)
        reason = interaction.reason if interaction.reason.isascii() else ""
        return {
            "status": {"code": interaction.status, "message": reason},
            "headers": headers,
            "body": {"string": interaction.response_body},
        }

    def append(self, request: Any, response: dict[str, Any]) -> None:
        """Record the exchange just read from the network, redacted."""
        assert self._redactor is not None
        assert self._live is not None
        sent_at, elapsed, headers, notes = self._live
        self._live = None
        body = response["body"]["string"] or b""
        headers, body, decoded = self._decoded(headers, body)
        sent = f"{request.uri}\n{(request.body or b'').decode('utf-8', 'replace')}"
        reason = response["status"]["message"] or ""
        headers, redacted = self._redactor.response(headers, body, notes=notes, reason=reason, sent=sent)
        if decoded or len(redacted) != len(body):
            headers = [(n, str(len(redacted)) if n == "content-length" else v) for n, v in headers]
        interaction = self._interaction(request.method, request.uri, request.body or b"", sent_at, elapsed)
        interaction.status = response["status"]["code"]
        interaction.reason = self._redactor.message(response["status"]["message"] or "")
        interaction.headers = headers
        interaction.response_body = redacted
        interaction.notes = notes + decoded
        self.interactions.append(interaction)
        self._pending = interaction

    # -- recording helpers ---------------------------------------------------------------------------

    def _interaction(self, method: str, uri: str, body: bytes, sent_at: float, elapsed: float) -> Interaction:
        assert self._redactor is not None
        path = self._redactor.request_text(_path_of(uri))
        text = self._redactor.request_text(body.decode("utf-8", "surrogateescape"))
        return Interaction(method.upper(), path, text.encode("utf-8", "surrogateescape"), sent_at, elapsed)

    def _decoded(
        self, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[list[tuple[str, str]], bytes, list[str]]:
        codings = [c.strip().lower() for n, v in headers if n == "content-encoding" for c in v.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if not codings:
            return headers, body, []
        # The codings the transport decodes (conformance._limits); a body in any other coding is never
        # decoded by the suite, so it is dropped from the recording rather than stored unscanned.
        if len(codings) > 1 or codings[0] not in DECODING_WBITS:
            return headers, b"", [f"body in unsupported content-encoding {', '.join(codings)} not recorded"]
        try:
            decoded = decode_whole(codings[0], body, max_bytes=self._max_body + 1)
        except zlib.error:
            return headers, body, [f"content-encoding {codings[0]} undecodable; body kept as received"]
        kept = [(n, v) for n, v in headers if n != "content-encoding"]
        return kept, decoded, [f"content-encoding {codings[0]} decoded for the recording"]

    def record_live(
        self, request: httpx.Request, send: Callable[[httpx.Request], httpx.Response]
    ) -> httpx.Response:
        """Send through the real transport, read the body (capped), remember timing, record errors."""
        assert self._redactor is not None
        sent_at, started = time.time(), time.perf_counter()
        try:
            response = send(request)
            stream = response.stream
            assert isinstance(stream, httpx.SyncByteStream)  # a sync transport answers with a sync stream
            try:
                chunks, size = [], 0
                for chunk in stream:
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self._max_body:
                        break
            finally:
                stream.close()
        except httpx.TransportError as exc:
            elapsed = time.perf_counter() - started
            kind = next(c.__name__ for c in type(exc).__mro__ if error_class(c.__name__) is c)
            interaction = self._interaction(
                request.method, str(request.url), request.read(), sent_at, elapsed
            )
            interaction.error, interaction.error_message = kind, self._redactor.message(str(exc))
            self.interactions.append(interaction)
            self._pending = interaction
            raise
        notes = [f"body truncated at {self._max_body + 1} bytes"] if size > self._max_body else []
        body = b"".join(chunks)[: self._max_body + 1]
        self._live = (sent_at, time.perf_counter() - started, list(response.headers.multi_items()), notes)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(body),
            extensions=response.extensions,
        )
