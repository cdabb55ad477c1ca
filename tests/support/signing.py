"""A report signing key as CI holds it: an Ed25519 private key in PEM, in an environment variable."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_VARIABLE = "TEST_SIGNING_KEY"


def pem_of(key: Ed25519PrivateKey) -> str:
    """The private key as unencrypted PKCS #8 PEM (what the CI secret holds)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
