"""The check registry. Built-in checks register through the same ``@check`` decorator users would use.

Every check has one signature, ``(subject, ctx) -> requirement ID | None``: it returns the requirement it
judged (passed), None when it does not apply to this response, or raises CheckFailure. A check reads
what the run has seen so far from ``ctx.state`` (RunState) and never writes it: the engine updates it
after all checks have judged an exchange, so no check depends on another having run.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conformance.checks._base import CheckContext, RunState, Subject, TokenHistory
from conformance.core.contract import REQUIREMENTS_BY_ID
from conformance.core.model import CheckFailure, CheckResult

CheckFunction = Callable[[Subject, CheckContext], "str | None"]


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its name, the requirements it may judge, the function."""

    name: str
    serves: tuple[str, ...]
    function: CheckFunction


CHECKS: dict[str, CheckSpec] = {}


def check(*, serves: tuple[str, ...], name: str | None = None) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under its function name (or ``name``) serving the given requirement IDs."""
    unknown = [r for r in serves if r not in REQUIREMENTS_BY_ID]
    if unknown:
        raise ValueError(f"check serves unknown requirement(s): {', '.join(unknown)}")

    def register(function: CheckFunction) -> CheckFunction:
        check_name = name or function.__name__
        if check_name in CHECKS:
            raise ValueError(f"a check named {check_name!r} is already registered")
        CHECKS[check_name] = CheckSpec(check_name, serves, function)
        return function

    return register


def checks_serving(requirement_id: str) -> tuple[str, ...]:
    """The checks that judge a requirement, by name: derived from their ``serves``, the one place a
    requirement's checks are declared (the contract names none)."""
    return tuple(sorted(name for name, spec in CHECKS.items() if requirement_id in spec.serves))


def run_checks(
    subject: Subject, ctx: CheckContext, *, serving: frozenset[str] | None = None
) -> list[CheckResult]:
    """Run every registered check (or those serving only ``serving``) on one response; never raises.

    A check that raises anything but CheckFailure is reported as a result with ``crash`` set.
    """
    results = []
    for spec in list(CHECKS.values()):
        if serving is not None and not set(spec.serves) <= serving:
            continue
        try:
            judged = spec.function(subject, ctx)
        except CheckFailure as found:
            found.check = spec.name
            results.append(CheckResult(spec.name, found.requirement, found))
            continue
        except Exception as exc:
            # The suite's own defect, never the target's failure: judged nothing (no pass, no failure);
            # the run ends with the error verdict naming the check (the engine redacts the message).
            results.append(CheckResult(spec.name, None, crash=_crash_line(exc)))
            continue
        if judged is not None and judged not in spec.serves:
            raise ValueError(f"check {spec.name} judged {judged}, which it does not declare in serves")
        results.append(CheckResult(spec.name, judged))
    return results


def _crash_line(exc: Exception) -> str:
    """A check's exception: its type, where it was raised and its message (raw: it may quote the target)."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    return f"{type(exc).__name__}{where}: {exc}"


# Importing the modules registers the built-in checks, in this order.
from conformance.checks import (  # noqa: E402, F401
    body,
    grant,
    http,
    input_outcome,
    message,
    qrcode,
    routes,
    security,
    side_channels,
    stateless,
    tokens,
)
from conformance.checks.message import RAW_JUDGED  # noqa: E402

__all__ = [
    "CHECKS",
    "RAW_JUDGED",
    "CheckContext",
    "CheckSpec",
    "RunState",
    "Subject",
    "TokenHistory",
    "check",
    "checks_serving",
    "run_checks",
]
