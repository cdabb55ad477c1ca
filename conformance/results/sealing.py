"""Sealing a recording with the Ed25519 keys of ``report.signature`` (the cassette side: ``cassettes.seal``).

``--record --sign-key-env NAME`` seals the set it commits; a replay with ``--public-key FILE`` gets the
sealed digests only when the seal's signature verifies, and the cassette book then refuses any other bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from conformance.cassettes.seal import (
    MAX_SEAL_BYTES,
    SEAL_NAME,
    SEAL_SIGNATURE_NAME,
    SealError,
    parse_seal,
    seal_text,
)
from conformance.core.files import InputUnreadable, read_input, write_atomic
from conformance.results.report.signature import (
    SIGNATURE_BYTES,
    SignatureError,
    fingerprint,
    load_private_key,
    load_public_key,
    verify_bytes,
)

Sealer = Callable[[Path, Iterable[Path]], None]


def sealer(variable: str, environ: Mapping[str, str] | None = None) -> Sealer:
    """Seal a directory's set with the private key held by ``$variable``; SealError when it is unusable."""
    try:
        key = load_private_key(variable, os.environ if environ is None else environ)
    except SignatureError as exc:
        raise SealError(f"--sign-key-env: {exc}") from None

    def seal(directory: Path, files: Iterable[Path]) -> None:
        text = seal_text(files)
        write_atomic(directory / SEAL_NAME, text)
        write_atomic(directory / SEAL_SIGNATURE_NAME, key.sign(text))

    return seal


def verified_seal(directory: Path, public_key: Path) -> tuple[dict[str, str], str]:
    """The sealed digests by file name and a line saying how they were checked; SealError otherwise."""
    try:
        key = load_public_key(public_key)
    except SignatureError as exc:
        raise SealError(f"--public-key: {exc}") from None
    try:
        text = read_input(directory / SEAL_NAME, what="the seal", max_bytes=MAX_SEAL_BYTES)
        signature = read_input(
            directory / SEAL_SIGNATURE_NAME, what="the seal's signature", max_bytes=SIGNATURE_BYTES
        )
    except InputUnreadable as exc:
        raise SealError(
            f"{exc}: the recording in {directory} is not sealed; record it with --sign-key-env NAME, or "
            "replay without --public-key (integrity against accidental change only)"
        ) from None
    try:
        verify_bytes(
            text, signature, key, signed=str(directory / SEAL_NAME), signature_name=SEAL_SIGNATURE_NAME
        )
    except SignatureError as exc:
        raise SealError(f"{exc}; re-record the set and seal it again") from None
    return parse_seal(
        directory, text
    ), f"sealed: the seal verifies with {public_key} (key {fingerprint(key)})"
