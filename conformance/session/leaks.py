"""The last line of defence: after a live run, every file it wrote is scanned for every secret.

Redaction happens where each file is written; this scan does not trust it. A file holding the api_key
or a token the run saw, in any spelling ``conformance.redaction.secrets`` knows, has its content deleted, and
the run fails as a suite defect (exit 5) naming the file. A weak (short) token counts only where a
credential stands (``conformance.redaction.secrets``): its value inside a digest, a number or a name is
chance.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable
from pathlib import Path

from conformance.core.errors import EXIT_SUITE_ERROR
from conformance.redaction.secrets import KEY_KIND, SecretBook, scan_files
from conformance.results.report.manifest import write_manifest
from conformance.results.summary import RunFacts, Summary, SummaryError, write_summary
from conformance.session.live import Session


def run_secrets(books: Iterable[SecretBook | None]) -> SecretBook:
    """One book with every key and token the given books know.

    A weak (short) token equal to a stand-in the recording wrote for another token is left out: in a
    file, the two cannot be told apart, and a stand-in is no secret.
    """
    secrets = [secret for book in books for secret in book or ()]
    stand_ins = {secret.replacement for secret in secrets if secret.kind != KEY_KIND}
    merged = SecretBook()
    for secret in secrets:
        if secret.kind == KEY_KIND:
            merged.add_key(secret.value)
        elif not (secret.weak and secret.value in stand_ins):
            merged.add_token(secret.value)
    return merged


def written_files(session: Session) -> list[Path]:
    """The report directory's files and the cassettes this run recorded (still staged)."""
    report_dir = session.options.report_dir
    files = [p for p in sorted(report_dir.rglob("*")) if p.is_file()] if report_dir.is_dir() else []
    if session.options.record and session.book is not None:
        files += session.book.staged()  # the new set, scanned before it replaces the old one
    return files


def guard_files(session: Session, summary: Summary) -> Summary:
    """Scan what the run wrote; on a hit, empty the file and return (and write) a suite-defect summary."""
    if session.options.target is None:
        return summary  # a replay holds no live secret: the key is the placeholder, tokens are stand-ins
    book = run_secrets(session.secrets.books)  # the run's Redactors' and its recording's
    hits = scan_files(written_files(session), book)
    if not hits:
        return summary
    names = ", ".join(str(p) for p in hits)
    text = book.scrub(summary.to_json())
    scrubbed = Summary.stub_of(RunFacts(), error="", exit_code=EXIT_SUITE_ERROR)
    if not text.startswith("[withheld"):
        with contextlib.suppress(SummaryError):  # scrubbing broke the document: keep only the error
            scrubbed = Summary.from_json(text)
    guarded = dataclasses.replace(
        scrubbed,
        error=f"suite defect: a secret reached {names}; the content of each was deleted",
        error_code=EXIT_SUITE_ERROR,
        leaked_files=tuple(str(p) for p in hits),
    )
    report_dir = session.options.report_dir
    write_summary(report_dir / "summary.json", guarded)
    write_manifest(report_dir)
    return guarded
