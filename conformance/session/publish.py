"""After a run: the files QA attaches to a release (Allure environment, sign-off, evidence manifest)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from conformance.core.errors import ConfigError
from conformance.core.files import WriteFailed, write_atomic
from conformance.results.report.allure import (
    environment_of,
    write_categories,
    write_environment,
    write_requirement_results,
)
from conformance.results.report.junit import write_junit
from conformance.results.report.manifest import write_manifest
from conformance.results.report.seed import write_seed_excerpt
from conformance.results.report.signoff import write_signoff
from conformance.results.reportdir import BASELINE_COPY
from conformance.results.summary import Summary, SummaryError, read_summary
from conformance.session.leaks import guard_files
from conformance.session.live import Session


def load_baseline(path: Path | None) -> Summary | None:
    """A previous summary.json, checked like any summary, or a ConfigError naming why it cannot be used."""
    if path is None:
        return None
    try:
        baseline = read_summary(path)
    except SummaryError as exc:
        raise ConfigError(f"--baseline {exc}") from None
    if baseline.stub:
        raise ConfigError(f"--baseline {path} is not a finished run's summary.json (no requirements)")
    return baseline


def finish_session(
    session: Session,
    *,
    error: str | None = None,
    error_code: int | None = None,
    targets: Mapping[str, tuple[str, ...]] | None = None,
    deselected: Iterable[str] = (),
) -> Summary:
    """End a session the one way both front ends do: summary.json, JUnit stamp, sign-off, manifest.

    A file that cannot be written (disk full, read-only) ends the run with exit 2, and the summary, if it
    can still be written, says which file it was. A recording is swapped in last, after the leak scan.
    """
    try:
        summary = session.finish(error=error, error_code=error_code, targets=targets, deselected=deselected)
        publish(session, summary)
        guarded = guard_files(session, summary)
        if guarded is not summary:  # a leak: the reports are rewritten to say what summary.json says
            publish(session, guarded)
            guarded = guard_files(session, guarded)
        summary = session.summary = guarded
        session.keep_recording(summary)
    except WriteFailed as exc:
        summary = session.fail_writing(str(exc))
    except ConfigError as exc:  # e.g. an unusable --baseline, found while writing the sign-off
        summary = session.fail_writing(str(exc))
    return summary


def publish(session: Session, summary: Summary) -> None:
    """Write the report files for a finished run, the manifest last so it covers all of them."""
    report_dir = session.options.report_dir
    results = report_dir / "allure-results"
    secrets = session.secrets
    if results.is_dir():
        write_requirement_results(results, summary, secrets=secrets)  # one per requirement, as the matrix
        write_environment(results, environment_of(summary), secrets=secrets)
        write_categories(results)
    write_junit(report_dir / "junit.xml", summary, secrets=secrets)  # per requirement, over pytest's per test
    baseline = load_baseline(session.options.baseline)
    if baseline is not None:  # kept beside the run: `conformance report` rebuilds the same sign-off from it
        write_atomic(report_dir / BASELINE_COPY, baseline.to_json())
    write_signoff(report_dir, summary, baseline=baseline, secrets=secrets)
    write_seed_excerpt(report_dir)  # so the reports' seed line links resolve offline
    write_manifest(report_dir)
