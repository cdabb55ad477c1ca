"""Conformance suite for POST /v1/user/login_token: contract, checks, runs and verdicts.

The public surface is listed in ``__all__``; everything else may change between releases.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("login-token-conformance")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

from conformance.checks import CHECKS, CheckContext, Subject, check
from conformance.contract import AMBIGUITIES, REQUIREMENTS, Requirement
from conformance.model import Case, CheckFailure, Exchange, Expect
from conformance.options import RunOptions

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
