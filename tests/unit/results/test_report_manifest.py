"""The evidence manifest: written, verified, any tampering detected (API and `conformance verify`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.frontends.cli.report import verify_command
from conformance.results.report.manifest import (
    MANIFEST_NAME,
    ManifestError,
    ManifestMissing,
    read_manifest,
    verify_manifest,
    write_manifest,
)

FILES = {
    "summary.json": '{"verdict": "conformant"}\n',
    "junit.xml": "<testsuites/>\n",
    "signoff.md": "# sign-off\n",
    "allure-results/0a1b-result.json": '{"status": "passed"}',
    "allure-results/0a1b-attachment.json": '{"request": {}}',
    "allure-report/data/test-results/deep.json": "{}",
    "allure-report/index.html": "<html></html>",
}


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    """A report directory with nested evidence and a fresh manifest."""
    root = tmp_path / "reports"
    for relative, text in FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    write_manifest(root)
    return root


def test_manifest_lists_every_file_sorted_except_itself(report_dir: Path) -> None:
    lines = (report_dir / MANIFEST_NAME).read_text(encoding="utf-8").splitlines()
    names = [line.split("  ", 1)[1] for line in lines]
    assert names == sorted(FILES)
    assert MANIFEST_NAME not in names


def test_intact_report_verifies(report_dir: Path) -> None:
    assert verify_manifest(report_dir) == []


def test_sha256sum_accepts_the_manifest(report_dir: Path) -> None:
    sha256sum = shutil.which("sha256sum")
    if sha256sum is None:
        pytest.fail("sha256sum (coreutils) is missing")
    done = subprocess.run(
        [sha256sum, "--check", "--strict", MANIFEST_NAME],
        cwd=report_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == len(FILES)


@pytest.mark.parametrize("relative", sorted(FILES))
def test_one_changed_byte_in_any_file_is_detected(report_dir: Path, relative: str) -> None:
    path = report_dir / relative
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert verify_manifest(report_dir) == [f"changed: {relative}"]


def test_added_file_is_detected(report_dir: Path) -> None:
    (report_dir / "allure-results" / "extra-result.json").write_text("{}", encoding="utf-8")
    assert verify_manifest(report_dir) == ["unlisted: allure-results/extra-result.json"]


def test_missing_file_is_detected(report_dir: Path) -> None:
    (report_dir / "allure-results" / "0a1b-attachment.json").unlink()
    assert verify_manifest(report_dir) == ["missing: allure-results/0a1b-attachment.json"]


def test_rewriting_refreshes_the_manifest(report_dir: Path) -> None:
    (report_dir / "signoff.html").write_text("<html></html>", encoding="utf-8")
    write_manifest(report_dir)
    assert verify_manifest(report_dir) == []
    assert "signoff.html" in read_manifest(report_dir)


def test_awkward_file_names_round_trip(tmp_path: Path) -> None:
    (tmp_path / "back\\slash.txt").write_text("a", encoding="utf-8")
    (tmp_path / "new\nline.txt").write_text("b", encoding="utf-8")
    (tmp_path / "space name.txt").write_text("c", encoding="utf-8")
    write_manifest(tmp_path)
    assert sorted(read_manifest(tmp_path)) == ["back\\slash.txt", "new\nline.txt", "space name.txt"]
    assert verify_manifest(tmp_path) == []
    (tmp_path / "new\nline.txt").write_text("B", encoding="utf-8")
    assert verify_manifest(tmp_path) == ["changed: 'new\\nline.txt'"]


def test_manifest_entry_escaping_the_directory_is_reported(report_dir: Path) -> None:
    manifest = report_dir / MANIFEST_NAME
    manifest.write_text(
        manifest.read_text(encoding="utf-8") + f"{'0' * 64}  ../outside.txt\n", encoding="utf-8"
    )
    assert verify_manifest(report_dir) == ["unsafe path in manifest: ../outside.txt"]


def test_no_manifest_raises(tmp_path: Path) -> None:
    with pytest.raises(ManifestMissing, match=r"no MANIFEST\.sha256"):
        verify_manifest(tmp_path)


def test_malformed_manifest_raises(report_dir: Path) -> None:
    (report_dir / MANIFEST_NAME).write_text("not a checksum line\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r":1: not a sha256sum line"):
        verify_manifest(report_dir)


def test_verify_command_intact(report_dir: Path) -> None:
    result = CliRunner().invoke(verify_command, [str(report_dir)])
    assert result.exit_code == 0
    assert result.output.startswith(f"verified {len(FILES)} files: integrity against accidental change only")
    assert "--public-key" in result.output


def test_verify_command_tampered_prints_one_line_per_problem(report_dir: Path) -> None:
    (report_dir / "summary.json").write_text('{"verdict": "conformant"} ', encoding="utf-8")
    (report_dir / "junit.xml").unlink()
    (report_dir / "later.txt").write_text("x", encoding="utf-8")
    result = CliRunner().invoke(verify_command, [str(report_dir)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "missing: junit.xml",
        "unlisted: later.txt",
        "changed: summary.json",
    ]


def test_verify_command_without_manifest_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(verify_command, [str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.output.strip() == f"Error: no MANIFEST.sha256 in {tmp_path / 'nowhere'}"


def test_verify_command_malformed_manifest_exits_1(report_dir: Path) -> None:
    (report_dir / MANIFEST_NAME).write_text("garbage\n", encoding="utf-8")
    result = CliRunner().invoke(verify_command, [str(report_dir)])
    assert result.exit_code == 1
    assert result.output.strip().endswith(":1: not a sha256sum line")


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_a_symlink_in_the_report_is_refused(report_dir: Path, tmp_path: Path, kind: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not evidence", encoding="utf-8")
    target = outside / "secret.txt" if kind == "file" else outside
    (report_dir / "allure-results" / "linked").symlink_to(target)
    with pytest.raises(ManifestError, match=r"symlink in the report refused: 'allure-results/linked'"):
        write_manifest(report_dir)
    with pytest.raises(ManifestError, match="symlink"):
        verify_manifest(report_dir)
    result = CliRunner().invoke(verify_command, [str(report_dir)])
    assert result.exit_code == 1
    assert "symlink in the report refused" in result.output
