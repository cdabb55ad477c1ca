"""The embedded reference as a session's local target, for the front ends (CLI, plugin, selftest).

The core (``session``) never imports ``reference/`` (ARCHITECTURE.md): for ``--target reference`` the
front ends pass the LocalTarget built here, with the reference's settings given explicitly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from conformance.core.options import RunOptions
from conformance.inputs import Users
from conformance.reference import (
    DEFAULT_SLOW_DELAY,
    REFERENCE_API_KEY,
    REFERENCE_FOREIGN_USER_ID,
    REFERENCE_UNKNOWN_USER_ID,
    REFERENCE_USER_ID,
    ReferenceServer,
)
from conformance.session.live import Session
from conformance.session.open import open_session as _open_session
from conformance.session.plan import LocalTarget


def reference_target(*, slow_delay: float = DEFAULT_SLOW_DELAY) -> LocalTarget:
    """The reference on loopback; ``slow_delay``: how long its slow faults stall, in seconds."""
    return LocalTarget(
        api_key=REFERENCE_API_KEY,
        users=Users(REFERENCE_USER_ID, REFERENCE_UNKNOWN_USER_ID, REFERENCE_FOREIGN_USER_ID),
        serve=_serving(slow_delay),
    )


def _serving(slow_delay: float) -> Callable[[str | None, bool], contextlib.AbstractContextManager[str]]:
    @contextlib.contextmanager
    def serve(fault: str | None, serve_qrcodes: bool) -> Iterator[str]:
        with ReferenceServer(fault=fault, slow_delay=slow_delay, serve_qrcodes=serve_qrcodes) as server:
            yield server.url

    return serve


def open_session(
    options: RunOptions,
    *,
    local: LocalTarget | None = None,
    keyword: str | None = None,
    inputs_from: Path | None = None,
) -> contextlib.AbstractContextManager[Session]:
    """conformance.session.open.open_session with the embedded reference available as --target reference."""
    return _open_session(options, local=local or reference_target(), keyword=keyword, inputs_from=inputs_from)
