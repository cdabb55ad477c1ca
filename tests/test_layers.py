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

import pytest

ROOT = Path(__file__).parent.parent
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


def test_every_core_module_of_the_tree_is_under_a_contract() -> None:
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    core = set(parser["importlinter:contract:core"]["source_modules"].split())
    front = set(parser["importlinter:contract:core"]["forbidden_modules"].split())
    top = {p.stem for p in (ROOT / "conformance").glob("*.py")} | {
        p.parent.name for p in (ROOT / "conformance").glob("*/__init__.py")
    }
    # Above the core: the front ends, the driver, the reports and the package's entry files.
    above = {"__init__", "__main__", "plugin", "cli", "suite", "runner", "selftest", "local", "reference"}
    above |= {"report", "publish", "leaks"}
    unplaced = {f"conformance.{name}" for name in top - above} - core - front
    assert not unplaced, f"place these in .importlinter (core or not): {sorted(unplaced)}"


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
