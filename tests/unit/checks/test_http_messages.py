"""The HTTP message rules end to end: every seeded HTTP fault caught live and replayed, the conforming
reference passing by default and under the strict HTTP profile, raw exchanges in cassettes without the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cassettes import CassetteBook, CassetteHeader
from conformance.checks import RAW_JUDGED, CheckContext, Subject, run_checks
from conformance.core.contract import ENDPOINT_PATH
from conformance.core.model import API_KEY_PLACEHOLDER, Case, Exchange, Expect
from conformance.core.options import REFERENCE_TARGET, RunOptions
from conformance.core.profile import Profile
from conformance.exchange.raw import PROBES
from conformance.exchange.transport import NetworkTransport, Transport
from conformance.frontends.selftest import SelftestOptions, run_fault, run_suite
from conformance.redaction.secrets import SecretBook
from conformance.reference import FAULTS
from tests.support.h11_server import H11Server

SEEDS = (20261128, 7, 424242)
KEYWORD = "test_raw_http_messages or test_other_methods_and_paths_issue_no_token"
KEY = "CANARY-KEY-RAW-5b1e2f9a&x=1"
HTTP_FAULTS = [name for name, f in FAULTS.items() if f.behaviour.__module__.endswith(".http_faults")]
GROUP = tuple(sorted(r for r in RAW_JUDGED if r.startswith("LT-HTTP-MSG-")))


def outcomes(
    tmp_path: Path, *, fault: str | None = None, strict: bool = False, seed: int = SEEDS[0]
) -> dict[str, str]:
    """Each requirement's outcome in a live run of the raw probes and the route probes."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    profile = tmp_path / "profile.toml"
    profile.write_text(f"name = 'strict-http'\nhttp_strict = {str(strict).lower()}\n", encoding="utf-8")
    options = RunOptions(
        target=REFERENCE_TARGET,
        fault=fault,
        report_dir=tmp_path / "report",
        seed=seed,
        max_examples=5,
        timeout=2.0,
        profile=profile,
    )
    run = run_suite(options, keyword=KEYWORD)
    assert run.error is None, run.error
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    return {r["id"]: r["outcome"] for r in summary["requirements"]}


@pytest.mark.parametrize("name", HTTP_FAULTS)
def test_an_http_fault_is_caught_live_and_replayed_alike(name: str, tmp_path: Path) -> None:
    result = run_fault(
        name, options=SelftestOptions(focused=True, faults=(name,)), seed=SEEDS[0], work_dir=tmp_path
    )
    assert result.detected_live, result.live
    assert result.replay is not None
    assert result.detected_replay, result.replay
    assert (result.replay.verdict, result.replay.failed) == (result.live.verdict, result.live.failed)


def test_every_listed_http_fault_is_seeded() -> None:
    assert len(HTTP_FAULTS) >= 10
    assert {r for name in HTTP_FAULTS for r in FAULTS[name].requirements} == set(GROUP)


def test_a_request_without_host_served_warns_by_default_and_fails_under_strict(tmp_path: Path) -> None:
    default = outcomes(tmp_path / "default", fault="host_missing_served")
    strict = outcomes(tmp_path / "strict", fault="host_missing_served", strict=True)
    assert default["LT-HTTP-MSG-HOST"] == "warning"
    assert strict["LT-HTTP-MSG-HOST"] == "failed"


@pytest.mark.parametrize("seed", SEEDS)
def test_the_reference_passes_every_http_message_rule_by_default(seed: int, tmp_path: Path) -> None:
    found = outcomes(tmp_path, seed=seed)
    assert {r: found[r] for r in GROUP} == dict.fromkeys(GROUP, "passed")


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_the_reference_passes_every_http_message_rule_under_strict(seed: int, tmp_path: Path) -> None:
    found = outcomes(tmp_path, seed=seed, strict=True)
    assert {r: found[r] for r in GROUP} == dict.fromkeys(GROUP, "passed")


def _cases() -> list[Case]:
    form = (("api_key", API_KEY_PLACEHOLDER), ("user_id", "12345"), ("token_expire", "3600"))
    return [
        Case(f"raw {name}", form, Expect.EITHER, probe.requirement, raw=name)
        for name, probe in PROBES.items()
    ]


def _verdicts(exchanges: list[Exchange], *, api_key: str) -> list[tuple[str | None, str | None]]:
    ctx = CheckContext(profile=Profile(), api_key=api_key)  # a replay knows the key as its placeholder
    return [
        (r.check, r.failure.requirement if r.failure else None)
        for exchange in exchanges
        for r in run_checks(Subject(exchange), ctx, serving=RAW_JUDGED)
    ]


def test_raw_exchanges_are_recorded_without_the_key_and_replay_to_the_same_verdict(tmp_path: Path) -> None:
    with H11Server(KEY) as server:  # a stock server that echoes the key it grants, in a header and the body
        header = CassetteHeader(
            server.url + ENDPOINT_PATH, "0.1.0", "default", "2026-11-28T00:00:00Z", 7, 25, 12345, 999, None
        )
        book = CassetteBook(tmp_path, mode="record", header=header, api_key=KEY)
        live = []
        with (
            Transport(server.url, api_key=KEY, transport=book.transport(NetworkTransport())) as transport,
            book.use("test_raw") as session,
        ):
            for case in _cases():
                live.append(transport.send(case))
                session.settle(live[-1])
        book.finish()
        book.commit()
        assert server.tokens  # it granted, so tokens were recorded (as stand-ins)
    assert any(KEY in (e.raw.responses[0].headers[-1][1] if e.raw and e.raw.responses else "") for e in live)
    book_of_secrets = SecretBook(api_keys=[KEY])
    for token in server.tokens:
        book_of_secrets.add_token(token)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files
    assert not [p.name for p in files if book_of_secrets.find_bytes(p.read_bytes())]

    replay_book = CassetteBook(tmp_path, mode="replay")
    with (
        Transport(
            "http://127.0.0.1:1", api_key=API_KEY_PLACEHOLDER, transport=replay_book.transport()
        ) as transport,
        replay_book.use("test_raw") as session,
    ):
        replayed = []
        for case in _cases():
            replayed.append(transport.send(case))
            session.settle(replayed[-1])
    shape = [
        (e.raw.closed, e.raw.trailing, e.raw.interim, [r.status for r in e.raw.responses])
        for e in live
        if e.raw
    ]
    assert shape == [
        (e.raw.closed, e.raw.trailing, e.raw.interim, [r.status for r in e.raw.responses])
        for e in replayed
        if e.raw
    ]
    verdicts = _verdicts(live, api_key=KEY)
    assert _verdicts(replayed, api_key=API_KEY_PLACEHOLDER) == verdicts
    # h11 keeps the connection open after Content-Length with chunked; the server echoes the key
    assert {"LT-HTTP-MSG-CONNECTION", "LT-SEC-KEY-NOT-ECHOED"} <= {failed for _, failed in verdicts}
