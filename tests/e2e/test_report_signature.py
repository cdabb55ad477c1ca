"""Signed evidence from a real run: `conformance report --sign-key-env` signs it, a forged rebuild fails."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conformance.results.report.manifest import SIGNATURE_NAME
from tests.support.cli import conformance, small_run
from tests.support.signing import KEY_VARIABLE

pytestmark = pytest.mark.e2e


def test_report_signs_a_real_run_and_a_forged_rebuild_fails(
    tmp_path: Path, private_pem: str, public_key_file: Path
) -> None:
    reports = str(tmp_path / "reports")
    assert (
        conformance("run", "--target", "reference", *small_run(tmp_path), "--report-dir", reports).returncode
        == 0
    )
    signing = {KEY_VARIABLE: private_pem}
    built = conformance("report", "--report-dir", reports, "--sign-key-env", KEY_VARIABLE, env=signing)
    assert built.returncode == 0, built.stdout + built.stderr
    assert f"signature: {Path(reports) / SIGNATURE_NAME}" in built.stdout
    html_dir = Path(reports) / "allure-report"
    assert built.stdout.startswith(f"HTML report: {html_dir / 'allure-report.html'} (one file: open it")
    umask = os.umask(0o022)
    os.umask(umask)
    assert oct((Path(reports) / SIGNATURE_NAME).stat().st_mode & 0o777) == oct(0o666 & ~umask)
    secret = private_pem.splitlines()[1]
    for path in Path(reports).rglob("*"):
        assert not path.is_file() or secret.encode() not in path.read_bytes(), path
    verified = conformance("verify", reports, "--public-key", str(public_key_file))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The forger's rebuild: summary edited (consistently, so `report` accepts it), rebuilt without the key.
    summary_path = Path(reports) / "summary.json"
    document = json.loads(summary_path.read_text(encoding="utf-8"))
    document["target_version"] = "9.9.9-forged"
    summary_path.write_text(json.dumps(document), encoding="utf-8")
    assert conformance("report", "--report-dir", reports).returncode == 0
    assert conformance("verify", reports).returncode == 0
    forged = conformance("verify", reports, "--public-key", str(public_key_file))
    assert forged.returncode == 1
    assert "the bundle is unsigned" in forged.stdout


def test_report_with_an_unset_key_variable_exits_2_before_building(tmp_path: Path) -> None:
    done = conformance("report", "--report-dir", str(tmp_path), "--sign-key-env", "NO_SUCH_KEY_VARIABLE")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "conformance: error: $NO_SUCH_KEY_VARIABLE is not set or empty: "
        "set it to an Ed25519 private key in PEM"
    )
