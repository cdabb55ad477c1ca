"""Conformance suite for POST /v1/user/login_token: contract, checks, runs and verdicts.

The public surface is listed in ``__all__``; everything else may change between releases.
"""

from __future__ import annotations

from conformance.checks import CHECKS, CheckContext, Subject, check
from conformance.core.contract import AMBIGUITIES, REQUIREMENTS, Requirement
from conformance.core.model import Case, CheckFailure, Exchange, Expect
from conformance.core.options import RunOptions
from conformance.core.version import __version__

__all__ = [
    "AMBIGUITIES",
    "CHECKS",
    "REQUIREMENTS",
    "Case",
    "CheckContext",
    "CheckFailure",
    "Exchange",
    "Expect",
    "Requirement",
    "RunOptions",
    "Subject",
    "__version__",
    "check",
]
