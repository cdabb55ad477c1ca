"""A real run ships the cited seed lines, and its Allure links resolve to them offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conformance.results.report.manifest import read_manifest
from conformance.results.report.seed import SEED_PAGE, seed_link
from tests.support.cli import conformance, small_run

pytestmark = pytest.mark.e2e


def test_a_run_ships_the_seed_lines_and_allure_links_resolve_to_them(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    assert (
        conformance(
            "run", "--target", "reference", *small_run(tmp_path), "--report-dir", str(reports)
        ).returncode
        == 0
    )
    assert SEED_PAGE in read_manifest(reports)
    page = (reports / SEED_PAGE).read_text(encoding="utf-8")
    links = {
        link["url"]
        for result in (reports / "allure-results").glob("*-result.json")
        for link in json.loads(result.read_text(encoding="utf-8")).get("links", [])
        if link.get("name", "").startswith("seed line ")
    }
    assert links and all(re.fullmatch(r"\.\./seed\.html#L\d+", url) for url in links)
    for url in links:
        target, anchor = url.split("#")
        assert (reports / "allure-report" / target).resolve() == (reports / SEED_PAGE).resolve()
        assert f'id="{anchor}"' in page
    assert seed_link(14) in links
