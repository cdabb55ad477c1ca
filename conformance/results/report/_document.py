"""A tiny document model rendered both to Markdown and to self-contained HTML.

The sign-off builds one list of blocks and renders it twice, so the two files cannot say different
things. All text is treated as untrusted (messages and bodies come from the target): HTML escapes it,
Markdown escapes the characters that would start markup and keeps every cell on one line.

Both read well as they are: the Markdown as plain text (``- Target: ...`` lines, no escape where none is
needed, such as the ``_`` inside ``login_token``), the HTML without a word broken in the middle: no
``overflow-wrap: anywhere`` or ``word-break: break-all``, and every requirement or ambiguity ID kept on
one line (``white-space: nowrap``; a browser would otherwise wrap LT-AUTH-USER-SCOPE at a hyphen).
Long values (digests, URLs, commands) scroll sideways instead of being cut.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from conformance.core.printable import one_line

MAX_CELL_CHARS = 600
CSP = "default-src 'none'; style-src 'unsafe-inline'"

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:70rem;
color:#1b1f24;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;border-bottom:2px solid #d0d7de;padding-bottom:.3rem}
h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
h3{font-size:1.05rem}
body,table,td,th,pre,p,h1,h2,h3,li{word-break:normal;overflow-wrap:normal;hyphens:manual}
.scroll{overflow-x:auto;margin:.5rem 0}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;white-space:nowrap}
.id{white-space:nowrap}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.15rem 1rem;margin:.5rem 0;overflow-x:auto}
dl.facts dt{font-weight:bold;white-space:nowrap}dl.facts dd{margin:0}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:.5rem;overflow-x:auto;white-space:pre}
.verdict{font-size:1.3rem;font-weight:bold;padding:.4rem .8rem;display:inline-block;border-radius:4px}
.v-conformant{background:#dafbe1;color:#116329}
.v-conformant-with-waivers{background:#fff8c5;color:#7d4e00}
.v-conformant-under-a-modified-contract{background:#fff1e5;color:#953800}
.v-non-conformant{background:#ffebe9;color:#a40e26}
.v-error{background:#fff8c5;color:#7d4e00}
.o-passed{color:#116329}.o-failed{color:#a40e26;font-weight:bold}.o-warning{color:#7d4e00}
.o-skipped{color:#57606a}
"""
# A requirement or ambiguity ID: kept whole on one line in HTML (class "id", white-space: nowrap).
ID_PATTERN = re.compile(r"\b(?:LT|AMB)(?:-[A-Z0-9]+)+\b")


@dataclass(frozen=True)
class Heading:
    """A section heading (level 1..3)."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    """A paragraph; ``css`` is an optional HTML class."""

    text: str
    css: str = ""


@dataclass(frozen=True)
class Fields:
    """Labelled values, one a line (``- Label: value`` in Markdown, a definition list in HTML)."""

    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    """A table; ``outcome_column`` gets outcome colouring in HTML, ``id_column`` is never wrapped."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    outcome_column: int | None = None
    id_column: int | None = 0


@dataclass(frozen=True)
class Code:
    """A preformatted block (commands, bodies)."""

    text: str


Block = Heading | Para | Fields | Table | Code


def _truncate(text: str) -> str:
    if len(text) <= MAX_CELL_CHARS:
        return text
    return f"{text[:MAX_CELL_CHARS]}… ({len(text) - MAX_CELL_CHARS} more characters)"


# ``_`` between two letters or digits never starts emphasis (CommonMark): left as is, so login_token reads.
_MD_SPECIAL = re.compile(r"([\\`*{}\[\]|~])|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_MD_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")  # only an & that would start an entity is escaped


def md_escape(text: str) -> str:
    """One line of Markdown showing ``text`` literally (no markup, no raw HTML, no control character:
    a line break or any other is escaped visibly, so no cell or line can start a line of its own)."""
    escaped = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), one_line(_truncate(text)))
    return _MD_ENTITY.sub("&amp;", escaped).replace("<", "&lt;").replace(">", "&gt;")


def _md_fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def to_markdown(blocks: list[Block]) -> str:
    """Render blocks as GitHub-flavoured Markdown."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {md_escape(block.text)}")
        elif isinstance(block, Para):
            out.append(
                f"**{md_escape(block.text)}**" if block.css.startswith("verdict") else md_escape(block.text)
            )
        elif isinstance(block, Fields):
            out.extend(f"- {md_escape(label)}: {md_escape(value)}" for label, value in block.items)
        elif isinstance(block, Table):
            out.append("| " + " | ".join(md_escape(h) for h in block.headers) + " |")
            out.append("|" + "---|" * len(block.headers))
            out.extend("| " + " | ".join(md_escape(c) for c in row) + " |" for row in block.rows)
        else:
            out.append(_md_fence(block.text))
        out.append("")
    return "\n".join(out)


def _h(text: str, *, whole: bool = False) -> str:
    """Escaped text, each requirement or ambiguity ID in it kept on one line (``whole``: the element is)."""
    escaped = html.escape(_truncate(text), quote=True)
    if whole:
        return escaped
    return ID_PATTERN.sub(lambda m: f'<span class="id">{m.group(0)}</span>', escaped)


def to_html(blocks: list[Block], *, title: str) -> str:
    """Render blocks as one self-contained HTML page: inline CSS, no script, no external resource."""
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{_h(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            css = f' class="{html.escape(block.css)}"' if block.css else ""
            body.append(f"<p{css}>{_h(block.text)}</p>")
        elif isinstance(block, Fields):
            items = "".join(f"<dt>{_h(label)}</dt><dd>{_h(value)}</dd>" for label, value in block.items)
            body.append(f'<dl class="facts">{items}</dl>')
        elif isinstance(block, Table):
            head = "".join(f"<th>{_h(h)}</th>" for h in block.headers)
            rows = []
            for row in block.rows:
                cells = []
                for i, cell in enumerate(row):
                    css = f' class="o-{html.escape(cell)}"' if i == block.outcome_column else ""
                    css = ' class="id"' if i == block.id_column else css
                    cells.append(f"<td{css}>{_h(cell, whole=i == block.id_column)}</td>")
                rows.append("<tr>" + "".join(cells) + "</tr>")
            table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            body.append(f'<div class="scroll">{table}</div>')
        else:
            body.append(f"<pre>{html.escape(block.text, quote=True)}</pre>")
    # The CSP is a second guard: even a markup injection that escaped escaping could not run or fetch.
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(_truncate(title), quote=True)}</title>\n"
        f"<style>{CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
