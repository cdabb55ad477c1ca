"""The report directory's own README is not a run's evidence (conformance.results.reportdir)."""

from __future__ import annotations

from pathlib import Path

from conformance.results.report.manifest import read_manifest, write_manifest
from conformance.results.reportdir import PREVIOUS_NAME, set_aside_earlier_run


def test_the_folders_readme_is_neither_moved_aside_nor_listed_as_evidence(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# reports/\n", encoding="utf-8")
    (tmp_path / "summary.json").write_text('{"verdict": "conformant"}\n', encoding="utf-8")
    write_manifest(tmp_path)
    assert "README.md" not in read_manifest(tmp_path)
    set_aside_earlier_run(tmp_path)
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "# reports/\n"
    assert not (tmp_path / "summary.json").exists()
    assert (tmp_path / PREVIOUS_NAME / "summary.json").is_file()
