"""The contract as data, and the places that must say the same thing: README, registry, exports, layers."""

from __future__ import annotations

import hashlib

import pytest

import conformance
from conformance.checks import CHECKS, checks_serving
from conformance.core.contract import (
    AMBIGUITIES,
    AMBIGUITIES_BY_ID,
    REQUIREMENTS,
    Level,
    requirement,
)
from tests.support import ROOT, SEED

README = (ROOT / "README.md").read_text(encoding="utf-8")
# The vendor's seed document (shared/seed/000_bb5fd846bf2e5573.txt) ships verbatim in the repository, so a
# fresh clone alone tests against it; its digest pins the copy to the original.
SEED_SHA256 = "37fbf2bc064f12cfd5a64bcb9c0d972d1d3c23359fe3feaa6bd28c89bc9defc3"


def test_ids_are_unique_and_stable_in_form() -> None:
    ids = [r.id for r in REQUIREMENTS]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("LT-") and i.upper() == i for i in ids)
    assert requirement("LT-EXPIRE-CONSISTENT").title.startswith("<expire>")
    with pytest.raises(KeyError, match="LT-NOPE"):
        requirement("LT-NOPE")


def test_every_requirement_has_a_check_and_a_source() -> None:
    for req in REQUIREMENTS:
        assert checks_serving(req.id) and set(checks_serving(req.id)) <= set(CHECKS), req.id
        assert req.seed_line is not None or "assumption" in req.source or "robustness" in req.source, req.id
        assert all(a in AMBIGUITIES_BY_ID for a in req.ambiguities), req.id
    assert any(r.level is Level.SHOULD for r in REQUIREMENTS)


def test_the_shipped_seed_is_the_vendor_document() -> None:
    assert hashlib.sha256(SEED.read_bytes()).hexdigest() == SEED_SHA256


def test_seed_lines_point_at_the_seed() -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines()

    def line(seed_line: int | None) -> str:
        assert seed_line is not None
        return lines[seed_line - 1]

    assert "minimum: 60, maximum: 86400" in line(requirement("LT-INPUT-EXPIRE-RANGE").seed_line)
    assert "<expire>9090</expire>" in line(AMBIGUITIES_BY_ID["AMB-EXPIRE-SAMPLE"].seed_line)
    assert "ConfidenceType" in line(AMBIGUITIES_BY_ID["AMB-CONFIDENCE-TYPE"].seed_line)


def test_the_issue_ambiguities_are_registered() -> None:
    issues = " ".join(a.issue for a in AMBIGUITIES)
    for phrase in (
        "omits token_expire",
        "9090",
        "error format is undocumented",
        "ConfidenceType",
        "relative",
    ):
        assert phrase in issues


def test_readme_quick_start_has_exactly_two_commands() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make run", "make test"]


def test_schema_is_the_seed_schema_verbatim() -> None:
    seed = SEED.read_text(encoding="utf-8")
    schema = (ROOT / "schemas" / "user_response.xsd").read_text(encoding="utf-8")
    assert schema in seed
    assert 'name="ConfidenceType"' in schema


def test_public_surface() -> None:
    for name in conformance.__all__:
        assert hasattr(conformance, name), name
    assert {"check", "CHECKS", "REQUIREMENTS", "RunOptions"} <= set(conformance.__all__)
