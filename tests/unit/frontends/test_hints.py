"""Every hint works from where the user stands: replay hints only for a run with cassettes (its own),
otherwise the rerun and curl lines; a replay mismatch names every option the fix needs (issue 22, item 4)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from conformance.frontends.cli import main

FAULT = "token_expire_59_accepted"
TEST = "test_token_expire_boundaries"
QUICK = ("--seed", "1", "--max-examples", "5", "-k", TEST)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def failures(report_dir: Path) -> list[dict[str, object]]:
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    return [f for r in summary["requirements"] for f in r["failures"]]


def test_a_live_run_suggests_rerun_not_a_replay_of_cassettes_it_never_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """conformance run --target reference --fault F → no replay hint; the printed rerun line works as is."""
    reports = tmp_path / "r"
    code, out, _ = cli(
        capsys, "run", "--target", "reference", "--fault", FAULT, *QUICK, "--report-dir", str(reports)
    )
    assert code == 1
    assert failures(reports) and all(f["reproduce"]["replay"] == "" for f in failures(reports))  # type: ignore[index]
    assert "--cassettes" not in out and "replay:" not in out
    line = next(line for line in out.splitlines() if line.startswith("send the failures again: "))
    command = shlex.split(line.removeprefix("send the failures again: "))
    assert command[:4] == ["conformance", "rerun", str(reports / "summary.json"), "--target"]
    assert "--user-id" in command and "--fault" in command
    rerun_code, rerun_out, rerun_err = cli(capsys, *command[1:])
    assert rerun_code == 1, rerun_out + rerun_err
    assert "reproducible" in rerun_out


def test_a_recording_run_names_its_own_cassettes_and_the_replay_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """conformance run --target reference --fault F --record --cassettes C → replay: conformance run
    --cassettes C -k TEST, which replays the failure from anywhere."""
    reports, cassettes = tmp_path / "r", tmp_path / "c"
    code, out, _ = cli(capsys, "run", "--target", "reference", "--fault", FAULT, *QUICK, "--record",
                       "--cassettes", str(cassettes), "--report-dir", str(reports))  # fmt: skip
    assert code == 1
    hint = f"conformance run --cassettes {cassettes} -k {TEST}"
    assert all(f["reproduce"]["replay"] == hint for f in failures(reports))  # type: ignore[index]
    assert f"replay: {hint}" in out
    replayed, replay_out, replay_err = cli(
        capsys, *shlex.split(hint)[1:], "--report-dir", str(tmp_path / "r2")
    )
    assert replayed == 1, replay_out + replay_err


def test_a_replay_mismatch_names_every_option_the_fix_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """conformance run --cassettes C --user-id 999 (recorded with 12345) → exit 2; both ways out are
    whole commands: the replay with --cassettes C, the re-record with --cassettes C and the users."""
    cassettes = tmp_path / "c"
    recorded = cli(capsys, "run", "--target", "reference", *QUICK, "--record", "--cassettes", str(cassettes),
                   "--report-dir", str(tmp_path / "r"))  # fmt: skip
    assert recorded[0] == 6
    code, _, err = cli(capsys, "run", "--cassettes", str(cassettes), "--user-id", "999",
                       "--report-dir", str(tmp_path / "r2"))  # fmt: skip
    assert code == 2
    line = err.strip()
    assert "\n" not in line
    assert f"conformance run --cassettes {cassettes} takes the recorded values" in line
    assert f"conformance run --target reference --record --cassettes {cassettes} --user-id 999" in line
    assert "--foreign-user-id 54321" in line and "--unknown-user-id" in line
