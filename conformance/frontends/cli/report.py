"""`conformance report` and `conformance verify`: the HTML report, the sign-off and the evidence check."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from conformance.core.errors import EXIT_USAGE
from conformance.core.printable import one_line

if TYPE_CHECKING:
    from conformance.results.summary import Summary

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_REPORT_DIR = Path("reports")
RESULTS_SUBDIR = "allure-results"
HTML_SUBDIR = "allure-report"
SUMMARY_FILE = "summary.json"
EXIT_PROBLEMS = 1
EXIT_NO_MANIFEST = 2
EXIT_BAD_KEY = 2
UNSIGNED_NOTE = (
    "integrity against accidental change only: an unsigned manifest can be rebuilt by anyone; "
    "sign with `conformance report --sign-key-env NAME` and check with --public-key FILE to prove origin"
)


class _Usage(click.ClickException):
    """A mistake in what `report` was given: exit 2, as in the exit-code table of `run`."""

    exit_code = EXIT_USAGE


class _KeyProblem(_Usage):
    """A signing or public key that cannot be used: a usage error (exit 2)."""

    exit_code = EXIT_BAD_KEY


class _InUse(click.ClickException):
    """The report directory is locked by a run (or another report): a usage error (exit 2)."""

    exit_code = EXIT_BAD_KEY


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
        raise _Usage(
            f"{out_dir} is a symbolic link: refusing to replace what it points to; remove the link or "
            "choose another --out"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise _Usage(f"{out_dir} exists and is not a directory; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / REPORT_MARKER).is_file():
        raise _Usage(
            f"{out_dir} exists and was not made by `conformance report` (no {REPORT_MARKER}): refusing to "
            "replace it; choose another --out or remove it yourself"
        )


def regular_copy(results_dir: Path, scratch: Path) -> Path:
    """The regular files of ``results_dir`` copied into ``scratch`` (links and special files left out)."""
    if results_dir.is_symlink():
        raise _Usage(f"{results_dir} is a symbolic link: refusing to read what it points to")
    copy = scratch / "results"
    copy.mkdir()
    if results_dir.is_dir():
        for path in results_dir.iterdir():
            if stat.S_ISREG(os.lstat(path).st_mode):
                shutil.copyfile(path, copy / path.name)
    return copy


def _load_summary(path: Path) -> Summary:
    """The checked Summary of ``path``: unreadable or contradicting, a one-line error."""
    from conformance.results.summary import SummaryError, read_summary

    try:
        return read_summary(path)
    except SummaryError as exc:
        raise _Usage(str(exc)) from None


def _path_option(
    name: str,
    *,
    help: str,
    directory: bool = False,
    default: Path | None = None,
    exists: bool = False,
    metavar: str | None = None,
) -> Callable[[F], F]:
    """A path option: a directory or a file, optionally one that must exist; its default shown."""
    kind = click.Path(file_okay=not directory, dir_okay=directory, exists=exists, path_type=Path)
    return click.option(
        name, type=kind, default=default, show_default=default is not None, metavar=metavar, help=help
    )


@click.command("report")
@_path_option(
    "--report-dir",
    directory=True,
    default=DEFAULT_REPORT_DIR,
    help="The run's report directory (holds allure-results/ and summary.json).",
)
@_path_option(
    "--out", directory=True, help="Where the HTML report goes [default: <report-dir>/allure-report]."
)
@_path_option(
    "--baseline",
    exists=True,
    help="A previous summary.json: the sign-off lists newly failing, fixed and unchanged requirements "
    "[default: the baseline the run compared with, kept in <report-dir>/baseline.json].",
)
@click.option(
    "--sign-key-env",
    metavar="NAME",
    default=None,
    help="Sign the manifest with the Ed25519 private key (PEM) held by this environment variable.",
)
@_path_option(
    "--history",
    metavar="FILE",
    help="Allure history file kept across runs (JSON lines): the report shows each requirement's trend.",
)
@click.option(
    "--install-allure",
    is_flag=True,
    help="First install the pinned Allure into the user's cache (npm ci; needs Node.js 20 and npm).",
)
def report_command(
    report_dir: Path,
    out: Path | None,
    baseline: Path | None,
    sign_key_env: str | None,
    history: Path | None,
    install_allure: bool,
) -> None:
    """Build the Allure HTML report and the sign-off, then refresh the evidence manifest."""
    from conformance.results.reportdir import BASELINE_COPY, ReportDirError, locked

    signing_key = _signing_key(sign_key_env)  # before any work: a bad key is a usage error
    if install_allure:
        from conformance.results.report.html import ReportError
        from conformance.results.report.html import install_allure as install

        try:
            click.echo(f"Allure: {install()}")
        except ReportError as exc:
            raise click.ClickException(str(exc)) from None
    if baseline is None and (report_dir / BASELINE_COPY).is_file():
        baseline = report_dir / BASELINE_COPY  # the run's own comparison: the sign-off keeps that section
    base = _load_summary(baseline) if baseline is not None else None  # and a malformed baseline refused
    if not report_dir.is_dir():
        raise click.ClickException(
            f"--report-dir {report_dir} is not a directory; name a run's report directory"
        )
    try:  # a run in progress (or another report) writes there: never bundle its files half-written
        with locked(report_dir):
            _build_report(report_dir, out, base, signing_key, history)
    except ReportDirError as exc:
        raise _InUse(str(exc)) from None


def _build_report(
    report_dir: Path, out: Path | None, base: Summary | None, signing_key: Any, history: Path | None
) -> None:
    """The HTML report, the sign-off (against ``base``), the manifest and its signature, under the lock."""
    from conformance.redaction.run_secrets import RunSecrets
    from conformance.results.report.html import SINGLE_FILE_NAME, ReportError, build_html_report
    from conformance.results.report.manifest import write_manifest
    from conformance.results.report.signoff import write_signoff

    out_dir = out if out is not None else report_dir / HTML_SUBDIR
    check_replaceable(out_dir)
    for path in special_files(report_dir) if report_dir.is_dir() else []:
        click.echo(f"skipped special file (not a regular file, never opened): {path}", err=True)
    with tempfile.TemporaryDirectory(prefix="conformance-report-") as scratch:
        try:
            build_html_report(
                regular_copy(report_dir / RESULTS_SUBDIR, Path(scratch)),
                out_dir,
                history=history,
                version=_target_version(report_dir),
            )
        except ReportError as exc:
            raise _Usage(
                str(exc).replace(str(Path(scratch) / "results"), str(report_dir / RESULTS_SUBDIR))
            ) from None
    (out_dir / REPORT_MARKER).write_text(
        "made by conformance report; it may replace this directory\n", encoding="utf-8"
    )
    click.echo(f"HTML report: {out_dir / SINGLE_FILE_NAME} (one file: open it from disk or attach it)")
    click.echo(f"  browsable: {out_dir / 'index.html'} (serve the folder over HTTP; from file:// it spins)")
    summary_path = report_dir / SUMMARY_FILE
    if summary_path.is_file() and not summary_path.is_symlink():
        # no run: the second net scrubs the key in the environment (CONFORMANCE_API_KEY) only
        write_signoff(report_dir, _load_summary(summary_path), baseline=base, secrets=RunSecrets())
        click.echo(f"sign-off: {report_dir / 'signoff.html'}")
    elif base is not None:
        raise _Usage(f"no {summary_path} to compare with the baseline")
    manifest = write_manifest(report_dir)
    click.echo(f"manifest: {manifest}")
    if signing_key is not None:
        _sign(report_dir, signing_key)


def _target_version(report_dir: Path) -> str | None:
    """The run's target version (summary.json), which labels the report and its history entry."""
    path = report_dir / SUMMARY_FILE
    version = _load_summary(path).facts.target_version if path.is_file() else None
    return version or None


def _signing_key(variable: str | None) -> Any:
    """The Ed25519 private key named by --sign-key-env (None without it); exit 2 when unusable."""
    if variable is None:
        return None
    from conformance.results.report.signature import SignatureError, load_private_key

    try:
        return load_private_key(variable, os.environ)
    except SignatureError as exc:
        raise _KeyProblem(str(exc)) from None


def _sign(report_dir: Path, key: Any) -> None:
    from conformance.results.report.signature import SignatureError, sign_manifest

    try:
        click.echo(f"signature: {sign_manifest(report_dir, key)}")
    except SignatureError as exc:
        raise _Usage(str(exc)) from None


@click.command("verify")
@click.argument("report_dir", type=click.Path(file_okay=False, path_type=Path))
@_path_option(
    "--public-key",
    metavar="FILE",
    help="Ed25519 public key (PEM): also prove the manifest was signed by its private key.",
)
def verify_command(report_dir: Path, public_key: Path | None) -> None:
    """Check every file of REPORT_DIR against its MANIFEST.sha256 (exit 1: tampered, 2: no manifest).

    Without --public-key this proves integrity against accidental change only.
    """
    from conformance.results.report.manifest import (
        ManifestError,
        ManifestMissing,
        read_manifest,
        verify_manifest,
    )

    signature_problem = _signature_problem(report_dir, public_key)
    try:
        problems = verify_manifest(report_dir)
        listed = len(read_manifest(report_dir))
    except ManifestMissing as exc:
        click.echo(f"Error: {one_line(str(exc))}", err=True)
        raise SystemExit(EXIT_NO_MANIFEST) from None
    except ManifestError as exc:
        problems, listed = [str(exc)], 0
    if signature_problem is not None:
        problems = [signature_problem, *problems]
    if problems:
        for problem in problems:  # names read from an edited MANIFEST may hold anything: one line each
            click.echo(one_line(problem))
        raise SystemExit(EXIT_PROBLEMS)
    outside = _outside_manifest(report_dir)
    if outside:
        click.echo(f"not covered by the manifest (not evidence of this run): {', '.join(outside)}")
    if public_key is None:
        click.echo(f"verified {listed} files: {UNSIGNED_NOTE}")
        if (report_dir / "MANIFEST.sha256.sig").is_file():
            click.echo(
                "signature: MANIFEST.sha256.sig is present but NOT checked; pass --public-key FILE to prove "
                "who built the bundle"
            )
    else:
        click.echo(f"verified {listed} files and the signature by {public_key}: origin and integrity")


def _outside_manifest(report_dir: Path) -> list[str]:
    """Top-level entries of ``report_dir`` the manifest does not cover (an earlier run, ...), but the run
    lock every run leaves (it holds no evidence)."""
    from conformance.results.reportdir import LOCK_NAME, is_evidence_place

    names = sorted(p.name for p in report_dir.iterdir() if p.name != LOCK_NAME) if report_dir.is_dir() else []
    return [
        f"{name}/" if (report_dir / name).is_dir() else name for name in names if not is_evidence_place(name)
    ]


def _signature_problem(report_dir: Path, public_key: Path | None) -> str | None:
    """Why the manifest's signature does not prove origin (None when it does or none was asked for)."""
    if public_key is None:
        return None
    from conformance.results.report.signature import SignatureError, load_public_key, verify_signature

    try:
        key = load_public_key(public_key)
    except SignatureError as exc:
        raise _KeyProblem(str(exc)) from None
    if not (report_dir / "MANIFEST.sha256").is_file():
        return None  # the manifest check reports it (exit 2)
    try:
        verify_signature(report_dir, key)
    except SignatureError as exc:
        return str(exc)
    return None
