"""Fixtures every test folder may take (unit and end to end)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conformance.checks import CHECKS, CheckSpec
from conformance.results.report.signature import load_private_key
from tests.support.signing import KEY_VARIABLE, pem_of


@pytest.fixture
def curl() -> str:
    """The curl on the PATH: a reproduction line is a curl line, so a missing curl fails, never skips."""
    found = shutil.which("curl")
    if found is None:
        pytest.fail("curl is missing: the reproduction lines are curl lines")
    return found


@pytest.fixture
def check_registry() -> Iterator[dict[str, CheckSpec]]:
    """The check registry, restored whole (and in order) after the test reduces it."""
    saved = dict(CHECKS)
    try:
        yield CHECKS
    finally:
        CHECKS.clear()
        CHECKS.update(saved)


@pytest.fixture
def private_pem() -> str:
    """A fresh Ed25519 private key as PEM (what the CI secret holds)."""
    return pem_of(Ed25519PrivateKey.generate())


@pytest.fixture
def public_key_file(tmp_path: Path, private_pem: str) -> Path:
    """The matching public key as a PEM file."""
    key = load_private_key(KEY_VARIABLE, {KEY_VARIABLE: private_pem})
    path = tmp_path / "signing-key.pub.pem"
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path
