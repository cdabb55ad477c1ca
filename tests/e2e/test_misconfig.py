"""Configuration errors through the real CLI (issue 9, item 4): TLS and scheme mistakes are exit 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import conformance, summary
from tests.support.hostile_server import HostileServer, TlsServer

pytestmark = pytest.mark.e2e

KEY = {"CONFORMANCE_API_KEY": "CANARY-KEY-misconfig-01"}


def _run(target: str, tmp_path: Path, *extra: str) -> tuple[int, str]:
    reports = tmp_path / "reports"
    result = conformance(
        "run",
        "--target",
        target,
        "--user-id",
        "12345",
        "--report-dir",
        str(reports),
        *extra,
        env=KEY,
        cwd=tmp_path,
    )
    assert "Traceback" not in result.stderr + result.stdout
    assert summary(reports)["exit_code"] == result.returncode
    return result.returncode, result.stderr


def test_https_to_a_plain_http_server_is_exit_3_with_a_hint(tmp_path: Path) -> None:
    with HostileServer("valid") as server:
        code, stderr = _run(server.url.replace("http://", "https://"), tmp_path)
    assert code == 3
    [line] = stderr.splitlines()
    assert "TLS handshake" in line and "use http://" in line


def test_an_untrusted_certificate_is_exit_3_naming_ca_bundle(tmp_path: Path) -> None:
    with TlsServer("valid") as server:
        code, stderr = _run(server.url, tmp_path)
        assert code == 3 and "--ca-bundle" in stderr and "not trusted" in stderr
        trusted, _ = _run(
            server.url, tmp_path, "--ca-bundle", str(server.cert_path), "-k", "test_valid_request"
        )
    assert trusted != 3  # with the CA the run talks to the target (its verdict is about the target)


def test_http_to_a_tls_server_is_exit_3_saying_use_https(tmp_path: Path) -> None:
    with TlsServer("valid") as server:
        code, stderr = _run(server.url.replace("https://", "http://"), tmp_path)
    assert code == 3 and "use https://" in stderr
