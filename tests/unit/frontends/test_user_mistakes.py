"""User mistakes are exit 2 with one line, never "the suite itself failed" (issue 9, item 8)."""

from __future__ import annotations

import errno
import os
import signal
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.core.options import RunOptions
from conformance.frontends.cli import main
from conformance.frontends.local import open_session
from conformance.frontends.runner import execute

REFUSED = "http://127.0.0.1:9"  # nothing listens: a run whose options are all fine ends with exit 3 at once
KEY_VARIABLE = "CONFORMANCE_TEST_MISTAKES_KEY"


@pytest.fixture(autouse=True)
def _restore_signals_and_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(KEY_VARIABLE, "CANARY-KEY-mistakes-01")
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output
    return code, captured.err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("conformance: error: ")
    return lines[0]


def run_args(tmp_path: Path, *extra: str) -> list[str]:
    return ["run", "--target", REFUSED, "--user-id", "1", "--api-key-env", KEY_VARIABLE,
            "--report-dir", str(tmp_path / "r"), *extra]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--rate", "0"), "--rate must be"),
        (("--rate", "nan"), "--rate must be"),
        (("--timeout", "inf"), "--timeout must be"),
        (("--timeout", "-1"), "--timeout must be"),
        (("--max-examples", "0"), "--max-examples must be"),
        (("--max-requests", "0"), "--max-requests must be"),
        (("--max-body-bytes", "-5"), "--max-body-bytes must be"),
        (("--max-throttle-wait", "-1"), "--max-throttle-wait must be"),
        (("--max-duration", "0"), "--max-duration must be"),
        (("--seed", "-1"), "--seed must be"),
        (("--user-id", "-3"), "--user-id must be"),
        (("--baseline", "/nonexistent/summary.json"), "--baseline"),
        (("--user-agent", "gateway\r\nX-Injected: 1"), "--user-agent"),
    ],
)
def test_option_ranges(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    code, err = cli(capsys, *run_args(tmp_path), *extra)
    assert code == 2
    assert message in one_line(err)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"expire_tolerance = 5\n\xff\xfe\n", "not valid UTF-8"),
        (b"expire_tolerance = nan\n", "expire_tolerance must be a finite"),
        (b"date_tolerance = inf\n", "date_tolerance must be a finite"),
        (b"token_min_bits = -8\n", "token_min_bits must be"),
        (b'success_schema = "no_such.xsd"\n', "success_schema"),
        (b"rejection_statuses = [200, 99]\n", "rejection_statuses"),
        (b"qrcode_schemes = [1]\n", "qrcode_schemes"),
    ],
)
def test_profile_values(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    profile = tmp_path / "p.toml"
    profile.write_bytes(content)
    code, err = cli(capsys, *run_args(tmp_path, "--profile", str(profile)))
    assert code == 2
    assert message in one_line(err)


def test_report_dir_naming_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "r").write_text("not a directory", encoding="utf-8")
    code, err = cli(capsys, *run_args(tmp_path))
    assert code == 2
    assert "is not a directory" in one_line(err)


def test_report_dir_that_cannot_be_created(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    code, err = cli(capsys, *run_args(tmp_path)[:-1], str(tmp_path / "file" / "r"))
    assert code == 2
    assert "--report-dir" in one_line(err)


def test_serve_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = cli(capsys, "serve", "--port", "99999")
    assert code == 2
    assert "99999" in one_line(err)


def test_a_report_file_that_cannot_be_written_is_exit_2_naming_it(tmp_path: Path) -> None:
    options = RunOptions(target="reference", report_dir=tmp_path / "r", max_examples=5, seed=1, user_id=12345,
                         foreign_user_id=54321)  # fmt: skip
    with open_session(options, keyword="test_unknown_user_refused") as session:
        (tmp_path / "r" / "signoff.md").mkdir()  # stands in for a full disk: the rename onto it fails
        summary = execute(session)
    assert summary.exit_code == 2 and summary.verdict == "error"
    assert summary.error is not None and "signoff.md" in summary.error
    assert "signoff.md" in (tmp_path / "r" / "summary.json").read_text(encoding="utf-8")


NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(alphabet=string.printable + "²٣", max_size=6),
)
OPTIONS = (
    "--rate",
    "--timeout",
    "--max-examples",
    "--max-requests",
    "--max-body-bytes",
    "--max-throttle-wait",
    "--max-duration",
    "--seed",
    "--user-id",
    "--foreign-user-id",
    "--unknown-user-id",
)
PROFILE_KEYS = (
    "expire_tolerance",
    "date_tolerance",
    "token_min_bits",
    "token_expire_min",
    "token_expire_max",
    "rejection_statuses",
    "success_schema",
    "expire_reading",
    "bogus",
)
TOML_VALUES = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64).map(str),
    st.sampled_from(["nan", "inf", "-inf", "1.5", '"x.xsd"', '"relative"', "[]", "[400, 1000]", '"\\u00ff"']),
)
REPORT_DIR_STATES = st.sampled_from(
    ["absent", "empty", "file", "stale", "previous-foreign", "nested-in-file"]
)


def _prepare_report_dir(base: Path, state: str) -> Path:
    report = base / "r"
    if state == "empty":
        report.mkdir()
    elif state == "file":
        report.write_text("x", encoding="utf-8")
    elif state == "stale":
        report.mkdir()
        (report / "summary.json").write_text('{"verdict": "conformant"}', encoding="utf-8")
    elif state == "previous-foreign":
        (report / "previous").mkdir(parents=True)
        (report / "summary.json").write_text("{}", encoding="utf-8")
    elif state == "nested-in-file":
        (base / "f").write_text("x", encoding="utf-8")
        return base / "f" / "r"
    return report


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    options=st.lists(st.tuples(st.sampled_from(OPTIONS), NUMBERS), max_size=3),
    profile=st.one_of(
        st.none(),
        st.binary(max_size=40),
        st.lists(
            st.tuples(st.sampled_from(PROFILE_KEYS), TOML_VALUES), max_size=3, unique_by=lambda kv: kv[0]
        ),
    ),
    state=REPORT_DIR_STATES,
)
def test_no_input_yields_exit_5_or_a_traceback(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    options: list[tuple[str, str]],
    profile: bytes | list[tuple[str, str]] | None,
    state: str,
) -> None:
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    args = ["run", "--target", REFUSED, "--api-key-env", KEY_VARIABLE, "--user-id", "1",
            "--report-dir", str(_prepare_report_dir(base, state))]  # fmt: skip
    for name, value in options:
        args += [name, value]
    if profile is not None:
        path = base / "p.toml"
        content = (
            profile if isinstance(profile, bytes) else "".join(f"{k} = {v}\n" for k, v in profile).encode()
        )
        path.write_bytes(content)
        args += ["--profile", str(path)]
    code = main(args)
    captured = capsys.readouterr()
    assert code in (2, 3), (args, captured.err)
    assert "Traceback" not in captured.out + captured.err
    assert "internal error" not in captured.err
    assert os.path.exists(base)


class DiskFull:
    """A pytest plugin standing in for a full disk: Allure's result file cannot be written after a test."""

    def pytest_runtest_logfinish(self) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "reports/allure-results/1-result.json")


def test_a_full_disk_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The disk fills during a run → exit 2, one line naming the file and the fix; no INTERNALERROR pages."""
    options = RunOptions(target="reference", report_dir=tmp_path / "r", max_examples=5, seed=1)
    with open_session(options, keyword="test_valid_request_is_granted") as session:
        summary = execute(session, plugins=[DiskFull()])
    captured = capsys.readouterr()
    assert "INTERNALERROR" not in captured.out + captured.err
    assert summary.exit_code == 2 and summary.verdict == "error"
    assert summary.error == (
        "cannot write reports/allure-results/1-result.json: No space left on device; free space there or "
        "choose another --report-dir"
    )
    assert '"exit_code": 2' in (tmp_path / "r" / "summary.json").read_text(encoding="utf-8")
