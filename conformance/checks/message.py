"""HTTP message rules (RFC 9110 / 9111 / 9112): on every answer observed, ordinary and raw.

Date, Allow, HEAD and Cache-Control are judged on every exchange, each answer of a raw-message probe
included; Host, framing, connection handling and request bodies on the raw probes that exercise them
(``conformance.exchange.raw``). Stock servers differ on most of these rules: their requirements warn by
default and
fail under the strict HTTP profile (``http_strict``); the checks also hold a few RFC MUSTs only under it
(an exact 400, a connection closed after a refused framing). Every failure names its RFC section.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject
from conformance.core import xmldoc
from conformance.core.contract import REQUIREMENTS
from conformance.core.model import CheckFailure, RawOutcome, RawResponse
from conformance.exchange.raw import CLOSE_WAIT, get_probe

SHOWN = 60  # characters of a header value a failure shows
HTTP_BAD_REQUEST = 400
HTTP_METHOD_NOT_ALLOWED = 405
_IMF_FIXDATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
    re.ASCII,
)
_IMF_FORMAT = "%a, %d %b %Y %H:%M:%S GMT"
# What a raw probe's answers are judged by: these rules, and the key never echoed; never the XML checks.
RAW_JUDGED = frozenset(
    {r.id for r in REQUIREMENTS if r.id.startswith("LT-HTTP-MSG-")} | {"LT-SEC-KEY-NOT-ECHOED"}
)


@functools.lru_cache(maxsize=256)
def imf_fixdate(value: str) -> bool:
    """``value`` is an IMF-fixdate (RFC 9110 section 5.6.7): in GMT, with the right day name."""
    if not _IMF_FIXDATE.fullmatch(value):
        return False
    try:
        return datetime.strptime(value, _IMF_FORMAT).strftime(_IMF_FORMAT) == value
    except ValueError:
        return False


def _answers(subject: Subject) -> list[tuple[str, RawResponse]]:
    """Every final answer of the exchange, with where it was: a raw probe's each, or the one answer."""
    raw = subject.exchange.raw
    if raw is not None:
        many = len(raw.responses) > 1
        return [
            (f" (answer {n} of the {subject.case.raw} probe)" if many else f" ({subject.case.raw} probe)", r)
            for n, r in enumerate(raw.responses, 1)
        ]
    exchange = subject.exchange
    if not exchange.answered or exchange.status is None:
        return []
    return [("", RawResponse(exchange.status, exchange.reason, "", exchange.headers, exchange.body))]


def _shown(value: str) -> str:
    return repr(value[:SHOWN]) + ("…" if len(value) > SHOWN else "")


def _probe(subject: Subject, requirement: str) -> tuple[str, RawOutcome] | None:
    """The probe's name and outcome when the exchange is a raw probe of ``requirement``."""
    raw, name = subject.exchange.raw, subject.case.raw
    if raw is None or not name or get_probe(name).requirement != requirement:
        return None
    return name, raw


def _no_answer(requirement: str, name: str, outcome: RawOutcome, expected: str) -> CheckFailure:
    why = f"{outcome.error}: {outcome.error_detail}" if outcome.error else "the server closed the connection"
    return CheckFailure(requirement, f"no answer to the {name} probe", expected, why[:200])


@check(serves=("LT-HTTP-MSG-DATE",))
def date_header(subject: Subject, ctx: CheckContext) -> str | None:
    """Every 2xx, 3xx and 4xx answer carries exactly one Date, an IMF-fixdate in GMT."""
    judged = None
    for where, answer in _answers(subject):
        if not 200 <= answer.status < 500:
            continue  # RFC 9110 section 6.6.1: a Date is optional on 1xx and 5xx
        judged = "LT-HTTP-MSG-DATE"
        values = answer.header_values("date")
        if len(values) != 1:
            raise CheckFailure(
                judged,
                "no Date header" if not values else "Date header repeated",
                "one Date header (RFC 9110 section 6.6.1)",
                f"{len(values)} Date headers on HTTP {answer.status}{where}",
            )
        if not imf_fixdate(values[0].strip()):
            raise CheckFailure(
                judged,
                "Date is not an IMF-fixdate in GMT",
                "e.g. 'Sun, 06 Nov 1994 08:49:37 GMT' (RFC 9110 section 5.6.7)",
                f"Date {_shown(values[0])} on HTTP {answer.status}{where}",
            )
    return judged


@check(serves=("LT-HTTP-MSG-ALLOW",))
def allow_on_405(subject: Subject, ctx: CheckContext) -> str | None:
    """A 405 answer says which methods the resource allows."""
    judged = None
    for where, answer in _answers(subject):
        if answer.status != HTTP_METHOD_NOT_ALLOWED:
            continue
        judged = "LT-HTTP-MSG-ALLOW"
        if not answer.header_values("allow"):
            raise CheckFailure(
                judged,
                "405 without Allow",
                "an Allow header on a 405 (RFC 9110 section 15.5.6)",
                f"HTTP 405 to {subject.case.method} with no Allow header{where}",
            )
    return judged


@check(serves=("LT-HTTP-MSG-HEAD",))
def head_without_content(subject: Subject, ctx: CheckContext) -> str | None:
    """An answer to HEAD has no content: nothing after its header section."""
    probe = _probe(subject, "LT-HTTP-MSG-HEAD")
    if probe is not None:
        outcome = probe[1]
        if not outcome.responses:
            return None  # no answer to judge (a server may refuse HEAD by closing)
        sent = len(outcome.responses[0].body) + outcome.trailing
    elif subject.case.method == "HEAD" and subject.exchange.answered:
        sent = len(subject.exchange.body)
    else:
        return None
    if sent:
        raise CheckFailure(
            "LT-HTTP-MSG-HEAD",
            "answer to HEAD carries content",
            "nothing after the header section (RFC 9110 section 9.3.2)",
            f"{sent} bytes after the header section of the answer to HEAD",
        )
    return "LT-HTTP-MSG-HEAD"


@check(serves=("LT-HTTP-MSG-HOST",))
def host_required(subject: Subject, ctx: CheckContext) -> str | None:
    """An HTTP/1.1 request without Host, or with two, is answered 400."""
    probe = _probe(subject, "LT-HTTP-MSG-HOST")
    if probe is None:
        return None
    name, outcome = probe
    expected = "HTTP 400 (RFC 9112 section 3.2)"
    if not outcome.responses:
        raise _no_answer("LT-HTTP-MSG-HOST", name, outcome, expected)
    status = outcome.responses[0].status
    if status != HTTP_BAD_REQUEST:
        title = "request without a single Host served" if status < 400 else "wrong status for a bad Host"
        raise CheckFailure(
            "LT-HTTP-MSG-HOST", title, expected, f"HTTP {status} to {get_probe(name).description}"
        )
    return "LT-HTTP-MSG-HOST"


@check(serves=("LT-HTTP-MSG-FRAMING", "LT-HTTP-MSG-CONNECTION"))
def message_framing(subject: Subject, ctx: CheckContext) -> str | None:
    """Conflicting Content-Length values are refused; Content-Length with Transfer-Encoding is refused or
    the connection closed after the answer (by default a connection rule, LT-HTTP-MSG-CONNECTION, when
    nothing else went wrong); neither ever makes the server read the rest as a request."""
    probe = _probe(subject, "LT-HTTP-MSG-FRAMING")
    if probe is None:
        return None
    name, outcome = probe
    section = get_probe(name).section
    strict = ctx.profile.http_strict
    refused = "HTTP 400, then the connection closed" if strict else "a 4xx refusal"
    expected = (
        f"{refused} ({section})"
        if name == "conflicting-length"
        else f"a refusal, or the connection closed after the answer ({section})"
    )
    if not outcome.responses:
        raise _no_answer("LT-HTTP-MSG-FRAMING", name, outcome, expected)
    status = outcome.responses[0].status
    received = f"HTTP {status} to {get_probe(name).description}"
    if outcome.trailing:
        raise CheckFailure(
            "LT-HTTP-MSG-FRAMING",
            "the server read part of the body as another request (desynchronised framing)",
            expected,
            f"{received}, then {outcome.trailing} more bytes: an answer to the rest of the body",
        )
    if name == "conflicting-length":
        wrong = status != HTTP_BAD_REQUEST if strict else not 400 <= status < 500
        if wrong or (strict and not outcome.closed):
            title = "conflicting Content-Length served" if status < 400 else "conflicting Content-Length"
            open_ = "" if outcome.closed or not strict else f", the connection left open {CLOSE_WAIT:g} s"
            raise CheckFailure("LT-HTTP-MSG-FRAMING", title, expected, received + open_)
    elif not outcome.closed and (strict or not 400 <= status < 500):
        # Read by its chunked coding (nothing answered the rest of the body: no desynchronisation), the
        # request was served and the connection kept open: stock uvicorn with h11 does this. RFC 9112
        # section 6.3 asks the server to close the connection; by default that is a connection rule (a
        # warning), under the strict HTTP profile a framing failure.
        raise CheckFailure(
            "LT-HTTP-MSG-FRAMING" if strict else "LT-HTTP-MSG-CONNECTION",
            "Content-Length with Transfer-Encoding served on a connection kept open",
            expected,
            f"{received}, the connection still open {CLOSE_WAIT:g} s after the answer",
        )
    return "LT-HTTP-MSG-FRAMING"


@check(serves=("LT-HTTP-MSG-CONNECTION",))
def connection_management(subject: Subject, ctx: CheckContext) -> str | None:
    """Connection: close closes; pipelined requests are answered in order; absolute-form targets and
    HTTP/1.0 requests are served."""
    probe = _probe(subject, "LT-HTTP-MSG-CONNECTION")
    if probe is None:
        return None
    name, outcome = probe
    section = get_probe(name).section
    expected = {
        "connection-close": f"the connection closed after the answer ({section})",
        "pipelined": f"both requests answered, in order ({section})",
    }.get(name, f"the request served like any other: a 2xx ({section})")
    if not outcome.responses:
        raise _no_answer("LT-HTTP-MSG-CONNECTION", name, outcome, expected)
    first = outcome.responses[0]
    if name == "connection-close":
        if not outcome.closed:
            raise CheckFailure(
                "LT-HTTP-MSG-CONNECTION",
                "Connection: close ignored",
                expected,
                f"HTTP {first.status}, the connection still open {CLOSE_WAIT:g} s after the answer",
            )
    elif name == "pipelined":
        if len(outcome.responses) < len(get_probe(name).messages):
            if any("close" in v.lower() for v in first.header_values("connection")):
                return None  # the server announced it closes: the second request is owed no answer
            why = f" ({outcome.error}: {outcome.error_detail[:100]})" if outcome.error else ""
            raise CheckFailure(
                "LT-HTTP-MSG-CONNECTION",
                "second pipelined request never answered",
                expected,
                f"HTTP {first.status} to the first, nothing to the second{why}",
            )
        second = outcome.responses[1]
        if 400 <= first.status < 500 and 200 <= second.status < 300:
            raise CheckFailure(
                "LT-HTTP-MSG-CONNECTION",
                "pipelined requests answered out of order",
                expected,
                f"HTTP {first.status} then HTTP {second.status} to a grantable form then an empty body",
            )
    elif not 200 <= first.status < 300:
        raise CheckFailure(
            "LT-HTTP-MSG-CONNECTION",
            f"{get_probe(name).description} not served",
            expected,
            f"HTTP {first.status}",
        )
    return "LT-HTTP-MSG-CONNECTION"


@check(serves=("LT-HTTP-MSG-BODY",))
def request_body_handled(subject: Subject, ctx: CheckContext) -> str | None:
    """A chunked body is read, and a body after Expect: 100-continue is read, like any other."""
    probe = _probe(subject, "LT-HTTP-MSG-BODY")
    if probe is None:
        return None
    name, outcome = probe
    expected = f"the form read and granted: a 2xx ({get_probe(name).section})"
    if not outcome.responses:
        raise _no_answer("LT-HTTP-MSG-BODY", name, outcome, expected)
    status = outcome.responses[0].status
    if not 200 <= status < 300:
        raise CheckFailure(
            "LT-HTTP-MSG-BODY",
            f"{get_probe(name).description}: not read",
            expected,
            f"HTTP {status}",
        )
    return "LT-HTTP-MSG-BODY"


def _carries_token(subject: Subject, answer: RawResponse) -> bool:
    if subject.exchange.raw is None:
        return subject.issued and bool(subject.token)
    if not 200 <= answer.status < 300:
        return False
    return bool((xmldoc.parse(answer.body).field("token") or "").strip())


@check(serves=("LT-HTTP-MSG-CACHE",))
def grant_not_shared_cacheable(subject: Subject, ctx: CheckContext) -> str | None:
    """A token response never invites a shared cache to store it (public or s-maxage without no-store or
    private)."""
    judged = None
    for where, answer in _answers(subject):
        if not _carries_token(subject, answer):
            continue
        judged = "LT-HTTP-MSG-CACHE"
        values = answer.header_values("cache-control")
        directives = {d.strip().split("=", 1)[0].strip().lower() for v in values for d in v.split(",")}
        shared = directives & {"public", "s-maxage"}
        if shared and not directives & {"no-store", "private"}:
            raise CheckFailure(
                judged,
                "token response storable by a shared cache",
                "no public or s-maxage on a token response, or no-store / private (RFC 9111 section 5.2.2)",
                f"Cache-Control {_shown(', '.join(values))}{where}",
            )
    return judged
