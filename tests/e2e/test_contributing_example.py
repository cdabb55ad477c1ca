"""CONTRIBUTING.md's worked example, applied to a copy of the repository: the snippets the document shows
(read from it, so the two cannot drift) in the files it names, `conformance catalogue --write`, then the
catalogue and coverage tests of the copy pass and exactly the promised files changed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
CASE_FILE = "grant_message_two_lines.yaml"
PROBES_OPENING = "PROBES: dict[str, Callable[[Probe], object]] = {\n"
REQUIREMENTS_OPENING = "REQUIREMENTS: tuple[Requirement, ...] = (\n"
# The files the worked example says it touches (by the contributor, then by the command), from the root.
TOUCHED = (
    "conformance/core/contract.py",
    "conformance/checks/body.py",
    "conformance/reference/response_faults.py",
)
GENERATED = ("README.md", "docs/faults.md")

pytestmark = pytest.mark.e2e


def snippet(name: str) -> str:
    """The fenced code between CONTRIBUTING's ``<!-- BEGIN example: NAME -->`` and its END marker."""
    text = CONTRIBUTING.read_text(encoding="utf-8")
    begin, end = f"<!-- BEGIN example: {name} -->\n", f"<!-- END example: {name} -->"
    assert text.count(begin) == 1 and text.count(end) == 1, name
    lines = text.split(begin, 1)[1].split(end, 1)[0].strip("\n").splitlines()
    assert lines[0].startswith("```") and lines[-1] == "```", name
    return "\n".join(lines[1:-1]) + "\n"


def only(root: Path, name: str) -> Path:
    """The one file called ``name`` under ``root``."""
    (found,) = root.rglob(name)
    return found


def git(directory: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=example", "-c", "user.email=example@example.invalid", *args]
    return subprocess.run(command, cwd=directory, capture_output=True, text=True, check=True).stdout


def copy_of_the_repository(into: Path) -> Path:
    """Every file git tracks or would track (untracked, not ignored), copied and committed in a repository."""
    try:
        listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the worked example needs the repository's files")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    git(into, "init", "-q")
    git(into, "add", "-A")
    git(into, "commit", "-q", "-m", "the repository before the example")
    return into


def appended(path: Path, code: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n\n\n" + code, encoding="utf-8")


def inserted_after(path: Path, opening: str, code: str, *, before_closing: str | None = None) -> None:
    """``code`` put right after ``opening`` or, with ``before_closing``, before the first one after it."""
    text = path.read_text(encoding="utf-8")
    assert text.count(opening) == 1, (path, opening)
    at = text.index(opening) + len(opening)
    if before_closing is not None:
        at = text.index(before_closing, at) + 1
    path.write_text(text[:at] + code + text[at:], encoding="utf-8")


def test_the_worked_example_touches_the_promised_files_and_the_tests_pass(tmp_path: Path) -> None:
    copy = copy_of_the_repository(tmp_path / "repo")
    tests = copy / "tests" / "unit"  # the unit tests the example must keep green
    faults_test = only(tests, "test_faults.py")
    case_file = only(tests, "grant_conforming.yaml").parent / CASE_FILE

    inserted_after(copy / TOUCHED[0], REQUIREMENTS_OPENING, snippet("requirement"), before_closing="\n)\n")
    appended(copy / TOUCHED[1], snippet("check"))
    case_file.write_text(snippet("case"), encoding="utf-8")
    appended(copy / TOUCHED[2], snippet("fault"))
    inserted_after(faults_test, PROBES_OPENING, snippet("probe"))

    environment = {k: v for k, v in os.environ.items() if k != "CONFORMANCE_API_KEY"} | {
        "PYTHONPATH": str(copy)
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args], cwd=copy, env=environment, capture_output=True, text=True, timeout=900
        )

    stale = run("-m", "conformance", "catalogue", "--check")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert stale.stderr == (
        "conformance: error: README.md, docs/faults.md stale: run `conformance catalogue --write`\n"
    )
    written = run("-m", "conformance", "catalogue", "--write")
    assert (written.returncode, written.stdout) == (0, "rewrote README.md, docs/faults.md\n"), written.stderr
    printed = run("-m", "conformance", "catalogue")
    row = next(line for line in printed.stdout.splitlines() if line.startswith("| LT-MESSAGE-ONE-LINE |"))
    assert row.endswith(
        "| should | project assumption: clients log <message> (log injection, CWE-117) | `message_one_line` |"
    )  # its checks, derived from @check(serves=...)

    pytest = ("-m", "pytest", "-n", "0", "-v")
    catalogue = run(
        *pytest, str(only(tests, "test_contract.py")), str(only(tests, "test_catalogue_write.py"))
    )
    assert catalogue.returncode == 0, catalogue.stdout[-3000:] + catalogue.stderr[-2000:]
    coverage_tests = (
        "case_file or cover_every_requirement or catalogued or covered_by_some_fault "
        "or every_fault_has_a_probe or message_forged_log_line"
    )
    coverage = run(*pytest, str(only(tests, "test_checks.py")), str(faults_test), "-k", coverage_tests)
    assert coverage.returncode == 0, coverage.stdout[-3000:] + coverage.stderr[-2000:]
    for test in (
        "test_case_file[grant_message_two_lines] PASSED",
        "test_case_files_cover_every_requirement_both_ways PASSED",
        "test_every_requirement_is_covered_by_some_fault PASSED",
        "test_fault_misbehaves_as_promised[message_forged_log_line] PASSED",
        "test_probe_fails_against_the_conforming_target[message_forged_log_line] PASSED",
    ):
        assert test in coverage.stdout, test

    status = git(copy, "status", "--porcelain", "--untracked-files=all").splitlines()
    promised = [f" M {path}" for path in (*TOUCHED, *GENERATED)]
    promised += [f" M {faults_test.relative_to(copy)}", f"?? {case_file.relative_to(copy)}"]
    assert sorted(status) == sorted(promised)
