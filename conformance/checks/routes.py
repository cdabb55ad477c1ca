"""Route checks: only POST to the endpoint issues tokens; a path variant that does is judged like it."""

from __future__ import annotations

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject
from conformance.model import CheckFailure, Expect


def _where(subject: Subject) -> str:
    case = subject.case
    how = f"{case.method} with the form in the query" if case.form_in_query else case.method
    return f"{how} {case.path_variant or 'to the endpoint'}"


@check(serves=("LT-HTTP-POST-ONLY",))
def token_only_from_post(subject: Subject, ctx: CheckContext) -> str | None:
    """Another method, or a GET with the form in the query string, never issues a token."""
    case = subject.case
    if (case.method == "POST" and not case.form_in_query) or not subject.exchange.answered:
        return None
    if subject.token:
        raise CheckFailure(
            "LT-HTTP-POST-ONLY",
            "token issued outside POST",
            f"no token for {_where(subject)}",
            f"HTTP {subject.status} with a {len(subject.token)}-character <token>",
        )
    return "LT-HTTP-POST-ONLY"


@check(serves=("LT-HTTP-PATH-VARIANT",))
def path_variant_like_endpoint(subject: Subject, ctx: CheckContext) -> str | None:
    """A path variant refuses, or issues only what the endpoint would: never what it would refuse.

    What a variant's grant carries (user_id, expire) is judged by the checks of every grant, as the
    endpoint's is: a wrong <expire> in both is one defect (LT-EXPIRE-CONSISTENT), not a variant's.
    """
    case = subject.case
    if not case.path_variant or case.method != "POST" or not subject.exchange.answered:
        return None
    if not subject.token:
        return "LT-HTTP-PATH-VARIANT"
    if case.expect is Expect.REJECT:
        raise CheckFailure(
            "LT-HTTP-PATH-VARIANT",
            "path variant issued a token the endpoint must refuse",
            f"a refusal of {case.label} ({case.requirement})",
            f"HTTP {subject.status} with a token from path variant {case.path_variant}",
        )
    return "LT-HTTP-PATH-VARIANT"
