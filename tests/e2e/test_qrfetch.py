"""--fetch-qrcode end to end: the real CLI against the reference, live, recorded and replayed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import conformance, summary

pytestmark = pytest.mark.e2e

GRANT_ONLY = ("-k", "test_valid_request_is_granted", "--max-examples", "5", "-q")


def qrcode_outcome(report_dir: Path) -> dict[str, Any]:
    """The LT-QRCODE-IMAGE entry of a run's summary."""
    entries: list[dict[str, Any]] = summary(report_dir)["requirements"]
    (entry,) = [r for r in entries if r["id"] == "LT-QRCODE-IMAGE"]
    return entry


@pytest.mark.parametrize(
    ("fault", "outcome"), [(None, "passed"), ("qrcode_image_not_a_qr_code", "failed")], ids=["ok", "fault"]
)
def test_fetch_qrcode_judges_the_reference_images(tmp_path: Path, fault: str | None, outcome: str) -> None:
    fault_args = ("--fault", fault) if fault else ()
    result = conformance(
        "run",
        "--target",
        "reference",
        "--fetch-qrcode",
        *fault_args,
        "--report-dir",
        str(tmp_path),
        *GRANT_ONLY,
    )
    assert "Traceback" not in result.stderr
    assert qrcode_outcome(tmp_path)["outcome"] == outcome


def test_without_fetch_qrcode_a_live_run_judges_a_spread_of_the_images(tmp_path: Path) -> None:
    conformance("run", "--target", "reference", "--report-dir", str(tmp_path), *GRANT_ONLY)
    entry = qrcode_outcome(tmp_path)
    assert entry["outcome"] == "passed" and entry["checks_run"] >= 1


@pytest.mark.parametrize(
    "mode", [("--target", "reference", "--record"), ("--target", "reference", "--record-missing"), ()]
)
def test_fetch_qrcode_is_never_recorded_or_replayed(tmp_path: Path, mode: tuple[str, ...]) -> None:
    result = conformance(
        "run",
        *mode,
        "--fetch-qrcode",
        "--cassettes",
        str(tmp_path / "c"),
        "--report-dir",
        str(tmp_path / "r"),
    )
    assert result.returncode == 2
    assert "--fetch-qrcode judges images live and is never recorded or replayed" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "c").exists()
