"""summary.json is untrusted input: a field of the wrong type or shape is one SummaryError naming its path."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.core.errors import ConformanceError
from conformance.core.files import SummaryUnreadable, load_summary
from conformance.core.profile import Profile
from conformance.frontends.cli.rerun import _load as load_rerun_summary
from conformance.frontends.cli.rerun import failing_cases
from conformance.inputs import CaseBuilder
from conformance.inputs.classify import Users
from conformance.results.report.allure import environment_of
from conformance.results.report.ci import step_summary
from conformance.results.report.junit import junit_properties
from conformance.results.report.signoff import render_signoff
from conformance.results.summary import (
    RunFacts,
    Summary,
    SummaryContradiction,
    SummaryError,
    read_summary,
    verdict_line,
    waiver_lines,
)
from conformance.results.summary_load import SHAPE, unchecked
from conformance.results.verdict import Coverage
from conformance.results.waivers import WaiverSet, parse_waivers
from conformance.session.publish import load_baseline
from tests.support.summaries import FACTS, TODAY, failing_summary, summary_json_with, waiver

RECORDING = {
    "target": "reference",
    "recorded_at": "2026-01-01T00:00:00+00:00",
    "suite_version": "0.2.0",
    "age_days": 151,
    "max_age_days": 90,
    "too_old": True,
}
FULL_FACTS = dataclasses.replace(
    FACTS,
    mode="replay",
    recording=RECORDING,
    stale_interactions=({"cassette": "cassettes/x.yaml", "request": "POST /v1/user/login_token"},),
    unused_cassettes=("cassettes/old.yaml",),
    throttled=2,
    throttle_waited_s=1.5,
)
BUILDER = CaseBuilder(Users(12345), Profile())
WAIVERS = waiver() + waiver("LT-QRCODE-URL", expires="2026-01-01") + waiver("LT-TOKEN-UNIQUE")


def _documents() -> dict[str, dict[str, Any]]:
    """Real summaries (build_summary over a run), every block of the format present in one of them."""
    waived = failing_summary(facts=FULL_FACTS, waivers=WaiverSet(parse_waivers(WAIVERS), today=TODAY))
    failing = dataclasses.replace(failing_summary(facts=FULL_FACTS), leaked_files=("reports/junit.xml",))
    stopped = failing_summary(
        coverage=Coverage(not_applicable={"LT-QRCODE-URL": "no QR codes"}, stopped="3 errors")
    )
    stub = Summary.stub_of(
        RunFacts(target="replay:cassettes", mode="replay"), error="in progress", exit_code=130
    )
    built = {"waived": waived, "failing": failing, "stopped": stopped, "stub": stub}
    return {name: json.loads(summary.to_json()) for name, summary in built.items()}


DOCUMENTS = _documents()


def _paths(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every place in a JSON document, the document itself excepted."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*path, index))


def _dotted(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _pattern(path: tuple[str | int, ...]) -> str:
    """A place with its list indices left out: every failure's ``request.form[][]`` is one field."""
    return "".join("[]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


# Places grouped by field, so that a rare field (token_entropy.sample) is drawn as often as a common one.
FIELDS: dict[str, list[tuple[str, tuple[str | int, ...]]]] = {}
for _name, _document in DOCUMENTS.items():
    for _path in _paths(_document):
        FIELDS.setdefault(_pattern(_path), []).append((_name, _path))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
ODD_VALUES: st.SearchStrategy[object] = st.sampled_from(
    [
        math.nan,
        math.inf,
        -math.inf,
        10**30,
        -(10**30),
        1e308,
        -1,
        0,
        True,
        None,
        "",
        "bogus",
        "\ud800",
        [],
        {},
    ]
)


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, tuple[str | int, ...], str]:
    """(document, path, its text) with the value at ``path`` replaced, deleted or nested in a list."""
    name, path = draw(st.sampled_from(FIELDS[draw(st.sampled_from(sorted(FIELDS)))]))
    how = draw(st.sampled_from(["replace", "odd", "delete", "nest", "nest-object"]))
    value = draw(JSON_VALUES if how == "replace" else ODD_VALUES)
    return name, path, _mutated(DOCUMENTS[name], path, how, value)


def _mutated(document: dict[str, Any], path: tuple[str | int, ...], how: str, value: object) -> str:
    """summary.json's text with the value at ``path`` deleted, nested or replaced by ``value``."""
    changed = json.loads(json.dumps(document))
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "nest":
        parent[last] = [parent[last]]
    elif how == "nest-object":
        parent[last] = {"value": parent[last]}
    else:
        parent[last] = value
    return json.dumps(changed, allow_nan=True)


def _render_all(summary: Summary, *, baseline: bool = True) -> None:
    """A loaded summary is one the suite could have written, and every consumer of it renders it."""
    assert Summary.from_json(summary.to_json()) == summary
    json.dumps(summary.document(), allow_nan=False)  # standard JSON: no NaN or Infinity
    markdown, page = render_signoff(summary, baseline=summary if baseline else None)
    (markdown + page).encode("utf-8")  # as write_signoff writes it
    junit_properties(summary)
    environment_of(summary)
    step_summary(summary)
    verdict_line(summary)
    waiver_lines(summary)
    if all("request" in f.evidence for r in summary.requirements for f in r.failures):  # rerun's _load
        failing_cases(summary, BUILDER)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_any_field_changed_loads_or_is_refused_naming_its_path(mutation: tuple[str, Any, str]) -> None:
    _, path, text = mutation
    _loads_or_names(path, text)


FIXED_CHANGES: tuple[tuple[str, object], ...] = (
    ("delete", None),
    ("nest", None),
    ("replace", None),
    ("replace", "bogus"),
    ("replace", "\udfff"),  # a lone surrogate: JSON allows it, no file can hold it
    ("replace", math.nan),
    ("replace", 10**30),
    ("replace", {}),
)


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_every_field_deleted_nested_or_retyped_loads_or_is_refused(field: str) -> None:
    name, path = FIELDS[field][0]
    for how, value in FIXED_CHANGES:
        _loads_or_names(path, _mutated(DOCUMENTS[name], path, how, value), baseline=False)


def _loads_or_names(path: tuple[str | int, ...], text: str, *, baseline: bool = True) -> None:
    """Loading ``text`` gives a valid Summary, or the one typed error naming the changed field's path."""
    refused: SummaryError | None = None
    try:
        summary = Summary.from_json(text)
    except SummaryError as exc:  # the one typed error; any other exception fails the test
        refused = exc
    if refused is None:
        _render_all(summary, baseline=baseline)
        return
    message = str(refused)
    assert "\n" not in message
    if isinstance(refused, SummaryContradiction):  # a stated verdict, exit code or derived field
        assert message.startswith("summary.json "), message
        return
    named = message.removeprefix("field ").split(":", 1)[0]
    dotted = _dotted(path)
    # the changed field itself, a field inside the value put there, or the object it was taken from
    assert named.startswith(dotted) or dotted.startswith(named), (dotted, message)
    assert "expected" in message, message


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_built_summary_loads_unchanged(name: str) -> None:
    text = json.dumps(DOCUMENTS[name])
    assert json.loads(Summary.from_json(text).to_json()) == DOCUMENTS[name]


BAD_TOKEN_ENTROPY = {
    "a string for a number": ({"sample": "x"}, "field token_entropy.sample: expected an integer"),
    "a list for the block": ([568, 32], "field token_entropy: expected an object or null, got a list"),
    "a required key missing": (
        {"sample": 568, "token_length": 32, "biased": []},
        "field token_entropy.collision_bound_bits: missing (expected a finite number)",
    ),
    "a nested value of the wrong type": (
        {**(FACTS.token_entropy or {}), "biased": [1]},
        "field token_entropy.biased[0]: expected a string, got 1",
    ),
    "NaN": (
        {**(FACTS.token_entropy or {}), "collision_bound_bits": math.nan},
        "field token_entropy.collision_bound_bits: expected a finite number, got nan",
    ),
}


@pytest.mark.parametrize(("value", "message"), BAD_TOKEN_ENTROPY.values(), ids=BAD_TOKEN_ENTROPY.keys())
def test_a_malformed_token_entropy_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, value: object, message: str
) -> None:
    path = summary_json_with(tmp_path, token_entropy=value)
    with pytest.raises(SummaryError) as refused:
        read_summary(path)
    assert str(refused.value).startswith(f"{path}: {message}")
    for reader in (load_baseline, load_rerun_summary):  # a user-facing error (exit 2), the same line
        with pytest.raises(ConformanceError, match="token_entropy"):
            reader(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"requirements": [], "n": ' + "1" * 5000 + "}", "too large or too deeply nested"),
        ('{"requirements": ' + "[" * 100_000 + "]" * 100_000 + "}", "too large or too deeply nested"),
        ('{"requirements": [], "schema_version": 2}', "field schema_version: expected one of 1, got 2"),
        ('{"requirements": [], "seed": 1e400}', "field seed: expected an integer"),
        ('{"requirements": [], "duration_s": 1e400}', "field duration_s: expected a finite number or null"),
        (
            '{"requirements": [], "mode": "bogus"}',
            "field mode: expected one of 'live', 'record', 'replay' or null",
        ),
        (
            '{"requirements": [], "seed": 18446744073709551616}',
            "field seed: expected an integer of at most 64 bits",
        ),
        (
            '{"requirements": [{"id": "LT-X", "outcome": "bogus"}]}',
            "field requirements[0].outcome: expected one",
        ),
        ('{"requirements": [{"outcome": "passed"}]}', "field requirements[0].id: missing"),
    ],
)
def test_a_file_too_deep_too_large_or_out_of_range_is_one_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "summary.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SummaryError, match=re.escape(message)):
        read_summary(path)


def test_a_fifo_or_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "summary.json"
    os.mkfifo(fifo)  # opened for reading, it would block until a writer came
    with pytest.raises(SummaryError, match="is a FIFO"):
        read_summary(fifo)
    (tmp_path / "big").mkdir()
    big = summary_json_with(tmp_path / "big")
    assert load_summary(big)["verdict"] == "non-conformant"
    with pytest.raises(SummaryUnreadable, match="over the 1000-byte bound"):
        load_summary(big, max_bytes=1000)


def test_a_seed_of_64_bits_loads() -> None:
    document = DOCUMENTS["failing"] | {"seed": 2**64 - 1}  # the largest --seed a run accepts
    assert Summary.from_json(json.dumps(document)).facts.seed == 2**64 - 1


def test_unknown_keys_are_ignored_for_forward_compatibility() -> None:
    document = DOCUMENTS["failing"] | {"added_later": {"any": [1]}}
    document["requirements"][0] = document["requirements"][0] | {"added_later": 1}
    assert (
        Summary.from_json(json.dumps(document)).to_json()
        == Summary.from_json(json.dumps(DOCUMENTS["failing"])).to_json()
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("complete", False, "field complete states False but its requirement outcomes give True"),
        ("not_exercised", [], "field not_exercised states []"),
        ("not_exercised", [{"id": "LT-X"}], "field not_exercised states ['LT-X']"),
    ],
)
def test_a_stated_derived_field_must_follow_from_the_outcomes(
    field: str, value: object, message: str
) -> None:
    document = DOCUMENTS["stopped"] if field == "not_exercised" else DOCUMENTS["failing"]
    with pytest.raises(SummaryContradiction, match=re.escape(message)):
        Summary.from_json(json.dumps(document | {field: value}))


def test_a_stated_waived_flag_follows_from_the_outcome_and_reasons_may_differ() -> None:
    document = json.loads(json.dumps(DOCUMENTS["stopped"]))
    for entry in document["not_exercised"]:
        entry["reason"] = "worded by another suite version"  # only the IDs must follow from the outcomes
    assert Summary.from_json(json.dumps(document)) == Summary.from_json(json.dumps(DOCUMENTS["stopped"]))
    document["requirements"][0]["waived"] = True
    with pytest.raises(SummaryContradiction, match=re.escape("field requirements[0].waived states True")):
        Summary.from_json(json.dumps(document))


def test_every_field_of_the_summary_is_checked() -> None:
    assert unchecked(Summary) == []


def test_a_json_block_without_a_shape_is_reported_unchecked() -> None:
    @dataclasses.dataclass(frozen=True)
    class Later:
        block: dict[str, Any] = dataclasses.field(default_factory=dict)
        shaped: dict[str, Any] | None = dataclasses.field(default=None, metadata={SHAPE: RunFacts | None})

    assert unchecked(Later) == ["Later.block: dict[str, typing.Any]"]
