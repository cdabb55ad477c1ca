"""Record once, replay offline: same verdict, deterministic, no socket, nothing secret on disk."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from conformance.cassettes.format import dump_cassette, load_cassette
from conformance.files import write_atomic
from conformance.model import key_probe_secrets
from conformance.reference import REFERENCE_FOREIGN_USER_ID, REFERENCE_USER_ID, ReferenceServer
from conformance.reference import behaviour as reference_behaviour
from tests.cli_support import conformance, summary

pytestmark = pytest.mark.e2e
CANARY = "CANARY-KEY-5b1e2f9a-77c3"
VOLATILE = ("started", "finished", "duration_s", "tests")


def failed(document: dict[str, Any]) -> set[str]:
    return {r["id"] for r in document["requirements"] if r["outcome"] == "failed"}


def stable(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in VOLATILE}


def test_bundled_cassettes_replay_offline_and_identically(tmp_path: Path) -> None:
    first = conformance("run", "--report-dir", str(tmp_path / "a"), offline=True)
    second = conformance("run", "--report-dir", str(tmp_path / "b"), offline=True)
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0
    one, two = summary(tmp_path / "a"), summary(tmp_path / "b")
    assert one["mode"] == "replay" and one["verdict"] == "conformant" and one["requests"] >= 200
    assert one["stale_interactions"] == []
    assert stable(one) == stable(two)


def record(tmp_path: Path, *args: str, code: int = 0) -> None:
    """Record the reference into tmp_path/c (reports in tmp_path/rec); the run must exit with ``code``."""
    result = conformance(
        "run",
        "--target",
        "reference",
        "--record",
        "--cassettes",
        str(tmp_path / "c"),
        "--report-dir",
        str(tmp_path / "rec"),
        *args,
    )
    assert result.returncode == code, result.stdout + result.stderr


def replay(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Replay tmp_path/c offline (reports in tmp_path/r)."""
    return conformance(
        "run", "--cassettes", str(tmp_path / "c"), "--report-dir", str(tmp_path / "r"), *args, offline=True
    )


@pytest.mark.parametrize(
    "fault", [None, "expire_one_hour_late", "token_expire_59_accepted", "qrcode_missing"]
)
def test_replay_reaches_the_live_verdict(tmp_path: Path, fault: str | None) -> None:
    code = 1 if fault else 0
    record(tmp_path, *(["--fault", fault] if fault else []), "--max-examples", "30", code=code)
    replayed = replay(tmp_path)
    assert replayed.returncode == code, replayed.stdout + replayed.stderr
    assert failed(summary(tmp_path / "r")) == failed(summary(tmp_path / "rec"))


@pytest.fixture(params=[None, "api_key_echoed"])
def canary_target(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, list[str]]]:
    """The reference on loopback (conforming, or echoing the key), accepting the canary key, remembering
    every token it issues."""
    issued: list[str] = []
    original = reference_behaviour.Behaviour.token

    def remembering(self: reference_behaviour.Behaviour) -> str:
        token = original(self)
        issued.append(token)
        return token

    monkeypatch.setitem(reference_behaviour.SCOPES, CANARY, frozenset({REFERENCE_USER_ID}))
    monkeypatch.setattr(reference_behaviour.Behaviour, "token", remembering)
    with ReferenceServer(fault=request.param) as server:
        yield server.url, issued


def test_canary_key_and_live_tokens_never_reach_disk(
    tmp_path: Path, canary_target: tuple[str, list[str]], request: pytest.FixtureRequest
) -> None:
    url, issued = canary_target
    echoing = "api_key_echoed" in request.node.callspec.id
    result = conformance(
        "run",
        "--target",
        url,
        "--user-id",
        str(REFERENCE_USER_ID),
        "--foreign-user-id",
        str(REFERENCE_FOREIGN_USER_ID),
        "--record",
        "--cassettes",
        str(tmp_path / "c"),
        "--report-dir",
        str(tmp_path / "r"),
        "--max-examples",
        "20",
        env={"CONFORMANCE_API_KEY": CANARY},
    )
    assert result.returncode == (1 if echoing else 0), result.stdout + result.stderr
    if echoing:  # the finding is reported, with the key shown only as the placeholder
        assert "LT-SEC-KEY-NOT-ECHOED" in result.stdout
    assert len(issued) >= 20
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 20  # cassettes, summary, junit, allure results, sign-off, manifest
    # Key probes (the key upper-cased, with a character changed, its first half...) are near-copies of
    # the key: recorded as their markers, never as values, in any spelling.
    probes = key_probe_secrets(CANARY)
    secrets = [CANARY, *probes, *(quote_plus(p) for p in probes), *issued]
    assert any("__API_KEY_PROBE_upper__" in p.read_text(encoding="utf-8") for p in (tmp_path / "c").iterdir())
    for path in written:
        content = path.read_bytes().decode("utf-8", "replace")
        leaked = [s for s in secrets if s in content]
        assert not leaked, f"{path} holds a secret"
    assert not any(s in result.stdout + result.stderr for s in secrets)


def test_a_request_the_cassette_does_not_hold(tmp_path: Path) -> None:
    record(tmp_path, "--max-examples", "10", "--seed", "1")
    result = replay(tmp_path, "--max-examples", "40")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    error = summary(tmp_path / "r")["error"]
    # Which request (and its form), which cassette, and the command that re-records it; the request is
    # either absent or recorded fewer times than the replay sends it.
    assert ".yaml: request #" in error
    assert "POST /v1/user/login_token form api_key='__API_KEY_REDACTED__'" in error
    assert "re-record with: conformance run" in error
    assert "\n" not in error


def test_interactions_the_suite_no_longer_sends_are_reported_stale(tmp_path: Path) -> None:
    record(tmp_path, "-k", "valid_request_is_granted")
    (path,) = (tmp_path / "c").glob("*.yaml")
    cassette = load_cassette(path)
    # A request an older suite sent: the cassette still holds it, this suite never asks for it.
    old = dataclasses.replace(cassette.interactions[0], body=b"api_key=__API_KEY_REDACTED__&user_id=7")
    write_atomic(path, dump_cassette(cassette.name, cassette.header, [*cassette.interactions, old]))
    result = replay(tmp_path, "-k", "valid_request_is_granted")
    assert result.returncode == 0, result.stdout + result.stderr
    (stale,) = summary(tmp_path / "r")["stale_interactions"]
    assert stale["cassette"].endswith(path.name)
    assert "user_id='7'" in stale["request"]


def test_corrupt_cassette(tmp_path: Path) -> None:
    record(tmp_path, "--max-examples", "5", "-k", "valid_request")
    (victim,) = (tmp_path / "c").glob("*.yaml")
    victim.write_text(victim.read_text().replace("status: 200", "status: 201"))
    result = replay(tmp_path, "-k", "valid_request")
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("conformance: error: ")
    assert victim.name in line
