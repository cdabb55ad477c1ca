"""A test's exchanges reach Allure as steps of that test, through plain pytest and the plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.e2e


def test_a_test_s_exchanges_reach_allure_through_its_own_observer(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    results = tmp_path / "steps"  # not the report directory's allure-results/, which a run sets aside
    args = ["--target", "reference", "--report-dir", str(tmp_path), "--max-examples", "5"]
    args += ["-k", "test_valid_request_is_granted", "--alluredir", str(results)]
    subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        timeout=300,
        check=False,
    )
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in results.glob("*-result.json")]
    test = [d for d in docs if d.get("name") == "test_valid_request_is_granted"]
    assert len(test) == 1, [d.get("name") for d in docs]
    assert any(step["name"].startswith("POST valid request -> 200") for step in test[0]["steps"])
