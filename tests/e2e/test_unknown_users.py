"""Several --unknown-user-id end to end: in the cassette header, replayed with them, a mismatch refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cassettes.format import load_cassette
from tests.support.cli import conformance, summary

pytestmark = pytest.mark.e2e


def test_a_recording_with_several_unknown_users_replays_with_them(tmp_path: Path) -> None:
    cassettes, live, replay = tmp_path / "c", tmp_path / "live", tmp_path / "replay"
    unknown = ("--unknown-user-id", "111", "--unknown-user-id", "222")
    only = ("-k", "test_unknown_user_refused", "--max-examples", "5", "-q")
    conformance(
        "run",
        "--target",
        "reference",
        "--record",
        "--cassettes",
        str(cassettes),
        *unknown,
        *only,
        "--report-dir",
        str(live),
    )
    assert summary(live)["unknown_user_ids"] == [111, 222]
    (cassette,) = cassettes.glob("*.yaml")
    assert load_cassette(cassette).header.unknown_user_ids == (111, 222)
    conformance("run", "--cassettes", str(cassettes), *only, "--report-dir", str(replay))
    assert summary(replay)["unknown_user_ids"] == [111, 222]
    mismatch = conformance(
        "run", "--cassettes", str(cassettes), "--unknown-user-id", "111", *only, "--report-dir", str(replay)
    )
    assert mismatch.returncode == 2
    assert "--unknown-user-id 111 but the recording used 111 222" in mismatch.stderr
    assert json.loads((replay / "summary.json").read_text(encoding="utf-8"))["exit_code"] == 2
