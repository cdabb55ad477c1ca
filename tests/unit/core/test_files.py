"""Atomic writes: the reader sees the old file or the new one, with the mode the user's umask gives."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.core.files import write_atomic


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


def test_load_summary_is_the_one_summary_loader(tmp_path: Path) -> None:
    from conformance.core.files import SummaryUnreadable, load_summary

    good = tmp_path / "summary.json"
    good.write_text('{"requirements": [], "verdict": "error"}', encoding="utf-8")
    assert load_summary(good)["verdict"] == "error"
    cases = {
        "missing.json": None,
        "not-json.json": "{",
        "list.json": "[]",
        "no-requirements.json": '{"verdict": "conformant"}',
        "latin1.json": b"\xff\xfe{",
    }
    for name, content in cases.items():
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        elif isinstance(content, bytes):
            path.write_bytes(content)
        with pytest.raises(SummaryUnreadable, match=name):
            load_summary(path)
