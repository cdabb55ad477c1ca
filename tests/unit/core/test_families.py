"""The probe-family figures: the README's table and the run header's estimate match the bundled recording."""

from __future__ import annotations

import json

import pytest

from conformance.core import families
from conformance.core.profile import Profile
from conformance.frontends.cli import main
from tests.support import ROOT


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, int]]:
    """Each test of a replay of the bundled cassettes and the requests it sent."""
    reports = tmp_path_factory.mktemp("families") / "r"
    assert main(["run", "--cassettes", str(ROOT / "cassettes"), "-q", "--report-dir", str(reports)]) == 0
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    tests = [(t["nodeid"], t["requests"]) for t in summary["tests"]]
    assert sum(r for _, r in tests) == summary["requests"]
    return tests


def test_the_estimate_is_the_recorded_run(replayed: list[tuple[str, int]]) -> None:
    counts = dict(replayed)
    generated = sum(counts[name] for name in families.GENERATED_TESTS)
    assert generated == families.GENERATED_REQUESTS
    assert sum(counts.values()) - generated - counts[families.SAMPLE_TEST] == families.FIXED_REQUESTS
    profile = Profile()
    assert counts[families.SAMPLE_TEST] == profile.token_sample - families.TOKENS_BEFORE_SAMPLE
    estimate = families.estimated_requests(max_examples=100, token_sample=profile.token_sample)
    assert estimate == sum(counts.values())


def test_the_recorded_families_are_the_replay(replayed: list[tuple[str, int]]) -> None:
    assert replayed == list(families.RECORDED_FAMILIES)  # the README's table (conformance catalogue --write)


def test_the_estimate_scales_with_the_settings_and_the_rate() -> None:
    estimated = families.estimated_requests
    base = estimated(max_examples=100, token_sample=776)
    assert estimated(max_examples=200, token_sample=776) == base + families.GENERATED_REQUESTS
    assert estimated(max_examples=100, token_sample=100) == base - (776 - 213)
    line = families.estimate_line(requests=1500, rate=5.0, idle=11.0)
    assert line == "about 1,500 requests at 5 requests/s: about 5 min 11 s (--rate sets the pace)"
    unlimited = families.estimate_line(requests=1500, rate=None, idle=3.0)
    assert unlimited == "about 1,500 requests (no rate limit)"
    assert "1 h 23 min" in families.estimate_line(requests=5000, rate=1.0, idle=0.0)
