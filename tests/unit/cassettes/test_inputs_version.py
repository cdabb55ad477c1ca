"""Cassettes carry an inputs version: a recording with the suite's is re-judged, whichever suite made it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from conformance.cassettes.agreement import adding_problems, option_mismatches, recording_lines
from conformance.cassettes.format import CassetteHeader, dump_cassette, load_cassette
from conformance.checks import CHECKS, CheckContext, CheckSpec, Subject
from conformance.core.errors import EXIT_NON_CONFORMANT, EXIT_USAGE
from conformance.core.files import write_atomic
from conformance.core.model import CheckFailure
from conformance.core.options import RunOptions
from conformance.core.version import __version__
from conformance.frontends.cli import main
from conformance.inputs import INPUTS_VERSION, Users

ROOT = Path(__file__).resolve().parents[3]
BUNDLED = ROOT / "cassettes"
TEST = "test_valid_request_is_granted"
CASSETTE = f"test_grant.py__{TEST}.yaml"
OTHER_SUITE = "0.0.1"  # a suite version that is not this one
HEADER = CassetteHeader(
    "reference", OTHER_SUITE, "default", "2026-01-01T00:00:00+00:00", 7, 25, 12345, 987, 777
)


def recorded_by(directory: Path, *, suite_version: str, inputs_version: int | None) -> Path:
    """The bundled cassette of TEST, as if recorded by ``suite_version`` with ``inputs_version``."""
    directory.mkdir()
    cassette = load_cassette(BUNDLED / CASSETTE)
    header = dataclasses.replace(cassette.header, suite_version=suite_version, inputs_version=inputs_version)
    write_atomic(directory / CASSETTE, dump_cassette(cassette.name, header, list(cassette.interactions)))
    return directory


def replay(cassettes: Path, reports: Path) -> int:
    return main(["run", "--cassettes", str(cassettes), "--report-dir", str(reports), "-q", "-k", TEST])


def outcomes(reports: Path) -> dict[str, str]:
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    return {r["id"]: r["outcome"] for r in summary["requirements"]}


def refuses_every_grant(subject: Subject, ctx: CheckContext) -> str | None:
    """A check the recording never met: every grant fails it."""
    if not subject.issued:
        return None
    raise CheckFailure("LT-TOKEN-PRESENT", "judged by a newer check", "no grant", f"HTTP {subject.status}")


def test_the_header_carries_the_inputs_version_beside_the_suite_version(tmp_path: Path) -> None:
    path = recorded_by(tmp_path / "c", suite_version=OTHER_SUITE, inputs_version=INPUTS_VERSION) / CASSETTE
    text = path.read_text(encoding="utf-8")
    assert f"  suite_version: {OTHER_SUITE}\n  inputs_version: {INPUTS_VERSION}\n" in text
    assert load_cassette(path).header.inputs_version == INPUTS_VERSION
    assert f"  inputs_version: {INPUTS_VERSION}\n" in (BUNDLED / CASSETTE).read_text(encoding="utf-8")
    # A recording made before inputs versions (0.7.0's) has no such line, reads back without one and is
    # written back byte for byte.
    before = recorded_by(tmp_path / "before", suite_version="0.7.0", inputs_version=None) / CASSETTE
    assert "inputs_version" not in before.read_text(encoding="utf-8")
    old = load_cassette(before)
    assert old.header.inputs_version is None
    assert dump_cassette(old.name, old.header, list(old.interactions)) == before.read_bytes()


def test_another_suite_version_with_the_same_inputs_is_re_judged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cassettes = recorded_by(tmp_path / "c", suite_version=OTHER_SUITE, inputs_version=INPUTS_VERSION)
    code = replay(cassettes, tmp_path / "before")
    assert code not in (EXIT_USAGE, EXIT_NON_CONFORMANT), capsys.readouterr()
    assert outcomes(tmp_path / "before")["LT-TOKEN-PRESENT"] == "passed"
    summary = json.loads((tmp_path / "before" / "summary.json").read_text(encoding="utf-8"))
    assert (summary["recording"]["suite_version"], summary["suite_version"]) == (OTHER_SUITE, __version__)
    judged_by = f"Recorded by suite {OTHER_SUITE}, judged by suite {__version__}"
    assert judged_by in (tmp_path / "before" / "signoff.md").read_text(encoding="utf-8")
    assert judged_by in capsys.readouterr().err  # -q: what changes how the verdict reads goes to stderr

    # A check added since the recording judges it: the same recording now fails under it.
    spec = CheckSpec("refuses_every_grant", ("LT-TOKEN-PRESENT",), refuses_every_grant)
    monkeypatch.setitem(CHECKS, spec.name, spec)
    assert replay(cassettes, tmp_path / "after") == EXIT_NON_CONFORMANT
    assert outcomes(tmp_path / "after")["LT-TOKEN-PRESENT"] == "failed"


def test_another_inputs_version_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cassettes = recorded_by(tmp_path / "c", suite_version=__version__, inputs_version=INPUTS_VERSION + 1)
    assert replay(cassettes, tmp_path / "r") == EXIT_USAGE
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("conformance: error: replay options differ from the recording: ")
    assert (
        f"inputs version {INPUTS_VERSION} (suite {__version__}) but the recording was made with inputs "
        f"version {INPUTS_VERSION + 1} (suite {__version__})"
    ) in line
    assert "re-record with yours: " in line


def test_a_recording_without_an_inputs_version_needs_its_own_suite_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cassettes = recorded_by(tmp_path / "c", suite_version=OTHER_SUITE, inputs_version=None)
    assert replay(cassettes, tmp_path / "r") == EXIT_USAGE
    (line,) = capsys.readouterr().err.splitlines()
    assert f"suite version {__version__} but the recording was made by {OTHER_SUITE}" in line


def test_the_version_rule() -> None:
    def mismatches(header: CassetteHeader, *, inputs_version: int = 3) -> list[str]:
        return option_mismatches(
            header,
            options=RunOptions(),
            profile="default",
            suite_version="9.9.9",
            inputs_version=inputs_version,
        )

    assert mismatches(dataclasses.replace(HEADER, inputs_version=3)) == []
    assert mismatches(dataclasses.replace(HEADER, inputs_version=2)) == [
        "inputs version 3 (suite 9.9.9) but the recording was made with inputs version 2 "
        f"(suite {OTHER_SUITE})"
    ]
    assert mismatches(HEADER) == [f"suite version 9.9.9 but the recording was made by {OTHER_SUITE}"]
    assert mismatches(dataclasses.replace(HEADER, suite_version="9.9.9")) == []


def test_the_judging_suite_is_named_only_when_it_differs() -> None:
    facts = {
        "target": "t",
        "recorded_at": "2026-01-01T00:00:00+00:00",
        "age_days": 1,
        "suite_version": "0.6.0",
    }
    same = recording_lines({"recording": facts, "suite_version": "0.6.0"})
    other = recording_lines({"recording": facts, "suite_version": "0.7.0"})
    assert other == [
        same[0],
        "Recorded by suite 0.6.0, judged by suite 0.7.0 (the same inputs version: this suite's checks judge "
        "what was sent then).",
        *same[1:],
    ]
    assert recording_lines({"recording": facts}) == same


def test_record_missing_adds_only_to_a_set_of_its_own_suite_version() -> None:
    users = Users(12345, 987, 777)

    def problems(header: CassetteHeader) -> list[str]:
        return adding_problems(
            header, options=RunOptions(), users=users, profile="default", target="reference"
        )

    same_inputs = dataclasses.replace(HEADER, inputs_version=INPUTS_VERSION)
    assert problems(same_inputs) == [f"suite version {__version__} but the set was recorded by {OTHER_SUITE}"]
    assert problems(dataclasses.replace(same_inputs, suite_version=__version__)) == []
