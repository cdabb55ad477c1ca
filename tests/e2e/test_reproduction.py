"""Reproduction lines from real runs: each printed curl line reproduces its failure; the re-record hint."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conformance.cassettes.format import dump_cassette, load_cassette
from conformance.core.files import write_atomic
from conformance.reference import (
    REFERENCE_API_KEY,
    REFERENCE_FOREIGN_USER_ID,
    REFERENCE_USER_ID,
    ReferenceServer,
)
from tests.support.cli import conformance, small_profile, small_run

pytestmark = pytest.mark.e2e


def test_each_printed_line_reproduces_the_status_of_its_failure(tmp_path: Path, curl: str) -> None:
    with ReferenceServer(fault="rejection_http_200") as reference:
        done = conformance(
            "run", "--target", reference.url, "--user-id", str(REFERENCE_USER_ID),
            "--foreign-user-id", str(REFERENCE_FOREIGN_USER_ID), "--max-examples", "10", "--seed", "3",
            *small_profile(tmp_path), "--report-dir", str(tmp_path / "r"), "--quiet",
            # its <qrcode> URLs name a host that does not exist: only the rejection fault is wanted here
            "--not-applicable", "LT-QRCODE-IMAGE=the reference serves no image at qr.reference.invalid",
            env={"CONFORMANCE_API_KEY": REFERENCE_API_KEY},
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
        failures = [f for r in summary["requirements"] for f in r["failures"]]
        statuses = {f["response"]["status"] for f in failures}
        assert len(failures) >= 10 and statuses == {200}, statuses
        for failure in failures:
            line = failure["reproduce"]["curl"].replace("curl ", f"{curl} ", 1)
            replayed = subprocess.run(
                ["bash", "-c", line],
                env={"CONFORMANCE_API_KEY": REFERENCE_API_KEY},
                capture_output=True,
                timeout=30,
                check=False,
            )
            status_line = replayed.stdout.split(b"\r\n", 1)[0].decode()
            assert status_line.split()[1] == str(failure["response"]["status"]), (line, status_line)
            assert b"<status>4" in replayed.stdout  # the same fault: a rejection body under HTTP 200


def test_the_console_prints_each_curl_line_unwrapped(tmp_path: Path) -> None:
    done = conformance(
        "run", "--target", "reference", "--fault", "token_expire_unicode_digits_accepted",
        *small_run(tmp_path), "--report-dir", str(tmp_path / "r"),
        env={"COLUMNS": "40"},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    printed = [line.split("reproduce: ", 1)[1] for line in done.stdout.splitlines() if "reproduce: " in line]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    curls = {f["reproduce"]["curl"] for r in summary["requirements"] for f in r["failures"]}
    assert printed
    assert max(len(line) for line in printed) > 160  # longer than the console is wide
    assert all(line in curls for line in printed)


def test_the_rerecord_hint_carries_the_recordings_cassettes_and_users(tmp_path: Path) -> None:
    cassettes = tmp_path / "my cassettes"
    recorded = conformance(
        "run", "--target", "reference", "--record", "--cassettes", str(cassettes), *small_run(tmp_path),
        "--seed", "1", "--foreign-user-id", str(REFERENCE_FOREIGN_USER_ID),
        "--report-dir", str(tmp_path / "rec"),
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    # A request the cassette does not hold: the last interaction of one cassette removed (digest kept).
    path = sorted(cassettes.glob("*.yaml"))[0]
    cassette = load_cassette(path)
    write_atomic(path, dump_cassette(cassette.name, cassette.header, list(cassette.interactions[:-1])))
    replayed = conformance(
        "run", "--cassettes", str(cassettes), *small_profile(tmp_path), "--report-dir", str(tmp_path / "r"),
        offline=True,
    )  # fmt: skip
    assert replayed.returncode == 4, replayed.stderr
    error = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))["error"]
    hint = error.split("re-record with: ", 1)[1]
    assert hint.startswith("conformance run --target reference --record")
    assert (
        f" --record --cassettes '{cassettes}' --user-id {REFERENCE_USER_ID} "
        f"--foreign-user-id {REFERENCE_FOREIGN_USER_ID}"
    ) in hint
