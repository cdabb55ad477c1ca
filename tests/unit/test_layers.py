"""ARCHITECTURE.md's layer rules: import-linter's contracts (.importlinter) hold, lazy imports included."""

from __future__ import annotations

import ast
import configparser
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import grimp
import pytest

from tests.support import ROOT

CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path, *, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    executable = str(LINT_IMPORTS) if LINT_IMPORTS.exists() else shutil.which("lint-imports")
    assert executable, "lint-imports is not installed (pip install -e '.[dev]')"
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [executable, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT, pythonpath=ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_every_module_lives_in_a_layer_folder() -> None:
    """The layers are folders: no module sits flat under conformance/, and every folder is a layer."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    layers = {
        name.strip()
        for line in parser["importlinter:contract:layers"]["layers"].split("\n")
        for name in line.split("|")
        if name.strip()
    }
    flat = {p.name for p in (ROOT / "conformance").glob("*.py")} - {"__init__.py", "__main__.py"}
    assert not flat, f"move these into a layer folder: {sorted(flat)}"
    folders = {f"conformance.{p.parent.name}" for p in (ROOT / "conformance").glob("*/__init__.py")}
    assert folders == layers, f"folders not in the layers contract: {sorted(folders - layers)}"


@pytest.mark.parametrize("where", ["module level", "inside a function"])
def test_a_forbidden_import_is_caught_wherever_it_is(tmp_path: Path, where: str) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "front.py").write_text("X = 1\n", encoding="utf-8")
    body = "from pkg import front\n" if where == "module level" else "def f():\n    from pkg import front\n"
    (package / "core.py").write_text(body, encoding="utf-8")
    (tmp_path / ".importlinter").write_text(
        textwrap.dedent(
            """\
            [importlinter]
            root_package = pkg

            [importlinter:contract:core]
            name = core never imports front
            type = forbidden
            source_modules = pkg.core
            forbidden_modules = pkg.front
            """
        ),
        encoding="utf-8",
    )
    result = lint_imports(tmp_path, pythonpath=tmp_path)
    assert result.returncode == 1, result.stdout
    assert "BROKEN" in result.stdout and "pkg.core -> pkg.front" in result.stdout


def test_each_default_has_one_home() -> None:
    homes: dict[str, list[str]] = {}
    for path in sorted((ROOT / "conformance").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.startswith("DEFAULT_"):
                    homes.setdefault(target.id, []).append(str(path.relative_to(ROOT)))
    twice = {name: where for name, where in homes.items() if len(where) > 1}
    assert not twice, f"defined in more than one module (import it from one): {twice}"


def test_the_reference_imports_only_contract_and_model() -> None:
    """Finer than the layers contract (which lets the reference import the whole core): a separate program."""
    graph = grimp.build_graph("conformance")
    for module in sorted(graph.find_descendants("conformance.reference")):
        ours = {
            name
            for name in graph.find_modules_directly_imported_by(module)
            if name.startswith("conformance") and not name.startswith("conformance.reference")
        }
        assert ours <= {"conformance.core.contract", "conformance.core.model"}, module
