"""The transport's limits: request spacing, an overall per-request deadline, a capped body reader."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable

EVIDENCE_BYTES = 64 * 1024  # what an oversized body keeps as evidence
# Each decompressed piece is bounded by this, so a gzip bomb never inflates more than one piece at a time.
DECODE_PIECE_BYTES = 64 * 1024
SUPPORTED_ENCODINGS = ("gzip", "x-gzip", "deflate", "identity")


class RateLimiter:
    """Spaces calls at least ``1 / rate`` seconds apart on a monotonic clock (None: no spacing)."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 0.0 if rate is None else 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    def wait(self) -> None:
        """Block until the next call is allowed, then reserve the slot after it."""
        if self.interval <= 0:
            return
        now = self._clock()
        if self._next is not None and now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


class Deadline:
    """The one deadline of one request, from connect to last byte.

    ``conformance.exchange._network`` gives every socket operation of the request at most ``remaining()`` and
    sets ``expired`` when it runs out; a reader also calls ``check()`` between body chunks.
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.at = clock() + seconds
        self.expired = False

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.at - self._clock())

    def check(self) -> None:
        """Mark the deadline expired if it has passed."""
        if self._clock() >= self.at:
            self.expired = True


class BodyTooLarge(Exception):
    """The body crossed the cap; ``evidence`` holds its first bytes, ``detail`` says where."""

    def __init__(self, detail: str, evidence: bytes) -> None:
        super().__init__(detail)
        self.detail = detail
        self.evidence = evidence


class UnsupportedEncoding(Exception):
    """The response used a Content-Encoding the reader cannot decode under a cap."""


# The one table of content codings the suite decodes: zlib window bits to try in turn. "deflate" is sent
# both zlib-wrapped and raw in the wild; httpx accepts both.
DECODING_WBITS: dict[str, tuple[int, ...]] = {
    "gzip": (16 + zlib.MAX_WBITS,),
    "x-gzip": (16 + zlib.MAX_WBITS,),
    "deflate": (zlib.MAX_WBITS, -zlib.MAX_WBITS),
}


def _decompressor(encoding: str) -> zlib._Decompress | None:
    wbits = DECODING_WBITS.get(encoding)
    return None if wbits is None else zlib.decompressobj(wbits[0])


def decode_whole(encoding: str, body: bytes, *, max_bytes: int) -> bytes:
    """A whole body in ``encoding`` decoded, at most ``max_bytes``; zlib.error when no reading fits."""
    for wbits in DECODING_WBITS[encoding]:
        try:
            return zlib.decompressobj(wbits).decompress(body, max_bytes)
        except zlib.error:
            continue
    raise zlib.error(f"undecodable {encoding} body")


class CappedBody:
    """Accumulates a response body, decoding gzip/deflate incrementally, never past ``max_bytes``.

    The cap applies to the wire bytes and, separately, to the decoded bytes. httpx's own decoders
    inflate a whole network chunk at once (64 KiB of gzip can become 64 MiB), so decoding is done
    here with ``max_length``.
    """

    def __init__(self, content_encoding: str, *, max_bytes: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or any(c not in SUPPORTED_ENCODINGS for c in codings):
            raise UnsupportedEncoding(f"unsupported Content-Encoding {content_encoding!r}")
        self.encoding = codings[0] if codings else "identity"
        self._inflater = _decompressor(self.encoding)
        self._deflate_raw_tried = False
        self.max_bytes = max_bytes
        self.wire_bytes = 0
        self._body = bytearray()

    def feed(self, raw: bytes) -> None:
        """Add one chunk as received; raises BodyTooLarge when either cap is crossed."""
        self.wire_bytes += len(raw)
        if self.wire_bytes > self.max_bytes:
            extra = raw if self._inflater is None else b""
            raise BodyTooLarge(
                f"body exceeds the {self.max_bytes}-byte cap on the wire "
                f"(stopped after {self.wire_bytes} bytes)",
                self._evidence(extra),
            )
        if self._inflater is None:
            self._add(raw)
        else:
            self._inflate(raw)

    def _inflate(self, data: bytes) -> None:
        while data:
            inflater = self._inflater
            if inflater is None:
                return
            try:
                out = inflater.decompress(data, DECODE_PIECE_BYTES)
            except zlib.error:
                if self.encoding != "deflate" or self._deflate_raw_tried or self._body:
                    raise
                self._deflate_raw_tried = True  # the raw reading of DECODING_WBITS["deflate"]
                self._inflater = zlib.decompressobj(DECODING_WBITS["deflate"][-1])
                continue
            self._add(out)
            data = inflater.unconsumed_tail

    def _evidence(self, extra: bytes) -> bytes:
        head = bytes(self._body[:EVIDENCE_BYTES])
        return head + extra[: EVIDENCE_BYTES - len(head)]

    def _add(self, data: bytes) -> None:
        if len(self._body) + len(data) > self.max_bytes:
            raise BodyTooLarge(
                f"decompressed body exceeds the {self.max_bytes}-byte cap ({self.encoding}, "
                f"{self.wire_bytes} bytes on the wire)",
                self._evidence(data),
            )
        self._body += data

    def partial(self) -> bytes:
        """The first EVIDENCE_BYTES decoded so far (for a body that never completed)."""
        return bytes(self._body[:EVIDENCE_BYTES])

    def finish(self) -> bytes:
        """The complete decoded body (flushing the decoder)."""
        if self._inflater is not None:
            self._add(self._inflater.flush())
        return bytes(self._body)
