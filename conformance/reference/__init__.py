"""The embedded reference target: a conforming POST /v1/user/login_token on loopback, and its faults.

This package imports only ``conformance.core.contract`` and ``conformance.core.model``: it is a separate
program that happens to ship with the suite.
"""

from __future__ import annotations

# Importing the catalogues registers the built-in faults.
from conformance.reference import (  # noqa: F401
    auth_faults,
    channel_faults,
    http_faults,
    input_faults,
    issue_faults,
    qrcode_faults,
    response_faults,
    side_channel_faults,
    spelling_faults,
    stateful_faults,
    token_faults,
)
from conformance.reference.behaviour import (
    REFERENCE_API_KEY,
    REFERENCE_FOREIGN_USER_ID,
    REFERENCE_OTHER_API_KEY,
    REFERENCE_SECOND_USER_ID,
    REFERENCE_UNKNOWN_USER_ID,
    REFERENCE_USER_ID,
    Accepted,
    Behaviour,
    Grant,
    Options,
    Rejection,
    Reply,
)
from conformance.reference.faults import (
    FAULTS,
    Fault,
    fault,
    faults_markdown,
    get_fault,
    uncovered_requirements,
)
from conformance.reference.server import DEFAULT_SLOW_DELAY, ReferenceServer

__all__ = [
    "DEFAULT_SLOW_DELAY",
    "FAULTS",
    "REFERENCE_API_KEY",
    "REFERENCE_FOREIGN_USER_ID",
    "REFERENCE_OTHER_API_KEY",
    "REFERENCE_SECOND_USER_ID",
    "REFERENCE_UNKNOWN_USER_ID",
    "REFERENCE_USER_ID",
    "Accepted",
    "Behaviour",
    "Fault",
    "Grant",
    "Options",
    "ReferenceServer",
    "Rejection",
    "Reply",
    "fault",
    "faults_markdown",
    "get_fault",
    "uncovered_requirements",
]
