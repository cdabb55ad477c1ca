"""Security checks: no DTD, the key never echoed, token responses not cached."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject
from conformance.model import CheckFailure


@check(serves=("LT-SEC-NO-DTD",))
def no_dtd(subject: Subject, ctx: CheckContext) -> str | None:
    """A 2xx or 4xx body never carries a DTD or entity declaration (and the suite never expands one)."""
    if not subject.judged or not subject.exchange.body:
        return None
    if subject.document.has_dtd:
        raise CheckFailure(
            "LT-SEC-NO-DTD",
            "DTD or entity declaration in the body (not expanded)",
            "an XML body without <!DOCTYPE> or <!ENTITY>",
            subject.document.error or "a DTD",
        )
    return "LT-SEC-NO-DTD"


def key_spellings(api_key: str) -> set[bytes]:
    """The key as it may appear in a response: verbatim and percent-encoded."""
    forms = {api_key, quote(api_key, safe=""), quote_plus(api_key, safe="")}
    return {form.encode("utf-8") for form in forms if len(form) >= 4}


@check(serves=("LT-SEC-KEY-NOT-ECHOED",))
def api_key_not_echoed(subject: Subject, ctx: CheckContext) -> str | None:
    """The api_key appears in no response header or body."""
    exchange = subject.exchange
    if exchange.status is None and not exchange.body:
        return None
    spellings = key_spellings(ctx.api_key)
    places = [
        f"header {name}"
        for name, value in exchange.headers
        if any(form in value.encode("utf-8", "replace") for form in spellings)
    ]
    if any(form in exchange.body for form in spellings):
        places.append("body")
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
