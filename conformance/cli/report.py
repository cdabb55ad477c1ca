"""`conformance report` and `conformance verify`: the HTML report, the sign-off and the evidence check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

DEFAULT_REPORT_DIR = Path("reports")
RESULTS_SUBDIR = "allure-results"
HTML_SUBDIR = "allure-report"
SUMMARY_FILE = "summary.json"
EXIT_PROBLEMS = 1
EXIT_NO_MANIFEST = 2


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

    out_dir = out if out is not None else report_dir / HTML_SUBDIR
    try:
        build_html_report(report_dir / RESULTS_SUBDIR, out_dir)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"HTML report: {out_dir / 'index.html'}")
    summary_path = report_dir / SUMMARY_FILE
    if summary_path.is_file():
        base = _load_summary(baseline) if baseline is not None else None
        write_signoff(report_dir, _load_summary(summary_path), baseline=base)
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
