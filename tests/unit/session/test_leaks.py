"""The last line of defence: a file holding a secret after a live run is emptied, named, exit 5."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import cast

from conformance.core.errors import EXIT_SUITE_ERROR
from conformance.redaction.run_secrets import RunSecrets
from conformance.redaction.secrets import SecretBook
from conformance.results.summary import RequirementResult, Summary, write_summary
from conformance.results.verdict import Outcome
from conformance.session.leaks import guard_files, run_secrets
from conformance.session.live import Session

KEY = "CANARY&KEY-0123456789abcdef"
TOKEN = "f3a9c2e4b1d04e7a9c3b2a1d0e9f8a7b"


def _session(report_dir: Path, *, target: str | None) -> Session:
    secrets = RunSecrets(KEY)
    redactor = secrets.redactor()
    redactor.book.add_token(TOKEN)
    options = SimpleNamespace(target=target, report_dir=report_dir, record=False)
    run = SimpleNamespace(redactor=redactor)
    return cast(Session, SimpleNamespace(options=options, book=None, run=run, secrets=secrets))


def _summary(report_dir: Path) -> Summary:
    summary = Summary(requirements=(RequirementResult("LT-QRCODE-URL", Outcome.PASSED),))
    write_summary(report_dir / "summary.json", summary)
    return summary


def test_a_file_with_a_secret_is_emptied_and_the_run_fails_as_a_suite_defect(tmp_path: Path) -> None:
    (tmp_path / "allure-results").mkdir()
    leaky = tmp_path / "allure-results" / "x-attachment.txt"
    leaky.write_text(f"body: {TOKEN[:10]}<!-- -->{TOKEN[10:]}")
    clean = tmp_path / "junit.xml"
    clean.write_text("<testsuite/>")
    summary = guard_files(_session(tmp_path, target="http://127.0.0.1:1"), _summary(tmp_path))
    assert summary.exit_code == EXIT_SUITE_ERROR
    assert summary.verdict == "error"
    assert summary.leaked_files == (str(leaky),)
    assert summary.error is not None and str(leaky) in summary.error
    assert leaky.read_bytes() == b""
    assert clean.read_text() == "<testsuite/>"
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["exit_code"] == EXIT_SUITE_ERROR
    assert (tmp_path / "MANIFEST.sha256").is_file()


def test_a_clean_run_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text("<testsuite/>")
    summary = _summary(tmp_path)
    assert guard_files(_session(tmp_path, target="http://127.0.0.1:1"), summary) is summary


def test_a_replay_is_not_scanned(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(TOKEN)  # a stand-in token of a cassette: not a live secret
    summary = _summary(tmp_path)
    assert guard_files(_session(tmp_path, target=None), summary) is summary
    assert (tmp_path / "junit.xml").read_text() == TOKEN


def test_run_secrets_merges_keys_and_tokens() -> None:
    first, second = SecretBook(api_keys=[KEY]), SecretBook()
    second.add_token(TOKEN)
    merged = run_secrets([first, None, second])
    assert sorted((s.kind, s.value) for s in merged) == [
        ("api_key", KEY),
        ("api_key", KEY.lower()),
        ("token", TOKEN),
    ]


def test_a_short_token_by_chance_in_a_number_or_a_request_is_no_leak(tmp_path: Path) -> None:
    """Issue 23: a counter token's digits in a user id the suite sent, a decimal or a digest are chance:
    the run keeps its verdict and no file is emptied."""
    session = _session(tmp_path, target="http://127.0.0.1:1")
    session.run.redactor.book.add_token("1000000057")
    cassette = tmp_path / "cassette.yaml"
    cassette.write_text("body: user_id=1000000057&token_expire=1000000057\nelapsed: 0.1000000057\n")
    summary = guard_files(session, _summary(tmp_path))
    assert summary.exit_code != EXIT_SUITE_ERROR and summary.leaked_files is None
    assert cassette.read_text().startswith("body: user_id=1000000057")


def test_a_short_token_where_a_token_stands_is_a_leak(tmp_path: Path) -> None:
    session = _session(tmp_path, target="http://127.0.0.1:1")
    session.run.redactor.book.add_token("1000000057")
    (tmp_path / "attachment.txt").write_text("<user_response><token>1000000057</token></user_response>")
    assert guard_files(session, _summary(tmp_path)).exit_code == EXIT_SUITE_ERROR


def test_a_short_token_equal_to_a_stand_in_of_the_recording_is_left_out() -> None:
    """A recorded stand-in cannot be told from a live short token of the same value: no secret."""
    live, recording = SecretBook(), SecretBook()
    live.add_token("4242")
    live.add_token("1000000057")
    recording.add_token("1000000057", replacement="4242")
    assert sorted(s.value for s in run_secrets([live, recording])) == ["1000000057"]
