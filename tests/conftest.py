"""Fixtures every test folder may take (unit and end to end)."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture
def curl() -> str:
    """The curl on the PATH: a reproduction line is a curl line, so a missing curl fails, never skips."""
    found = shutil.which("curl")
    if found is None:
        pytest.fail("curl is missing: the reproduction lines are curl lines")
    return found
