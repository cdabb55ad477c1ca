"""The report directory of one run: an exclusive lock, and no earlier run's files beside this one's.

A run claims its report directory before anything else: it takes an exclusive lock (a second run gets a
one-line error naming the holder), moves what an earlier run wrote into ``previous/`` and writes an
"in progress" summary.json in its place. Whatever ends the run afterwards, the directory never shows an
earlier run's verdict as this one's.

Only what the suite wrote is moved: the known report files, and whatever the earlier run's manifest lists.
A directory the user also keeps other files in (``--report-dir .``) keeps them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import socket
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from conformance.core.errors import EXIT_USAGE, ConformanceError

LOCK_NAME = ".conformance.lock"
PREVIOUS_NAME = "previous"
PREVIOUS_MARKER = ".conformance-previous"  # previous/ is replaced only when it carries this marker
MANIFEST_NAME = "MANIFEST.sha256"
BASELINE_COPY = "baseline.json"  # the --baseline a run compared with, so `conformance report` can again
# Everything a run or `conformance report` writes at the top of the report directory.
REPORT_ENTRIES = (
    "summary.json",
    BASELINE_COPY,
    "junit.xml",
    "signoff.md",
    "signoff.html",
    MANIFEST_NAME,
    "allure-results",
    "allure-report",
)
# The folder's own README (reports/README.md in a checkout) is not a run's evidence: never moved or listed.
FOLDER_README = "README.md"
NOT_MOVED = {LOCK_NAME, PREVIOUS_NAME, FOLDER_README}


class ReportDirError(ConformanceError):
    """The report directory cannot be used; one line naming the problem and the fix."""

    exit_code = EXIT_USAGE


def check_usable(report_dir: Path) -> None:
    """A ReportDirError when ``report_dir`` is not a directory or cannot be written."""
    if report_dir.exists() and not report_dir.is_dir():
        raise ReportDirError(f"--report-dir {report_dir} is not a directory; name a directory")
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportDirError(
            f"cannot create --report-dir {report_dir}: {exc.strerror or exc}; name a writable directory"
        ) from None
    if not os.access(report_dir, os.W_OK | os.X_OK):
        raise ReportDirError(f"--report-dir {report_dir} is not writable; name a writable directory")


def _holder(handle: int) -> str:
    try:
        os.lseek(handle, 0, os.SEEK_SET)
        text = os.read(handle, 4096).decode("utf-8", "replace")
        info = json.loads(text)
        return f"pid {info['pid']} on {info['host']} since {info['started']} ({info['command']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another conformance run"


@contextlib.contextmanager
def locked(report_dir: Path) -> Iterator[None]:
    """Hold the report directory's exclusive lock for the block; a ReportDirError names the holder."""
    check_usable(report_dir)
    path = report_dir / LOCK_NAME
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise ReportDirError(f"cannot lock --report-dir {report_dir}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ReportDirError(f"cannot lock --report-dir {report_dir}: {exc.strerror}") from None
            raise ReportDirError(
                f"--report-dir {report_dir} is in use by {_holder(handle)}; wait for that run to end or "
                "use another --report-dir"
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join(["conformance", *sys.argv[1:]])[:200],
        }
        os.ftruncate(handle, 0)
        os.pwrite(handle, json.dumps(info).encode("utf-8"), 0)
        yield
    finally:
        os.close(handle)  # closing releases the lock; the file stays (removing it would race a waiter)


def _earlier_entries(report_dir: Path) -> list[str]:
    """Top-level names an earlier run wrote: the known report files and whatever its manifest lists."""
    names = {name for name in REPORT_ENTRIES if os.path.lexists(report_dir / name)}
    manifest = report_dir / MANIFEST_NAME
    if manifest.is_file() and not manifest.is_symlink():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            for line in manifest.read_text(encoding="utf-8").splitlines():
                _, _, relative = line.partition("  ")
                top = relative.split("/", 1)[0]
                if top and top not in NOT_MOVED and os.path.lexists(report_dir / top):
                    names.add(top)
    names |= {p.name for p in report_dir.glob(".*.tmp")}  # temporaries of an interrupted atomic write
    return sorted(names - NOT_MOVED)


def set_aside_earlier_run(report_dir: Path) -> list[str]:
    """Move what an earlier run wrote into ``previous/`` (replacing an older previous/); returns the names.

    The earlier files leave the top of the directory whatever happens: when ``previous/`` is not the
    suite's own (never deleted), they go to a hidden ``.previous.kept-*`` folder the error names, so a run
    refused here still leaves no earlier verdict standing beside its own error summary.
    """
    names = _earlier_entries(report_dir)
    if not names:
        return []
    previous = report_dir / PREVIOUS_NAME
    foreign = os.path.lexists(previous) and (
        previous.is_symlink() or not (previous / PREVIOUS_MARKER).is_file()
    )
    # A fresh name: whatever the directory holds (a file, a link, a killed run's staging) is never touched.
    staging = Path(tempfile.mkdtemp(prefix=f".{PREVIOUS_NAME}.staging-", dir=report_dir))
    (staging / PREVIOUS_MARKER).write_text("moved aside by conformance run\n", encoding="utf-8")
    for name in names:
        os.replace(report_dir / name, staging / name)  # rename: a link is moved, never followed
    if foreign:
        kept = staging.with_name(staging.name.replace(".staging-", ".kept-", 1))
        staging.rename(kept)
        raise ReportDirError(
            f"{previous} was not made by this suite (left as it is); the earlier run's files were moved to "
            f"{kept}; move {PREVIOUS_NAME}/ away or use another --report-dir"
        )
    if os.path.lexists(previous):
        shutil.rmtree(previous)
    staging.rename(previous)
    return names


def is_evidence_place(relative: str) -> bool:
    """True for a path of this run's bundle (not the lock, not an earlier run's files)."""
    top = relative.split("/", 1)[0]
    return not (top in NOT_MOVED or top.startswith(f".{PREVIOUS_NAME}."))


def is_evidence(path: Path, relative: str) -> bool:
    """True for a file the manifest covers: a regular file (never a link, FIFO or device) of this run."""
    if not is_evidence_place(relative):
        return False
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False
