"""HTTP-level checks: complete answers, status classes, redirects, media type."""

from __future__ import annotations

import codecs
import re

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject, shown_location
from conformance.core.model import CheckFailure, TransportError, plain_integer

HTTP_NOT_IMPLEMENTED = 501
_XML_DECLARATION = re.compile(r"<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")


@check(serves=("LT-HTTP-TIMELY",))
def answered_in_time(subject: Subject, ctx: CheckContext) -> str | None:
    """Every request gets a complete response, within the timeout and the size cap."""
    exchange = subject.exchange
    if exchange.error is TransportError.CASSETTE_MISS:
        return None
    if exchange.error is not None:
        raise CheckFailure(
            "LT-HTTP-TIMELY",
            f"transport error: {exchange.error.value}",
            "a complete response within the timeout and size cap",
            f"{exchange.error.value} after {exchange.elapsed:.1f}s ({exchange.error_detail})",
        )
    return "LT-HTTP-TIMELY"


@check(serves=("LT-HTTP-NO-5XX",))
def no_server_error(subject: Subject, ctx: CheckContext) -> str | None:
    """No input makes the server fail."""
    if not subject.exchange.answered:
        return None
    if subject.status == HTTP_NOT_IMPLEMENTED and subject.case.method != "POST":
        return None  # the standard answer to a method a server does not implement
    if subject.status >= 500:
        raise CheckFailure(
            "LT-HTTP-NO-5XX",
            "server error for an input",
            "a 2xx or 4xx status",
            f"HTTP {subject.status} for {subject.case.label}",
        )
    return "LT-HTTP-NO-5XX"


@check(serves=("LT-HTTP-NO-REDIRECT",))
def no_redirect(subject: Subject, ctx: CheckContext) -> str | None:
    """The endpoint answers itself; a 3xx is never followed."""
    if not subject.exchange.answered or not subject.case.on_endpoint:
        return None  # another method or path may redirect (to the canonical path): no token, no harm
    if 300 <= subject.status < 400:
        raise CheckFailure(
            "LT-HTTP-NO-REDIRECT",
            "redirect (not followed)",
            "no 3xx status",
            f"HTTP {subject.status}, {shown_location(subject.exchange)}",
        )
    return "LT-HTTP-NO-REDIRECT"


@check(serves=("LT-HTTP-SUCCESS-200", "LT-HTTP-REJECT-4XX"))
def status_code_conformance(subject: Subject, ctx: CheckContext) -> str | None:
    """A grant is exactly HTTP 200; a refusal is a 4xx (one the profile allows)."""
    if not subject.case.on_endpoint and not subject.decided:
        return None  # another method or path that issued nothing may answer with any status
    status = subject.status
    if 200 <= status < 300:
        element = (subject.document.field("status") or "").strip()
        echoed = plain_integer(element)  # ASCII digits only: '²', '٤٠٠' or 5,000 digits are no status
        if not subject.token and echoed is not None and 400 <= echoed < 500:
            raise CheckFailure(
                "LT-HTTP-REJECT-4XX",
                "refusal answered with a success status",
                f"HTTP {element} (the refusal's own <status>)",
                f"HTTP {status}",
            )
        if status != 200:
            raise CheckFailure(
                "LT-HTTP-SUCCESS-200", "success status is not 200", "HTTP 200", f"HTTP {status}"
            )
        return "LT-HTTP-SUCCESS-200"
    if 400 <= status < 500:
        allowed = ctx.profile.rejection_statuses
        if allowed and status not in allowed:
            raise CheckFailure(
                "LT-HTTP-REJECT-4XX",
                "rejection status not allowed by the profile",
                f"one of {', '.join(map(str, allowed))}",
                f"HTTP {status}",
            )
        return "LT-HTTP-REJECT-4XX"
    if subject.exchange.answered and not 300 <= status < 600:
        raise CheckFailure(
            "LT-HTTP-REJECT-4XX",
            "status outside the HTTP classes the contract uses",
            "HTTP 200 or a 4xx",
            f"HTTP {status}",
        )
    return None


@check(serves=("LT-HTTP-CONTENT-TYPE",))
def content_type_conformance(subject: Subject, ctx: CheckContext) -> str | None:
    """2xx and 4xx responses are XML: application/xml or text/xml."""
    if not subject.decided:
        return None
    header = subject.exchange.header("content-type")
    media_type = (header or "").split(";", 1)[0].strip().lower()
    if media_type not in ctx.profile.content_types:
        raise CheckFailure(
            "LT-HTTP-CONTENT-TYPE",
            "wrong media type",
            " or ".join(ctx.profile.content_types),
            repr(header[:100]) if header is not None else "no Content-Type header",
        )
    return "LT-HTTP-CONTENT-TYPE"


_ASCII_COMPATIBLE = frozenset({"utf-8", "latin-1", "iso8859-1", "iso8859-15", "cp1252", "ascii"})
_XML_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


def _starts_xml(body: bytes, codec: str) -> bool:
    try:
        text = body[:64].decode(codec, "ignore")
    except LookupError:
        return False
    return text.lstrip("\ufeff \t\r\n").startswith("<")


def _declared_encoding(text: str) -> str | None:
    match = _XML_DECLARATION.match(text)
    return match.group(1) if match else None


@check(serves=("LT-HTTP-CHARSET",))
def charset_agrees(subject: Subject, ctx: CheckContext) -> str | None:
    """A charset parameter names the encoding the body is really in (and the XML declaration agrees)."""
    if not subject.decided or not subject.exchange.body:
        return None
    header = subject.exchange.header("content-type") or ""
    params = {
        name.strip().lower(): value.strip().strip('"')
        for name, _, value in (part.partition("=") for part in header.split(";")[1:])
    }
    charset = params.get("charset")
    if charset is None:
        return None
    shown = f"charset={charset[:40]!r}"
    try:
        codec = codecs.lookup(charset).name
        text = subject.exchange.body.decode(codec)
    except (LookupError, UnicodeDecodeError, ValueError):
        raise CheckFailure(
            "LT-HTTP-CHARSET",
            "body is not in the charset its Content-Type names",
            f"a body that decodes as {charset[:40]}",
            f"{shown}, and the body does not decode as it",
        ) from None
    start = text.lstrip("\ufeff \t\r\n")
    other = None
    if not start.startswith("<"):
        body = subject.exchange.body
        other = next((c for c in _XML_ENCODINGS if c != codec and _starts_xml(body, c)), None)
    if other is not None:  # (a body that is XML in no encoding: schema)
        raise CheckFailure(
            "LT-HTTP-CHARSET",
            "body is not in the charset its Content-Type names",
            f"an XML document when decoded as {charset[:40]}",
            f"{shown}, but the body is {other}: decoded as labelled it starts {start[:12]!r}",
        )
    declared = _declared_encoding(start)
    try:
        disagrees = declared is not None and codecs.lookup(declared).name != codec
    except LookupError:
        disagrees = True
    # Two names for the encoding of a pure-ASCII body (charset=iso-8859-1, encoding="UTF-8") read the
    # same text: a disagreement only matters when a byte would be read differently.
    if disagrees and subject.exchange.body.isascii() and codec in _ASCII_COMPATIBLE:
        disagrees = False
    if disagrees:
        raise CheckFailure(
            "LT-HTTP-CHARSET",
            "Content-Type charset and XML declaration disagree",
            f"encoding={charset[:40]!r} in the XML declaration (or none)",
            f"{shown} but encoding={str(declared)[:40]!r}",
        )
    return "LT-HTTP-CHARSET"
