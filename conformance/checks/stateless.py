"""Decisions that depend on what came before: the same request granted once and refused another time."""

from __future__ import annotations

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject, decision_of
from conformance.core.model import CheckFailure


def _kind(granted: bool) -> str:
    return "a grant" if granted else "a refusal"


@check(serves=("LT-AUTH-STATELESS",))
def decision_stateless(subject: Subject, ctx: CheckContext) -> str | None:
    """A request decided before gets the same kind of answer again (a grant, or a refusal), whatever was sent
    in between: a refusal that turns into a grant (a user or key cached after a grant, a second try that
    succeeds) or a grant that turns into a refusal fails."""
    decision = decision_of(subject)
    if decision is None:
        return None
    request, granted = decision
    first = ctx.state.decisions.get(request)
    if first is None:
        return None
    was_granted, sequence = first
    if granted != was_granted:
        raise CheckFailure(
            "LT-AUTH-STATELESS",
            "the same request was decided otherwise than before",
            f"{_kind(was_granted)}, as request #{sequence} got",
            f"{_kind(granted)} (HTTP {subject.status}) at request #{subject.exchange.sequence}",
        )
    return "LT-AUTH-STATELESS"
