"""Evidence: scrubbed whole in every spelling and encoding, bounded, printable; unscannable bodies hidden."""

from __future__ import annotations

import dataclasses

from conformance.core.model import Case, Exchange, Expect
from conformance.redaction.redact import Redactor, issued_tokens
from conformance.run.evidence import (
    MAX_BODY_CHARS,
    curl_command,
    exchange_evidence,
    request_channel,
    shown_body,
)

KEY = "CANARY&KEY-0123456789abcdef"
TOKEN = "f3a9c2e4b1d04e7a9c3b2a1d0e9f8a7b"
CASE = Case("valid", (("api_key", "__API_KEY_REDACTED__"),), Expect.ACCEPT, "LT-INPUT-USER-VALID")


def _body(token_markup: str, *, encoding: str = "UTF-8") -> str:
    return f'<?xml version="1.0" encoding="{encoding}"?><user_response>{token_markup}</user_response>'


def test_tokens_come_from_the_parsed_document_whatever_the_markup() -> None:
    for markup in (
        f"<token><![CDATA[{TOKEN}]]></token>",
        f"<token >{TOKEN}</token >",
        f"<token>{TOKEN[:9]}<!-- x -->{TOKEN[9:]}</token>",
    ):
        assert TOKEN in issued_tokens(_body(markup).encode())
    assert TOKEN in issued_tokens(_body(f"<token>{TOKEN}</token>", encoding="UTF-16").encode("utf-16"))
    # Not well-formed: token elements are still found in the text.
    assert TOKEN in issued_tokens(f"<user_response><token >{TOKEN}</token><broken".encode())


def test_a_utf16_body_is_shown_decoded_without_its_token() -> None:
    redactor = Redactor(secrets=[KEY])
    body = _body(f"<token>{TOKEN}</token><message>{KEY}</message>", encoding="UTF-16").encode("utf-16")
    redactor.learn(Exchange(case=CASE, sent_at=0.0, elapsed=0.1, status=200, body=body))
    shown = shown_body(body, redactor)
    assert "<token><token#1 len=32></token>" in shown
    assert "__API_KEY_REDACTED__" in shown
    assert TOKEN not in shown and KEY not in shown


def test_a_body_in_an_encoding_that_cannot_be_scanned_is_length_and_digest_only() -> None:
    body = _body(f"<token>{TOKEN}</token>", encoding="cp500").encode("cp500")
    shown = shown_body(body, Redactor(secrets=[KEY]))
    assert shown.startswith(f"[not shown: {len(body)} bytes in encoding 'unknown'")
    assert "sha256" in shown
    declared = _body("<token>x</token>", encoding="no-such-codec").encode()
    assert "in encoding 'no-such-codec'" in shown_body(declared, Redactor())


def test_a_long_body_is_cut_after_scrubbing_and_no_token_straddles_the_cut() -> None:
    redactor = Redactor()
    redactor.book.add_token(TOKEN)
    body = ("x" * (MAX_BODY_CHARS - 10) + TOKEN + "y" * 100_000).encode()
    shown = shown_body(body, redactor)
    assert TOKEN[:10] not in shown
    assert shown.endswith(f"… ({len(body)} bytes in all)")


def test_headers_reason_and_body_are_scrubbed_and_printable() -> None:
    redactor = Redactor(secrets=[KEY])
    redactor.book.add_token(TOKEN)
    exchange = Exchange(
        CASE,
        sent_at=0.0,
        elapsed=0.1,
        status=200,
        reason=f"OK {TOKEN}",
        headers=(("x-api-version", f"2.1 {KEY}"), ("x-note", "a\x9b2Jb\u202e")),
        body=b"<m>\x1b[2J</m>",
    )
    evidence = exchange_evidence(exchange, redactor)
    response = evidence["response"]
    assert response["reason"] == "OK <token#1 len=32>"
    assert response["headers"] == [
        ["x-api-version", "2.1 __API_KEY_REDACTED__"],
        ["x-note", "a\\x9b2Jb\\u202e"],
    ]
    assert response["body"] == "<m>\\x1b[2J</m>"


def test_a_raw_probe_is_named_in_the_evidence_and_the_curl_line_says_curl_does_not_send_it() -> None:
    case = dataclasses.replace(CASE, raw="host-missing")
    assert request_channel(case, Redactor(secrets=[KEY]))["raw"] == "host-missing"
    assert "raw" not in request_channel(CASE, Redactor(secrets=[KEY]))
    line = curl_command(case, "http://127.0.0.1:8000/v1/user/login_token")
    assert line.startswith("# curl cannot send the raw HTTP/1.1 probe host-missing (")
    assert "#" not in curl_command(CASE, "http://127.0.0.1:8000/v1/user/login_token")
