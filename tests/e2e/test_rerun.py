"""`conformance rerun`: only the failing cases of a summary, sent again, classified."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.reference import REFERENCE_API_KEY
from tests.support.cli import conformance, small_profile

pytestmark = pytest.mark.e2e

FAULT = "token_expire_59_accepted"


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


@pytest.mark.xdist_group("rerun")  # one worker: these share the failing run
def test_a_fixed_target_makes_every_failure_fixed(failing_summary: Path) -> None:
    done = conformance("rerun", str(failing_summary), "--target", "reference", "-n", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = done.stdout.splitlines()[1:-1]
    assert verdicts and all(line.startswith("fixed        0/1  ") for line in verdicts)
    assert done.stdout.splitlines()[-1].endswith(f", {len(verdicts)} fixed")


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


@dataclass(frozen=True)
class Family:
    """A probe family's fault: the test that finds it, a requirement it fails, how a rerun sees it."""

    test: str
    requirement: str
    times: int = 2
    steady: bool = True  # every resend fails (False: one connection in three, so some of them)
    fixed_exit: int = 0  # against the conforming reference
    fixed_as: str = "fixed"


# One fault a probe family, left in place: each failure it caused is sent again exactly as it was sent
# (method, path variant, form in the query or the body, spelling, added headers, raw probe, connection,
# the cookies a grant set) and still fails; curl carries the same request, or says why it cannot.
FAMILIES = {
    "get_issues_token": Family("test_other_methods_and_paths_issue_no_token", "LT-HTTP-POST-ONLY"),
    "trailing_slash_skips_key_check": Family(
        "test_other_methods_and_paths_issue_no_token", "LT-HTTP-PATH-VARIANT"
    ),
    "api_key_last_character_ignored": Family("test_api_key_probes_refused", "LT-AUTH-KEY-INVALID"),
    "token_expire_59_accepted": Family("test_token_expire_boundaries", "LT-INPUT-EXPIRE-RANGE"),
    "grants_unless_stock_identity": Family(
        "test_refusals_do_not_depend_on_the_client_identity", "LT-SEC-IDENTITY-BLIND"
    ),
    # spellings: a JSON body, a Content-Type with a charset or in another case
    "json_body_skips_scope": Family(
        "test_forbidden_requests_refused_in_every_spelling", "LT-AUTH-USER-SCOPE"
    ),
    "content_type_exact": Family("test_equivalent_spellings_honoured_alike", "LT-INPUT-EQUIVALENT"),
    # added headers: judged against the same request sent plainly, which the rerun sends first
    "forwarded_for_loopback_skips_key": Family("test_client_headers_decide_nothing", "LT-SEC-CLIENT-BLIND"),
    # a raw-message probe (two Content-Length values) and a 405 without Allow
    "conflicting_lengths_first_wins": Family("test_raw_http_messages", "LT-HTTP-MSG-FRAMING"),
    "no_allow_on_405": Family("test_other_methods_and_paths_issue_no_token", "LT-HTTP-MSG-ALLOW"),
    # fresh connections: three in a row meet the faulty one at least once
    "every_third_connection_unscoped": Family(
        "test_security_probes_on_many_connections", "LT-AUTH-USER-SCOPE", times=3, steady=False
    ),
    # state: the cookies a grant set, obtained again (the evidence holds a stand-in); the conforming
    # reference sets none, so the request cannot be sent as it was: unconfirmed, never fixed
    "session_cookie_stands_in_for_key": Family(
        "test_cookies_never_stand_in_for_the_key", "LT-AUTH-KEY-INVALID", fixed_exit=6, fixed_as="unconfirmed"
    ),
}


@pytest.mark.parametrize("fault", sorted(FAMILIES))
def test_a_fault_left_in_place_stays_reproducible_in_every_probe_family(
    fault: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """conformance run --fault F -k TEST; conformance rerun summary.json --fault F → still failing, exit 1;
    conformance rerun summary.json (no fault) → fixed, exit 0 (unconfirmed, exit 6, when it cannot say)."""
    from conformance.frontends.cli import main

    family = FAMILIES[fault]
    reports = tmp_path / "r"
    ran = main(["run", "--target", "reference", "--fault", fault, "--seed", "1", "--max-examples", "5",
                "-k", family.test, "--report-dir", str(reports), "-q"])  # fmt: skip
    assert ran in (1, 6)  # non-conformant, or incomplete with the fault's warning (-k runs one test)
    text = (reports / "summary.json").read_text(encoding="utf-8")
    summary = json.loads(text)
    failures = [f for r in summary["requirements"] if r["id"] == family.requirement for f in r["failures"]]
    assert failures
    for failure in failures:
        request, curl = failure["request"], failure["reproduce"]["curl"]
        if request.get("raw"):
            assert curl.startswith(f"# curl cannot send the raw HTTP/1.1 probe {request['raw']} ("), curl
            continue
        method = request["method"]
        assert (f"-X {method} " in curl) or (method == "HEAD" and " -I " in curl)
        assert ("-G" in curl.split()) == bool(request.get("form_in_query"))
        assert "#" not in curl.split()  # every spelling sent as it was written, not named in a comment
        for name, _ in request.get("headers", ()):
            assert f"-H '{name}: " in curl
    capsys.readouterr()
    again = main(
        ["rerun", str(reports / "summary.json"), "--target", "reference", "--fault", fault,
         "-n", str(family.times)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert again == 1, out
    verdicts = [line for line in out.splitlines()[1:-1] if f"  {family.requirement}  " in line]
    still = (
        (f"reproducible {family.times}/{family.times}  ",)
        if family.steady
        else ("reproducible", "intermittent")
    )
    assert verdicts and all(line.startswith(still) for line in verdicts), out
    fixed = main(["rerun", str(reports / "summary.json"), "--target", "reference", "-n", "1"])
    out_fixed = capsys.readouterr().out
    assert fixed == family.fixed_exit, out_fixed
    assert all(line.startswith(f"{family.fixed_as:<13}0/1  ") for line in out_fixed.splitlines()[1:-1]), (
        out_fixed
    )
    assert REFERENCE_API_KEY not in text + out + out_fixed


@pytest.mark.xdist_group("rerun")  # one worker: these share the failing run
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("raw", "smuggle"),
        ("spelling", "yaml"),
        ("path_variant", "../admin"),
        ("method", "GET /x HTTP/1.1\r\n"),
    ],
)
def test_a_request_naming_what_the_suite_does_not_send_is_one_line_exit_2(
    failing_summary: Path, tmp_path: Path, field: str, value: str
) -> None:
    """A summary.json is anyone's file: an unknown probe, spelling, path variant or method is refused
    before anything is sent, never sent as something else."""
    summary = json.loads(failing_summary.read_text(encoding="utf-8"))
    failed = next(r for r in summary["requirements"] if r["failures"])
    failed["failures"][0]["request"][field] = value
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary), encoding="utf-8")
    done = conformance("rerun", str(path), "--target", "reference")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("conformance: error: ") and f"unknown {field} " in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.xdist_group("rerun")  # one worker: these share the failing run
def test_a_request_sent_after_an_error_is_sent_again_after_the_same_error(
    failing_summary: Path, tmp_path: Path
) -> None:
    """Evidence marks a request sent after an error left its connection open; the rerun sends the plain
    request, the error, then it, and calls it fixed only when the error left the connection open again."""
    summary = json.loads(failing_summary.read_text(encoding="utf-8"))
    for requirement in summary["requirements"]:
        for failure in requirement["failures"]:
            failure["request"]["after_error"] = True
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary), encoding="utf-8")
    still = conformance("rerun", str(path), "--target", "reference", "--fault", FAULT, "-n", "1")
    assert still.returncode == 1, still.stdout + still.stderr
    fixed = conformance("rerun", str(path), "--target", "reference", "-n", "1")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr  # the reference keeps it open after a 400
    assert all(line.startswith("fixed        0/1  ") for line in fixed.stdout.splitlines()[1:-1])
