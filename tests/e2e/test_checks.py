"""Each check that reads the run's state, run alone against the reference faults it serves, fails them."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.checks import CheckSpec
from tests.support.stateful import STATEFUL_FAULTS

pytestmark = pytest.mark.e2e

SAMPLE_TESTS = "test_token_sample_is_uniformly_random or test_parallel_identical_requests_get_distinct_tokens"
SELFTEST_SAMPLE = 100  # the selftest's token sample: token_md5_of_small_random repeats within it


@pytest.mark.parametrize(("name", "fault"), STATEFUL_FAULTS, ids=[f"{c}-{f}" for c, f in STATEFUL_FAULTS])
def test_a_stateful_check_alone_still_fails_its_faults(
    name: str, fault: str, check_registry: dict[str, CheckSpec], tmp_path: Path
) -> None:
    from conformance.core.options import REFERENCE_TARGET, RunOptions
    from conformance.frontends.local import open_session
    from conformance.frontends.runner import execute
    from conformance.reference import get_fault

    spec = check_registry[name]
    check_registry.clear()
    check_registry[name] = spec
    profile = tmp_path / "profile.toml"
    profile.write_text(f"token_sample = {SELFTEST_SAMPLE}\n", encoding="utf-8")
    options = RunOptions(
        target=REFERENCE_TARGET, fault=fault, max_examples=5, seed=14, profile=profile, report_dir=tmp_path
    )
    with open_session(options, keyword=SAMPLE_TESTS) as session:
        summary = execute(session)
    failed = {r.id for r in summary.requirements if r.outcome in ("failed", "warning")}
    assert set(get_fault(fault).requirements) <= failed
    assert failed <= set(spec.serves)  # the one check left is the one that found it
