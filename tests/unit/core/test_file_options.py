"""Every file the user names is refused before it is read when it is not a plain, bounded file (issue 23.6).

A FIFO would block a reader forever, ``/dev/zero`` never ends (MemoryError), a directory or an oversized
file is a mistake: each is one line, exit 2, for every file option and for the files a run reads itself
(cassettes, summaries). Every option is crossed with every kind of special file.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest

from conformance.cassettes.format import MAX_CASSETTE_BYTES
from conformance.core.files import MAX_INPUT_BYTES, MAX_SUMMARY_BYTES, InputUnreadable, read_input
from conformance.frontends.cli import main

REFUSED = "http://127.0.0.1:9/v1/user/login_token"  # nothing listens: options are read before it is tried
KEY_VARIABLE = "CONFORMANCE_TEST_FILE_OPTIONS_KEY"
GUARD_SECONDS = 30  # a reader that blocks on a FIFO fails the test instead of hanging the suite
KINDS = ("fifo", "dev-zero", "directory", "oversized")
REASONS = {
    "fifo": "is a FIFO",
    "dev-zero": "is a character device",
    "directory": "is a directory",
    "oversized": "-byte bound",
}


def _make(path: Path, kind: str, bound: int) -> Path:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "directory":
        path.mkdir()
    else:
        with path.open("wb") as handle:  # sparse: one byte over the bound costs no disk
            handle.truncate(bound + 1)
    return path


def _run(tmp: Path, *extra: str) -> list[str]:
    return ["run", "--target", REFUSED, "--user-id", "1", "--api-key-env", KEY_VARIABLE,
            "--report-dir", str(tmp / "r"), *extra]  # fmt: skip


def _cassettes(tmp: Path, special: Path) -> list[str]:
    return ["run", "--cassettes", str(special.parent), "--report-dir", str(tmp / "r")]


# option -> (file name, bound, the command line naming the special file)
OPTIONS: dict[str, tuple[str, int, Callable[[Path, Path], list[str]]]] = {
    "--profile": ("p.toml", MAX_INPUT_BYTES, lambda t, f: _run(t, "--profile", str(f))),
    "--waivers": ("w.toml", MAX_INPUT_BYTES, lambda t, f: _run(t, "--waivers", str(f))),
    "--config": ("c.toml", MAX_INPUT_BYTES, lambda t, f: _run(t, "--config", str(f))),
    "./conformance.toml": ("conformance.toml", MAX_INPUT_BYTES, lambda t, _: _run(t)),
    "--baseline": ("b.json", MAX_SUMMARY_BYTES, lambda t, f: _run(t, "--baseline", str(f))),
    "--ca-bundle": ("ca.pem", MAX_INPUT_BYTES, lambda t, f: _run(t, "--ca-bundle", str(f))),
    "cassette file": ("cassettes/t.yaml", MAX_CASSETTE_BYTES, _cassettes),
    "report --baseline": (
        "b.json",
        MAX_SUMMARY_BYTES,
        lambda t, f: ["report", "--report-dir", str(t / "r"), "--baseline", str(f)],
    ),
    "verify --public-key": (
        "k.pem",
        MAX_INPUT_BYTES,
        lambda t, f: ["verify", str(t), "--public-key", str(f)],
    ),
}


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The API key set, signals restored, and an alarm that turns a hang into a failure."""
    monkeypatch.setenv(KEY_VARIABLE, "CANARY-KEY-file-options-01")
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def hung(signum: int, frame: FrameType | None) -> None:
        raise AssertionError(f"still reading after {GUARD_SECONDS} s: a special file was opened blocking")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(GUARD_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("guarded")
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("option", OPTIONS)
def test_a_special_file_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    option: str,
    kind: str,
) -> None:
    name, bound, command = OPTIONS[option]
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    special = _make(tmp_path / name, kind, bound)
    code = main(command(tmp_path, special))
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, captured.out + captured.err
    assert len(lines) == 1 and lines[0].startswith("conformance: error: "), captured.err
    assert special.name in lines[0] and REASONS[kind] in lines[0], lines[0]
    assert "Traceback" not in captured.out + captured.err


def test_read_input_reads_a_regular_file_and_names_a_missing_one(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_bytes(b"x" * 10)
    assert read_input(path, what="--profile", max_bytes=10) == b"x" * 10
    with pytest.raises(InputUnreadable, match=r"--profile .*p\.toml is 10 bytes, over the 9-byte bound"):
        read_input(path, what="--profile", max_bytes=9)
    with pytest.raises(InputUnreadable, match=r"cannot read --waivers .*missing\.toml: No such file"):
        read_input(tmp_path / "missing.toml", what="--waivers")
