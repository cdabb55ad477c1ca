"""What a grant promises besides the token (QR code URL, expiry), and that refusals grant nothing."""

from __future__ import annotations

import math
from fractions import Fraction
from urllib.parse import SplitResult, urlsplit

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject, date_seconds
from conformance.core.model import CheckFailure, Expect, plain_integer

DATE_RESOLUTION = 1.0  # seconds: a Date header is truncated to whole seconds
SHOWN_DIGITS = 16  # a number of seconds with more digits (and its sign) is shown by its size


@check(serves=("LT-QRCODE-URL",))
def qrcode_url(subject: Subject, ctx: CheckContext) -> str | None:
    """<qrcode> of a 2xx grant with a token is an absolute URL with a host and an allowed scheme."""
    if not (200 <= subject.status < 300 and subject.token):
        return None
    text = subject.document.field("qrcode")
    schemes = ctx.profile.qrcode_schemes
    expected = f"an absolute {' or '.join(schemes)} URL"
    if text is None:
        raise CheckFailure("LT-QRCODE-URL", "no <qrcode> in a grant", expected, "no <qrcode> element")
    url = text.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if (
        parts is None
        or (parts.scheme.lower() not in schemes and not _reference_http(parts, ctx))
        or not parts.hostname
        or any(c.isspace() for c in url)
    ):
        raise CheckFailure(
            "LT-QRCODE-URL",
            "<qrcode> is not an absolute URL of an allowed scheme",
            expected,
            repr(url[:200]) if url else "an empty <qrcode>",
        )
    return "LT-QRCODE-URL"


def _reference_http(parts: SplitResult, ctx: CheckContext) -> bool:
    """A plain-http URL on a host the run accepts it from (the embedded reference serving its images)."""
    return parts.scheme.lower() == "http" and (parts.hostname or "") in ctx.qrcode_http_hosts


# What a template left unfilled looks like: {token}, ${token}, %7Btoken%7D, {{token}}, <token>.
TEMPLATE_MARKERS = ("{", "}", "%7b", "%7d", "${", "%24%7b", "<", ">", "%3c", "%3e")


@check(serves=("LT-QRCODE-DISTINCT",))
def qrcode_distinct(subject: Subject, ctx: CheckContext) -> str | None:
    """Each grant's <qrcode> is a URL of its own, with no unfilled template marker."""
    if not (200 <= subject.status < 300 and subject.token):
        return None
    url = (subject.document.field("qrcode") or "").strip()
    if not url:
        return None  # qrcode_url reports a missing or empty <qrcode>
    lowered = url.lower()
    marker = next((m for m in TEMPLATE_MARKERS if m in lowered), None)
    if marker is not None:
        raise CheckFailure(
            "LT-QRCODE-DISTINCT",
            "<qrcode> holds an unfilled template marker",
            "a URL with every placeholder filled in",
            f"{marker!r} in {url[:120]!r}",
        )
    first = ctx.state.qrcodes.get(url)  # the run's state: the grants before this one
    if first is not None and first != subject.exchange.sequence:
        raise CheckFailure(
            "LT-QRCODE-DISTINCT",
            "<qrcode> repeated across grants",
            "a QR code URL of its own for every grant",
            f"the <qrcode> of request #{first} again",
        )
    return "LT-QRCODE-DISTINCT"


def _seconds(value: Fraction | int) -> str:
    """A whole number of seconds as shown: a huge one by its size, not 400 digits."""
    text = f"{round(value):+d}"
    return text if len(text) <= SHOWN_DIGITS else f"{text[:2]}... ({len(text) - 1} digits: out of range)"


FLOAT_EXACT = 2**52  # an integer below it is a float exactly
INSIDE_MARGIN = 1e-3  # seconds: far more than the rounding of a float sum of Unix times


def _inside(value: float, clock: tuple[float, float], seconds: int, tolerance: float) -> bool:
    """``value`` lies within clock + seconds ± tolerance by more than any float rounding could move (False
    for numbers floats do not hold exactly: the exact bounds decide those)."""
    if not (abs(value) < FLOAT_EXACT and abs(seconds) < FLOAT_EXACT):
        return False
    sent, answered = clock
    slack = tolerance - INSIDE_MARGIN
    return sent + seconds - slack <= value <= answered + seconds + slack


def expire_mismatch(
    subject: Subject, ctx: CheckContext, *, offset: tuple[Fraction, Fraction] | None = None
) -> tuple[str, str] | None:
    """(expected, received) when <expire> does not honour the requested token_expire, else None.

    Judged against the suite's clock, never the target's: <expire> must lie within send time + token_expire
    and receive time + token_expire, widened by the profile's expire_tolerance. A server whose clock is off
    issues tokens valid for a different length of real time than asked: that fails, whatever its Date says.
    Any number is judged exactly (a 400-digit <expire> is a finding, out of range). ``offset``: how far
    off a plain valid request's <expire> was (RunState.expire_offset); an <expire> off by as much honours
    the requested value as the target honours any (LT-EXPIRE-CONSISTENT reports that offset, once).
    """
    seconds = subject.case.token_expire
    text = subject.document.field("expire")
    clock = subject.clock
    tolerance = ctx.profile.expire_tolerance
    if seconds is None or text is None or clock is None or not math.isfinite(tolerance):
        return None
    value = text.strip()
    received = f"<expire>{value[:40]}</expire>"
    if ctx.profile.expire_reading == "relative":
        return None if value == str(seconds) else (f"<expire>{seconds}</expire>", received)
    expire = plain_integer(value)
    if expire is not None and _inside(expire, clock, seconds, tolerance):
        return None  # well inside the window: its exact bounds need not be worked out
    window = subject.window
    assert window is not None  # a finite clock
    sent, answered = window
    low, high = sent + seconds - Fraction(tolerance), answered + seconds + Fraction(tolerance)
    if expire is not None and low <= expire <= high:
        return None
    if offset is not None and expire is not None and low + offset[0] <= expire <= high + offset[1]:
        return None
    drift = f" ({_seconds(expire - (sent + seconds))}s)" if expire is not None else ""
    expected = (
        f"{_seconds(low).lstrip('+')}..{_seconds(high).lstrip('+')} "
        f"(suite clock at send..receive + {_seconds(seconds).lstrip('+')}s, ± {tolerance:g}s)"
    )
    return expected, received + drift


def date_skew(subject: Subject, ctx: CheckContext) -> tuple[str, str] | None:
    """(expected, received) when the Date header is further from the suite's clock than date_tolerance."""
    date = subject.exchange.header("date")
    clock = subject.clock
    if not date or clock is None:
        return None
    seconds = date_seconds(date)
    if seconds is None:
        return None  # an unreadable Date says nothing about the clock
    tolerance = ctx.profile.date_tolerance + DATE_RESOLUTION
    if _inside(seconds, clock, 0, tolerance):
        return None  # well inside the window: its exact bounds need not be worked out
    window = subject.window
    assert window is not None  # a finite clock
    stamp = Fraction(seconds)
    sent, answered = window
    allowed = Fraction(tolerance)
    if sent - allowed <= stamp <= answered + allowed:
        return None
    off = stamp - sent if stamp < sent else stamp - answered
    return (
        f"a Date within {ctx.profile.date_tolerance:g}s of the suite's clock",
        f"Date {date[:40]} ({_seconds(off)}s off the suite's clock)",
    )


@check(serves=("LT-EXPIRE-CONSISTENT",))
def expire_consistency(subject: Subject, ctx: CheckContext) -> str | None:
    """<expire> of a grant is the Unix time of issue plus token_expire, within the tolerance."""
    if not subject.issued or subject.case.expect is Expect.EITHER or subject.case.token_expire is None:
        return None
    if subject.document.field("expire") is None:
        return None  # the schema check reports the missing element
    if subject.clock is None:
        return None  # no clock to judge against (a cassette refuses one): nothing judged, nothing passed
    mismatch = expire_mismatch(subject, ctx)
    if mismatch:
        raise CheckFailure("LT-EXPIRE-CONSISTENT", "expire is not issue time + token_expire", *mismatch)
    skew = date_skew(subject, ctx)
    if skew:
        raise CheckFailure("LT-EXPIRE-CONSISTENT", "the server's clock (Date) is off", *skew)
    return "LT-EXPIRE-CONSISTENT"


@check(serves=("LT-REJECT-NO-TOKEN",))
def rejection_has_no_token(subject: Subject, ctx: CheckContext) -> str | None:
    """A response that is not a 2xx carries no token: no <token>, and no token the run was issued before,
    in any field and any spelling (a refusal that hands out another request's token leaks it)."""
    exchange = subject.exchange
    if not exchange.answered or 200 <= subject.status < 300:
        return None
    if subject.token:
        raise CheckFailure(
            "LT-REJECT-NO-TOKEN",
            "token in a refusal",
            "no <token> in a non-2xx response",
            f"HTTP {subject.status} with a {len(subject.token)}-character <token>",
        )
    book = ctx.tokens.book()
    if not len(book):
        return "LT-REJECT-NO-TOKEN"
    found = [*book.find(subject.head), *book.find_bytes(exchange.body)]
    if found:
        first = min(ctx.tokens.first_seen.get(secret.value, 0) for secret in found)
        raise CheckFailure(
            "LT-REJECT-NO-TOKEN",
            "a refusal carries a token issued before",
            "no token the run was issued, in any field or spelling of a non-2xx response",
            f"HTTP {subject.status} carrying the token issued in request #{first}",
        )
    return "LT-REJECT-NO-TOKEN"
