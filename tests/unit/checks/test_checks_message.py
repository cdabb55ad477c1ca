"""The HTTP message rules on raw-message probes: what each probe's outcome passes or fails, by default and
under the strict HTTP profile, every failure naming its RFC section."""

from __future__ import annotations

import pytest

from conformance.checks import RAW_JUDGED, CheckContext, Subject, run_checks
from conformance.checks.message import imf_fixdate
from conformance.core.contract import REQUIREMENTS_BY_ID, Level
from conformance.core.model import Case, CheckFailure, Exchange, Expect, RawOutcome, RawResponse
from conformance.core.profile import Profile
from conformance.exchange.raw import PROBES

DATE = ("date", "Sat, 28 Nov 2026 00:00:00 GMT")
GRANT = b"<user_response><status>200</status><token>9f86d081884c7d659a2feaa0c55ad015</token></user_response>"
KEY = "CANARY-KEY-MSG-0042"


def answer(status: int, *headers: tuple[str, str], body: bytes = b"") -> RawResponse:
    return RawResponse(status, "", "1.1", (DATE, *headers), body)


def raw(
    name: str, *answers: RawResponse, closed: bool = False, trailing: int = 0, error: str = ""
) -> Exchange:
    case = Case(
        name, (("api_key", "__API_KEY_REDACTED__"),), Expect.EITHER, PROBES[name].requirement, raw=name
    )
    outcome = RawOutcome(answers, (), closed, trailing, error, "ReadTimeout: deadline" if error else "")
    first = answers[0] if answers else None
    return Exchange(
        case,
        sent_at=1_795_824_000.0,
        elapsed=0.01,
        status=first.status if first else None,
        headers=first.headers if first else (),
        body=first.body if first else b"",
        error=None,
        raw=outcome,
    )


def failures(exchange: Exchange, *, strict: bool = False) -> dict[str, CheckFailure]:
    ctx = CheckContext(profile=Profile(http_strict=strict), api_key=KEY)
    results = run_checks(Subject(exchange), ctx, serving=RAW_JUDGED)
    return {r.failure.requirement: r.failure for r in results if r.failure is not None}


@pytest.mark.parametrize(
    ("exchange", "requirement", "section"),
    [
        (raw("host-missing", answer(200)), "LT-HTTP-MSG-HOST", "RFC 9112 section 3.2"),
        (raw("host-twice", answer(401)), "LT-HTTP-MSG-HOST", "RFC 9112 section 3.2"),
        (raw("conflicting-length", answer(200)), "LT-HTTP-MSG-FRAMING", "RFC 9112 section 6.3"),
        (raw("length-and-chunked", answer(200)), "LT-HTTP-MSG-FRAMING", "RFC 9112 sections 6.1"),
        (
            raw("length-and-chunked", answer(401), closed=True, trailing=90),
            "LT-HTTP-MSG-FRAMING",
            "RFC 9112 sections 6.1",
        ),
        (raw("connection-close", answer(200)), "LT-HTTP-MSG-CONNECTION", "RFC 9112 section 9.6"),
        (raw("pipelined", answer(200)), "LT-HTTP-MSG-CONNECTION", "RFC 9112 section 9.3.2"),
        (raw("pipelined", answer(401), answer(200)), "LT-HTTP-MSG-CONNECTION", "RFC 9112 section 9.3.2"),
        (raw("absolute-form", answer(404)), "LT-HTTP-MSG-CONNECTION", "RFC 9112 section 3.2.2"),
        (raw("http-1.0", answer(505)), "LT-HTTP-MSG-CONNECTION", "RFC 9112 section 2.5"),
        (raw("chunked", answer(411)), "LT-HTTP-MSG-BODY", "RFC 9112 section 7.1"),
        (raw("expect-continue", error="timeout"), "LT-HTTP-MSG-BODY", "RFC 9110 section 10.1.1"),
        (raw("head", answer(405, ("allow", "POST")), closed=True, trailing=12), "LT-HTTP-MSG-HEAD", "9.3.2"),
        (raw("head", answer(405), closed=True), "LT-HTTP-MSG-ALLOW", "RFC 9110 section 15.5.6"),
        (
            raw("chunked", RawResponse(200, "", "1.1", (), GRANT)),
            "LT-HTTP-MSG-DATE",
            "RFC 9110 section 6.6.1",
        ),
        (
            raw("chunked", answer(200, ("cache-control", "public, max-age=300"), body=GRANT)),
            "LT-HTTP-MSG-CACHE",
            "RFC 9111 section 5.2.2",
        ),
    ],
    ids=lambda value: value.case.raw if isinstance(value, Exchange) else None,
)
def test_a_broken_rule_fails_naming_its_rfc_section(
    exchange: Exchange, requirement: str, section: str
) -> None:
    found = failures(exchange, strict=True)
    assert set(found) == {requirement}
    assert section in found[requirement].message


@pytest.mark.parametrize(
    "exchange",
    [
        raw("host-missing", answer(400)),
        raw("host-twice", answer(400, ("connection", "close")), closed=True),
        raw("conflicting-length", answer(400), closed=True),
        raw("length-and-chunked", answer(400), closed=True),
        raw("length-and-chunked", answer(200, body=GRANT), closed=True),  # served by chunked alone, closed
        raw("connection-close", answer(200), closed=True),
        raw("pipelined", answer(200, body=GRANT), answer(401)),
        raw("pipelined", answer(200, ("connection", "close")), closed=True),  # closing is the server's right
        raw("absolute-form", answer(200)),
        raw("http-1.0", answer(200), closed=True),
        raw("chunked", answer(200)),
        raw("expect-continue", answer(200)),
        raw("head", answer(405, ("allow", "POST")), closed=True),
    ],
    ids=lambda exchange: exchange.case.raw,
)
def test_a_conforming_answer_passes_even_under_the_strict_profile(exchange: Exchange) -> None:
    assert failures(exchange, strict=True) == {}


@pytest.mark.parametrize(
    ("exchange", "strict_only"),
    [
        (raw("conflicting-length", answer(413)), "HTTP 400, then the connection closed"),
        (raw("conflicting-length", answer(400)), "HTTP 400, then the connection closed"),
        (raw("length-and-chunked", answer(400)), "a refusal, or the connection closed"),
    ],
    ids=["another-4xx", "left-open", "refused-open"],
)
def test_the_strict_profile_adds_the_rfc_musts_stock_servers_skip(
    exchange: Exchange, strict_only: str
) -> None:
    default, strict = failures(exchange), failures(exchange, strict=True)
    assert "LT-HTTP-MSG-FRAMING" in strict
    assert default == {}
    assert strict_only in strict["LT-HTTP-MSG-FRAMING"].expected


def test_length_with_chunked_served_on_a_connection_kept_open_is_a_connection_rule_by_default() -> None:
    """Stock uvicorn with h11: the body read by its chunked coding (nothing desynchronised), served, the
    connection kept open. By default LT-HTTP-MSG-CONNECTION (a should: a warning), under strict FRAMING."""
    exchange = raw("length-and-chunked", answer(200))
    default, strict = failures(exchange), failures(exchange, strict=True)
    assert set(default) == {"LT-HTTP-MSG-CONNECTION"}
    assert "kept open" in default["LT-HTTP-MSG-CONNECTION"].title
    assert "LT-HTTP-MSG-FRAMING" in strict


def test_a_body_read_by_its_length_beside_chunked_is_a_framing_failure_by_default() -> None:
    """The smuggling pattern: the rest of the body answered as another request fails FRAMING always."""
    exchange = raw("length-and-chunked", answer(200), answer(400), trailing=40)
    assert "LT-HTTP-MSG-FRAMING" in failures(exchange)


def test_only_framing_and_shared_caches_are_musts_by_default_every_rule_under_strict() -> None:
    group = [r for r in REQUIREMENTS_BY_ID.values() if r.id.startswith("LT-HTTP-MSG-")]
    musts = {r.id for r in group if r.level_for(http_strict=False) is Level.MUST}
    assert musts == {"LT-HTTP-MSG-FRAMING", "LT-HTTP-MSG-CACHE"}
    assert all(r.level_for(http_strict=True) is Level.MUST for r in group)
    assert all("RFC 91" in r.source for r in group)


def test_a_server_layer_answer_is_judged_by_these_rules_only() -> None:
    plain = RawResponse(
        400, "Bad Request", "1.1", (DATE, ("content-type", "text/plain")), b"Invalid HTTP request"
    )
    results = run_checks(
        Subject(raw("host-missing", plain)), CheckContext(profile=Profile(), api_key=KEY), serving=RAW_JUDGED
    )
    assert {r.check for r in results} >= {"host_required", "date_header", "api_key_not_echoed"}
    assert not {r.check for r in results} & {"schema_conformance", "content_type_conformance"}
    assert all(r.failure is None for r in results)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("Sun, 06 Nov 1994 08:49:37 GMT", True),
        ("Sunday, 06-Nov-94 08:49:37 GMT", False),  # rfc850-date: obsolete, never generated
        ("Sun Nov  6 08:49:37 1994", False),  # asctime
        ("Sun, 06 Nov 1994 08:49:37 +0000", False),
        ("Mon, 06 Nov 1994 08:49:37 GMT", False),  # wrong day name
        ("Sun, 06 Nov 1994 08:49:37 gmt", False),
        ("Sun, 31 Feb 1994 08:49:37 GMT", False),
        ("Sun, ٠٦ Nov 1994 08:49:37 GMT", False),
    ],
)
def test_imf_fixdate(value: str, ok: bool) -> None:
    assert imf_fixdate(value) is ok


@pytest.mark.parametrize(
    ("outcome", "place"),
    [
        (RawOutcome((answer(200),), (103,), interim_headers=(("link", f"</s/{KEY}>"),)), "interim (1xx)"),
        (RawOutcome((RawResponse(200, "", "1.1", (DATE,), b"", (("x-key", KEY),)),)), "trailer x-key"),
        (RawOutcome((answer(200), answer(401, ("x-echo", KEY)))), "header x-echo of answer 2"),
        (RawOutcome((answer(200), answer(401, body=KEY.encode()))), "body of answer 2"),
    ],
    ids=["interim", "trailer", "second answer's header", "second answer's body"],
)
def test_the_key_is_looked_for_where_ordinary_clients_do_not_read(outcome: RawOutcome, place: str) -> None:
    case = Case(
        "pipelined",
        (("api_key", "__API_KEY_REDACTED__"),),
        Expect.EITHER,
        "LT-HTTP-MSG-CONNECTION",
        raw="pipelined",
    )
    first = outcome.responses[0]
    exchange = Exchange(
        case, 1_795_824_000.0, 0.01, first.status, first.headers, first.body, "", None, raw=outcome
    )
    found = failures(exchange)["LT-SEC-KEY-NOT-ECHOED"]
    assert place in found.received and KEY not in found.received
    clean = RawOutcome((answer(200), answer(401)), (103,), interim_headers=(("link", "</s/x>"),))
    exchange = Exchange(case, 1_795_824_000.0, 0.01, 200, (DATE,), b"", "", None, raw=clean)
    assert "LT-SEC-KEY-NOT-ECHOED" not in failures(exchange)
