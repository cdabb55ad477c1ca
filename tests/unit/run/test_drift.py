"""`conformance diff`: recorded cassettes against a live target; signal first, errors as errors."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from conformance.cassettes.format import dump_cassette, load_cassette
from conformance.core.files import write_atomic
from conformance.frontends.cli.diff import DIFF_EXIT_CODES
from conformance.reference import REFERENCE_API_KEY, ReferenceServer
from conformance.reference.behaviour import Behaviour, Rejection
from conformance.run.drift import Change, compare, exchange_changes, requirement_changes
from conformance.run.engine import ExchangeNote
from tests.support import ROOT
from tests.support.cli import conformance, small_profile, small_run


def note(
    case: str, outcome: str = "HTTP 200", valid: bool | None = True, failed: tuple[str, ...] = ()
) -> ExchangeNote:
    return ExchangeNote("t.py::test_x", case, outcome, valid, failed)


def summary(**outcomes: str) -> dict[str, str]:
    return {rid.replace("_", "-"): o for rid, o in outcomes.items()}


def test_exchange_changes_name_status_schema_and_checks_of_requests_sent_on_both_sides() -> None:
    recorded = [note("a"), note("b"), note("b"), note("c")]
    live = [note("a", "HTTP 400", False, ("input_outcome",)), note("b"), note("b", failed=("token_unique",))]
    assert [str(c) for c in exchange_changes(recorded, live)] == [
        "test_x / a: HTTP 200 -> HTTP 400",
        "test_x / a: schema-valid -> schema-invalid",
        "test_x / a: input_outcome passed -> input_outcome fails",
        "test_x / b (occurrence 2): token_unique passed -> token_unique fails",
    ]


def test_requirement_changes() -> None:
    assert requirement_changes(summary(A="passed", B="failed"), summary(A="failed", B="failed")) == [
        Change("A", "passed", "failed")
    ]


def test_requirements_first_then_requests_in_the_order_sent_then_one_line_for_the_unsent() -> None:
    recorded = [note(f"valid request #{n}") for n in range(1, 13)]
    live = [note(f"valid request #{n}", failed=("qrcode_url",)) for n in range(1, 4)]
    drift = compare(summary(LT_QRCODE_URL="passed"), summary(LT_QRCODE_URL="failed"), recorded, live)
    lines = drift.lines(live_stopped="stopped early: 3 transport errors in a row")
    assert lines == [
        "requirement outcomes changed (1):",
        "  LT-QRCODE-URL: passed -> failed",
        "requests answered differently (3, in the order sent):",
        "  test_x / valid request #1: qrcode_url passed -> qrcode_url fails",
        "  test_x / valid request #2: qrcode_url passed -> qrcode_url fails",
        "  test_x / valid request #3: qrcode_url passed -> qrcode_url fails",
        "9 recorded request(s) not sent live: stopped early: 3 transport errors in a row",
    ]
    assert drift.drifted


def test_nothing_changed_is_no_drift() -> None:
    notes = [note("a"), note("b")]
    drift = compare(summary(A="passed"), summary(A="passed"), notes, list(notes))
    assert not drift.drifted and drift.lines() == []


def test_diff_exit_codes_are_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, meaning in DIFF_EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in readme


@pytest.mark.parametrize("option", ["--record", "--report-dir=x", "--target-version=1", "--seed=1"])
def test_options_that_do_not_apply_to_diff_are_not_offered(option: str) -> None:
    result = conformance("diff", "--target", "reference", option)
    assert result.returncode == 2
    assert "No such option" in result.stderr


@pytest.mark.e2e
def test_diff_against_the_reference_without_a_fault_is_no_drift() -> None:
    result = conformance("diff", "--target", "reference")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no drift" in result.stdout


@pytest.mark.e2e
def test_diff_against_a_fault_lists_the_requirement_first_and_no_unsent_noise(tmp_path: Path) -> None:
    cassettes = str(tmp_path / "c")  # a small recording: the diff replays it and runs its like live
    recorded = conformance(
        "run", "--target", "reference", "--record", "--cassettes", cassettes, *small_run(tmp_path),
        "--report-dir", str(tmp_path / "rec"),
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    result = conformance(
        "diff", "--target", "reference", "--fault", "qrcode_http", "--cassettes", cassettes,
        *small_profile(tmp_path),
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[1:3] == ["requirement outcomes changed (1):", "  LT-QRCODE-URL: passed -> failed"]
    assert lines[3].startswith("requests answered differently")
    assert "qrcode_url passed -> qrcode_url fails" in lines[4]
    assert "not sent" not in result.stdout


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--user-id", "999"), "the recording has a foreign user (54321); name the live target's with"),
        (("--unknown-user-id", "7", "--unknown-user-id", "8"), "give as many --unknown-user-id"),
    ],
)
def test_users_the_recording_cannot_be_mapped_onto_are_refused_up_front(
    args: tuple[str, ...], message: str
) -> None:
    result = conformance("diff", "--target", "reference", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "live side" in line and message in line


class OtherDeployment(Behaviour):
    """The reference's contract with other users: 1001 in the key's scope, 2002 another key's."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        super().authenticate(api_key)
        return frozenset({1001}) if api_key == REFERENCE_API_KEY else frozenset({2002})

    def authorize(self, user_id: int, scope: frozenset[int]) -> None:
        if user_id not in (1001, 2002):
            raise Rejection(404, "the user does not exist")
        if user_id not in scope:
            raise Rejection(403, "the api_key has no access to this user")


@pytest.mark.e2e
def test_diff_against_another_deployment_maps_the_recording_onto_its_users() -> None:
    """conformance diff --target URL --user-id 1001 --foreign-user-id 2002 (the bundled recording was made
    with 12345 and 54321, who do not exist there) → no drift: the recorded inputs name the live users."""
    with ReferenceServer(behaviour=OtherDeployment) as server:
        result = conformance(
            "diff", "--target", server.url, "--user-id", "1001", "--foreign-user-id", "2002",
            env={"CONFORMANCE_API_KEY": REFERENCE_API_KEY},
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no drift" in result.stdout


@pytest.mark.e2e
def test_an_unreachable_target_is_exit_3() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = conformance(
        "diff",
        "--target",
        f"http://127.0.0.1:{port}",
        "--user-id",
        "12345",
        env={"CONFORMANCE_API_KEY": "k" * 32},
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "live side" in result.stderr and "unreachable" in result.stderr


@pytest.mark.e2e
def test_an_incomplete_replay_is_exit_4(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "cassettes", tmp_path / "c")
    path = tmp_path / "c" / "test_grant.py__test_valid_request_is_granted.yaml"
    cassette = load_cassette(path)
    write_atomic(path, dump_cassette(cassette.name, cassette.header, []))
    result = conformance("diff", "--target", "reference", "--cassettes", str(tmp_path / "c"))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "recorded side" in result.stderr and path.name in result.stderr
