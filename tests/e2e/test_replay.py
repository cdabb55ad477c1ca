"""Record once, replay offline: same verdict, deterministic, no socket, nothing secret on disk."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from conformance.cassettes.format import dump_cassette, load_cassette
from conformance.core._thirdparty import SUPPORTED, in_range, requirement
from conformance.core.errors import EXIT_INCOMPLETE
from conformance.core.files import write_atomic
from conformance.core.model import key_probe_secrets
from conformance.reference import REFERENCE_FOREIGN_USER_ID, REFERENCE_USER_ID, ReferenceServer
from conformance.reference import behaviour as reference_behaviour
from tests.support import ROOT
from tests.support.cli import conformance, small_profile, small_run, summary

pytestmark = pytest.mark.e2e
CANARY = "CANARY-KEY-5b1e2f9a-77c3"
BUNDLED = ROOT / "cassettes"
VOLATILE = ("started", "finished", "duration_s", "tests")


def failed(document: dict[str, Any]) -> set[str]:
    return {r["id"] for r in document["requirements"] if r["outcome"] == "failed"}


def stable(document: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in document.items() if k not in VOLATILE}
    kept["settings"] = [s for s in document["settings"] if s["name"] != "--report-dir"]  # a and b differ
    return kept


def test_bundled_cassettes_replay_offline_and_identically(tmp_path: Path) -> None:
    first = conformance("run", "--report-dir", str(tmp_path / "a"), offline=True)
    second = conformance("run", "--report-dir", str(tmp_path / "b"), offline=True)
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0
    one, two = summary(tmp_path / "a"), summary(tmp_path / "b")
    assert one["mode"] == "replay" and one["verdict"] == "conformant" and one["requests"] >= 200
    assert one["stale_interactions"] == []
    assert stable(one) == stable(two)


def record(tmp_path: Path, *args: str, code: int | None = None) -> None:
    """Record the reference into tmp_path/c (reports in tmp_path/rec); the run must exit with ``code``.

    By default 0, or 6 (incomplete) for a ``-k`` selection: a partial run cannot exercise every requirement.
    """
    if code is None:
        code = EXIT_INCOMPLETE if "-k" in args else 0
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
    record(tmp_path, *(["--fault", fault] if fault else []), *small_run(tmp_path), code=code)
    replayed = replay(tmp_path, *small_profile(tmp_path))
    assert replayed.returncode == code, replayed.stdout + replayed.stderr
    assert failed(summary(tmp_path / "r")) == failed(summary(tmp_path / "rec"))
    if fault == "expire_one_hour_late":  # a generated test fails: its last recorded failure is shown
        assert "token_expire: minimal failing input as recorded (seed" in replayed.stdout


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
        *small_run(tmp_path),
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
    record(tmp_path, "-k", "token_expire_boundaries")
    (path,) = (tmp_path / "c").glob("*.yaml")
    cassette = load_cassette(path)
    write_atomic(path, dump_cassette(cassette.name, cassette.header, list(cassette.interactions[:-1])))
    result = replay(tmp_path, "-k", "token_expire_boundaries")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    error = summary(tmp_path / "r")["error"]
    # Which request (and its form), which cassette, and the command that re-records it.
    assert f"{path.name}: request #{len(cassette.interactions)} is not in the cassette" in error
    assert "POST /v1/user/login_token form api_key='__API_KEY_REDACTED__'" in error
    assert "re-record with: conformance run --target reference --record" in error
    assert "\n" not in error


def test_a_generated_test_replays_its_recorded_inputs_not_new_ones(tmp_path: Path) -> None:
    record(tmp_path, "-k", "token_expire_generated", "--max-examples", "15")
    (path,) = (tmp_path / "c").glob("*.yaml")
    cassette = load_cassette(path)
    # Drop the last recorded input: a replay that re-generated would miss it; this one judges 14 inputs.
    write_atomic(path, dump_cassette(cassette.name, cassette.header, list(cassette.interactions[:-1])))
    result = replay(tmp_path, "-k", "token_expire_generated")
    assert result.returncode == EXIT_INCOMPLETE, result.stdout + result.stderr
    replayed = summary(tmp_path / "r")
    assert replayed["requests"] == len(cassette.interactions) - 1
    assert replayed["stale_interactions"] == []


def test_a_recorded_input_the_classifier_cannot_rebuild_stops_the_replay(tmp_path: Path) -> None:
    record(tmp_path, "-k", "token_expire_generated", "--max-examples", "5")
    (path,) = (tmp_path / "c").glob("*.yaml")
    cassette = load_cassette(path)
    odd = [dataclasses.replace(i, body=i.body + b"&debug=1") for i in cassette.interactions]
    write_atomic(path, dump_cassette(cassette.name, cassette.header, odd))
    result = replay(tmp_path, "-k", "token_expire_generated")
    assert result.returncode == 4, result.stdout + result.stderr
    error = summary(tmp_path / "r")["error"]
    assert f"{path.name}: recorded request #1 cannot be re-derived (parameter 'debug'" in error


def test_replay_options_that_differ_from_the_recording_are_named(tmp_path: Path) -> None:
    result = conformance(
        "run",
        "--report-dir",
        str(tmp_path),
        "--max-examples",
        "10",
        "--user-id",
        "999",
        "--seed",
        "3",
        offline=True,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.splitlines()
    header = load_cassette(next(BUNDLED.glob("*.yaml"))).header
    assert f"--max-examples 10 but the recording used {header.max_examples}" in line
    assert f"--user-id 999 but the recording used {header.user_id}" in line
    assert f"--seed 3 but the recording used {header.seed}" in line
    assert "re-record" not in line.split(";")[0]


@pytest.fixture(scope="module")
def small_recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[str, ...]]:
    """A small complete recording of the reference (read-only: copy it to change it) and the options
    (its profile) a replay of it needs."""
    tmp_path = tmp_path_factory.mktemp("small")
    record(tmp_path, *small_run(tmp_path))
    return tmp_path / "c", small_profile(tmp_path)


def aged_copy(tmp_path: Path, recording: Path, days: int) -> Path:
    """The ``recording``'s cassettes, re-dumped as if recorded ``days`` ago."""
    directory = tmp_path / "old"
    directory.mkdir()
    stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat(timespec="seconds")
    for path in recording.glob("*.yaml"):
        cassette = load_cassette(path)
        old = dataclasses.replace(cassette.header, recorded_at=stamp)
        write_atomic(directory / path.name, dump_cassette(cassette.name, old, list(cassette.interactions)))
    return directory


@pytest.mark.xdist_group("small-recording")  # one worker: these share the recording
def test_old_cassettes_warn_and_the_summary_says_what_was_judged(
    tmp_path: Path, small_recording: tuple[Path, tuple[str, ...]]
) -> None:
    recorded, options = small_recording
    directory = aged_copy(tmp_path, recorded, 120)
    result = conformance(
        "run", "--cassettes", str(directory), "--report-dir", str(tmp_path / "r"), *options, offline=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning: the cassettes are 120 days old" in result.stdout
    recording = summary(tmp_path / "r")["recording"]
    assert recording["age_days"] == 120 and recording["too_old"] is True and recording["max_age_days"] == 90
    signoff = (tmp_path / "r" / "signoff.md").read_text()
    assert "This replay judges the recording of" in signoff and recording["recorded_at"] in signoff
    assert "Warning: the cassettes are 120 days old" in signoff
    header = load_cassette(next(recorded.glob("*.yaml"))).header
    assert recording["suite_version"] == header.suite_version
    assert f"- Recorded by suite version: {header.suite_version}\n" in signoff
    assert f"- User id (configured): {header.user_id}\n" in signoff
    assert f"- Foreign user id: {header.foreign_user_id}\n" in signoff


@pytest.mark.xdist_group("small-recording")  # one worker: these share the recording
def test_old_cassettes_can_be_an_error(tmp_path: Path, small_recording: tuple[Path, tuple[str, ...]]) -> None:
    recorded, options = small_recording
    directory = aged_copy(tmp_path, recorded, 10)
    args = (
        "run",
        "--cassettes",
        str(directory),
        "--report-dir",
        str(tmp_path / "r"),
        "--max-cassette-age",
        "5",
        *options,
    )
    quiet = conformance(*args, "-q", offline=True)
    assert quiet.returncode == 0
    assert "Warning: the cassettes are 10 days old" in quiet.stderr  # -q: stdout is the verdict line
    assert quiet.stdout.splitlines() == [quiet.stdout.strip()]
    result = conformance(*args, "--strict-cassette-age", offline=True)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the cassettes are 10 days old" in result.stderr and "--max-cassette-age 5" in result.stderr


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_a_partial_recording_into_a_recorded_set_is_refused(tmp_path: Path) -> None:
    shutil.copytree(BUNDLED, tmp_path / "c")
    before = snapshot(tmp_path / "c")
    record(tmp_path, "-k", "valid_request", code=2)
    assert snapshot(tmp_path / "c") == before
    # Into an empty directory it is a complete new set of its own.
    record(tmp_path, "-k", "valid_request", "--cassettes", str(tmp_path / "new"))
    assert [p.name for p in (tmp_path / "new").iterdir()] == [
        "test_grant.py__test_valid_request_is_granted.yaml"
    ]


@pytest.mark.xdist_group("small-recording")  # one worker: these share the recording
def test_a_recording_replaces_the_set_whole_or_not_at_all(
    tmp_path: Path, small_recording: tuple[Path, tuple[str, ...]]
) -> None:
    directory = tmp_path / "c"
    shutil.copytree(small_recording[0], directory)
    (directory / "README.md").write_text("kept")
    foreign = load_cassette(next(directory.glob("*.yaml")))
    write_atomic(
        directory / "other.py__test_gone.yaml", dump_cassette("other.py::test_gone", foreign.header, [])
    )
    before = snapshot(directory)
    record(tmp_path, "--max-requests", "20", code=2)  # ends in error: nothing replaced
    assert snapshot(directory) == before
    record(tmp_path, *small_run(tmp_path), "--seed", "7")
    after = sorted(p.name for p in directory.iterdir())
    assert "other.py__test_gone.yaml" not in after and "README.md" in after
    assert {load_cassette(p).header.seed for p in directory.glob("*.yaml")} == {7}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


VOLATILE_LINE = re.compile(
    r"^\s*(sent_at|elapsed|recorded_at|digest): |\[date, |<(token|qrcode|expire)>|^\s*</?user_response>"
)


def test_re_recording_with_the_same_seed_changes_only_timestamps_and_stand_ins(tmp_path: Path) -> None:
    for name in ("one", "two"):
        record(tmp_path, *small_run(tmp_path), "--seed", "5", "--cassettes", str(tmp_path / name))
    one, two = snapshot(tmp_path / "one"), snapshot(tmp_path / "two")
    assert one.keys() == two.keys()
    for name in one:
        lines = zip(one[name].decode().splitlines(), two[name].decode().splitlines(), strict=True)
        changed = [(a, b) for a, b in lines if a != b]
        assert changed, name  # the timestamps did change
        assert all(VOLATILE_LINE.search(a) and VOLATILE_LINE.search(b) for a, b in changed), changed[:3]


def test_interactions_the_suite_no_longer_sends_are_reported_stale(tmp_path: Path) -> None:
    record(tmp_path, "-k", "valid_request_is_granted", code=6)  # -k: incomplete
    (path,) = (tmp_path / "c").glob("*.yaml")
    cassette = load_cassette(path)
    # A request an older suite sent: the cassette still holds it, this suite never asks for it.
    old = dataclasses.replace(cassette.interactions[0], body=b"api_key=__API_KEY_REDACTED__&user_id=7")
    write_atomic(path, dump_cassette(cassette.name, cassette.header, [*cassette.interactions, old]))
    result = replay(tmp_path, "-k", "valid_request_is_granted")
    assert result.returncode == 6, result.stdout + result.stderr
    (stale,) = summary(tmp_path / "r")["stale_interactions"]
    assert stale["cassette"].endswith(path.name)
    assert "user_id='7'" in stale["request"]


def test_corrupt_cassette(tmp_path: Path) -> None:
    record(tmp_path, "--max-examples", "5", "-k", "valid_request", code=6)
    (victim,) = (tmp_path / "c").glob("*.yaml")
    victim.write_text(victim.read_text().replace("status: 200", "status: 201"))
    result = replay(tmp_path, "-k", "valid_request")
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("conformance: error: ")
    assert victim.name in line


# -- the same cassettes, any Hypothesis pyproject.toml allows -----------------------------------------

LOW, HIGH = SUPPORTED["hypothesis"]
HYPOTHESIS_SPECS = {
    "oldest": f"hypothesis=={LOW}.0",
    "newest": requirement("hypothesis"),
    "unsupported": "hypothesis==6.131.0",
}


@pytest.fixture(scope="module")
def hypotheses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Throwaway environments: each a directory holding one Hypothesis, put first on PYTHONPATH."""
    installed = {}
    for name, spec in HYPOTHESIS_SPECS.items():
        into = tmp_path_factory.mktemp(f"hypothesis-{name}")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(into), spec],
            check=True,
            capture_output=True,
            timeout=300,
        )
        installed[name] = into
    return installed


def version_in(directory: Path) -> str:
    (info,) = directory.glob("hypothesis-*.dist-info")
    return info.name.removeprefix("hypothesis-").removesuffix(".dist-info")


def outcomes(document: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["outcome"] for r in document["requirements"]}


@pytest.fixture(scope="module")
def faulty_recording(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, Any], tuple[str, ...]]:
    """The reference with a fault, recorded with the locked Hypothesis; and the profile its replay needs."""
    tmp_path = tmp_path_factory.mktemp("faulty")
    record(tmp_path, "--fault", "token_expire_59_accepted", *small_run(tmp_path), code=1)
    return tmp_path / "c", summary(tmp_path / "rec"), small_profile(tmp_path)


@pytest.mark.xdist_group("hypotheses")  # one worker: these share the installs
@pytest.mark.parametrize("which", ["oldest", "newest"])
def test_the_same_cassettes_replay_to_the_same_verdict_under_any_allowed_hypothesis(
    tmp_path: Path,
    hypotheses: dict[str, Path],
    faulty_recording: tuple[Path, dict[str, Any], tuple[str, ...]],
    which: str,
) -> None:
    directory = hypotheses[which]
    version = version_in(directory)
    assert in_range(version, LOW, HIGH)
    env = {"PYTHONPATH": str(directory)}
    bundled = conformance("run", "--report-dir", str(tmp_path / "b"), "-q", env=env, offline=True)
    assert bundled.returncode == 0, bundled.stdout + bundled.stderr
    assert summary(tmp_path / "b")["verdict"] == "conformant"
    cassettes, recorded, options = faulty_recording
    args = ("run", "--cassettes", str(cassettes), "--report-dir", str(tmp_path / "f"), "-q", *options)
    replayed = conformance(*args, env=env, offline=True)
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    document = summary(tmp_path / "f")
    assert outcomes(document) == outcomes(recorded)
    assert document["requests"] == recorded["requests"]
    # The replay really ran under that version (it is importable first on the path).
    probe = subprocess.run(
        [sys.executable, "-c", "import hypothesis; print(hypothesis.__version__)"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == version


@pytest.mark.xdist_group("hypotheses")
def test_an_unsupported_hypothesis_is_refused_at_start_up(
    tmp_path: Path, hypotheses: dict[str, Path]
) -> None:
    env = {"PYTHONPATH": str(hypotheses["unsupported"])}
    result = conformance("run", "--report-dir", str(tmp_path), env=env, offline=True)
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.splitlines()
    assert f"hypothesis 6.131.0 is installed but this suite supports {requirement('hypothesis')}" in line


@pytest.mark.xdist_group("small-recording")  # one worker: these share the recording
def test_record_missing_adds_only_the_absent_cassettes_to_the_set(
    tmp_path: Path, small_recording: tuple[Path, tuple[str, ...]]
) -> None:
    directory = tmp_path / "c"
    recorded, options = small_recording
    shutil.copytree(recorded, directory)
    absent = (
        "test_grant.py__test_valid_request_is_granted.yaml",
        "test_user_id.py__test_user_id_generated.yaml",
    )
    for name in absent:
        (directory / name).unlink()
    before = snapshot(directory)
    # The set was recorded with 5 examples.
    record(tmp_path, "--record-missing", "--max-examples", "6", *options, code=2)
    assert snapshot(directory) == before
    # Only the absent tests run, so this run alone exercises too little: incomplete, as it should say.
    record(tmp_path, "--record-missing", "--max-examples", "5", *options, code=EXIT_INCOMPLETE)
    after = snapshot(directory)
    assert sorted(after.keys() - before.keys()) == sorted(absent)
    assert all(after[name] == content for name, content in before.items())
    assert replay(tmp_path, *options).returncode == 0
