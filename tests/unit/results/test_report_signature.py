"""Signed evidence: origin and integrity proved with an Ed25519 key (API and `conformance verify`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conformance.frontends.cli.report import verify_command
from conformance.results.report.manifest import MANIFEST_NAME, SIGNATURE_NAME, write_manifest
from conformance.results.report.signature import (
    SignatureError,
    SignatureMissing,
    load_private_key,
    load_public_key,
    sign_manifest,
    verify_signature,
)
from tests.support.signing import KEY_VARIABLE

FILES = {
    "summary.json": '{"verdict": "non-conformant"}\n',
    "junit.xml": "<testsuites/>\n",
    "signoff.md": "# sign-off\n",
    "allure-results/0a1b-result.json": '{"status": "failed"}',
}


@pytest.fixture
def signed_dir(tmp_path: Path, private_pem: str) -> Path:
    """A report directory with a manifest signed by ``private_pem``."""
    root = tmp_path / "reports"
    for relative, text in FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    write_manifest(root)
    sign_manifest(root, load_private_key(KEY_VARIABLE, {KEY_VARIABLE: private_pem}))
    return root


def _verify(report_dir: Path, public_key: Path) -> tuple[int, str]:
    result = CliRunner().invoke(verify_command, [str(report_dir), "--public-key", str(public_key)])
    return result.exit_code, result.output


def test_original_signed_bundle_verifies(signed_dir: Path, public_key_file: Path) -> None:
    code, output = _verify(signed_dir, public_key_file)
    assert code == 0, output
    assert output.strip() == (
        f"verified {len(FILES)} files and the signature by {public_key_file}: origin and integrity"
    )


def test_every_byte_of_every_file_is_covered(signed_dir: Path, public_key_file: Path) -> None:
    names = [*FILES, MANIFEST_NAME, SIGNATURE_NAME]
    for relative in names:
        path = signed_dir / relative
        original = path.read_bytes()
        for index in range(len(original)):
            edited = bytearray(original)
            edited[index] ^= 0x01
            path.write_bytes(bytes(edited))
            code, output = _verify(signed_dir, public_key_file)
            assert code == 1, f"{relative} byte {index} edited and still verified: {output}"
        path.write_bytes(original)
    assert _verify(signed_dir, public_key_file)[0] == 0


def test_a_rebuilt_manifest_fails_although_its_hashes_match(signed_dir: Path, public_key_file: Path) -> None:
    (signed_dir / "summary.json").write_text('{"verdict": "conformant"}\n', encoding="utf-8")
    write_manifest(signed_dir)  # what `conformance report` (or sha256sum) would do for a forger
    assert CliRunner().invoke(verify_command, [str(signed_dir)]).exit_code == 0  # hashes alone pass
    code, output = _verify(signed_dir, public_key_file)
    assert code == 1
    assert output.startswith(f"no {SIGNATURE_NAME}")


def test_an_old_signature_copied_over_a_rebuilt_manifest_fails(
    signed_dir: Path, public_key_file: Path
) -> None:
    signature = (signed_dir / SIGNATURE_NAME).read_bytes()
    (signed_dir / "summary.json").write_text('{"verdict": "conformant"}\n', encoding="utf-8")
    write_manifest(signed_dir)
    (signed_dir / SIGNATURE_NAME).write_bytes(signature)
    code, output = _verify(signed_dir, public_key_file)
    assert code == 1
    assert output.startswith("bad signature: MANIFEST.sha256 was changed or rebuilt")


def test_a_bundle_signed_by_another_key_fails(signed_dir: Path, public_key_file: Path) -> None:
    write_manifest(signed_dir)
    sign_manifest(signed_dir, Ed25519PrivateKey.generate())
    assert _verify(signed_dir, public_key_file)[0] == 1


def test_an_added_file_fails(signed_dir: Path, public_key_file: Path) -> None:
    (signed_dir / "later.txt").write_text("x", encoding="utf-8")
    code, output = _verify(signed_dir, public_key_file)
    assert code == 1
    assert output.strip() == "unlisted: later.txt"


def test_unsigned_bundle_is_reported_missing(tmp_path: Path, public_key_file: Path) -> None:
    (tmp_path / "a.txt").write_text("a", encoding="utf-8")
    write_manifest(tmp_path)
    with pytest.raises(SignatureMissing):
        verify_signature(tmp_path, load_public_key(public_key_file))


def test_openssl_checks_the_signature_without_the_suite(signed_dir: Path, public_key_file: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is missing")
    command = [openssl, "pkeyutl", "-verify", "-pubin", "-inkey", str(public_key_file), "-rawin"]
    done = subprocess.run(
        [*command, "-in", MANIFEST_NAME, "-sigfile", SIGNATURE_NAME],
        cwd=signed_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signature Verified Successfully" in done.stdout


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", r"\$TEST_SIGNING_KEY is not set or empty"),
        ("-----BEGIN PRIVATE KEY-----\nCANARYnotakey\n-----END PRIVATE KEY-----\n", "unencrypted PEM"),
    ],
)
def test_unusable_private_key_is_one_line_without_the_value(value: str, message: str) -> None:
    with pytest.raises(SignatureError, match=message) as caught:
        load_private_key(KEY_VARIABLE, {KEY_VARIABLE: value})
    assert "CANARY" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_non_ed25519_private_key_is_refused() -> None:
    pem = (
        generate_private_key(SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    with pytest.raises(SignatureError, match="not an Ed25519 key"):
        load_private_key(KEY_VARIABLE, {KEY_VARIABLE: pem})


def test_unusable_public_key_exits_2(signed_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key", encoding="utf-8")
    code, output = _verify(signed_dir, bad)
    assert code == 2
    assert f"{bad} is not a PEM public key" in output
    assert _verify(signed_dir, tmp_path / "absent.pem")[0] == 2


def test_verify_without_a_public_key_says_a_present_signature_was_not_checked(signed_dir: Path) -> None:
    """conformance verify reports (signed, no --public-key) → exit 0, but the signature is named unchecked."""
    result = CliRunner().invoke(verify_command, [str(signed_dir)])
    assert result.exit_code == 0, result.output
    assert "MANIFEST.sha256.sig is present but NOT checked; pass --public-key FILE" in result.output


def test_verify_names_what_the_manifest_does_not_cover(signed_dir: Path, public_key_file: Path) -> None:
    """An earlier run's previous/ and the folder README are not evidence: verify says so."""
    (signed_dir / "previous").mkdir()
    (signed_dir / "previous" / "summary.json").write_text("{}", encoding="utf-8")
    (signed_dir / "README.md").write_text("notes\n", encoding="utf-8")
    code, output = _verify(signed_dir, public_key_file)
    assert code == 0, output
    assert "not covered by the manifest (not evidence of this run): README.md, previous/" in output


def test_a_signing_key_variable_may_name_a_file_holding_the_pem(tmp_path: Path, private_pem: str) -> None:
    """A CI "File" variable (GitLab) holds the path of a file with the PEM, not the PEM itself."""
    path = tmp_path / "signing-key.pem"
    path.write_text(private_pem, encoding="utf-8")
    from_file = load_private_key(KEY_VARIABLE, {KEY_VARIABLE: str(path)})
    from_text = load_private_key(KEY_VARIABLE, {KEY_VARIABLE: private_pem})
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    assert from_file.public_key().public_bytes(*raw) == from_text.public_key().public_bytes(*raw)
