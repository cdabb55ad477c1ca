"""Fixtures every test folder may take (unit and end to end)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from conformance.checks import CHECKS, CheckSpec


@pytest.fixture
def curl() -> str:
    """The curl on the PATH: a reproduction line is a curl line, so a missing curl fails, never skips."""
    found = shutil.which("curl")
    if found is None:
        pytest.fail("curl is missing: the reproduction lines are curl lines")
    return found


@pytest.fixture
def check_registry() -> Iterator[dict[str, CheckSpec]]:
    """The check registry, restored whole (and in order) after the test reduces it."""
    saved = dict(CHECKS)
    try:
        yield CHECKS
    finally:
        CHECKS.clear()
        CHECKS.update(saved)
