"""`conformance report` and `conformance verify`: the HTML report, the sign-off and the evidence check."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

import click

DEFAULT_REPORT_DIR = Path("reports")
RESULTS_SUBDIR = "allure-results"
HTML_SUBDIR = "allure-report"
SUMMARY_FILE = "summary.json"
EXIT_PROBLEMS = 1
EXIT_NO_MANIFEST = 2
# `conformance report` replaces only a directory carrying this marker: one it made itself.
REPORT_MARKER = ".conformance-report"


def special_files(root: Path) -> list[Path]:
    """FIFOs, devices and sockets under ``root`` (links never followed): never opened, only named."""
    found = []
    for folder, dirs, names in os.walk(root):
        for name in [*dirs, *names]:
            path = Path(folder) / name
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                found.append(path)
    return sorted(found)


def check_replaceable(out_dir: Path) -> None:
    """A ClickException unless ``out_dir`` is absent, empty, or a report this command made (its marker)."""
    if out_dir.is_symlink():
        raise click.ClickException(
            f"{out_dir} is a symbolic link: refusing to replace what it points to; remove the link or "
            "choose another --out"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise click.ClickException(f"{out_dir} exists and is not a directory; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / REPORT_MARKER).is_file():
        raise click.ClickException(
            f"{out_dir} exists and was not made by `conformance report` (no {REPORT_MARKER}): refusing to "
            "replace it; choose another --out or remove it yourself"
        )


def regular_copy(results_dir: Path, scratch: Path) -> Path:
    """The regular files of ``results_dir`` copied into ``scratch`` (links and special files left out)."""
    if results_dir.is_symlink():
        raise click.ClickException(f"{results_dir} is a symbolic link: refusing to read what it points to")
    copy = scratch / "results"
    copy.mkdir()
    if results_dir.is_dir():
        for path in results_dir.iterdir():
            if stat.S_ISREG(os.lstat(path).st_mode):
                shutil.copyfile(path, copy / path.name)
    return copy


def _load_summary(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: not a summary.json object")
    return data


@click.command("report")
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_REPORT_DIR,
    show_default=True,
    help="The run's report directory (holds allure-results/ and summary.json).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the HTML report goes [default: <report-dir>/allure-report].",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A previous summary.json: the sign-off lists newly failing, fixed and unchanged requirements.",
)
def report_command(report_dir: Path, out: Path | None, baseline: Path | None) -> None:
    """Build the Allure HTML report and the sign-off, then refresh the evidence manifest."""
    from conformance.report.html import ReportError, build_html_report
    from conformance.report.manifest import write_manifest
    from conformance.report.signoff import write_signoff
    from conformance.summary import SummaryContradiction

    out_dir = out if out is not None else report_dir / HTML_SUBDIR
    check_replaceable(out_dir)
    for path in special_files(report_dir) if report_dir.is_dir() else []:
        click.echo(f"skipped special file (not a regular file, never opened): {path}", err=True)
    with tempfile.TemporaryDirectory(prefix="conformance-report-") as scratch:
        try:
            build_html_report(regular_copy(report_dir / RESULTS_SUBDIR, Path(scratch)), out_dir)
        except ReportError as exc:
            raise click.ClickException(
                str(exc).replace(str(Path(scratch) / "results"), str(report_dir / RESULTS_SUBDIR))
            ) from None
    (out_dir / REPORT_MARKER).write_text(
        "made by conformance report; it may replace this directory\n", encoding="utf-8"
    )
    click.echo(f"HTML report: {out_dir / 'index.html'}")
    summary_path = report_dir / SUMMARY_FILE
    if summary_path.is_file() and not summary_path.is_symlink():
        base = _load_summary(baseline) if baseline is not None else None
        try:
            write_signoff(report_dir, _load_summary(summary_path), baseline=base)
        except SummaryContradiction as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"sign-off: {report_dir / 'signoff.html'}")
    elif baseline is not None:
        raise click.ClickException(f"no {summary_path} to compare with the baseline")
    manifest = write_manifest(report_dir)
    click.echo(f"manifest: {manifest}")


@click.command("verify")
@click.argument("report_dir", type=click.Path(file_okay=False, path_type=Path))
def verify_command(report_dir: Path) -> None:
    """Check every file of REPORT_DIR against its MANIFEST.sha256 (exit 1: tampered, 2: no manifest)."""
    from conformance.report.manifest import ManifestError, ManifestMissing, read_manifest, verify_manifest

    try:
        problems = verify_manifest(report_dir)
        listed = len(read_manifest(report_dir))
    except ManifestMissing as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(EXIT_NO_MANIFEST) from None
    except ManifestError as exc:
        problems, listed = [str(exc)], 0
    if problems:
        for problem in problems:
            click.echo(problem)
        raise SystemExit(EXIT_PROBLEMS)
    click.echo(f"verified {listed} files")
