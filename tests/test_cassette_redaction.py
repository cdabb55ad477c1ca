"""Cassette redaction: tokens from the parsed document, removed from body, headers and reason phrase."""

from __future__ import annotations

import pytest

from conformance.cassettes.redaction import MAX_EXCERPT_BYTES, CassetteRedactor
from conformance.secrets import SecretBook

KEY = "CANARY&KEY-0123456789abcdef"
TOKEN = "f3a9c2e4b1d04e7a9c3b2a1d0e9f8a7b"
XML = (
    '<?xml version="1.0" encoding="{encoding}"?>'
    "<user_response>{token}<qrcode>/{qr}.png</qrcode></user_response>"
)
MARKUPS = {
    "cdata": f"<token><![CDATA[{TOKEN}]]></token>",
    "spaced": f"<token >{TOKEN}</token >",
    "comment split": f"<token>{TOKEN[:9]}<!-- x -->{TOKEN[9:]}</token>",
}


def _leaks(data: bytes) -> bool:
    book = SecretBook(api_keys=[KEY])
    book.add_token(TOKEN)
    return bool(book.find_bytes(data))


@pytest.mark.parametrize("markup", sorted(MARKUPS))
@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16"])
def test_a_token_in_any_markup_or_encoding_becomes_its_stand_in(markup: str, encoding: str) -> None:
    redactor = CassetteRedactor(KEY)
    body = XML.format(encoding=encoding, token=MARKUPS[markup], qr=TOKEN).encode(encoding.lower())
    headers, redacted = redactor.response([("x-token", TOKEN), ("x-key", KEY)], body)
    stand_in = redactor.stand_ins.stand_in(TOKEN)
    assert not _leaks(redacted)
    assert stand_in.encode(encoding.lower().replace("utf-16", "utf-16-le")) in redacted
    assert headers == [("x-token", stand_in), ("x-key", "__API_KEY_REDACTED__")]
    assert redactor.message(f"200 {TOKEN}") == f"200 {stand_in}"


def test_a_body_in_an_unknown_encoding_is_not_recorded() -> None:
    notes: list[str] = []
    body = XML.format(encoding="cp500", token=f"<token>{TOKEN}</token>", qr="x").encode("cp500")
    _, redacted = CassetteRedactor(KEY).response([], body, notes=notes)
    assert redacted == b""
    assert notes and notes[0].startswith("body not recorded: [not shown:")


def test_an_unparsable_body_is_kept_as_a_bounded_scrubbed_excerpt() -> None:
    notes: list[str] = []
    redactor = CassetteRedactor(KEY)
    body = f"<user_response><token>{TOKEN}</token> {KEY} <broken".encode() + b"x" * (2 * MAX_EXCERPT_BYTES)
    _, redacted = redactor.response([], body, notes=notes)
    assert len(redacted) == MAX_EXCERPT_BYTES
    assert not _leaks(redacted)
    assert "excerpt" in notes[0]
