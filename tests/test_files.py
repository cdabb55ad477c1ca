"""Atomic writes: the reader sees the old file or the new one, with the mode the user's umask gives."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.files import write_atomic


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process umask after the test changes it."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_users_umask(tmp_path: Path, umask: None, mask: int, mode: int) -> None:
    os.umask(mask)
    path = tmp_path / "report.md"
    write_atomic(path, "# report\n")
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert os.umask(mask) == mask  # the umask is left as it was
    assert path.read_text(encoding="utf-8") == "# report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temporary file left
