"""The cited seed lines ship in every report, so "seed line N" links resolve offline."""

from __future__ import annotations

import html
import re
from pathlib import Path

from conformance.core import contract
from conformance.core.schema import schema_path
from conformance.results.report.seed import (
    SEED_FILE,
    cited_lines,
    seed_page,
    write_seed_excerpt,
)
from tests.support import SEED

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
