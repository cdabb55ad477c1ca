"""The tests' own layout: unit tests mirror the package's layer folders, end-to-end tests (marked e2e, a
module at a time) live in tests/e2e/, and no test module imports another.

Shared helpers live in tests/support/ (plain modules) or in a conftest.py, so moving, renaming or deleting
one test module never breaks another; `make unit` (-m "not e2e") and `make e2e` (-m e2e) select by the mark.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

TESTS = ROOT / "tests"
# The package's layer folders (conformance/<area>/) a unit test's folder names; suite/ is the conformance
# test modules themselves, exercised end to end (tests/e2e/test_selftest.py).
AREAS = frozenset(
    p.name for p in (ROOT / "conformance").iterdir() if (p / "__init__.py").is_file() and p.name != "suite"
)
# tests/unit/ itself holds only the tests of the repository as a whole.
REPOSITORY_TESTS = frozenset({"test_layout.py", "test_layers.py", "test_benchmark_figures.py"})


def _test_modules() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def _package(path: Path) -> str:
    """The dotted package a module under the repository root belongs to."""
    return ".".join(path.parent.relative_to(ROOT).parts)


def _imported(source: str, package: str) -> set[str]:
    """Every module an import in ``source`` names (function-level ones too), relative imports resolved."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from tests.unit import test_x`
    return names


def _e2e_marks(source: str) -> tuple[bool, int]:
    """(the module is marked e2e as a whole, how many other places name the e2e mark)."""
    tree = ast.parse(source)
    whole = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
    ]
    in_module_mark = {id(n) for node in whole for n in ast.walk(node)}
    named = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "e2e" and ast.unparse(node.value).endswith("mark")
    ]
    marked_whole = any(id(node) in in_module_mark for node in named)
    return marked_whole, sum(id(node) not in in_module_mark for node in named)


def _is_test_module(name: str) -> bool:
    return name.split(".")[0] == "tests" and name.split(".")[-1].startswith("test_")


def test_every_test_module_lives_under_an_area_of_unit_or_under_e2e() -> None:
    misplaced = []
    for path in _test_modules():
        parts = path.relative_to(TESTS).parts
        placed = (
            (len(parts) == 2 and parts[0] == "e2e")
            or (len(parts) == 3 and parts[0] == "unit" and parts[1] in AREAS)
            or (len(parts) == 2 and parts[0] == "unit" and parts[1] in REPOSITORY_TESTS)
        )
        if not placed:
            misplaced.append(str(path.relative_to(ROOT)))
    assert misplaced == [], (
        f"a test module goes to tests/unit/<area>/ ({', '.join(sorted(AREAS))}) or tests/e2e/"
    )
    assert {p.name for p in (TESTS / "unit").iterdir() if p.is_dir() and p.name != "__pycache__"} <= AREAS


def test_end_to_end_modules_are_marked_as_a_whole_and_unit_modules_never() -> None:
    """The e2e mark follows the folder: tests/e2e/ modules carry it in ``pytestmark``, nothing else does."""
    wrong = []
    for path in _test_modules():
        marked_whole, elsewhere = _e2e_marks(path.read_text(encoding="utf-8"))
        in_e2e = path.relative_to(TESTS).parts[0] == "e2e"
        if (marked_whole, elsewhere) != (in_e2e, 0):
            wrong.append(
                f"{path.relative_to(ROOT)}: pytestmark e2e {marked_whole}, other e2e marks {elsewhere}"
            )
    assert wrong == []


@pytest.mark.parametrize(
    ("source", "marks"),
    [
        ("pytestmark = pytest.mark.e2e", (True, 0)),
        ('pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("g")]', (True, 0)),
        ("@pytest.mark.e2e\ndef test_x(): pass", (False, 1)),
        ("e2e = pytest.mark.e2e\n@e2e\ndef test_x(): pass", (False, 1)),
        (
            '@pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.e2e)])\ndef test_x(x): pass',
            (False, 1),
        ),
        ("pytestmark = pytest.mark.browser", (False, 0)),
    ],
)
def test_the_mark_rule_sees_every_spelling(source: str, marks: tuple[bool, int]) -> None:
    assert _e2e_marks(source) == marks


def test_every_test_folder_is_a_package() -> None:
    """Two test modules of one name in different folders (unit/results/, e2e/) import as different modules."""
    folders = {path.parent for path in _test_modules()} | {TESTS / "support"}
    assert sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").is_file()) == []


def test_no_module_of_the_tests_imports_a_test_module() -> None:
    offending = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted(TESTS.rglob("*.py"))
        for name in sorted(_imported(path.read_text(encoding="utf-8"), _package(path)))
        if _is_test_module(name)
    ]
    assert offending == [], "shared helpers go to tests/support/ or a conftest.py"


@pytest.mark.parametrize(
    ("source", "imports_a_test_module"),
    [
        ("from tests.unit.run.test_engine import make_run", True),
        ("from tests.unit.run import test_engine", True),
        ("import tests.e2e.test_hostile", True),
        ("from .test_engine import make_run", True),
        ("from . import test_engine", True),
        ("def f():\n    from tests.e2e.test_interrupt import end", True),
        ("from tests.support.runs import make_run", False),
        ("from tests.support import ROOT", False),
        ("from conformance.suite import test_grant", False),  # the package's suite, not a test of ours
    ],
)
def test_the_import_rule_sees_every_spelling(source: str, imports_a_test_module: bool) -> None:
    names = _imported(source, "tests.unit.run")  # read as if it were a module of tests/unit/run/
    assert any(_is_test_module(name) for name in names) is imports_a_test_module, names
