"""Recording and replay as httpx transports: the seam is ``httpx.Client(transport=...)``, never a patch.

A ``CassetteTransport`` sends each request to the cassette its book has in use (``CassetteBook.use``)
through vcrpy's httpx stub: recording wraps the real transport and writes what it answered, replay
answers from the cassette's index and has no transport under it, so it cannot open a socket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx

from conformance.cassettes.errors import CassetteError
from conformance.exchange.raw import RAW_PROBE

if TYPE_CHECKING:
    from conformance.cassettes.session import CassetteSession

Handler = Callable[[Any, httpx.Request], httpx.Response]
CHUNKS = "conformance.chunks"  # a request extension: the chunks of a body sent with chunked coding


class _Chunks(httpx.SyncByteStream):
    """A request body sent as these chunks, as often as it is read."""

    def __init__(self, chunks: tuple[bytes, ...]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


def _keep_chunks(request: httpx.Request) -> None:
    """Note a chunked body's chunks on the request: vcrpy reads the body into one piece (its
    ``httpx_stubs._make_vcr_request``), which the recording would then send as one chunk."""
    if "chunked" in request.headers.get("transfer-encoding", "") and not isinstance(
        request.stream, httpx.ByteStream
    ):
        assert isinstance(request.stream, httpx.SyncByteStream)
        chunks = tuple(request.stream)
        request.stream = _Chunks(chunks)
        request.extensions = {**request.extensions, CHUNKS: chunks}


class CassetteTransport(httpx.BaseTransport):
    """An httpx transport bound to a cassette book: records through ``inner``, or replays (``inner`` None)."""

    def __init__(
        self, in_use: Callable[[], CassetteSession | None], *, inner: httpx.BaseTransport | None
    ) -> None:
        self._in_use = in_use
        self._inner = inner
        self._handler: tuple[CassetteSession, Handler] | None = None

    @property
    def replaying(self) -> bool:
        """True when there is no real transport under this one."""
        return self._inner is None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Record or replay in the cassette in use; outside one, a recording passes the request on."""
        session = self._in_use()
        if session is None:
            if self._inner is None:
                raise CassetteError(f"replay tried to reach the network outside a cassette: {request.url}")
            return self._inner.handle_request(request)
        if request.extensions.get(RAW_PROBE) is not None:  # its own record, outside vcrpy's stub
            return session.raw(request, self._inner)
        _keep_chunks(request)
        return self._stub(session)(self, request)

    def _stub(self, session: CassetteSession) -> Handler:
        if self._handler is None or self._handler[0] is not session:
            from conformance.core._thirdparty import vcr_handle_request

            def live(_transport: Any, request: httpx.Request) -> httpx.Response:
                if self._inner is None:
                    raise CassetteError(f"{session.path}: replay tried to reach the network")
                if CHUNKS in request.extensions:  # sent as the chunks it came in, not as vcrpy joined it
                    request.stream = _Chunks(request.extensions[CHUNKS])
                return session.record_live(request, self._inner.handle_request)

            self._handler = (session, vcr_handle_request()(session, live, httpx))
        return self._handler[1]

    def close(self) -> None:
        """Close the real transport under this one (recording)."""
        if self._inner is not None:
            self._inner.close()
