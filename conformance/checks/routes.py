"""Route checks: only POST to the endpoint issues tokens; a path variant that answers is judged like it.

A request the contract refuses is refused on every channel: a 2xx or 3xx to it is a failure whatever its
body (XML, JSON, HTML, empty) or Location says, named by the requirement of the probe. Two answers are
allowed because mainstream conforming stacks give them (AMB-METHODS, AMB-PATH-VARIANT): an OPTIONS
answered 2xx with an empty body (RFC 9110 section 9.3.7; Flask's automatic OPTIONS), and a path variant
redirected to the endpoint's own path, same origin, nothing else in the Location (Starlette's
redirect_slashes).
"""

from __future__ import annotations

from urllib.parse import SplitResult, urljoin, urlsplit

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject, against_stock, shown_location
from conformance.core.contract import ENDPOINT_PATH
from conformance.core.model import CheckFailure, Expect

_ENDPOINT_PARENT = ENDPOINT_PATH.rsplit("/", 1)[0] + "/"  # "/v1/user/": every variant keeps it
DEFAULT_PORTS = {"http": 80, "https": 443}


def _where(subject: Subject) -> str:
    case = subject.case
    if case.method != "POST" or case.form_in_query:
        return f"{case.method} with the form in the {'query' if case.form_in_query else 'body'}"
    return f"POST to path variant {case.path_variant}"


def _answer(subject: Subject) -> str:
    """The status and what came with it, never a value that may be a credential."""
    exchange = subject.exchange
    parts = [f"HTTP {subject.status}"]
    if subject.token:
        parts.append(f"a {len(subject.token)}-character <token>")
    if 300 <= subject.status < 400:
        parts.append(shown_location(exchange))
    media = (exchange.header("content-type") or "no Content-Type").split(";", 1)[0].strip()[:60]
    parts.append(f"{len(exchange.body)} bytes of {media}" if exchange.body else "an empty body")
    return ", ".join(parts)


def _origin(url: SplitResult) -> tuple[str, str, int | None]:
    """Scheme, host and port, compared as RFC 6454 does (case-insensitive, the default port filled in)."""
    scheme = url.scheme.lower()
    return scheme, (url.hostname or "").lower(), url.port or DEFAULT_PORTS.get(scheme)


def canonical_redirect(subject: Subject) -> bool:
    """A 3xx whose Location is the endpoint's own path on the same origin, with no query or fragment."""
    location = subject.exchange.header("location")
    if location is None or not 300 <= subject.status < 400:
        return False
    sent = urlsplit(subject.exchange.url)
    try:
        target = urlsplit(urljoin(subject.exchange.url, location.strip()))
        same_origin = _origin(target) == _origin(sent) and target.username is None
    except ValueError:
        return False
    # The variant URL keeps the base path and "/v1/user/" (see model.path_variant): the endpoint's path
    # is the base followed by ENDPOINT_PATH.
    base = sent.path[: sent.path.rfind(_ENDPOINT_PARENT)] if _ENDPOINT_PARENT in sent.path else None
    return (
        same_origin
        and base is not None
        and target.path == base + ENDPOINT_PATH
        and not target.query
        and not target.fragment
        and not location.strip().endswith(("?", "#"))
    )


@check(serves=("LT-HTTP-POST-ONLY",))
def token_only_from_post(subject: Subject, ctx: CheckContext) -> str | None:
    """Another method, or the form in the query string, is refused: a 4xx without a token (OPTIONS may
    also answer an empty 2xx); never a 2xx or 3xx, whatever the body or the Location carry."""
    case = subject.case
    if (case.method == "POST" and not case.form_in_query) or not subject.exchange.answered:
        return None
    status = subject.status
    options_allowed = case.method == "OPTIONS" and 200 <= status < 300 and not subject.exchange.body
    if subject.token or (200 <= status < 400 and not options_allowed):
        raise CheckFailure(
            "LT-HTTP-POST-ONLY",
            "token issued outside POST" if subject.token else f"{_where(subject)} not refused",
            f"a 4xx refusal of {_where(subject)}, no token",
            _answer(subject),
        )
    return "LT-HTTP-POST-ONLY"


@check(serves=("LT-HTTP-PATH-VARIANT",))
def path_variant_like_endpoint(subject: Subject, ctx: CheckContext) -> str | None:
    """A path variant refuses, redirects to the endpoint's own path, or answers exactly what the endpoint
    would: a request the endpoint must refuse is never answered 2xx or 3xx (elsewhere) by a variant.

    What a variant's grant carries (user_id, expire) is judged by the checks of every grant, as the
    endpoint's is: a wrong <expire> in both is one defect (LT-EXPIRE-CONSISTENT), not a variant's.
    """
    case = subject.case
    if not case.path_variant or case.method != "POST" or not subject.exchange.answered:
        return None
    status = subject.status
    if 300 <= status < 400 and not canonical_redirect(subject):
        raise CheckFailure(
            "LT-HTTP-PATH-VARIANT",
            "path variant redirected elsewhere than the endpoint's own path",
            "a 4xx, or a redirect to the endpoint's path (same origin, no query or fragment)",
            _answer(subject),
        )
    if case.expect is Expect.REJECT and (subject.token or 200 <= status < 300):
        raise CheckFailure(
            "LT-HTTP-PATH-VARIANT",
            "path variant did not refuse what the endpoint must refuse",
            f"a 4xx refusal of {case.label} ({case.requirement})",
            _answer(subject),
        )
    return "LT-HTTP-PATH-VARIANT"


@check(serves=("LT-SEC-IDENTITY-BLIND",))
def identity_blind(subject: Subject, ctx: CheckContext) -> str | None:
    """A request sent again under the second client identity gets the same kind of answer as under the
    stock one (a token, or the same status class)."""
    compared = against_stock(subject, ctx.state) if subject.case.alternate_identity else None
    if compared is None:
        return None
    first, again = compared
    if first != again:
        raise CheckFailure(
            "LT-SEC-IDENTITY-BLIND",
            "the answer depends on the client's User-Agent and Accept headers",
            f"{first}, as under the stock identity",
            f"{again} under the second identity ({_answer(subject)})",
        )
    return "LT-SEC-IDENTITY-BLIND"
