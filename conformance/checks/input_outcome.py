"""Input checks: the target's decision matches the class of the input, and lenient values are honoured."""

from __future__ import annotations

import re

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject, request_of, shown_location
from conformance.checks.body import user_id_mismatch
from conformance.checks.grant import expire_mismatch
from conformance.core.model import Case, CheckFailure, Expect
from conformance.core.wire import MAY_REFUSE

# A grant for the foreign user is a scope failure, or the user's mistake: a --foreign-user-id the key owns.
FOREIGN_USER_HINT = (
    "; if {user} is in the key's scope, --foreign-user-id is wrong: name a user of another key"
)
# A refusal that reads as "a field is missing" (FastAPI's "Field required" too): said of a form that carries
# every field, it shows the server dropped fields it was sent.
SAID_MISSING = re.compile(r"\b(?:missing|required|absent|not (?:given|provided|present|found))\b", re.I)
MESSAGE_SCAN_CHARS = 4096


@check(
    serves=(
        "LT-INPUT-EXPIRE-VALID",
        "LT-INPUT-EXPIRE-RANGE",
        "LT-INPUT-EXPIRE-MALFORMED",
        "LT-INPUT-EXPIRE-MISSING",
        "LT-INPUT-USER-VALID",
        "LT-INPUT-USER-MALFORMED",
        "LT-INPUT-USER-MISSING",
        "LT-INPUT-USER-RANGE",
        "LT-INPUT-REPEATED",
        "LT-INPUT-EQUIVALENT",
        "LT-AUTH-KEY-MISSING",
        "LT-AUTH-KEY-INVALID",
        "LT-AUTH-USER-UNKNOWN",
        "LT-AUTH-USER-SCOPE",
    )
)
def input_outcome(subject: Subject, ctx: CheckContext) -> str | None:
    """Valid input is granted, invalid input refused with a 4xx; lenient input may go either way."""
    case = subject.case
    if case.method != "POST" or case.form_in_query:
        return None  # another method: token_only_from_post judges it, under LT-HTTP-POST-ONLY
    if case.expect is Expect.REJECT and 300 <= subject.status < 400:
        # A refusal is a refusal on every channel: a redirect (a token in its Location, a login page ...)
        # is not one. A variant's redirect to the endpoint's own path is judged by path_variant_like_endpoint.
        if case.on_endpoint:
            raise CheckFailure(
                case.requirement,
                "invalid input answered with a redirect",
                f"a 4xx refusal of {case.label}",
                f"HTTP {subject.status}, {shown_location(subject.exchange)}",
            )
        return None
    if not subject.decided or case.expect is Expect.EITHER:
        return None
    if case.expect is Expect.ACCEPT and not subject.issued:
        if case.requirement == "LT-INPUT-EQUIVALENT" and _plain_refused(case, ctx):
            return None  # refused in every spelling: one defect, which the plain request's requirement names
        raise CheckFailure(
            case.requirement,
            "valid input rejected",
            f"a token for {case.label} (HTTP 200)",
            f"HTTP {subject.status} without a token",
        )
    if case.expect is Expect.REJECT and subject.issued:
        shown = f"HTTP {subject.status}" + (" with a token" if subject.token else "")
        if case.requirement == "LT-AUTH-USER-SCOPE":
            shown += FOREIGN_USER_HINT.format(
                user="that user" if case.user_id is None else f"user {case.user_id}"
            )
        raise CheckFailure(
            case.requirement, "invalid input accepted", f"a 4xx refusal of {case.label}", shown
        )
    return case.requirement


def _plain_refused(case: Case, ctx: CheckContext) -> bool:
    """Whether the same form in the plain spelling, on the pooled connection, was refused earlier in the
    run (a spelling is judged against the plain request: refused in one and honoured in another)."""
    answer = ctx.state.answers.get(request_of(case))
    return answer is not None and answer.startswith("HTTP 4")


def _require_honoured(subject: Subject, ctx: CheckContext, requirement: str, title: str) -> None:
    """Fail ``requirement`` when a grant is not for what was asked (``title`` names the parameter as
    ``{what}``)."""
    for mismatch, what in (
        (user_id_mismatch(subject), "user_id"),
        (expire_mismatch(subject, ctx, offset=ctx.state.expire_offset), "token_expire"),
    ):
        if mismatch:
            expected, received = mismatch
            raise CheckFailure(
                requirement, title.format(what=what), f"{expected} for {subject.case.label}", received
            )


@check(serves=("LT-INPUT-LENIENT-HONOURED",))
def lenient_value_honoured(subject: Subject, ctx: CheckContext) -> str | None:
    """A lenient value (e.g. leading zeros) that is accepted is honoured exactly."""
    case = subject.case
    if case.expect is not Expect.EITHER or not subject.issued:
        return None
    _require_honoured(subject, ctx, "LT-INPUT-LENIENT-HONOURED", "lenient {what} accepted but not honoured")
    return "LT-INPUT-LENIENT-HONOURED"


def _said_missing(subject: Subject) -> str | None:
    """The name of a field the form carries that the refusal calls missing, or None."""
    text = subject.exchange.body[:MESSAGE_SCAN_CHARS].decode("utf-8", "replace")
    if not SAID_MISSING.search(text):
        return None
    return next((name for name, _ in subject.case.form if name and name in text), None)


@check(serves=("LT-INPUT-EQUIVALENT",))
def spelling_honoured(subject: Subject, ctx: CheckContext) -> str | None:
    """An equivalent spelling of a valid request is granted and honoured exactly, or refused only where
    the RFCs allow it, as they allow it (AMB-SPELLING-REFUSAL)."""
    case = subject.case
    if case.requirement != "LT-INPUT-EQUIVALENT" or case.expect is Expect.REJECT or not subject.decided:
        return None
    if subject.issued:
        _require_honoured(
            subject, ctx, "LT-INPUT-EQUIVALENT", "{what} of an equivalent spelling not honoured"
        )
        return "LT-INPUT-EQUIVALENT"
    if case.expect is Expect.ACCEPT:
        return None  # input_outcome: valid input rejected
    allowed = MAY_REFUSE.get(case.spelling)
    if allowed is not None and subject.status not in allowed:
        raise CheckFailure(
            "LT-INPUT-EQUIVALENT",
            "equivalent spelling refused in a way the RFCs do not allow",
            f"a token for {case.label}, or HTTP {' or '.join(map(str, sorted(allowed)))}",
            f"HTTP {subject.status}",
        )
    missing = _said_missing(subject) if allowed is not None else None
    if missing:
        raise CheckFailure(
            "LT-INPUT-EQUIVALENT",
            "a field that was sent refused as missing",
            f"a token for {case.label}, or a refusal that does not call {missing} missing",
            f"HTTP {subject.status} calling {missing} missing",
        )
    return "LT-INPUT-EQUIVALENT"
