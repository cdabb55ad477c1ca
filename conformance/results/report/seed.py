"""The cited lines of the vendor's seed document, written into the report so "seed line N" links resolve.

The seed document ships with the suite (``schemas/login_token_seed.txt``, a verbatim copy of
``shared/seed/000_bb5fd846bf2e5573.txt``). ``seed.html`` in the report directory holds every line a
requirement or an ambiguity cites, each with the anchor ``#L<n>`` and the IDs that cite it: self-contained,
no script, a ``default-src 'none'`` CSP. The Allure report links to it as ``../seed.html#L<n>`` (the
report sits in ``<report-dir>/allure-report/``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

from conformance.core import contract
from conformance.core.files import write_atomic
from conformance.core.schema import schema_path

SEED_FILE = "login_token_seed.txt"
SEED_PAGE = "seed.html"
_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_CSS = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}"
    "code{white-space:pre-wrap}tr:target{background:#fff3b0}"
)


def seed_link(line: int) -> str:
    """The link from the Allure report (``<report-dir>/allure-report/``) to one cited seed line."""
    return f"../{SEED_PAGE}#L{line}"


def cited_lines() -> dict[int, list[str]]:
    """Seed line number -> the requirement and ambiguity IDs citing it, in line order."""
    cited: dict[int, list[str]] = {}
    cites = [(r.seed_line, r.id) for r in contract.REQUIREMENTS]
    cites += [(a.seed_line, a.id) for a in contract.AMBIGUITIES]
    for line, cited_by in cites:
        if line is not None:
            cited.setdefault(line, []).append(cited_by)
    return dict(sorted(cited.items()))


def seed_page(lines: list[str], cited: Mapping[int, list[str]]) -> str:
    """The HTML page of the cited lines (``lines`` is the seed document, line 1 first)."""
    rows = []
    for number, ids in cited.items():
        text = lines[number - 1] if 0 < number <= len(lines) else "(beyond the end of the document)"
        rows.append(
            f'<tr id="L{number}"><th><a href="#L{number}">{number}</a></th>'
            f"<td><code>{html.escape(text)}</code></td><td>{html.escape(', '.join(ids))}</td></tr>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>Seed document: cited lines</title><style>{_CSS}</style></head><body>"
        f"<h1>Cited lines of the seed document</h1><p>{html.escape(contract.SEED_DOCUMENT)}, "
        "as shipped with the suite; each line with the requirements and ambiguities that cite it.</p>"
        "<table><thead><tr><th>Line</th><th>Text</th><th>Cited by</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>\n"
    )


def write_seed_excerpt(report_dir: Path) -> Path:
    """Write ``seed.html`` (the cited seed lines) into ``report_dir``; returns its path."""
    lines = schema_path(SEED_FILE).read_text(encoding="utf-8").splitlines()
    path = report_dir / SEED_PAGE
    write_atomic(path, seed_page(lines, cited_lines()))
    return path
