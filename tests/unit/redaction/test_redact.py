"""conformance.redaction.redact: every credential a response carries, on any channel, is learnt (pure
logic)."""

from __future__ import annotations

import pytest

from conformance.core.model import Case, Exchange, Expect
from conformance.redaction.redact import Redactor, credentials

TOKEN = "9f86d081884c7d659a2feaa0c55ad015"
SECRET = "s3cr3t-V4lue-0001"
REFERENCE_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<user_response>\n    <status>200</status>\n'
    "    <message>The request has been successfully processed</message>\n    <user_id>12345</user_id>\n"
    f"    <token>{TOKEN}</token>\n    <qrcode>https://qr.example.test/{TOKEN}.png</qrcode>\n"
    "    <expire>1796512345</expire>\n</user_response>\n"
).encode()
ORDINARY_HEADERS = [
    ("content-type", "application/xml; charset=UTF-8"),
    ("cache-control", "no-store"),
    ("date", "Sat, 05 Dec 2026 18:00:00 GMT"),
    ("server", "uvicorn"),
    ("content-length", "371"),
]


def test_a_conforming_answer_teaches_only_its_token() -> None:
    assert credentials(headers=ORDINARY_HEADERS, reason="OK", body=REFERENCE_BODY) == [TOKEN]


def test_a_random_looking_id_is_taken_for_a_credential() -> None:
    """Conservative: a request id cannot be told from a session id, so it is hidden like one."""
    request_id = "3f2a9c1e-7b4d-4e8f-9a6b-1c2d3e4f5a6b"
    assert credentials(headers=[("x-request-id", request_id)], reason="OK", body=b"") == [request_id]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("location", f"https://app.example.test/welcome#token={SECRET}"),
        ("location", f"https://app.example.test/cb?code={SECRET}&state=x"),
        ("set-cookie", f"sid={SECRET}; Path=/; HttpOnly"),
        ("set-cookie", f"theme={SECRET}; Path=/"),  # a long cookie value, whatever its name
        ("link", f"<https://app.example.test/next?access_token={SECRET}>; rel=next"),
        ("x-next-token", SECRET),
        ("authorization", f"Bearer {SECRET}"),
        ("refresh", f"0; url=https://app.example.test/?session={SECRET}"),
    ],
)
def test_a_credential_in_any_header_is_learnt(header: str, value: str) -> None:
    assert SECRET in credentials(headers=[(header, value)], reason="OK", body=b"")


@pytest.mark.parametrize(
    "body",
    [
        f'{{"token": "{SECRET}", "token_expire": 3600}}',
        f"token={SECRET}&expire=3600",
        f"<user_response><session>{SECRET}</session></user_response>",
        f'<user_response refresh_token="{SECRET}"/>',
        f"<user_response><message>&lt;a href='/x?access_token={SECRET}'&gt;</message></user_response>",
        f'<form><input type="hidden" value="{SECRET}" name="csrf_token"></form>',
        f'<meta name="csrf-token" content="{SECRET}">',
        f"Your new session is ready, use Bearer {SECRET}",
        "Your key: 8c2f0e1a9B3d4c5e6f7a8b9c0d1e2f3a",  # no name it knows: a long random-looking run
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl",
    ],
)
def test_a_credential_in_any_body_format_is_learnt(body: str) -> None:
    found = credentials(headers=[], reason="", body=body.encode())
    expected = body.split("key: ")[-1] if "key: " in body else SECRET
    assert (expected in found) if "eyJ" not in body else any(v.startswith("eyJ") for v in found)


def test_a_credential_in_the_reason_phrase_is_learnt() -> None:
    assert credentials(headers=[], reason=f"OK token={SECRET}", body=b"") == [SECRET]


@pytest.mark.parametrize(
    "body",
    [
        '{"token": null, "status_code": "200", "token_expire": 3600, "tokenType": "Bearer"}',
        '{"session": "12345"}',  # the user id the request carried
        "<html><code>user_id=12345</code><pre>status: ok</pre></html>",
        "A" * 100_000,  # a run, but nothing random about it
    ],
)
def test_what_is_no_credential_is_not_learnt(body: str) -> None:
    assert credentials(headers=[], reason="", body=body.encode(), sent="user_id=12345") == []


def test_the_token_element_is_learnt_even_when_it_equals_what_the_request_carried() -> None:
    body = REFERENCE_BODY.replace(TOKEN.encode(), b"12345")
    assert credentials(headers=[], reason="OK", body=body, sent="user_id=12345") == ["12345"]


def test_the_redactor_hides_what_it_learnt_from_an_exchange() -> None:
    case = Case(label="valid", form=(("user_id", "12345"),), expect=Expect.ACCEPT, requirement="LT-X")
    exchange = Exchange(
        case=case,
        sent_at=0.0,
        elapsed=0.1,
        status=302,
        headers=(("location", f"https://app.example.test/#token={SECRET}"),),
        body=b"",
        reason=f"Found session={TOKEN}",
    )
    redactor = Redactor()
    redactor.learn(exchange)
    shown = redactor.text(f"{exchange.headers[0][1]} / {exchange.reason} / user 12345")
    assert SECRET not in shown and TOKEN not in shown
    assert shown.endswith("user 12345")
