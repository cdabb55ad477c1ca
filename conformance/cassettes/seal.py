"""The seal of a cassette set: every file's SHA-256, signed with Ed25519, checked before a replay trusts it.

A cassette's own digest is SHA-256 of a published form: it catches an accidental change only, since
anyone who edits a cassette can recompute it. A sealed recording (``--record --sign-key-env NAME``) holds
``SEAL.sha256`` (``sha256sum`` format: one ``digest  file`` line per cassette) and ``SEAL.sha256.sig``
(the raw Ed25519 signature of its bytes, as the evidence manifest's,
``conformance.results.report.signature``).
A replay with ``--public-key FILE`` refuses the set unless the signature verifies and the files are
exactly the sealed ones, byte for byte: an edited, a missing and an added cassette are each named.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from conformance.cassettes.errors import CassetteCorrupt, CassetteError

SEAL_NAME = "SEAL.sha256"
SEAL_SIGNATURE_NAME = "SEAL.sha256.sig"
SEAL_FILES = (SEAL_NAME, SEAL_SIGNATURE_NAME)
MAX_SEAL_BYTES = 1024 * 1024
NOT_SEALED = "not sealed"
_LINE = re.compile(r"([0-9a-f]{64})  ([A-Za-z0-9._-]+)")


class SealError(CassetteError):
    """A sealed set that does not verify (or cannot be checked); one line naming the file and the fix."""


def seal_text(files: Iterable[Path]) -> bytes:
    """What is signed: one ``sha256  name`` line per cassette of the set, sorted by name."""
    lines = sorted(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n" for path in files)
    return "".join(lines).encode("ascii")


def parse_seal(directory: Path, text: bytes) -> dict[str, str]:
    """The sealed digests by file name, from a seal whose signature verified."""
    digests: dict[str, str] = {}
    for number, line in enumerate(text.decode("ascii", "replace").splitlines(), 1):
        match = _LINE.fullmatch(line)
        if match is None:
            raise SealError(f"{directory / SEAL_NAME}: line {number} is not 'SHA256  FILE'")
        digests[match.group(2)] = match.group(1)
    return digests


def check_sealed_set(directory: Path, digests: Mapping[str, str], present: Iterable[Path]) -> None:
    """A SealError naming a sealed cassette that is missing, or a cassette the seal does not list."""
    names = {path.name for path in present}
    missing, added = sorted(set(digests) - names), sorted(names - set(digests))
    if missing:
        raise SealError(f"{directory / missing[0]}: sealed but missing; restore the sealed set or re-record")
    if added:
        raise SealError(f"{directory / added[0]}: not in the sealed set (added after sealing); remove it")


def check_sealed(path: Path, sha256: str, digests: Mapping[str, str]) -> None:
    """A CassetteCorrupt when the bytes of the cassette ``path`` are not the sealed ones."""
    expected = digests.get(path.name)
    if expected is None:
        raise CassetteCorrupt(path, "is not in the sealed set (added after sealing)")
    if expected != sha256:
        raise CassetteCorrupt(
            path, "was changed after the set was sealed (its SHA-256 is not the sealed one)"
        )


def seal_status(directory: Path) -> str:
    """A replay without --public-key: whether the set carries a seal (unchecked) or none."""
    if (directory / SEAL_NAME).is_file():
        return "sealed, but the seal was not checked: replay with --public-key FILE to check it"
    return NOT_SEALED
