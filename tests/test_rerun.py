"""`conformance rerun`: only the failing cases of a summary, sent again, classified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli.rerun import Target, Verdict
from conformance.model import Case, Expect
from tests.cli_support import conformance, small_profile

FAULT = "token_expire_59_accepted"


@pytest.mark.parametrize(
    ("failed", "classification"),
    [(3, "reproducible"), (1, "intermittent"), (2, "intermittent"), (0, "fixed")],
)
def test_classification(failed: int, classification: str) -> None:
    case = Case(label="c", form=(), expect=Expect.REJECT, requirement="LT-INPUT-EXPIRE-RANGE")
    target = Target("LT-INPUT-EXPIRE-RANGE", "input_outcome", case)
    assert Verdict(target, failed, 3).classification == classification


@pytest.fixture(scope="module")
def failing_summary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The summary.json of a run against a reference that accepts token_expire=59."""
    reports = tmp_path_factory.mktemp("failing") / "r"
    done = conformance(
        "run", "--target", "reference", "--fault", FAULT, "--max-examples", "10", "--seed", "5",
        *small_profile(reports.parent), "--report-dir", str(reports), "-q",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    return reports / "summary.json"


@pytest.mark.e2e
@pytest.mark.xdist_group("rerun")  # one worker: these share the failing run
def test_the_same_fault_makes_every_failure_reproducible(failing_summary: Path) -> None:
    before = failing_summary.read_bytes()
    rerun = ("rerun", str(failing_summary), "--target", "reference", "--fault", FAULT, "--times", "2")
    done = conformance(*rerun)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    summary = json.loads(before)
    failed = {r["id"] for r in summary["requirements"] if r["outcome"] == "failed"}
    assert lines[0].startswith("rerun: ") and ", 2x each, against http://127.0.0.1:" in lines[0]
    verdicts = lines[1:-1]
    assert verdicts and all(line.startswith("reproducible 2/2  ") for line in verdicts)
    assert {line.split()[2] for line in verdicts} == failed
    assert "LT-INPUT-EXPIRE-RANGE  input_outcome  token_expire='59'" in done.stdout
    assert lines[-1] == f"{len(verdicts)} reproducible, 0 intermittent, 0 fixed"
    assert failing_summary.read_bytes() == before  # the summary it reads is never rewritten


@pytest.mark.e2e
@pytest.mark.xdist_group("rerun")  # one worker: these share the failing run
def test_a_fixed_target_makes_every_failure_fixed(failing_summary: Path) -> None:
    done = conformance("rerun", str(failing_summary), "--target", "reference", "-n", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = done.stdout.splitlines()[1:-1]
    assert verdicts and all(line.startswith("fixed        0/1  ") for line in verdicts)
    assert done.stdout.splitlines()[-1].endswith(f", {len(verdicts)} fixed")


@pytest.mark.e2e
@pytest.mark.xdist_group("rerun")  # one worker: these share the failing run
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rerun", "SUMMARY"], "conformance: error: rerun needs --target"),
        (
            ["rerun", "nowhere.json", "--target", "reference"],
            "conformance: error: cannot read summary nowhere.json",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(failing_summary: Path, args: list[str], message: str) -> None:
    done = conformance(*[str(failing_summary) if a == "SUMMARY" else a for a in args])
    assert done.returncode == 2
    assert done.stderr.startswith(message)
    assert len(done.stderr.strip().splitlines()) == 1
