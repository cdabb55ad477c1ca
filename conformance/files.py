"""Writing files so that a reader (or a run killed mid-write) never sees half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


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
