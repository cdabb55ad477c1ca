"""`conformance catalogue`: the contract as Markdown, and the tables README.md and docs/ repeat from the code.

Each repeated table stands between two markers, ``<!-- BEGIN generated: NAME -->`` and ``<!-- END
generated: NAME -->``, in the file ``GENERATED`` names; ``--write`` rewrites what lies between them (and
nothing else) from the code, or from ``benchmarks/RESULTS.md`` (the one copy of the measured figures,
written by `make bench`), ``--check`` fails when any block is stale. Both work on the checkout the package
was imported from: README.md beside the ``conformance`` folder (an installed wheel has none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from conformance.checks import checks_serving
from conformance.core import families
from conformance.core.contract import ambiguities_markdown, catalogue_markdown
from conformance.core.errors import EXIT_NON_CONFORMANT, ConformanceError
from conformance.frontends.cli.diff import DIFF_EXIT_CODES
from conformance.results.verdict import EXIT_CODES

CHECKOUT = Path(__file__).resolve().parents[3]  # conformance/frontends/cli/ -> the repository root
BEGIN = "<!-- BEGIN generated: {name} -->"
END = "<!-- END generated: {name} -->"
FIX = "conformance catalogue --write"
RESULTS = "benchmarks/RESULTS.md"  # from the checkout's root


@dataclass(frozen=True)
class Generated:
    """One table a document repeats from the code: the file (from the checkout's root), its name, its text."""

    path: str
    name: str
    render: Callable[[Path], str]  # the checkout's root -> the table


class CatalogueError(ConformanceError):
    """A document without its markers, or no checkout to write in: exit 2, one line."""


def _code(render: Callable[[], str]) -> Callable[[Path], str]:
    """A table rendered from the code alone, whatever the checkout holds."""
    return lambda _root: render()


def _faults() -> str:
    from conformance.reference import faults_markdown  # the reference's catalogue, imported when asked

    return faults_markdown()


def _codes_table(heading: str, codes: dict[int, str]) -> str:
    return "\n".join([f"| Code | {heading} |", "|---|---|", *(f"| {c} | {m} |" for c, m in codes.items())])


def _results(root: Path) -> str:
    try:
        return (root / RESULTS).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(
            f"cannot read {RESULTS} in {root}: {exc}; run `make bench` to write it"
        ) from None


def _section(name: str) -> Callable[[Path], str]:
    """One ``## benchmarks.NAME`` section of RESULTS.md, without its heading."""

    def render(root: Path) -> str:
        heading = f"## benchmarks.{name}\n"
        results = _results(root)
        if results.count(heading) != 1:
            raise CatalogueError(f"{RESULTS} has no single section {heading.strip()}: run `make bench`")
        return (results + "\n## ").split(heading, 1)[1].split("\n## ", 1)[0].strip()

    return render


def _fenced(render: Callable[[Path], str]) -> Callable[[Path], str]:
    return lambda root: f"```\n{render(root).strip()}\n```"


GENERATED: tuple[Generated, ...] = (
    Generated("README.md", "exit-codes", _code(lambda: _codes_table("Meaning", EXIT_CODES))),
    Generated(
        "README.md",
        "diff-exit-codes",
        _code(lambda: _codes_table("Meaning of `conformance diff`", DIFF_EXIT_CODES)),
    ),
    Generated(
        "README.md",
        "probe-families",
        _code(lambda: families.families_markdown(families.RECORDED_FAMILIES)),
    ),
    Generated("README.md", "catalogue", _code(lambda: catalogue_markdown(checks_serving))),
    Generated("README.md", "ambiguities", _code(ambiguities_markdown)),
    Generated("README.md", "benchmarks", _fenced(_results)),
    Generated("docs/faults.md", "faults", _code(_faults)),
    Generated("docs/cassettes.md", "bench-replay", _section("replay")),
    Generated("docs/safety.md", "bench-memory", _fenced(_section("memory"))),
)


def block(name: str, text: str) -> str:
    """A generated table between its markers, a blank line on each side (Markdown reads the table alone)."""
    return f"{BEGIN.format(name=name)}\n\n{text.strip()}\n\n{END.format(name=name)}"


def regenerate(document: str, *, path: str, generated: tuple[Generated, ...], root: Path) -> str:
    """``document`` with every block of ``generated`` rewritten between its markers, the rest untouched."""
    for item in generated:
        begin, end = BEGIN.format(name=item.name), END.format(name=item.name)
        if (
            document.count(begin) != 1
            or document.count(end) != 1
            or document.index(begin) > document.index(end)
        ):
            raise CatalogueError(
                f"{path} needs the markers {begin} and {end} once each, in that order, around the "
                f"generated table {item.name}: put them back, then run `{FIX}`"
            )
        head, rest = document.split(begin, 1)
        tail = rest.split(end, 1)[1]
        document = head + block(item.name, item.render(root)) + tail
    return document


def stale_documents(root: Path, *, write: bool) -> list[str]:
    """The documents under ``root`` whose generated blocks are not the code's (rewritten when ``write``)."""
    if not (root / "README.md").is_file():
        raise CatalogueError(
            f"no README.md at {root}: the generated tables live in a checkout of the suite; run this from "
            "a clone of the repository (an installed package has no README to write)"
        )
    stale = []
    for path in dict.fromkeys(item.path for item in GENERATED):
        file = root / path
        try:
            document = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogueError(f"cannot read {path} in {root}: {exc}") from None
        mine = tuple(item for item in GENERATED if item.path == path)
        current = regenerate(document, path=path, generated=mine, root=root)
        if current == document:
            continue
        stale.append(path)
        if write:
            try:
                file.write_text(current, encoding="utf-8")
            except OSError as exc:
                raise CatalogueError(f"cannot write {path} in {root}: {exc.strerror or exc}") from None
    return stale


@click.command("catalogue")
@click.option(
    "--write", is_flag=True, help="Rewrite the generated tables of README.md and docs/ from the code."
)
@click.option("--check", is_flag=True, help="Exit 1 when a generated table of README.md or docs/ is stale.")
def catalogue_command(write: bool, check: bool) -> int:
    """Print the requirement catalogue and the ambiguity register (Markdown)."""
    if write and check:
        raise click.UsageError("--write and --check exclude each other: --check only reads")
    if not (write or check):
        click.echo(catalogue_markdown(checks_serving))
        click.echo()
        click.echo(ambiguities_markdown())
        return 0
    stale = stale_documents(CHECKOUT, write=write)
    if write:
        click.echo(f"rewrote {', '.join(stale)}" if stale else "README.md and docs/ are up to date")
        return 0
    if stale:
        click.echo(f"conformance: error: {', '.join(stale)} stale: run `{FIX}`", err=True)
        return EXIT_NON_CONFORMANT
    return 0
