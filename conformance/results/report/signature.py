"""Ed25519 signatures: of the evidence manifest (proves who built the bundle, not only that it is intact),
and of a cassette set's seal (``conformance.cassettes.seal``).

The only module that imports ``cryptography`` (no hand-written crypto). ``MANIFEST.sha256.sig`` holds the
raw 64-byte Ed25519 signature of ``MANIFEST.sha256``'s bytes, so it also checks without this suite:
``openssl pkeyutl -verify -pubin -inkey public.pem -rawin -in MANIFEST.sha256 -sigfile MANIFEST.sha256.sig``.
The private key is read from an environment variable (PEM, PKCS#8, as ``openssl genpkey -algorithm
ed25519`` writes it) and never written or shown; the public key is a PEM file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.core.errors import EXIT_USAGE, ConformanceError
from conformance.core.files import InputUnreadable, read_input, write_atomic
from conformance.results.report.manifest import MANIFEST_NAME, SIGNATURE_NAME

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_BYTES = 64
PEM_BEGIN = "-----BEGIN"
KEYGEN_HINT = (
    "create one with `openssl genpkey -algorithm ed25519 -out signing-key.pem` and "
    "`openssl pkey -in signing-key.pem -pubout -out signing-key.pub.pem`"
)


class SignatureError(ConformanceError):
    """A key or signature cannot be used; the message is one line and never holds key material."""

    exit_code = EXIT_USAGE


class SignatureMissing(SignatureError):
    """The bundle carries no signature."""


def load_private_key(variable: str, environ: Mapping[str, str]) -> Ed25519PrivateKey:
    """The Ed25519 private key held (as PEM) by the environment variable ``variable``, or in the file it
    names (a CI "file" variable, e.g. GitLab's, holds the path of a file with the PEM)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    pem = environ.get(variable, "")
    if not pem.strip():
        raise SignatureError(f"${variable} is not set or empty: set it to an Ed25519 private key in PEM")
    if PEM_BEGIN not in pem and "\n" not in pem.strip() and Path(pem.strip()).is_file():
        try:
            pem = Path(pem.strip()).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise SignatureError(f"${variable} names a file that cannot be read as PEM text") from None
    try:
        key = load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        # The library's message may quote the input: never show it.
        raise SignatureError(
            f"${variable} does not hold an unencrypted PEM private key; {KEYGEN_HINT}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"${variable} holds a {type(key).__name__}, not an Ed25519 key; {KEYGEN_HINT}")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in the PEM file ``path``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        data = read_input(path, what="--public-key")
    except InputUnreadable as exc:
        raise SignatureError(str(exc)) from None
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError):
        raise SignatureError(f"{path} is not a PEM public key; {KEYGEN_HINT}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError(f"{path} holds a {type(key).__name__}, not an Ed25519 public key")
    return key


def sign_manifest(report_dir: Path, key: Ed25519PrivateKey) -> Path:
    """Sign ``MANIFEST.sha256`` of ``report_dir`` into ``MANIFEST.sha256.sig``; returns its path."""
    manifest = report_dir / MANIFEST_NAME
    try:
        data = manifest.read_bytes()
    except OSError as exc:
        raise SignatureError(f"cannot read {manifest}: {exc.strerror}") from None
    path = report_dir / SIGNATURE_NAME
    write_atomic(path, key.sign(data))
    return path


def verify_signature(report_dir: Path, key: Ed25519PublicKey) -> None:
    """Raise SignatureError unless ``MANIFEST.sha256`` carries a valid signature by ``key``."""
    signature_path = report_dir / SIGNATURE_NAME
    if signature_path.is_symlink():
        raise SignatureError(f"{signature_path} is a symlink: refused")
    try:
        signature = signature_path.read_bytes()
    except FileNotFoundError:
        raise SignatureMissing(
            f"no {SIGNATURE_NAME} in {report_dir}: the bundle is unsigned, its origin cannot be proved"
        ) from None
    except OSError as exc:
        raise SignatureError(f"cannot read {signature_path}: {exc.strerror}") from None
    try:
        manifest = (report_dir / MANIFEST_NAME).read_bytes()
    except OSError as exc:
        raise SignatureError(f"cannot read {report_dir / MANIFEST_NAME}: {exc.strerror}") from None
    verify_bytes(manifest, signature, key, signed=MANIFEST_NAME, signature_name=SIGNATURE_NAME)


def verify_bytes(
    data: bytes, signature: bytes, key: Ed25519PublicKey, *, signed: str, signature_name: str
) -> None:
    """Raise SignatureError (naming ``signed``) unless ``signature`` is ``key``'s signature of ``data``."""
    from cryptography.exceptions import InvalidSignature

    if len(signature) != SIGNATURE_BYTES:
        raise SignatureError(f"{signature_name} is {len(signature)} bytes, not an Ed25519 signature")
    try:
        key.verify(signature, data)
    except InvalidSignature:
        raise SignatureError(
            f"bad signature: {signed} was changed or rebuilt after signing, or signed by another key"
        ) from None


def fingerprint(key: Ed25519PublicKey) -> str:
    """``SHA256:`` and the hex digest of the raw public key: names a key without showing a secret."""
    import hashlib

    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()[:16]
