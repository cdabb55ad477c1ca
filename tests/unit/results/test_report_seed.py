"""The cited seed lines ship in every report, so "seed line N" links resolve offline."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from conformance.core import contract
from conformance.core.schema import schema_path
from conformance.results.report.manifest import read_manifest
from conformance.results.report.seed import (
    SEED_FILE,
    SEED_PAGE,
    cited_lines,
    seed_link,
    seed_page,
    write_seed_excerpt,
)
from tests.support import SEED
from tests.support.cli import conformance, small_run

SEED_LINES = SEED.read_text(encoding="utf-8").splitlines()


def test_the_report_cites_the_shipped_seed() -> None:
    assert schema_path(SEED_FILE) == SEED.resolve()


def test_every_cited_line_is_on_the_page_with_its_anchor_text_and_citers(tmp_path: Path) -> None:
    page = write_seed_excerpt(tmp_path).read_text(encoding="utf-8")
    cited = cited_lines()
    assert 14 in cited and "LT-INPUT-EXPIRE-RANGE" in cited[14]
    for requirement in contract.REQUIREMENTS:
        if requirement.seed_line is not None:
            assert requirement.id in cited[requirement.seed_line]
    row = r'<tr id="L(\d+)"><th><a href="#L\1">\1</a></th><td><code>(.*?)</code></td><td>(.*?)</td>'
    rows = re.findall(row, page)
    assert [int(n) for n, _, _ in rows] == sorted(cited)
    for number, text, citers in rows:
        assert html.unescape(text) == SEED_LINES[int(number) - 1]
        assert citers.split(", ") == cited[int(number)]
    assert "<script" not in page
    assert "default-src 'none'" in page


def test_target_text_cannot_enter_and_lines_past_the_end_say_so() -> None:
    page = seed_page(["<b>one</b>"], {1: ["X"], 5: ["Y"]})
    assert "&lt;b&gt;one&lt;/b&gt;" in page
    assert "(beyond the end of the document)" in page


@pytest.mark.e2e
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
