"""The spellings of one request: each writes the same form, the transport sends it as written, and a
recording sends and replays it the same way."""

from __future__ import annotations

import dataclasses
import json
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

from conformance.cassettes.book import CassetteBook
from conformance.cassettes.format import CassetteHeader, load_cassette
from conformance.core import wire
from conformance.core.model import API_KEY_PLACEHOLDER, Case
from conformance.core.profile import Profile
from conformance.exchange.transport import NetworkTransport, Transport
from conformance.inputs import CaseBuilder, Users
from conformance.reference import REFERENCE_API_KEY, REFERENCE_USER_ID, ReferenceServer

# Values that need escaping: a space, the form's own separators, a percent sign, non-ASCII, a NUL.
PAIRS = [("api_key", "k e&y=%x"), ("user_id", "0012"), ("token_expire", "60"), ("note", "é\x00+")]
FORMS = [name for name in wire.SPELLINGS if name not in ("json", "multipart")]
CASE = CaseBuilder(Users(REFERENCE_USER_ID), Profile()).case()


def read_form(written: wire.Written) -> list[tuple[str, str]]:
    """The form a WHATWG urlencoded parser reads from a written body."""
    return parse_qsl(written.body.decode("ascii"), keep_blank_values=True, errors="strict")


@pytest.mark.parametrize("name", FORMS)
def test_every_urlencoded_spelling_reads_as_the_same_form(name: str) -> None:
    form = read_form(wire.write(name, PAIRS))
    if name == "many-fields":
        assert len(form) == wire.MANY_FIELDS + len(PAIRS)
        assert form[: wire.MANY_FIELDS] == [(f"x{n:04d}", "1") for n in range(wire.MANY_FIELDS)]
        form = form[wire.MANY_FIELDS :]
    assert sorted(form) == sorted(PAIRS)
    assert (form == PAIRS[::-1]) is (name == "reversed")


def test_the_spellings_differ_where_they_say() -> None:
    written = {name: wire.write(name, PAIRS) for name in wire.SPELLINGS}
    # charset, type-case and expect-continue differ in headers, chunked in framing: the same bytes as plain
    assert len({w.body for w in written.values()}) == len(written) - 4
    assert written["charset"].headers["Content-Type"] == "application/x-www-form-urlencoded; charset=UTF-8"
    assert written["type-case"].headers["Content-Type"].lower() == wire.FORM_CONTENT_TYPE
    assert written["type-case"].headers["Content-Type"] != wire.FORM_CONTENT_TYPE
    assert written["expect-continue"].headers["Expect"] == "100-continue"
    assert b"+" in written[""].body and b"%20" not in written[""].body
    assert b"%20" in written["space-%20"].body and b"+" not in written["space-%20"].body.replace(b"%2B", b"")
    # Every byte escaped, unreserved ones too: 60 is %36%30; in lower-case hex in the other spelling.
    assert b"=%36%30" in written["percent-encoded"].body and b"%61%70%69" in written["percent-encoded"].body
    assert b"token_expire=%36%30" in written["percent-lowercase"].body
    assert b"%c3%a9" in written["percent-lowercase"].body


def test_chunked_is_the_plain_body_in_small_chunks() -> None:
    written = wire.write("chunked", PAIRS)
    assert written.chunked and isinstance(written.content, tuple)
    assert len(written.content) > 3 and all(0 < len(c) <= wire.CHUNK_BYTES for c in written.content)
    assert written.body == wire.write("", PAIRS).body
    assert not wire.write("", PAIRS).chunked


def test_json_keeps_repeats_and_writes_plain_numbers_as_numbers() -> None:
    written = wire.write("json", [*PAIRS, ("user_id", "12")])
    assert written.headers["Content-Type"] == "application/json"
    assert json.loads(written.body) == {
        "api_key": "k e&y=%x",
        "user_id": 12,
        "token_expire": 60,
        "note": "é\x00+",
    }
    assert written.body.count(b'"user_id"') == 2
    assert b'"user_id": "0012"' in written.body  # a leading zero is no JSON number


def test_multipart_parses_back_into_the_form() -> None:
    written = wire.write("multipart", PAIRS[:3])
    head = f"Content-Type: {written.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + written.body)
    parts = [
        (part.get_param("name", header="content-disposition"), part.get_content())
        for part in message.iter_parts()
    ]
    assert parts == PAIRS[:3]


def test_only_the_listed_spellings_may_be_refused() -> None:
    assert set(wire.MAY_REFUSE) <= set(wire.SPELLINGS)
    assert wire.MAY_REFUSE["chunked"] == frozenset({411})


def test_a_spelling_is_registered_once_and_an_unknown_one_is_a_suite_defect() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        wire.spelling("chunked")(wire.plain)
    with pytest.raises(KeyError):
        wire.write("no-such-spelling", PAIRS)


def sent(case: Case) -> httpx.Request:
    """The request the transport sends for ``case`` (to a mock that answers 200)."""
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        request.read()
        requests.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(b""))

    with Transport("http://127.0.0.1:9", api_key="K", transport=httpx.MockTransport(answer)) as transport:
        transport.send(case)
    return requests[0]


def test_the_transport_sends_the_body_and_headers_as_written() -> None:
    chunked = sent(dataclasses.replace(CASE, spelling="chunked"))
    assert chunked.headers["transfer-encoding"] == "chunked" and "content-length" not in chunked.headers
    assert chunked.content == wire.write("", CASE.pairs(api_key="K")).body
    expect = sent(dataclasses.replace(CASE, spelling="expect-continue", headers=(("Connection", "close"),)))
    assert expect.headers["expect"] == "100-continue" and expect.headers["connection"] == "close"
    assert sent(dataclasses.replace(CASE, spelling="json")).headers["content-type"] == "application/json"


@pytest.mark.parametrize("name", [n for n in wire.SPELLINGS if n not in wire.MAY_REFUSE or n == "chunked"])
def test_the_reference_honours_every_equivalent_spelling(name: str) -> None:
    with ReferenceServer() as server, Transport(server.url, api_key=REFERENCE_API_KEY) as transport:
        exchange = transport.send(dataclasses.replace(CASE, spelling=name))
    assert exchange.status == 200, exchange.body
    assert f"<user_id>{REFERENCE_USER_ID}</user_id>".encode() in exchange.body


class ChunkCounter(httpx.BaseTransport):
    """Passes requests on, noting how many pieces each body is sent in."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.pieces: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        self.pieces.append(len(list(request.stream)))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_every_spelling_is_recorded_as_sent_and_replays(tmp_path: Path) -> None:
    cases = [dataclasses.replace(CASE, spelling=name) for name in wire.SPELLINGS]
    with ReferenceServer() as server:
        header = CassetteHeader(
            server.url, "0.1.0", "default", "2026-12-01T00:00:00Z", 7, 5, 12345, 999, None
        )
        book = CassetteBook(tmp_path, mode="record", header=header, api_key=REFERENCE_API_KEY)
        counter = ChunkCounter(NetworkTransport())
        with (
            Transport(server.url, api_key=REFERENCE_API_KEY, transport=book.transport(counter)) as transport,
            book.use("tests/suite/test_x.py::test_spellings") as session,
        ):
            live = []
            for case in cases:
                live.append(transport.send(case))
                session.settle(live[-1])
        (written,) = book.finish(prune_unused=False).cassettes
        book.commit()
    # vcrpy reads a chunked body into one piece; the recording still sends it in its chunks.
    assert counter.pieces[list(wire.SPELLINGS).index("chunked")] == len(
        wire.write("chunked", CASE.pairs(api_key=REFERENCE_API_KEY)).content
    )
    text = written.path.read_text(encoding="utf-8")
    assert REFERENCE_API_KEY not in text and "%72%65%66%2D" not in text  # the key in no spelling
    assert len(load_cassette(written.path).interactions) == len(cases)
    replay = CassetteBook(tmp_path, mode="replay")
    with (
        Transport(header.target, api_key=API_KEY_PLACEHOLDER, transport=replay.transport()) as transport,
        replay.use("tests/suite/test_x.py::test_spellings") as session,
    ):
        replayed = []
        for case in cases:
            replayed.append(transport.send(case))
            session.settle(replayed[-1])
    assert [e.status for e in replayed] == [e.status for e in live]
    assert [e.error for e in replayed] == [None] * len(cases)
