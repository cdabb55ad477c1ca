"""The CLI's contract with its users: exit codes, one-line errors, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conformance.reference import REFERENCE_API_KEY
from tests.support.cli import conformance, small_run, summary

pytestmark = pytest.mark.e2e
CANARY = "CANARY-KEY-3e8d1f0a9b7c"


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("conformance: error: ")
    return lines[0]


def test_unknown_option(tmp_path: Path) -> None:
    result = conformance("run", "--bogus", cwd=tmp_path)
    assert result.returncode == 2
    assert "--bogus" in one_line_error(result)
    assert "conformance run --help" in result.stderr


def test_missing_key_variable(tmp_path: Path) -> None:
    result = conformance("run", "--target", "http://127.0.0.1:9", "--user-id", "1", cwd=tmp_path)
    assert result.returncode == 2
    line = one_line_error(result)
    assert "CONFORMANCE_API_KEY is not set" in line and "--api-key-env" in line


def test_key_is_never_taken_on_the_command_line(tmp_path: Path) -> None:
    result = conformance("run", "--api-key", CANARY, cwd=tmp_path)
    assert result.returncode == 2
    assert CANARY not in result.stderr + result.stdout  # not even echoed back in the error


def test_missing_user(tmp_path: Path) -> None:
    result = conformance(
        "run", "--target", "http://127.0.0.1:9", env={"CONFORMANCE_API_KEY": CANARY}, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "--user-id is required" in one_line_error(result)


def test_unreachable_target(tmp_path: Path) -> None:
    result = conformance(
        "run",
        "--target",
        "http://127.0.0.1:9",
        "--user-id",
        "1",
        env={"CONFORMANCE_API_KEY": CANARY},
        cwd=tmp_path,
    )
    assert result.returncode == 3
    assert "target unreachable: cannot connect to 127.0.0.1:9" in one_line_error(result)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("ftp://example.com", "invalid target URL"),
        ("not a url", "invalid target URL"),
        ("http://staging.example.com", "--allow-http"),
    ],
)
def test_invalid_or_refused_target(tmp_path: Path, target: str, message: str) -> None:
    result = conformance(
        "run", "--target", target, "--user-id", "1", env={"CONFORMANCE_API_KEY": CANARY}, cwd=tmp_path
    )
    assert result.returncode == 2
    assert message in one_line_error(result)


def test_unknown_fault(tmp_path: Path) -> None:
    result = conformance("run", "--target", "reference", "--fault", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown fault 'nope'" in one_line_error(result)


def test_record_needs_a_target(tmp_path: Path) -> None:
    result = conformance("run", "--record", cwd=tmp_path)
    assert result.returncode == 2
    assert "--record needs --target" in one_line_error(result)


def test_missing_cassettes(tmp_path: Path) -> None:
    result = conformance("run", "--cassettes", str(tmp_path / "none"), cwd=tmp_path)
    assert result.returncode == 2
    assert str(tmp_path / "none") in one_line_error(result)


def test_bad_profile(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text("expire_reading = 'sideways'\n")
    result = conformance("run", "--target", "reference", "--profile", str(profile), cwd=tmp_path)
    assert result.returncode == 2
    assert "expire_reading" in one_line_error(result)


def test_conformant_reference_run(tmp_path: Path) -> None:
    result = conformance(
        "run", "--target", "reference", "--report-dir", str(tmp_path / "r"), "--seed", "5", cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict: conformant" in result.stdout
    assert "seed 5" in result.stdout
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["verdict"] == "conformant" and summary["complete"] and summary["exit_code"] == 0
    assert summary["requests"] >= 200  # a default run sends a few hundred requests
    outcomes = {r["id"]: r["outcome"] for r in summary["requirements"]}
    assert set(outcomes.values()) == {"passed"}  # LT-QRCODE-IMAGE too: a live run judges the images
    assert {"junit.xml", "signoff.md", "signoff.html", "MANIFEST.sha256"} <= {
        p.name for p in (tmp_path / "r").iterdir()
    }


@pytest.mark.parametrize(
    ("fault", "requirement"),
    [
        ("expire_one_hour_late", "LT-EXPIRE-CONSISTENT"),
        ("token_expire_59_accepted", "LT-INPUT-EXPIRE-RANGE"),
        ("qrcode_missing", "LT-QRCODE-URL"),
    ],
)
def test_shipped_faults_fail_their_requirement(tmp_path: Path, fault: str, requirement: str) -> None:
    result = conformance(
        "run",
        "--target",
        "reference",
        "--fault",
        fault,
        "--report-dir",
        str(tmp_path / "r"),
        *small_run(tmp_path),
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    failed = {r["id"]: r for r in summary["requirements"] if r["outcome"] == "failed"}
    assert requirement in failed
    failure = failed[requirement]["failures"][0]
    assert failure["expected"] and failure["received"]
    assert (
        failure["reproduce"]["curl"].startswith("curl ")
        and "$CONFORMANCE_API_KEY" in failure["reproduce"]["curl"]
    )
    assert f"✗ {requirement}" in result.stdout


def test_plain_text_for_logs_colours_for_terminals(tmp_path: Path) -> None:
    run = ("run", "--target", "reference", *small_run(tmp_path))
    plain = conformance(*run, "--report-dir", str(tmp_path / "a"))
    coloured = conformance(*run, "--report-dir", str(tmp_path / "b"), env={"FORCE_COLOR": "1"})
    assert plain.returncode == coloured.returncode == 0
    assert "\x1b[" not in plain.stdout
    assert "LT-EXPIRE-CONSISTENT" in plain.stdout and "PASS test_valid_request_is_granted" in plain.stdout
    assert "\x1b[1;32mverdict: conformant" in coloured.stdout


def test_serve_prints_where_and_how_then_answers(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "conformance", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=dict(os.environ),
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert first.startswith("reference target listening at http://127.0.0.1:")
        endpoint = first.split(" at ", 1)[1].strip()
        banner = "".join(server.stdout.readline() for _ in range(4))
        assert REFERENCE_API_KEY in banner and "54321" in banner and "9223372036854775806" in banner
        form = {"api_key": REFERENCE_API_KEY, "user_id": "12345", "token_expire": "60"}
        answer = httpx.post(endpoint, data=form, timeout=10)
        assert answer.status_code == 200
        assert "<token>" in answer.text
        qrcode = answer.text.split("<qrcode>", 1)[1].split("</qrcode>", 1)[0]
        assert qrcode.startswith(endpoint.split("/v1/", 1)[0] + "/")  # its own images: a live run judges them
        image = httpx.get(qrcode, timeout=10)
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        # A live run against it by URL (plain http on loopback) judges those images and their http URLs.
        reports = tmp_path / "reports"
        run = conformance(
            "run", "--target", endpoint.split("/v1/", 1)[0], "--user-id", "12345", "--foreign-user-id",
            "54321", "--seed", "1", "--report-dir", str(reports), "-k", "test_valid_request_is_granted",
            *small_run(tmp_path), env={"CONFORMANCE_API_KEY": REFERENCE_API_KEY},
        )  # fmt: skip
        outcomes = {r["id"]: r["outcome"] for r in summary(reports)["requirements"]}
        assert outcomes["LT-QRCODE-URL"] == outcomes["LT-QRCODE-IMAGE"] == "passed", run.stdout + run.stderr
    finally:
        server.send_signal(signal.SIGINT)
        code = server.wait(timeout=10)
        server.stdout.close()  # type: ignore[union-attr]
    assert code == 0
