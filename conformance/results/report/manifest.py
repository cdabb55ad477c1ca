"""The evidence manifest: SHA-256 of every file of a report directory, checkable later.

``MANIFEST.sha256`` is in the format of GNU ``sha256sum`` (``<hex>  <path>``, a leading backslash when a
path needs escaping), so ``cd <report-dir> && sha256sum -c MANIFEST.sha256`` checks it without this suite.
``verify_manifest`` also reports files that are present but unlisted, which ``sha256sum -c`` does not.
A plain manifest proves integrity against accidental change only: anyone can rebuild it. Origin is proved
by the Ed25519 signature beside it (``conformance.results.report.signature``); writing a new manifest removes
the signature of the old one, so a rebuilt manifest is never shown as signed.
A symlink (or any other non-regular file) in the report is refused: its content is not the bundle's.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path, PurePosixPath

from conformance.core.files import write_atomic
from conformance.results.reportdir import is_evidence, is_evidence_place

MANIFEST_NAME = "MANIFEST.sha256"
SIGNATURE_NAME = f"{MANIFEST_NAME}.sig"
CHUNK_BYTES = 1 << 20
_LINE = re.compile(r"^(\\?)([0-9a-f]{64}) [ *](.+)$")


class ManifestError(Exception):
    """The manifest is unreadable or malformed: the evidence cannot be trusted."""


class ManifestMissing(ManifestError):
    """There is no manifest, so nothing can be verified."""


def _is_manifest_file(relative: str) -> bool:
    # The manifest, its signature and the temporary file of an interrupted atomic write of either.
    return relative in (MANIFEST_NAME, SIGNATURE_NAME) or (
        relative.startswith(f".{MANIFEST_NAME}.") and relative.endswith(".tmp")
    )


def _files(report_dir: Path) -> list[str]:
    found = []
    for root, dirs, names in os.walk(report_dir):
        dirs.sort()
        for name in [*dirs, *names]:
            path = Path(root) / name
            relative = path.relative_to(report_dir).as_posix()
            if not is_evidence_place(relative):
                continue
            if path.is_symlink():
                raise ManifestError(f"symlink in the report refused: {relative!r} (evidence is plain files)")
            # FIFOs and devices are skipped (never opened); the report step names them.
            if name in names and not _is_manifest_file(relative) and is_evidence(path, relative):
                found.append(relative)
    return sorted(found)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's content, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _escape(relative: str) -> tuple[str, str]:
    if any(c in relative for c in "\\\n\r"):
        escaped = relative.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return "\\", escaped
    return "", relative


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), text)


def write_manifest(report_dir: Path) -> Path:
    """Write MANIFEST.sha256 listing every file under ``report_dir`` (sorted); returns its path."""
    lines = []
    for relative in _files(report_dir):
        prefix, name = _escape(relative)
        lines.append(f"{prefix}{file_sha256(report_dir / relative)}  {name}\n")
    path = report_dir / MANIFEST_NAME
    (report_dir / SIGNATURE_NAME).unlink(missing_ok=True)  # it signed the old manifest, not this one
    write_atomic(path, "".join(lines))
    return path


def read_manifest(report_dir: Path) -> dict[str, str]:
    """The manifest as {relative path: sha256}; ManifestError when absent or malformed."""
    path = report_dir / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        raise ManifestMissing(f"no {MANIFEST_NAME} in {report_dir}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from None
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.match(line)
        if not match:
            raise ManifestError(f"{path}:{number}: not a sha256sum line")
        backslash, digest, name = match.groups()
        entries[_unescape(name) if backslash else name] = digest
    return entries


def _unsafe(relative: str) -> bool:
    pure = PurePosixPath(relative)
    return pure.is_absolute() or ".." in pure.parts or relative != pure.as_posix()


def verify_manifest(report_dir: Path) -> list[str]:
    """Problems found (changed, missing, unlisted files); an empty list means the evidence is intact."""
    listed = read_manifest(report_dir)
    present = set(_files(report_dir))
    problems = []
    for relative in sorted(listed.keys() | present):
        shown = relative if relative.isprintable() else repr(relative)
        if relative not in listed:
            problems.append(f"unlisted: {shown}")
        elif _unsafe(relative):
            problems.append(f"unsafe path in manifest: {shown}")
        elif relative not in present:
            problems.append(f"missing: {shown}")
        elif file_sha256(report_dir / relative) != listed[relative]:
            problems.append(f"changed: {shown}")
    return problems
