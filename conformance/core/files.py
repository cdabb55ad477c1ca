"""Writing files so a reader (or a killed run) never sees half of one; reading the user's files safely."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from conformance.core.errors import EXIT_USAGE, ConformanceError


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


# The bound of a small input file (profile, waivers, config, CA bundle, public key): far above any real one.
MAX_INPUT_BYTES = 4 * 1024 * 1024
# Far above any summary the suite writes (failures are capped per requirement, bodies per failure).
MAX_SUMMARY_BYTES = 64 * 1024 * 1024
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class InputUnreadable(ConformanceError, ValueError):
    """A file given to the suite that it will not read; one line naming the option, the file and the fix."""

    exit_code = EXIT_USAGE


def read_input(path: Path, *, what: str, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a file the user named (``what``: the option, e.g. ``--profile``), read only when safe.

    The one reader of every file option: it opens without blocking and refuses, before reading a byte, a
    directory, a FIFO (which would hang), a device (``/dev/zero`` never ends) and a file over ``max_bytes``.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # non-blocking: opening a FIFO never waits for a writer
    except OSError as exc:
        raise InputUnreadable(f"cannot read {what} {path}: {exc.strerror or exc}; check the path") from None
    try:
        mode = os.fstat(fd)  # of the file opened, not of whatever the path names by now
        kind = next((name for test, name in _KINDS if test(mode.st_mode)), None)
        if kind is not None or not stat.S_ISREG(mode.st_mode):
            raise InputUnreadable(f"{what} {path} is {kind or 'not a regular file'}; name a regular file")
        if mode.st_size > max_bytes:
            raise InputUnreadable(
                f"{what} {path} is {mode.st_size} bytes, over the {max_bytes}-byte bound; name the right file"
            )
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while size <= max_bytes and (chunk := os.read(fd, min(1 << 20, max_bytes + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputUnreadable(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > max_bytes:  # grew while it was read
        raise InputUnreadable(f"{what} {path} is over the {max_bytes}-byte bound; name the right file")
    return b"".join(chunks)


def read_input_text(path: Path, *, what: str, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """``read_input`` decoded as UTF-8; an InputUnreadable names the first byte that is not."""
    data = read_input(path, what=what, max_bytes=max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"is not valid UTF-8 (byte {exc.start}); save it as UTF-8"
        raise InputUnreadable(f"{what} {path} {problem}") from None


class SummaryUnreadable(ConformanceError, ValueError):
    """A file that cannot be read as a summary.json; the message names the file and why."""

    exit_code = EXIT_USAGE


def load_summary(path: Path, *, max_bytes: int = MAX_SUMMARY_BYTES, what: str = "summary") -> dict[str, Any]:
    """A summary.json read back as a JSON object with a requirements list (the one summary loader;
    ``summary.read_summary`` types and checks what it returns)."""
    try:
        data = read_input(path, what=what, max_bytes=max_bytes)
    except InputUnreadable as exc:
        raise SummaryUnreadable(str(exc)) from None
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
