"""`conformance diff` end to end: against the reference and another deployment; exit 3 and 4."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from conformance.cassettes.format import dump_cassette, load_cassette
from conformance.core.files import write_atomic
from conformance.reference import REFERENCE_API_KEY, ReferenceServer
from conformance.reference.behaviour import Behaviour, Rejection
from tests.support import ROOT
from tests.support.cli import conformance, small_profile, small_run

pytestmark = pytest.mark.e2e


def test_diff_against_the_reference_without_a_fault_is_no_drift() -> None:
    result = conformance("diff", "--target", "reference")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no drift" in result.stdout


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


def test_an_incomplete_replay_is_exit_4(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "cassettes", tmp_path / "c")
    path = tmp_path / "c" / "test_grant.py__test_valid_request_is_granted.yaml"
    cassette = load_cassette(path)
    write_atomic(path, dump_cassette(cassette.name, cassette.header, []))
    result = conformance("diff", "--target", "reference", "--cassettes", str(tmp_path / "c"))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "recorded side" in result.stderr and path.name in result.stderr
