"""One cassette in use: the object vcrpy's httpx stub talks to, recording or replaying one test's requests."""

from __future__ import annotations

import dataclasses
import hashlib
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import httpx

from conformance.cassettes.errors import CassetteCorrupt, CassetteMiss
from conformance.cassettes.format import FAILURE_FIELDS, Interaction, LoadedCassette
from conformance.cassettes.index import InteractionIndex, describe_request, request_key
from conformance.core import xmldoc
from conformance.core._limits import DECODING_WBITS, decode_whole
from conformance.core.model import (
    API_KEY_PLACEHOLDER,
    KEY_PROBE,
    CheckFailure,
    CheckResult,
    Exchange,
    RawOutcome,
    RawResponse,
    TransportError,
)
from conformance.core.wire import write
from conformance.exchange.raw import RAW_OUTCOME

if TYPE_CHECKING:
    from conformance.cassettes.redaction import CassetteRedactor

Mode = Literal["record", "replay"]
TIMEOUT_KINDS = ("ReadTimeout", "ConnectTimeout", "WriteTimeout", "PoolTimeout", "TimeoutException")
TIMEOUT_MESSAGE = "the overall deadline passed while the response was read (recorded live)"
# What a recording stores of response bodies, so that every set it writes stays under the reader's bounds
# (format.MAX_CASSETTE_BYTES a file) and a recording's memory stays bounded: a body over the per-body
# budget is stored as an excerpt, its length and digest and what the checks concluded of it; once a
# cassette's or the set's budget is spent, every body over the floor is.
STORED_BODY_BYTES = 64 * 1024
CASSETTE_BODY_BUDGET = 24 * 1024 * 1024
SET_BODY_BUDGET = 256 * 1024 * 1024
EXCERPT_FLOOR = 4 * 1024
MAX_SKELETON_FIELDS = 64
MAX_SKELETON_TEXT = 1024


@dataclass
class BodyBudget:
    """The stored-body budgets of one recorded set, shared by its cassettes."""

    per_body: int = STORED_BODY_BYTES
    per_cassette: int = CASSETTE_BODY_BUDGET
    per_set: int = SET_BODY_BUDGET
    floor: int = EXCERPT_FLOOR
    set_spent: int = 0

    def limit(self, cassette_spent: int) -> int:
        """The most of one body stored whole, given what the cassette and the set hold already."""
        spent = cassette_spent >= self.per_cassette or self.set_spent >= self.per_set
        return self.floor if spent else self.per_body


def _failure(check: str, fields: dict[str, str]) -> CheckFailure:
    return CheckFailure(fields["requirement"], fields["title"], fields["expected"], fields["received"], check)


def excerpt(body: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes of a (redacted) body: its elements' text when it parses, else its head.

    What replay reads of an excerpted body is only what the run's state remembers (the token, the QR code
    URL, the status): a parsed document keeps each direct child of the root with its text.
    """
    document = xmldoc.parse(body)
    if document.root is not None and document.root_name:
        parts = [f"<{document.root_name}>"]
        for child in list(document.root)[:MAX_SKELETON_FIELDS]:
            if isinstance(child.tag, str):
                name = child.tag.rsplit("}", 1)[-1]
                parts.append(f"<{name}>{escape((child.text or '')[:MAX_SKELETON_TEXT])}</{name}>")
        skeleton = ("".join(parts) + f"</{document.root_name}>").encode("utf-8")
        if len(skeleton) <= limit:
            return skeleton
    return body[:limit]


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
        budget: BodyBudget | None = None,
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
        self._budget = budget or BodyBudget()
        self._stored = 0  # body bytes this cassette stores
        self._judging: tuple[Exchange, Interaction] | None = None  # record: an excerpt awaiting its results
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
            if interaction.excerpt_of is not None:
                self._judging = (exchange, interaction)
            if any(KEY_PROBE.search(value) for _, value in exchange.case.form):
                # A key probe was sent as a value derived from the key: record the probe's marker, in the
                # case's spelling (replay writes it the same way).
                case = exchange.case
                interaction.body = write(case.spelling, case.pairs(api_key=API_KEY_PLACEHOLDER)).body
            # The transport's overall deadline judges wall time, which replay never spends: a timeout
            # (whatever httpx raised when the deadline ran out) must replay as a timeout.
            if (
                interaction.raw is None  # a raw probe's outcome holds its own error
                and exchange.error is TransportError.TIMEOUT
                and interaction.error not in TIMEOUT_KINDS
            ):
                interaction.error, interaction.error_message = "ReadTimeout", TIMEOUT_MESSAGE
        else:
            exchange.sent_at, exchange.elapsed = interaction.sent_at, interaction.elapsed
            if interaction.excerpt_of is not None:
                exchange.judged = tuple(
                    CheckResult(check, requirement, None if failure is None else _failure(check, failure))
                    for check, requirement, failure in interaction.judged or ()
                )

    def on_exchange(
        self,
        exchange: Exchange,
        results: Sequence[CheckResult],
        *,
        evidence: Callable[[], dict[str, Any]],  # noqa: ARG002 - the Observer protocol
    ) -> None:
        """Record: keep what the checks concluded of an exchange whose body is stored as an excerpt."""
        if self._judging is None or self._judging[0] is not exchange:
            return
        assert self._redactor is not None
        interaction, self._judging = self._judging[1], None
        scrub = self._redactor.message
        interaction.judged = [
            (
                result.check,
                result.requirement,
                None
                if result.failure is None
                else {name: scrub(str(getattr(result.failure, name))) for name in FAILURE_FIELDS},
            )
            for result in results
        ]

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
        self._checked = (request, self._take(request.method, _path_of(request.uri), request.body or b""))
        return True

    def _take(self, method: str, path: str, body: bytes) -> Interaction:
        """The next recorded interaction for this request; CassetteMiss when there is none left."""
        self._requests += 1
        key = request_key(method, path, body)
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
                describe_request(method, path, body),
                reason,
                target=self._target,
                users=(header.user_id, header.foreign_user_id) if header else None,
            )
        return interaction

    def raw(self, request: httpx.Request, inner: httpx.BaseTransport | None) -> httpx.Response:
        """A raw-message probe (conformance.exchange.raw), outside vcrpy: record its outcome redacted through
        ``inner``, or replay the recorded one (carried in the response's RAW_OUTCOME extension)."""
        if self.mode == "replay":
            interaction = self._take(request.method, _path_of(str(request.url)), request.read())
            self._pending = interaction
            if interaction.raw is None:
                raise CassetteCorrupt(self.path, f"{request.method} is recorded without its raw outcome")
            return httpx.Response(200, extensions={RAW_OUTCOME: interaction.raw})
        assert self._redactor is not None
        assert inner is not None
        sent_at, started = time.time(), time.perf_counter()
        response = inner.handle_request(request)
        outcome = response.extensions.get(RAW_OUTCOME)
        body = request.read()
        interaction = self._interaction(
            request.method, str(request.url), body, sent_at, time.perf_counter() - started
        )
        if isinstance(outcome, RawOutcome):
            interaction.raw = self._redacted(
                outcome, sent=f"{request.url}\n{body.decode('utf-8', 'replace')}"
            )
        self.interactions.append(interaction)
        self._pending = interaction
        return response

    def _redacted(self, outcome: RawOutcome, *, sent: str) -> RawOutcome:
        """Every answer redacted like an ordinary response (tokens stood in, the key replaced)."""
        assert self._redactor is not None
        redactor = self._redactor
        # Twice: every credential of every answer, interim response and trailer is learnt before any of
        # them is written (a token in the second answer is hidden in the first one's headers too).
        for _ in range(2):
            interim, _body = redactor.response(list(outcome.interim_headers), b"", sent=sent)
            responses = []
            for answer in outcome.responses:
                headers, body = redactor.response(
                    list(answer.headers), answer.body, reason=answer.reason, sent=sent
                )
                trailers, _body = redactor.response(list(answer.trailers), b"", sent=sent)
                reason = redactor.message(answer.reason)
                responses.append(
                    RawResponse(
                        answer.status, reason, answer.http_version, tuple(headers), body, tuple(trailers)
                    )
                )
        return dataclasses.replace(
            outcome,
            responses=tuple(responses),
            error_detail=redactor.message(outcome.error_detail),
            interim_headers=tuple(interim),
        )

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
        body = interaction.response_body
        if interaction.excerpt_of is not None:  # the length the checks saw live (its content: the excerpt)
            body += b" " * (interaction.excerpt_of[0] - len(body))
        return {
            "status": {"code": interaction.status, "message": reason},
            "headers": headers,
            "body": {"string": body},
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
        interaction = self._interaction(request.method, request.uri, request.body or b"", sent_at, elapsed)
        limit = self._budget.limit(self._stored)
        if len(body) > limit:
            redacted = excerpt(redacted, limit)
            interaction.excerpt_of = (len(body), hashlib.sha256(body).hexdigest())
            notes.append(
                f"body of {len(body)} bytes stored as a {len(redacted)}-byte excerpt with its judged results"
            )
        self._stored += len(redacted)
        self._budget.set_spent += len(redacted)
        replayed = len(body) if interaction.excerpt_of is not None else len(redacted)
        if decoded or replayed != len(body):
            headers = [(n, str(replayed) if n == "content-length" else v) for n, v in headers]
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
        # The codings the transport decodes (conformance.core._limits); a body in any other coding is never
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
