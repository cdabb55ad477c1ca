"""The one error root: every ConformanceError carries a documented exit code, and the CLI ends with it."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import conformance
from conformance.core.errors import EXIT_UNREACHABLE, EXIT_USAGE, ConfigError, ConformanceError
from conformance.frontends.cli import main

README = Path(__file__).resolve().parents[3] / "README.md"
# Where the package raises a user-facing error, by name, and the exit code it ends the run with.
USER_FACING = {
    "ConfigError": EXIT_USAGE,
    "ConfigFileError": EXIT_USAGE,
    "ProfileError": EXIT_USAGE,
    "WaiverError": EXIT_USAGE,
    "CassetteError": EXIT_USAGE,
    "SealError": EXIT_USAGE,
    "ReportDirError": EXIT_USAGE,
    "ReportError": EXIT_USAGE,
    "SummaryError": EXIT_USAGE,
    "SummaryUnreadable": EXIT_USAGE,
    "InputUnreadable": EXIT_USAGE,
    "SignatureError": EXIT_USAGE,
    "ThirdPartyMismatch": EXIT_USAGE,
    "TargetRefused": EXIT_USAGE,
    "RequestBudgetExceeded": EXIT_USAGE,
    "ConfigurationRefused": EXIT_USAGE,
    "TargetMisconfigured": EXIT_UNREACHABLE,
    "TargetWentAway": EXIT_UNREACHABLE,
}


def _all_subclasses() -> dict[str, type[ConformanceError]]:
    """Every ConformanceError subclass the package defines (each module imported; not the suite's tests)."""
    for module in pkgutil.walk_packages(conformance.__path__, "conformance."):
        if not module.name.startswith("conformance.suite") and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: dict[str, type[ConformanceError]] = {}
    todo = [ConformanceError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("conformance."):
                found[f"{sub.__module__}.{sub.__qualname__}"] = sub
                todo.append(sub)
    return found


def _readme_exit_codes() -> set[int]:
    """The codes of README's "Exit codes" table."""
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- BEGIN generated: exit-codes -->", 1)[1].split(
        "<!-- END generated: exit-codes -->"
    )[0]
    return {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}


def test_the_readme_table_is_found() -> None:
    assert _readme_exit_codes() == {0, 1, 2, 3, 4, 5, 6, 7, 130}


@pytest.mark.parametrize("name", sorted(_all_subclasses()))
def test_every_subclass_ends_with_a_documented_error_exit_code(name: str) -> None:
    code = _all_subclasses()[name].exit_code
    assert code in _readme_exit_codes(), f"{name}.exit_code {code} is not in README's Exit codes"
    assert code not in (0, 1, 6, 7), f"{name}.exit_code {code} is a verdict's code, not an error's"


@pytest.mark.parametrize(("name", "code"), sorted(USER_FACING.items()))
def test_each_user_facing_error_has_the_root_and_its_code(name: str, code: int) -> None:
    by_name = {cls.__name__: cls for cls in _all_subclasses().values()}
    assert name in by_name, f"{name} does not subclass ConformanceError"
    assert by_name[name].exit_code == code


def test_a_raise_may_give_another_code_for_itself_only() -> None:
    error = ConfigError("target unreachable", exit_code=EXIT_UNREACHABLE)
    assert error.exit_code == EXIT_UNREACHABLE
    assert ConfigError("bad option").exit_code == EXIT_USAGE
    assert ConfigError.exit_code == EXIT_USAGE
    assert str(error) == "target unreachable"


def test_the_cli_ends_with_a_profile_errors_line_and_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no config file of the checkout's
    missing = tmp_path / "nowhere.toml"
    code = main(
        ["run", "--target", "reference", "--profile", str(missing), "--report-dir", str(tmp_path / "r")]
    )
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err.startswith("conformance: error: ") and str(missing) in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_the_cli_ends_with_the_code_a_raise_gave(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONFORMANCE_API_KEY", "canary-key-0123456789")  # nothing listens: never sent
    code = main(
        ["run", "--target", "http://127.0.0.1:9", "--report-dir", str(tmp_path / "r"), "--user-id", "5"]
    )
    err = capsys.readouterr().err
    assert code == EXIT_UNREACHABLE, err
    assert err.startswith("conformance: error: target unreachable: cannot connect to 127.0.0.1:9")
    assert err.count("\n") == 1
