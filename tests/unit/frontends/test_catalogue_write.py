"""`conformance catalogue --write` / `--check`: the tables README.md and docs/ repeat from the code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.checks import checks_serving
from conformance.core.contract import ambiguities_markdown, catalogue_markdown
from conformance.core.errors import EXIT_USAGE
from conformance.frontends.cli import main
from conformance.frontends.cli.catalogue import (
    BEGIN,
    CHECKOUT,
    END,
    GENERATED,
    RESULTS,
    CatalogueError,
    stale_documents,
)

DOCUMENTS = tuple(dict.fromkeys(item.path for item in GENERATED))


def copy_documents(root: Path) -> Path:
    """The checkout's generated documents and the benchmark results, copied under ``root`` at the same
    paths."""
    for path in (*DOCUMENTS, RESULTS):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CHECKOUT / path, root / path)
    return root


def test_the_readme_and_docs_are_current() -> None:
    assert stale_documents(CHECKOUT, write=False) == [], "run `conformance catalogue --write`"
    assert main(["catalogue", "--check"]) == 0


def test_every_generated_table_has_its_markers_once() -> None:
    names = [(item.path, item.name) for item in GENERATED]
    assert len(names) == len(set(names))
    for item in GENERATED:
        text = (CHECKOUT / item.path).read_text(encoding="utf-8")
        begin, end = BEGIN.format(name=item.name), END.format(name=item.name)
        assert text.count(begin) == text.count(end) == 1, (item.path, item.name)
        assert item.render(CHECKOUT).strip() in text.split(begin, 1)[1].split(end, 1)[0]


def test_write_rewrites_only_between_the_markers(tmp_path: Path) -> None:
    root = copy_documents(tmp_path)
    readme = root / "README.md"
    current = readme.read_text(encoding="utf-8")
    row = next(line for line in current.splitlines() if line.startswith("| LT-SCHEMA-SUCCESS |"))
    prose = "A failed MUST requirement makes the run non-conformant"
    assert current.count(row) == 1 and current.count(prose) == 1
    edited = current.replace(row, "| LT-SCHEMA-SUCCESS | pasted by hand |").replace(prose, "Edited prose")
    readme.write_text(edited, encoding="utf-8")
    faults = (root / "docs" / "faults.md").read_bytes()

    assert stale_documents(root, write=False) == ["README.md"]
    assert readme.read_text(encoding="utf-8") == edited  # --check only reads
    assert stale_documents(root, write=True) == ["README.md"]
    # The table is the code's again; the prose outside the markers keeps the edit; nothing else moved.
    assert readme.read_text(encoding="utf-8") == current.replace(prose, "Edited prose")
    assert (root / "docs" / "faults.md").read_bytes() == faults
    assert stale_documents(root, write=False) == []


def test_the_benchmark_figures_are_copied_from_their_one_file(tmp_path: Path) -> None:
    root = copy_documents(tmp_path)
    results = root / RESULTS
    text = results.read_text(encoding="utf-8")
    replay = text.split("## benchmarks.replay\n", 1)[1].split("\n## ", 1)[0]
    results.write_text(text.replace(replay, replay + "\n- measured again\n"), encoding="utf-8")
    assert stale_documents(root, write=True) == ["README.md", "docs/cassettes.md"]
    assert "- measured again" in (root / "docs" / "cassettes.md").read_text(encoding="utf-8")
    results.unlink()
    with pytest.raises(CatalogueError, match=r"cannot read benchmarks/RESULTS.md in .*run `make bench`"):
        stale_documents(root, write=False)


def test_a_document_without_its_markers_is_a_one_line_usage_error(tmp_path: Path) -> None:
    root = copy_documents(tmp_path)
    faults = root / "docs" / "faults.md"
    faults.write_text(faults.read_text(encoding="utf-8").replace(END.format(name="faults"), ""), "utf-8")
    with pytest.raises(CatalogueError) as caught:
        stale_documents(root, write=True)
    message = str(caught.value)
    assert caught.value.exit_code == EXIT_USAGE and "\n" not in message
    assert message.startswith("docs/faults.md needs the markers <!-- BEGIN generated: faults -->")
    assert "conformance catalogue --write" in message


def test_no_readme_is_a_one_line_usage_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as caught:
        stale_documents(tmp_path, write=True)
    assert caught.value.exit_code == EXIT_USAGE
    assert str(caught.value).startswith(f"no README.md at {tmp_path}: ")
    assert list(tmp_path.iterdir()) == []


def test_without_a_flag_it_prints_the_catalogue_and_the_register(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalogue"]) == 0
    assert capsys.readouterr().out == f"{catalogue_markdown(checks_serving)}\n\n{ambiguities_markdown()}\n"
    assert main(["catalogue", "--write", "--check"]) == EXIT_USAGE
    assert "exclude each other" in capsys.readouterr().err


def test_a_requirement_lists_the_checks_that_serve_it_by_name() -> None:
    assert checks_serving("LT-HTTP-MSG-CONNECTION") == ("connection_management", "message_framing")
    assert checks_serving("LT-INPUT-EQUIVALENT") == ("input_outcome", "spelling_honoured")
    assert checks_serving("LT-NOPE") == ()
