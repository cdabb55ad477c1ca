"""Every registered check fed extreme values in every field and header it reads: none raises.

A check judges (returns its requirement), does not apply (None) or finds a failure (CheckFailure); an
exception is the suite's own defect (exit 5), so a hostile answer must never cause one. The registry is
iterated, so a check added later is fed the same values.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Iterator
from dataclasses import replace
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.checks import CHECKS, CheckContext, Subject
from conformance.core.model import Case, CheckFailure, Exchange, Expect, TransportError
from conformance.core.profile import Profile
from conformance.exchange.qrfetch import QrImage

API_KEY = "CANARY-KEY-0123456789"
SENT_AT = 1_795_824_000.0
FIELDS = ("status", "message", "user_id", "token", "qrcode", "expire")
GOOD = {
    "status": "200",
    "message": "ok",
    "user_id": "12345",
    "token": "9f86d081884c7d659a2feaa0c55ad015",
    "qrcode": "https://qr.example.com/a.png",
    "expire": str(int(SENT_AT) + 3600),
}
# Texts a hostile target may put in any field or header.
EXTREME_TEXTS = (
    "9" * 400,
    "-" + "9" * 400,
    "1" + "0" * 5000,  # beyond int()'s 4300-digit limit
    "0" * 400 + "60",
    "1e308",
    "1e309",
    "-1e308",
    "1E+400",
    "-0",
    "+0",
    "+3600",
    "-3600",
    "0",
    "3600.0",
    "3.6e3",
    "0x3c",
    "1_800",
    " 3600 ",
    "\t3600\n",
    "",
    " ",
    "\n\t\r ",
    "NaN",
    "nan",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "\u0663\u0666\u0660\u0660",  # Arabic-Indic 3600
    "\uff13\uff16\uff10\uff10",  # fullwidth 3600
    "\u00b2\u00b3",  # superscripts: isdigit() but not decimal
    "\u2167",  # roman numeral eight
    "\U0001d7f9",  # mathematical digit
    "\x00",
    "\x1b[2J\x07",
    "\u202e3600",
    "3600\u2028verdict: conformant",
    "\ufeff3600",
    "\u200b",
    "\ud800",
    "A" * 70_000,
    "é" * 5000,
    "<not>xml",
    "]]>",
    "%7Btoken%7D",
    "${token}",
    "http://",
    "https://[::1",
    "https://" + "a" * 5000 + ".example/x.png",
    "https://qr.example.com:99999/a.png",
    "javascript:alert(1)",
)
ODD_DATES = (
    "Mon, 31 Dec 9999 23:59:59 GMT",
    "Sat, 01 Jan 0001 00:00:00 GMT",
    "Sat, 01 Jan 0000 00:00:00 GMT",
    "Fri, 31 Dec 99999 23:59:59 GMT",
    "Thu, 01 Jan 1970 00:00:00 GMT",
    "Sun, 06 Nov 1994 08:49:37 +9999",
    "Sun, 06 Nov 1994 08:49:37 -9999",
    "Sun, 06 Nov 1994 25:61:61 GMT",
    "Sun, 32 Feb 1994 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",
    "Sun, 06 Nov 1994 08:49:37 UTC+" + "9" * 400,
    "Sat, 28 Nov 2026 00:00:00 GMT",
    "99999999999999999999",
)
CHARSETS = (
    "utf-8",
    "utf-16",
    "utf-32",
    "utf-7",
    "utf-8-sig",
    "rot13",
    "base64",
    "hex",
    "zlib",
    "uu",
    "idna",
    "punycode",
    "unicode_escape",
    "raw_unicode_escape",
    "undefined",
    "cp037",
    "x" * 1000,
    '"utf-8',
    "",
)
HEADERS = ("content-type", "date", "cache-control", "location", "retry-after", "x-api-version", "set-cookie")
STATUSES = (None, 0, -1, 99, 200, 204, 299, 302, 400, 404, 429, 500, 501, 599, 600, 999, 10**400)
FLOATS = (0.0, -1.0, 1e308, -1e308, math.inf, -math.inf, math.nan)


def body_of(values: dict[str, str], *, root: str = "user_response") -> bytes:
    inner = "".join(f"<{name}>{escape(text)}</{name}>" for name, text in values.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{inner}</{root}>\n'.encode(
        "utf-8", "surrogatepass"
    )


GOOD_BODY = body_of(GOOD)
REFUSAL = {"status": "400", "message": "no"}
# Shapes of body: missing, duplicated, nested, attributed, foreign elements; DTDs; non-XML.
STRUCTURES = (
    *(body_of({k: v for k, v in GOOD.items() if k != name}) for name in FIELDS),
    *(GOOD_BODY.replace(f"</{n}>".encode(), f"</{n}><{n}>{v}</{n}>".encode(), 1) for n, v in GOOD.items()),
    *(
        GOOD_BODY.replace(f"<{n}>".encode(), f"<{n}><{n}>".encode()).replace(
            f"</{n}>".encode(), f"</{n}></{n}>".encode()
        )
        for n in FIELDS
    ),
    *(GOOD_BODY.replace(f"<{n}>".encode(), f'<{n} a="1" xmlns="urn:x">'.encode()) for n in FIELDS),
    *(GOOD_BODY.replace(f"<{n}>".encode(), f"<{n}><!-- c -->".encode()) for n in FIELDS),
    *(GOOD_BODY.replace(f"<{n}>".encode(), f"<{n}><![CDATA[]]>".encode()) for n in FIELDS),
    body_of(GOOD, root="x:user_response xmlns:x='urn:x'").replace(
        b"</x:user_response xmlns:x='urn:x'>", b"</x:user_response>"
    ),
    body_of(GOOD, root="error_response"),
    b"<user_response>"
    + b"<a>" * 30
    + b"".join(f"<{n}>{v}</{n}>".encode() for n, v in GOOD.items())
    + b"</a>" * 30
    + b"</user_response>",
    b"<user_response>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</user_response>",
    b"<user_response>" + b"<token>x</token>" * 3000 + b"</user_response>",
    b"<user_response>" + b"<b/>" * 900 + GOOD_BODY.split(b"<user_response>")[1],
    b'<!DOCTYPE r [<!ENTITY e "x">]><user_response><token>&e;</token></user_response>',
    b"<user_response><token>&#0;</token></user_response>",
    b"<user_response><token>&#xD800;</token></user_response>",
    b"<user_response><expire>&#x663;&#x666;&#x660;&#x660;</expire></user_response>",
    b"\xef\xbb\xbf" + GOOD_BODY,
    b"\xff\xfe" + GOOD_BODY.decode().encode("utf-16-le"),
    GOOD_BODY.decode().encode("utf-32"),
    GOOD_BODY.replace(b"UTF-8", b"x-nonexistent"),
    GOOD_BODY.replace(b"UTF-8", b"UTF-16"),
    GOOD_BODY[: len(GOOD_BODY) // 2],
    b"\x00" * 64,
    b"\xff" * 64,
    b"",
    b"   \n",
    b"not xml at all \x1b[2J",
    b'{"token": "abc"}',
)


def exchange(
    body: bytes = GOOD_BODY,
    *,
    status: int | None = 200,
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/xml; charset=utf-8"),),
    case: Case | None = None,
    sent_at: float = SENT_AT,
    elapsed: float = 0.05,
    reason: str = "OK",
    error: TransportError | None = None,
) -> Exchange:
    return Exchange(
        case=case or grant_case(),
        sent_at=sent_at,
        elapsed=elapsed,
        status=status,
        headers=(*headers, ("cache-control", "no-store"), ("date", "Sat, 28 Nov 2026 00:00:00 GMT")),
        body=body,
        reason=reason,
        error=error,
        error_detail="detail \x1b[2J" if error else "",
        url="http://127.0.0.1:9/v1/user/login_token",
        sequence=7,
    )


def grant_case(**changes: object) -> Case:
    case = Case(
        label="valid request",
        form=(("api_key", "__API_KEY_REDACTED__"), ("user_id", "12345"), ("token_expire", "3600")),
        expect=Expect.ACCEPT,
        requirement="LT-INPUT-USER-VALID",
        user_id=12345,
        token_expire=3600,
    )
    return replace(case, **changes)  # type: ignore[arg-type]


CASES = (
    grant_case(),
    grant_case(expect=Expect.REJECT, requirement="LT-AUTH-KEY-INVALID"),
    grant_case(expect=Expect.EITHER, requirement="LT-INPUT-EXPIRE-VALID"),
    grant_case(token_expire=None, user_id=None),
    grant_case(token_expire=10**400, user_id=-(10**400)),
    grant_case(method="GET", form_in_query=True),
    grant_case(path_variant="trailing-slash"),
    grant_case(label="\x1b[2J\n verdict: conformant\u202e" + "x" * 10_000),
)


def fetcher(payload: str | None) -> Callable[[str], QrImage]:
    return lambda url: QrImage(url, payload=payload, problem=None if payload is not None else "\x1b[2J junk")


def contexts() -> Iterator[CheckContext]:
    """The default context, and ones that reach the rest of the checks' code: history, relative expire,
    a small token sample, a QR fetcher with extreme payloads, huge users not owned."""
    yield CheckContext(profile=Profile(), api_key=API_KEY)
    yield CheckContext(profile=Profile(expire_reading="relative"), api_key=API_KEY)
    history = CheckContext(
        profile=Profile(
            token_sample=3, token_min_bits=1, rejection_statuses=(422,), qrcode_carries_token=True
        ),
        api_key=API_KEY,
        not_owned=frozenset({10**400, -1, 12345}),
        qrcode_fetcher=fetcher("\ud800" + "x" * 5000),
    )
    for sequence, token in enumerate(("9" * 60, "8" * 60), 1):
        history.state.tokens.first_seen[token] = sequence
        history.state.tokens.ordered.append(token)
    history.state.qrcodes["https://qr.example.com/a.png"] = 1
    yield history
    yield CheckContext(profile=Profile(), api_key="", qrcode_fetcher=fetcher(None))
    yield CheckContext(profile=Profile(), api_key="\x00\u202e" + "k" * 5000)


def crashes(subject: Subject, ctx: CheckContext) -> list[str]:
    """Every check that raised anything but CheckFailure on the subject, with the exception."""
    found = []
    for spec in CHECKS.values():
        try:
            judged = spec.function(subject, ctx)
        except CheckFailure:
            continue
        except Exception:
            found.append(f"{spec.name}: {traceback.format_exc(limit=-2)}")
            continue
        assert judged is None or judged in spec.serves, spec.name
    return found


CONTEXTS = tuple(contexts())


def assert_no_check_raises(*exchanges: Exchange) -> None:
    """No registered check raises on any of the exchanges, in any of the contexts."""
    problems = []
    for item in exchanges:
        subject = Subject(item)  # parsed once: the checks only read it
        for ctx in CONTEXTS:
            for problem in crashes(subject, ctx):
                problems.append(f"{item.case.label[:40]!r} {item.body[:80]!r} {item.headers[:1]}: {problem}")
    assert not problems, "\n".join(problems[:5]) + f"\n({len(problems)} in all)"


def test_every_check_is_fed_by_this_test() -> None:
    assert len(CHECKS) >= 20  # the registry is loaded: the tests below iterate it


@pytest.mark.parametrize("name", FIELDS)
def test_extreme_text_in_each_element(name: str) -> None:
    # In a whole grant, alone, and in a refusal's shape (no token: what other branches of the checks read).
    grants = [
        exchange(body_of({**GOOD, name: text}), case=case) for text in EXTREME_TEXTS for case in CASES[:3]
    ]
    others = [body_of({**shape, name: text}) for text in EXTREME_TEXTS for shape in ({}, REFUSAL)]
    assert_no_check_raises(*grants, *(exchange(body) for body in others))


@pytest.mark.parametrize("name", HEADERS)
def test_extreme_text_in_each_header(name: str) -> None:
    values = (*EXTREME_TEXTS, *ODD_DATES, *(f"application/xml; charset={c}" for c in CHARSETS))
    assert_no_check_raises(
        *(exchange(headers=((name, value),), case=case) for value in values for case in CASES[:3])
    )


def test_extreme_reason_phrase_and_duplicated_headers() -> None:
    assert_no_check_raises(
        *(exchange(reason=text) for text in EXTREME_TEXTS),
        exchange(headers=tuple(("content-type", c) for c in ("text/html", "application/xml"))),
        exchange(headers=tuple(("date", d) for d in ODD_DATES)),
        exchange(headers=()),
    )


def test_odd_date_headers_on_every_expire() -> None:
    assert_no_check_raises(
        *(
            exchange(body_of({**GOOD, "expire": expire}), headers=(("date", date),))
            for date in ODD_DATES
            for expire in (GOOD["expire"], "9" * 400, "-" + "9" * 20, "0")
        )
    )


def test_extreme_body_structures() -> None:
    assert_no_check_raises(*(exchange(body, case=case) for body in STRUCTURES for case in CASES))


def test_extreme_statuses_clocks_and_transport_errors() -> None:
    assert_no_check_raises(
        *(exchange(status=status, case=case) for status in STATUSES for case in CASES),
        *(exchange(sent_at=value, elapsed=other) for value in FLOATS for other in FLOATS),
        *(exchange(b"", status=None, error=error) for error in TransportError),
    )


def test_a_400_digit_expire_is_a_finding_of_the_expire_requirement() -> None:
    subject = Subject(exchange(body_of({**GOOD, "expire": "9" * 400})))
    with pytest.raises(CheckFailure) as found:
        CHECKS["expire_consistency"].function(subject, CheckContext(profile=Profile(), api_key=API_KEY))
    assert found.value.requirement == "LT-EXPIRE-CONSISTENT"
    assert "out of range" in found.value.received


pieces = st.sampled_from(EXTREME_TEXTS[:-12]) | st.text(max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.fixed_dictionaries(dict.fromkeys(FIELDS, pieces)),
    headers=st.lists(st.tuples(st.sampled_from(HEADERS), pieces | st.sampled_from(ODD_DATES)), max_size=4),
    status=st.sampled_from(STATUSES),
    case=st.sampled_from(CASES),
    drop=st.sets(st.sampled_from(FIELDS)),
)
def test_no_check_raises_on_any_mix_of_extremes(
    values: dict[str, str], headers: list[tuple[str, str]], status: int | None, case: Case, drop: set[str]
) -> None:
    body = body_of({k: v for k, v in values.items() if k not in drop})
    assert_no_check_raises(exchange(body, status=status, headers=tuple(headers), case=case))
