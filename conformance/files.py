"""Writing files so that a reader (or a killed run) never sees half of one; reading a summary back."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any


class WriteFailed(OSError):
    """A report file could not be written (disk full, read-only, a directory in its place); one line."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}; free space or fix --report-dir")
        self.path = path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write through a temporary file in the same directory, fsync, rename: the old file or the new one.

    Any OS error becomes WriteFailed naming the file (never a half-written file or a traceback).
    """
    try:
        _write_atomic(path, data)
    except OSError as exc:
        raise WriteFailed(path, exc.strerror or str(exc) or type(exc).__name__) from None


def _write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = data.encode("utf-8") if isinstance(data, str) else data
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600: give the mode any file the user writes gets
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    with contextlib.suppress(OSError):  # directory fsync makes the rename durable; not every OS allows it
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _umask() -> int:
    # The only portable way to read the umask is to set it; set it straight back.
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


# Far above any summary the suite writes (failures are capped per requirement, bodies per failure).
MAX_SUMMARY_BYTES = 64 * 1024 * 1024


class SummaryUnreadable(ValueError):
    """A file that cannot be read as a summary.json; the message names the file and why."""


def load_summary(path: Path, *, max_bytes: int = MAX_SUMMARY_BYTES) -> dict[str, Any]:
    """A summary.json read back as a JSON object with a requirements list (the one summary loader;
    ``summary.read_summary`` types and checks what it returns)."""
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)  # a FIFO or a device would block or never end
        if regular:
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SummaryUnreadable(f"cannot read {path}: {exc.strerror or exc}") from None
    if not regular:
        raise SummaryUnreadable(f"cannot read {path}: not a regular file")
    if len(data) > max_bytes:
        raise SummaryUnreadable(f"cannot read {path}: larger than {max_bytes} bytes, no summary.json is")
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise SummaryUnreadable(f"cannot read {path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise SummaryUnreadable(f"cannot read {path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError):  # an integer of thousands of digits; nesting too deep
        raise SummaryUnreadable(f"cannot read {path}: a JSON value too large or too deeply nested") from None
    if not isinstance(document, dict) or not isinstance(document.get("requirements"), list):
        raise SummaryUnreadable(f"{path} is not a summary.json (no requirements list)")
    return document
