"""End to end: no stale or mixed report directory (issue 9, item 3).

A run locks its report directory, moves the earlier run's files to previous/ and writes an "in progress"
summary first: whatever the exit, the directory never shows an earlier run's verdict as this one's.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from conformance.cassettes.format import dump_cassette, load_cassette
from conformance.core.files import write_atomic
from conformance.results.reportdir import LOCK_NAME, PREVIOUS_NAME, locked
from tests.support import ROOT
from tests.support.cli import conformance, small_run, summary
from tests.support.hostile_server import StallingServer
from tests.support.processes import canary_key, cli_process, end, wait_for

# One xdist worker runs the whole module: its tests share the module's runs.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("reportdir")]
TRIMMED = "<trimmed copy of the bundled cassettes>"
SMALL = "<the options of a small run>"
KEY = {"CONFORMANCE_API_KEY": "CANARY-KEY-reportdir-0001"}


@pytest.fixture(scope="module")
def green_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report directory of a conformant run: the stale green every later run must not leave standing."""
    reports = tmp_path_factory.mktemp("green") / "reports"
    result = conformance(
        "run", "--target", "reference", "--report-dir", str(reports), "-q", *small_run(reports.parent)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return reports


def _stale_copy(green: Path, tmp_path: Path) -> Path:
    reports = tmp_path / "report"
    shutil.copytree(green, reports, ignore=shutil.ignore_patterns(LOCK_NAME))
    return reports


def _assert_no_earlier_verdict(reports: Path, exit_code: int, *, kept_in: str = PREVIOUS_NAME) -> None:
    document = summary(reports)
    assert document["exit_code"] == exit_code
    assert document["verdict"] != "conformant"
    for name, green in (
        ("signoff.md", "Verdict: CONFORMANT"),
        ("signoff.html", "Verdict: CONFORMANT"),
        ("junit.xml", 'value="conformant"'),
    ):
        path = reports / name
        assert not path.exists() or green not in path.read_text(encoding="utf-8"), name
    (kept,) = reports.glob(kept_in)
    assert summary(kept)["verdict"] == "conformant"  # kept apart, not beside


def _trimmed_cassettes(tmp_path: Path) -> Path:
    """A copy of the bundled set whose first cassette lost its last interaction (digest kept valid)."""
    copy = tmp_path / "trimmed"
    shutil.copytree(ROOT / "cassettes", copy)
    path = sorted(copy.glob("*.yaml"))[0]
    cassette = load_cassette(path)
    write_atomic(path, dump_cassette(cassette.name, cassette.header, list(cassette.interactions[:-1])))
    return copy


@pytest.mark.parametrize(
    ("args", "env", "exit_code"),
    [
        (("--target", "http://127.0.0.1:9", "--user-id", "1"), {}, 2),  # missing key
        (("--target", "reference", "--rate", "0"), {}, 2),
        (("--target", "http://127.0.0.1:9", "--user-id", "1"), KEY, 3),  # nothing listens
        (("--cassettes", TRIMMED), {}, 4),  # a request the (trimmed) cassettes do not hold
        (("--target", "reference", "--user-id", "12345", SMALL), {}, 6),  # no foreign user
    ],
    ids=["exit2-key", "exit2-option", "exit3", "exit4", "exit6"],
)
def test_a_failed_run_never_leaves_the_earlier_verdict_standing(
    green_reports: Path, tmp_path: Path, args: tuple[str, ...], env: dict[str, str], exit_code: int
) -> None:
    reports = _stale_copy(green_reports, tmp_path)
    if TRIMMED in args:
        args = tuple(str(_trimmed_cassettes(tmp_path)) if a == TRIMMED else a for a in args)
    args = tuple(option for a in args for option in (small_run(tmp_path) if a == SMALL else (a,)))
    result = conformance("run", *args, "--report-dir", str(reports), "-q", env=env, cwd=tmp_path)
    assert result.returncode == exit_code, result.stdout + result.stderr
    _assert_no_earlier_verdict(reports, exit_code)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_or_killed_run_leaves_no_earlier_verdict(
    green_reports: Path, tmp_path: Path, signum: int
) -> None:
    _stale_copy(green_reports, tmp_path)
    with StallingServer("slow") as server, cli_process(server.url, tmp_path, api_key=canary_key()) as process:
        wait_for(server.stalled, process, "a request reaching the server")
        returncode, output = end(process, signum)
    assert returncode in (130, -signal.SIGKILL), output[-2000:]
    _assert_no_earlier_verdict(tmp_path / "report", 130)  # SIGKILL: the in-progress summary written first


def test_a_second_run_into_a_locked_directory_is_refused_naming_the_holder(
    green_reports: Path, tmp_path: Path
) -> None:
    reports = _stale_copy(green_reports, tmp_path)
    with locked(reports):
        result = conformance("run", "--target", "reference", "--report-dir", str(reports), "-q", cwd=tmp_path)
    assert result.returncode == 2
    assert f"is in use by pid {os.getpid()}" in result.stderr and "Traceback" not in result.stderr
    assert summary(reports)["verdict"] == "conformant"  # the holder's directory is left untouched
    assert not (reports / PREVIOUS_NAME).exists()


def test_files_the_user_keeps_beside_the_reports_are_left_alone(green_reports: Path, tmp_path: Path) -> None:
    reports = _stale_copy(green_reports, tmp_path)
    (reports / "notes.txt").write_text("mine", encoding="utf-8")
    result = conformance("run", "--target", "http://127.0.0.1:9", "--report-dir", str(reports), cwd=tmp_path)
    assert result.returncode == 2
    assert (reports / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_a_previous_directory_not_made_by_the_suite_is_never_deleted(
    green_reports: Path, tmp_path: Path
) -> None:
    reports = _stale_copy(green_reports, tmp_path)
    (reports / PREVIOUS_NAME).mkdir()
    (reports / PREVIOUS_NAME / "keep.txt").write_text("mine", encoding="utf-8")
    result = conformance("run", "--target", "reference", "--report-dir", str(reports), cwd=tmp_path)
    assert result.returncode == 2
    assert "was not made by this suite" in result.stderr
    assert (reports / PREVIOUS_NAME / "keep.txt").is_file()
    assert sorted(p.name for p in (reports / PREVIOUS_NAME).iterdir()) == ["keep.txt"]
    _assert_no_earlier_verdict(reports, 2, kept_in=".previous.kept-*")  # and named in the error
    assert str(next(reports.glob(".previous.kept-*"))) in result.stderr


@pytest.mark.parametrize("kind", ["file", "symlink", "directory"])
def test_an_entry_named_like_the_suites_staging_is_left_alone(
    green_reports: Path, tmp_path: Path, kind: str
) -> None:
    reports = _stale_copy(green_reports, tmp_path)
    entry = reports / f".{PREVIOUS_NAME}.staging"
    if kind == "file":
        entry.write_text("mine", encoding="utf-8")
    elif kind == "symlink":
        entry.symlink_to(tmp_path)
    else:
        entry.mkdir()
    result = conformance(
        "run", "--target", "http://127.0.0.1:9", "--user-id", "1", "--report-dir", str(reports), env=KEY,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    _assert_no_earlier_verdict(reports, 3)
    assert os.path.lexists(entry) and entry.is_symlink() == (kind == "symlink")


@pytest.mark.parametrize(
    ("args", "setup"),
    [
        (("-k", "("), None),
        (("--config", "{tmp}/bad.toml"), "bad.toml"),
        (("--target", "reference"), "conformance.toml"),  # found in the working directory
    ],
    ids=["k-syntax", "config-option", "config-found"],
)
def test_a_run_refused_for_its_own_options_leaves_no_earlier_verdict(
    green_reports: Path, tmp_path: Path, args: tuple[str, ...], setup: str | None
) -> None:
    reports = _stale_copy(green_reports, tmp_path)
    if setup is not None:
        (tmp_path / setup).write_text("this is [not toml\n", encoding="utf-8")
    args = tuple(a.replace("{tmp}", str(tmp_path)) for a in args)
    result = conformance("run", "--target", "reference", *args, "--report-dir", str(reports), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    _assert_no_earlier_verdict(reports, 2)
