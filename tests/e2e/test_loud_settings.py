"""Loud settings and no silent exemption, end to end through the real CLI (issue 19 items 5 and 6).

The scenario of the issue: a conformance.toml in the working directory points at a lenient profile. Named
`default`, it is refused; under another name, a +1 h expire server and an off-by-one server are not
`conformant` but `conformant under a modified contract` (exit 7), and the header, summary.json and the
sign-off say which setting changed what, and where it came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.core.errors import EXIT_INCOMPLETE, EXIT_MODIFIED_CONTRACT, EXIT_USAGE
from tests.support.cli import SMALL_TOKEN_SAMPLE, conformance, summary

pytestmark = pytest.mark.e2e
QUICK = ("--seed", "1", "--max-examples", "5")
MODIFIED = "conformant under a modified contract"


def configured(tmp_path: Path, profile_name: str, setting: str) -> Path:
    """A working directory whose conformance.toml points at a profile file holding ``setting``."""
    (tmp_path / f"{profile_name}.toml").write_text(
        f"{setting}\ntoken_sample = {SMALL_TOKEN_SAMPLE}\n", encoding="utf-8"
    )
    (tmp_path / "conformance.toml").write_text(f'profile = "{profile_name}.toml"\n', encoding="utf-8")
    return tmp_path


def qrcode_image(document: dict[str, Any]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = document["requirements"]
    (entry,) = [r for r in entries if r["id"] == "LT-QRCODE-IMAGE"]
    return entry


@pytest.mark.parametrize("setting", ["expire_tolerance = 3700", "token_expire_max = 86401"])
def test_a_profile_named_default_is_refused(tmp_path: Path, setting: str) -> None:
    cwd = configured(tmp_path, "default", setting)
    result = conformance("run", "--target", "reference", "--report-dir", str(tmp_path / "r"), cwd=cwd)
    assert result.returncode == EXIT_USAGE
    (line,) = result.stderr.splitlines()
    assert "the name 'default' is the built-in profile's" in line and "rename" in line
    assert "Traceback" not in result.stderr


def test_a_name_setting_of_default_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "lenient.toml").write_text('name = "Default"\nexpire_tolerance = 3700\n', encoding="utf-8")
    result = conformance("run", "--target", "reference", "--profile", "lenient.toml", cwd=tmp_path)
    assert result.returncode == EXIT_USAGE
    assert "the name 'default' is the built-in profile's" in result.stderr


@pytest.mark.parametrize(
    ("fault", "setting", "name", "value"),
    [
        ("expire_one_hour_late", "expire_tolerance = 3700", "expire_tolerance", "3700"),
        ("token_expire_86401_accepted", "token_expire_max = 86401", "token_expire_max", "86401"),
    ],
    ids=["plus-one-hour", "off-by-one"],
)
def test_a_loosened_vendor_limit_is_a_modified_contract_everywhere(
    tmp_path: Path, fault: str, setting: str, name: str, value: str
) -> None:
    cwd = configured(tmp_path, "lenient", setting)
    reports = tmp_path / "r"
    result = conformance(
        "run", "--target", "reference", "--fault", fault, "--report-dir", str(reports), *QUICK, cwd=cwd
    )
    assert result.returncode == EXIT_MODIFIED_CONTRACT, result.stdout + result.stderr
    header = result.stdout.split("Requirements")[0]
    assert "profile lenient" in header and "config file: conformance.toml" in header
    assert f"modified contract: {name} = {value}" in header and "from profile file lenient.toml" in header
    assert f"verdict: {MODIFIED}" in result.stdout and "verdict: conformant ·" not in result.stdout

    document = summary(reports)
    assert (document["verdict"], document["exit_code"]) == (MODIFIED, EXIT_MODIFIED_CONTRACT)
    assert document["config_file"] == "conformance.toml"
    settings = {s["name"]: s for s in document["settings"]}
    assert settings[name]["kind"] == "contract" and settings[name]["value"] == value
    assert settings[name]["source"] == "profile file lenient.toml" and settings[name]["fixed_by"]
    assert settings["token_sample"]["kind"] == "reading"  # a reading is listed, but no verdict of its own
    assert settings["--profile"]["source"] == "config file conformance.toml"

    signoff = (reports / "signoff.md").read_text(encoding="utf-8")
    assert f"Verdict: {MODIFIED.upper()}" in signoff and "Verdict: CONFORMANT**" not in signoff
    assert "## Settings that differ from the defaults" in signoff
    row = next(line for line in signoff.splitlines() if line.startswith(f"| {name} |"))
    assert value in row and "profile file lenient.toml" in row and "modifies the contract" in row
    assert "config file conformance.toml" in signoff


def test_a_reading_is_listed_and_the_verdict_stays_conformant(tmp_path: Path) -> None:
    cwd = configured(tmp_path, "staging", "expire_tolerance = 30")  # within the reading's bound
    reports = tmp_path / "r"
    result = conformance("run", "--target", "reference", "--report-dir", str(reports), *QUICK, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "setting: expire_tolerance = 30 (default 5; from profile file staging.toml)" in result.stdout
    document = summary(reports)
    assert document["verdict"] == "conformant"
    assert {s["name"]: s["kind"] for s in document["settings"]}["expire_tolerance"] == "reading"


def test_a_pyproject_table_is_named_in_the_header(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.conformance]\nseed = 3\n", encoding="utf-8")
    result = conformance(
        "run", "--target", "reference", "-k", "valid_request_is_granted", "--max-examples", "5", cwd=tmp_path
    )
    assert "config file: pyproject.toml [tool.conformance]" in result.stdout
    assert "setting: --seed = 3 (default -; from config file pyproject.toml)" in result.stdout


# -- LT-QRCODE-IMAGE: exercised, or listed as not exercised, or declared by the user ------------------


def test_a_default_live_run_judges_the_qr_images(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    result = conformance("run", "--target", "reference", "--report-dir", str(reports), *QUICK, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    entry = qrcode_image(summary(reports))
    assert entry["outcome"] == "passed" and entry["checks_run"] >= 16  # a spread of the grants' images
    assert summary(reports)["not_applicable"] == []


def test_a_default_live_run_catches_a_broken_image_without_fetch_qrcode(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    result = conformance(
        "run",
        "--target",
        "reference",
        "--fault",
        "qrcode_image_not_a_qr_code",
        "--report-dir",
        str(reports),
        "-k",
        "valid_request_is_granted",
        "--max-examples",
        "5",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert qrcode_image(summary(reports))["outcome"] == "failed"


def test_an_explicit_declaration_names_its_declarer_and_fetches_nothing(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    result = conformance(
        "run",
        "--target",
        "reference",
        "--not-applicable",
        "LT-QRCODE-IMAGE=the images are served by another team's CDN",
        "--report-dir",
        str(reports),
        *QUICK,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "declared not applicable by --not-applicable: LT-QRCODE-IMAGE" in result.stdout
    document = summary(reports)
    entry = qrcode_image(document)
    assert entry["outcome"] == "not-applicable" and entry["checks_run"] == 0
    assert document["not_applicable"] == [
        {
            "id": "LT-QRCODE-IMAGE",
            "reason": "the images are served by another team's CDN",
            "by": "--not-applicable",
        }
    ]
    signoff = (reports / "signoff.md").read_text(encoding="utf-8")
    assert "Every requirement was exercised." not in signoff
    assert "Every requirement was exercised except the 1 declared not applicable" in signoff
    assert "| LT-QRCODE-IMAGE | --not-applicable | the images are served by another team's CDN |" in signoff


def test_a_recording_without_a_declaration_is_incomplete_naming_why(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    result = conformance(
        "run",
        "--target",
        "reference",
        "--record",
        "--cassettes",
        str(tmp_path / "c"),
        "--report-dir",
        str(reports),
        *QUICK,
        cwd=configured(tmp_path, "small", ""),
    )
    assert result.returncode == EXIT_INCOMPLETE, result.stdout + result.stderr
    assert "not exercised in this run: LT-QRCODE-IMAGE" in result.stdout.split("Requirements")[0]
    document = summary(reports)
    assert document["verdict"] == "incomplete" and document["not_applicable"] == []
    (missing,) = document["not_exercised"]
    assert missing["id"] == "LT-QRCODE-IMAGE" and "recording holds no QR code image" in missing["reason"]
    signoff = (reports / "signoff.md").read_text(encoding="utf-8")
    assert "Every requirement was exercised" not in signoff
    assert "None: nothing was declared not applicable." in signoff


def test_the_bundled_replay_declares_it_visibly_and_stays_conformant(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    result = conformance("run", "--report-dir", str(reports), offline=True)  # `make run`, from the root
    assert result.returncode == 0, result.stdout + result.stderr
    header = result.stdout.split("Requirements")[0]
    assert "config file: conformance.toml" in header
    assert "declared not applicable by config file conformance.toml [recording]: LT-QRCODE-IMAGE" in header
    document = summary(reports)
    assert document["verdict"] == "conformant" and document["config_file"] == "conformance.toml"
    (declared,) = document["not_applicable"]
    assert (
        declared["id"] == "LT-QRCODE-IMAGE" and declared["by"] == "config file conformance.toml [recording]"
    )
    signoff = (reports / "signoff.md").read_text(encoding="utf-8")
    assert "| LT-QRCODE-IMAGE | config file conformance.toml \\[recording\\] |" in signoff
    assert "Every requirement was exercised." not in signoff


def test_the_bundled_config_declares_nothing_for_a_live_run(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    result = conformance(
        "run", "--target", "reference", "-k", "valid_request_is_granted", "--report-dir", str(reports)
    )  # from the root, beside the bundled conformance.toml
    assert "config file: conformance.toml" in result.stdout and "declared not applicable" not in result.stdout
    document = summary(reports)
    assert document["not_applicable"] == [] and qrcode_image(document)["outcome"] == "passed"


def test_fetching_every_image_and_declaring_them_not_applicable_is_a_usage_error(tmp_path: Path) -> None:
    result = conformance(
        "run",
        "--target",
        "reference",
        "--fetch-qrcode",
        "--not-applicable",
        "LT-QRCODE-IMAGE=no images here",
        "--report-dir",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert result.returncode == EXIT_USAGE
    (line,) = result.stderr.splitlines()
    assert "--fetch-qrcode judges LT-QRCODE-IMAGE, which --not-applicable declares not applicable" in line
