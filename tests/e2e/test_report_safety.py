"""End to end: the report step only touches what it made (issue 9, item 9)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.cli import conformance, small_run

# One xdist worker runs the whole module: its tests share the module's runs.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("report-safety")]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report directory of a small conformant run."""
    folder = tmp_path_factory.mktemp("run") / "reports"
    small = small_run(folder.parent)
    assert (
        conformance("run", "--target", "reference", *small, "--report-dir", str(folder), "-q").returncode == 0
    )
    return folder


def test_an_out_directory_with_an_index_html_but_no_marker_is_not_replaced(
    reports: Path, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("<h1>my site</h1>", encoding="utf-8")
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    result = conformance("report", "--report-dir", str(reports), "--out", str(out))
    assert result.returncode == 2
    assert "was not made by `conformance report`" in result.stderr
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_a_symlinked_allure_report_is_never_followed(reports: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "index.html").write_text("precious", encoding="utf-8")
    link = reports / "allure-report"
    link.symlink_to(elsewhere, target_is_directory=True)
    try:
        result = conformance("report", "--report-dir", str(reports))
    finally:
        link.unlink()
    assert result.returncode == 2  # a usage error, as in the exit-code table of `run`
    assert "symbolic link" in result.stderr
    assert (elsewhere / "index.html").read_text(encoding="utf-8") == "precious"


def test_fifos_are_named_and_skipped_never_opened(reports: Path, tmp_path: Path) -> None:
    fifo = reports / "allure-results" / "trap-result.json"
    os.mkfifo(fifo)
    try:
        result = conformance("report", "--report-dir", str(reports), "--out", str(tmp_path / "html"))
    finally:
        fifo.unlink()
    assert result.returncode == 0, result.stderr
    assert f"skipped special file (not a regular file, never opened): {fifo}" in result.stderr
    assert (tmp_path / "html" / "index.html").is_file()
    # made by the report command: a second build may replace it
    again = conformance("report", "--report-dir", str(reports), "--out", str(tmp_path / "html"))
    assert again.returncode == 0, again.stderr


def test_a_fifo_in_the_report_directory_does_not_hang_a_run(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    os.mkfifo(folder / "pipe")
    small = ("--target", "reference", *small_run(tmp_path))
    result = conformance("run", *small, "--report-dir", str(folder), "-q")  # bounded by its timeout
    assert result.returncode == 0, result.stderr
    assert "pipe" not in (folder / "MANIFEST.sha256").read_text(encoding="utf-8")
