"""A sealed recording cannot be edited unnoticed (issue 19, item 7).

The attack: a recording of a server whose ``<expire>`` is an hour late, edited to shift every
``<expire>`` back by 3600 s with each cassette's digest recomputed (the digest is plain SHA-256 of a
published form), replays conformant. With ``--public-key`` the edited cassette is refused, named; a set
without a seal is labelled "recording not sealed" in the terminal and the sign-off.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from conformance.cassettes.format import dump_cassette, load_cassette
from conformance.cassettes.seal import SEAL_NAME, SEAL_SIGNATURE_NAME
from conformance.core.files import write_atomic
from tests.support.cli import conformance, small_run, summary

pytestmark = pytest.mark.e2e
SIGN_VARIABLE = "CONFORMANCE_TEST_SEAL_KEY"
_EXPIRE = re.compile(rb"<expire>(\d+)</expire>")


def _pem_pair(directory: Path) -> tuple[str, Path]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode("ascii")
    public = directory / "seal.pub.pem"
    public.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return private, public


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A sealed recording of a server whose <expire> is one hour late, and the public key of its seal."""
    base = tmp_path_factory.mktemp("sealed")
    private, public = _pem_pair(base)
    done = conformance(
        "run", "--target", "reference", "--fault", "expire_one_hour_late", "--record",
        "--cassettes", str(base / "cassettes"), "--sign-key-env", SIGN_VARIABLE,
        "--report-dir", str(base / "r"), *small_run(base), "-q", env={SIGN_VARIABLE: private},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # LT-EXPIRE-CONSISTENT fails live
    assert (base / "cassettes" / SEAL_NAME).is_file() and (base / "cassettes" / SEAL_SIGNATURE_NAME).is_file()
    return base / "cassettes", public


def _copy(sealed: tuple[Path, Path], tmp_path: Path) -> Path:
    cassettes = tmp_path / "cassettes"
    shutil.copytree(sealed[0], cassettes)
    shutil.copy(sealed[0].parent / "small.toml", tmp_path / "small.toml")
    return cassettes


def _shift_expire_back_an_hour(cassettes: Path) -> list[Path]:
    """Every <expire> of the set moved 3600 s back, each cassette's digest recomputed: the edited files."""
    edited = []
    for path in sorted(cassettes.glob("*.yaml")):
        cassette = load_cassette(path)
        changed = False
        for interaction in cassette.interactions:
            body = _EXPIRE.sub(
                lambda m: b"<expire>%d</expire>" % (int(m.group(1)) - 3600), interaction.response_body
            )
            changed |= body != interaction.response_body
            interaction.response_body = body
        if changed:
            write_atomic(path, dump_cassette(cassette.name, cassette.header, list(cassette.interactions)))
            edited.append(path)
    return edited


def _replay(tmp_path: Path, cassettes: Path, *extra: str) -> tuple[int, str]:
    done = conformance(
        "run", "--cassettes", str(cassettes), "--report-dir", str(tmp_path / "replay"),
        "--profile", str(tmp_path / "small.toml"), *extra,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_a_sealed_recording_replays_verified(sealed: tuple[Path, Path], tmp_path: Path) -> None:
    cassettes = _copy(sealed, tmp_path)
    code, output = _replay(tmp_path, cassettes, "--public-key", str(sealed[1]))
    assert code == 1, output  # the recorded fault, judged again
    assert "Recording sealed: the seal verifies with" in output
    recording = summary(tmp_path / "replay")["recording"]
    assert recording["seal"].startswith("sealed: the seal verifies with")
    assert "the seal verifies with" in (tmp_path / "replay" / "signoff.md").read_text(encoding="utf-8")


def test_the_expire_shift_with_digests_recomputed_is_refused_with_the_public_key(
    sealed: tuple[Path, Path], tmp_path: Path
) -> None:
    cassettes = _copy(sealed, tmp_path)
    edited = _shift_expire_back_an_hour(cassettes)
    assert edited
    # What the digest alone proves: nothing against this edit. The laundered recording replays conformant.
    code, output = _replay(tmp_path, cassettes)
    assert code == 0, output
    assert "the seal was not checked" in output
    code, output = _replay(tmp_path, cassettes, "--public-key", str(sealed[1]))
    assert code == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(edited[0]) in lines[0] and "changed after the set was sealed" in lines[0]
    assert summary(tmp_path / "replay")["verdict"] == "error"


@pytest.mark.parametrize("change", ["missing", "extra", "seal-edited", "other-key", "unsealed"])
def test_a_set_that_is_not_the_sealed_one_is_refused(
    sealed: tuple[Path, Path], tmp_path: Path, change: str
) -> None:
    cassettes = _copy(sealed, tmp_path)
    first = sorted(cassettes.glob("*.yaml"))[0]
    named = first.name
    if change == "missing":
        first.unlink()
    elif change == "extra":
        named = "extra.yaml"
        shutil.copy(first, cassettes / named)
    elif change == "seal-edited":  # the attacker recomputes the seal's digests too: the signature fails
        named = SEAL_NAME
        _shift_expire_back_an_hour(cassettes)
        seal = (cassettes / SEAL_NAME).read_text(encoding="ascii")
        (cassettes / SEAL_NAME).write_text(seal.replace(seal[:64], "0" * 64, 1), encoding="ascii")
    elif change == "other-key":
        named = SEAL_NAME
        _pem_pair(tmp_path)  # another key pair: its public key does not verify this seal
    else:
        named = SEAL_NAME
        (cassettes / SEAL_NAME).unlink()
    key = tmp_path / "seal.pub.pem" if change == "other-key" else sealed[1]
    code, output = _replay(tmp_path, cassettes, "--public-key", str(key))
    assert code == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and named in lines[0], output


def test_an_unsealed_replay_is_labelled_in_the_terminal_and_the_sign_off(
    sealed: tuple[Path, Path], tmp_path: Path
) -> None:
    cassettes = _copy(sealed, tmp_path)
    (cassettes / SEAL_NAME).unlink()
    (cassettes / SEAL_SIGNATURE_NAME).unlink()
    code, output = _replay(tmp_path, cassettes)
    assert code == 1, output
    assert "recording not sealed" in output
    assert "recording not sealed" in (tmp_path / "replay" / "signoff.md").read_text(encoding="utf-8")
    assert summary(tmp_path / "replay")["recording"]["seal"] == "not sealed"


def test_a_recording_without_a_key_drops_the_old_seal(sealed: tuple[Path, Path], tmp_path: Path) -> None:
    cassettes = _copy(sealed, tmp_path)
    done = conformance(
        "run", "--target", "reference", "--record", "--cassettes", str(cassettes),
        "--report-dir", str(tmp_path / "r"), "--profile", str(tmp_path / "small.toml"),
        "--max-examples", "5", "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not (cassettes / SEAL_NAME).exists() and not (cassettes / SEAL_SIGNATURE_NAME).exists()


def test_seal_options_in_the_wrong_mode_are_usage_errors(tmp_path: Path) -> None:
    done = conformance("run", "--target", "reference", "--sign-key-env", SIGN_VARIABLE,
                       "--report-dir", str(tmp_path / "r"))  # fmt: skip
    assert done.returncode == 2 and "--sign-key-env seals a recording" in done.stderr
    done = conformance("run", "--target", "reference", "--record", "--sign-key-env", SIGN_VARIABLE,
                       "--cassettes", str(tmp_path / "c"), "--report-dir", str(tmp_path / "r"))  # fmt: skip
    assert done.returncode == 2 and f"${SIGN_VARIABLE} is not set" in done.stderr
    assert not (tmp_path / "c").exists()
