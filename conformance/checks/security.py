"""Security checks: no DTD, the key never echoed, token responses not cached."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject
from conformance.core.model import CheckFailure
from conformance.redaction.run_secrets import RunSecrets


@check(serves=("LT-SEC-NO-DTD",))
def no_dtd(subject: Subject, ctx: CheckContext) -> str | None:
    """A 2xx or 4xx body never carries a DTD or entity declaration (and the suite never expands one)."""
    if not subject.decided or not subject.exchange.body:
        return None
    if subject.document.has_dtd:
        raise CheckFailure(
            "LT-SEC-NO-DTD",
            "DTD or entity declaration in the body (not expanded)",
            "an XML body without <!DOCTYPE> or <!ENTITY>",
            subject.document.error or "a DTD",
        )
    return "LT-SEC-NO-DTD"


def echo_places(subject: Subject, secrets: RunSecrets) -> list[str]:
    """Where the response holds the api_key in any spelling (``conformance.redaction.secrets`` knows them
    all): its
    headers, reason phrase and body; for a raw-message probe also every later answer on the connection,
    the interim (1xx) responses' headers and the trailers of a chunked body."""
    book = secrets.echo_book()
    if not len(book):
        return []
    exchange = subject.exchange
    places = _head_places(secrets, exchange.headers, exchange.reason)
    if book.find_bytes(exchange.body):
        places.append("body")
    elif (root := subject.document.root) is not None and book.find_normalised(
        "\n".join(text for element in root.iter() for text in _element_texts(element))
    ):  # the decoded texts in one search (a key split over two elements is still the key); their literal
        # spellings are the body's, searched above
        places.append("body (parsed)")
    raw = exchange.raw
    if raw is None:
        return places
    places += _head_places(secrets, raw.interim_headers, "", what="interim (1xx) response header")
    for number, answer in enumerate(raw.responses, 1):
        where = f" of answer {number}"
        if number > 1:  # the first answer is the exchange's own
            places += [f"{place}{where}" for place in _head_places(secrets, answer.headers, answer.reason)]
            places += [f"body{where}"] if book.find_bytes(answer.body) else []
        places += [f"{p}{where}" for p in _head_places(secrets, answer.trailers, "", what="trailer")]
    return places


def _head_places(
    secrets: RunSecrets, headers: tuple[tuple[str, str], ...], reason: str, *, what: str = "header"
) -> list[str]:
    """The header fields (and the reason phrase) that hold the key."""
    places = [f"{what} {name}" for name, value in headers if secrets.echoes(name) or secrets.echoes(value)]
    if reason and secrets.echoes(reason):
        places.append("reason phrase")
    return places


def _element_texts(element: ET.Element) -> list[str]:
    texts = [element.text or "", element.tail or ""]
    for name, value in element.attrib.items():
        texts += [name, value]
    return [t for t in texts if t]


@check(serves=("LT-SEC-KEY-NOT-ECHOED",))
def api_key_not_echoed(subject: Subject, ctx: CheckContext) -> str | None:
    """The api_key appears in no response header, reason phrase or body, in no spelling."""
    exchange = subject.exchange
    if exchange.status is None and not exchange.body:
        return None
    places = echo_places(subject, ctx.secrets)
    if places:
        raise CheckFailure(
            "LT-SEC-KEY-NOT-ECHOED",
            "api_key echoed in the response",
            "no trace of the api_key",
            f"the api_key (redacted) in the {', '.join(places)}",
        )
    return "LT-SEC-KEY-NOT-ECHOED"


@check(serves=("LT-SEC-NO-STORE",))
def cache_control_no_store(subject: Subject, ctx: CheckContext) -> str | None:
    """A response that carries a token says Cache-Control: no-store (a warning when it does not)."""
    if not subject.issued or not subject.token:
        return None
    directives = {
        d.strip().split("=", 1)[0].lower()
        for value in subject.exchange.header_values("cache-control")
        for d in value.split(",")
    }
    if "no-store" not in directives:
        shown = ", ".join(subject.exchange.header_values("cache-control")) or "no Cache-Control header"
        raise CheckFailure(
            "LT-SEC-NO-STORE", "token response may be cached", "Cache-Control: no-store", shown[:120]
        )
    return "LT-SEC-NO-STORE"
