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
    assert Verdict(target, failed, 3, passed=3 - failed).classification == classification


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


@pytest.mark.e2e
@pytest.mark.xdist_group("rerun")  # one worker: these share the failing run
def test_a_failure_naming_an_unknown_raw_probe_is_one_line_exit_2(
    failing_summary: Path, tmp_path: Path
) -> None:
    document = json.loads(failing_summary.read_text(encoding="utf-8"))
    failure = next(f for r in document["requirements"] for f in r["failures"])
    failure["request"]["raw"] = "no-such-probe"
    edited = tmp_path / "summary.json"
    edited.write_text(json.dumps(document), encoding="utf-8")
    done = conformance("rerun", str(edited), "--target", "reference")
    assert done.returncode == 2
    assert done.stderr.startswith(f"conformance: error: {edited}: a failure of ")
    assert "names no known raw probe ('no-such-probe')" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("failed", "passed", "classification"),
    [(0, 3, "fixed"), (0, 2, "unconfirmed"), (0, 0, "unconfirmed"), (1, 2, "intermittent")],
)
def test_fixed_only_when_the_same_check_passed_every_time(
    failed: int, passed: int, classification: str
) -> None:
    case = Case(label="c", form=(), expect=Expect.REJECT, requirement="LT-INPUT-EXPIRE-RANGE")
    target = Target("LT-INPUT-EXPIRE-RANGE", "input_outcome", case)
    assert Verdict(target, failed, 3, passed).classification == classification


# One fault a probe family, left in place: each failure it caused is sent again exactly as it was sent
# (method, path variant, form in the query or the body) and is reproducible; curl carries the same request.
FAMILIES = {
    "get_issues_token": ("test_other_methods_and_paths_issue_no_token", "LT-HTTP-POST-ONLY"),
    "trailing_slash_skips_key_check": ("test_other_methods_and_paths_issue_no_token", "LT-HTTP-PATH-VARIANT"),
    "api_key_last_character_ignored": ("test_api_key_probes_refused", "LT-AUTH-KEY-INVALID"),
    "conflicting_lengths_first_wins": ("test_raw_http_messages", "LT-HTTP-MSG-FRAMING"),
    "token_expire_59_accepted": ("test_token_expire_boundaries", "LT-INPUT-EXPIRE-RANGE"),
    "grants_unless_stock_identity": (
        "test_refusals_do_not_depend_on_the_client_identity",
        "LT-SEC-IDENTITY-BLIND",
    ),
}


@pytest.mark.e2e
@pytest.mark.parametrize("fault", sorted(FAMILIES))
def test_a_fault_left_in_place_stays_reproducible_in_every_probe_family(
    fault: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """conformance run --fault F -k TEST; conformance rerun summary.json --fault F → reproducible, exit 1;
    conformance rerun summary.json (no fault) → fixed, exit 0."""
    from conformance.cli import main

    test, requirement = FAMILIES[fault]
    reports = tmp_path / "r"
    ran = main(["run", "--target", "reference", "--fault", fault, "--seed", "1", "--max-examples", "5",
                "-k", test, "--report-dir", str(reports), "-q"])  # fmt: skip
    assert ran == 1
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    failures = [f for r in summary["requirements"] if r["id"] == requirement for f in r["failures"]]
    assert failures
    for failure in failures:
        request, curl = failure["request"], failure["reproduce"]["curl"]
        method = request["method"]
        assert (f"-X {method} " in curl) or (method == "HEAD" and " -I " in curl)
        assert ("-G" in curl.split()) == bool(request.get("form_in_query"))
        # A raw probe (a message curl does not send) says so: only conformance rerun sends it again.
        assert (f"# sent as the raw probe {request.get('raw')}:" in curl) == ("raw" in request)
    capsys.readouterr()
    again = main(
        ["rerun", str(reports / "summary.json"), "--target", "reference", "--fault", fault, "-n", "2"]
    )
    out = capsys.readouterr().out
    assert again == 1, out
    verdicts = [line for line in out.splitlines()[1:-1] if f"  {requirement}  " in line]
    assert verdicts and all(line.startswith("reproducible 2/2  ") for line in verdicts), out
    fixed = main(["rerun", str(reports / "summary.json"), "--target", "reference", "-n", "1"])
    out = capsys.readouterr().out
    assert fixed == 0, out
    assert all(line.startswith("fixed        0/1  ") for line in out.splitlines()[1:-1]), out
