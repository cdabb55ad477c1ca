"""Input checks: the target's decision matches the class of the input, and lenient values are honoured."""

from __future__ import annotations

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject, shown_location
from conformance.checks.body import user_id_mismatch
from conformance.checks.grant import expire_mismatch
from conformance.contract import REQUIREMENTS_BY_ID
from conformance.model import CheckFailure, Expect

# A grant for the foreign user is a scope failure, or the user's mistake: a --foreign-user-id the key owns.
FOREIGN_USER_HINT = (
    "; if {user} is in the key's scope, --foreign-user-id is wrong: name a user of another key"
)
_DECIDED_BY_INPUT = tuple(r.id for r in REQUIREMENTS_BY_ID.values() if "input_outcome" in r.checks)


@check(serves=_DECIDED_BY_INPUT)
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


@check(serves=("LT-INPUT-LENIENT-HONOURED",))
def lenient_value_honoured(subject: Subject, ctx: CheckContext) -> str | None:
    """A lenient value (e.g. leading zeros) that is accepted is honoured exactly."""
    case = subject.case
    if case.expect is not Expect.EITHER or not subject.issued:
        return None
    for mismatch, what in (
        (user_id_mismatch(subject), "user_id"),
        (expire_mismatch(subject, ctx, offset=ctx.state.expire_offset), "token_expire"),
    ):
        if mismatch:
            expected, received = mismatch
            raise CheckFailure(
                "LT-INPUT-LENIENT-HONOURED",
                f"lenient {what} accepted but not honoured",
                f"{expected} for {case.label}",
                received,
            )
    return "LT-INPUT-LENIENT-HONOURED"
