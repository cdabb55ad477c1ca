"""End to end (issue 19, items 8 and 9): the suite's own failure is never the target's, and target text
cannot forge output. The real `conformance run` and `conformance rerun` commands, in process, against a
hostile server on loopback and against the embedded reference.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from conformance.checks import CHECKS, CheckContext, Subject, check
from conformance.frontends.cli import main
from tests.support.cli import small_profile
from tests.support.hostile_server import ENDPOINT_PATH, HostileServer, ReceivedRequest

pytestmark = pytest.mark.e2e
API_KEY = "CANARY-KEY-" + "0123456789abcdef"
SOME_TESTS = "test_valid_request_is_granted or test_api_key_required_and_checked"
FORGED = "verdict: conformant"
# What a target may send to forge or hide output: a line break, a CR, ESC sequences, BEL, C1 controls, bidi
# overrides and isolates, zero-width characters, the Unicode line and paragraph separators.
HOSTILE = f"\n {FORGED}\r\n{FORGED}\x1b[2J\x1b]0;owned\x07\x9b31m\x85\u202e\u2066\u200b\u2028{FORGED}\u2029"
# Raw characters that must reach no output and no file (newlines are checked line by line).
UNSAFE = ("\x1b", "\x07", "\r", "\x9b", "\x85", "\u202e", "\u2066", "\u200b", "\u2028", "\u2029")
CRASHING_CHECK = "raises_for_the_test"


def _http(status: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


class ScriptedServer(HostileServer):
    """Answers each POST to the endpoint with what ``answer`` makes of it (status, headers, body)."""

    def __init__(self, answer: Callable[[ReceivedRequest], tuple[str, list[tuple[str, str]], bytes]]) -> None:
        super().__init__("valid")
        self.answer = answer

    def _answer(self, conn: object, request: ReceivedRequest) -> bool:
        if request.method != "POST" or request.path.split("?")[0] != ENDPOINT_PATH:
            return super()._answer(conn, request)  # type: ignore[arg-type]
        conn.sendall(_http(*self.answer(request)))  # type: ignore[attr-defined]
        return True


def grant(request: ReceivedRequest, **fields: str) -> bytes:
    """A grant of anything asked (a hostile server), with ``fields`` replacing the usual elements' text."""
    form = dict(parse_qsl(request.body.decode("ascii", "replace")))
    seconds = form.get("token_expire", "")
    values = {
        "status": "200",
        "message": "ok",
        "user_id": form.get("user_id", "12345"),
        "token": secrets.token_hex(16),
        "qrcode": f"https://qr.example.test/{secrets.token_hex(8)}.png",
        "expire": str(
            int(time.time()) + (int(seconds) if seconds.isdecimal() and len(seconds) < 6 else 3600)
        ),
        **fields,
    }
    inner = "".join(f"<{name}>{text}</{name}>" for name, text in values.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<user_response>{inner}</user_response>\n'.encode()


XML = [("Content-Type", "application/xml; charset=UTF-8"), ("Cache-Control", "no-store")]


def conformance(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`conformance ARGS` in this process: exit code and everything it printed (stdout and stderr)."""
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def run_against(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    args = ["run", "--target", url, "--user-id", "12345", "--timeout", "2", "--max-examples", "3"]
    args += [*small_profile(tmp_path), "--report-dir", str(tmp_path / "r"), "-k", SOME_TESTS, *extra]
    return conformance(capsys, *args)


def summary(tmp_path: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    return document


def requirement(document: dict[str, object], rid: str) -> dict[str, object]:
    return next(r for r in document["requirements"] if r["id"] == rid)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def canary_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFORMANCE_API_KEY", API_KEY)
    monkeypatch.setenv("NO_COLOR", "1")


# -- 19.8: the suite's own failure is never the target's ---------------------------------------------------


def test_a_400_digit_expire_is_an_out_of_range_finding_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedServer(lambda request: ("200 OK", XML, grant(request, expire="9" * 400))) as server:
        code, output = run_against(server.url, tmp_path, capsys)
    document = summary(tmp_path)
    assert code == 1, output[-3000:]
    assert document["verdict"] == "non-conformant" and document["error"] is None
    expire = requirement(document, "LT-EXPIRE-CONSISTENT")
    assert expire["outcome"] == "failed"
    received = [f["received"] for f in expire["failures"]]  # type: ignore[attr-defined]
    assert received and all("out of range" in text for text in received), received
    assert "LT-EXPIRE-CONSISTENT" in output and "out of range" in output
    assert "Traceback" not in output and "OverflowError" not in output


@pytest.fixture
def crashing_check() -> Iterator[str]:
    """A check registered through the public decorator that raises on every grant; unregistered after."""

    @check(serves=("LT-TOKEN-PRESENT",), name=CRASHING_CHECK)
    def raises_for_the_test(subject: Subject, ctx: CheckContext) -> str | None:
        if subject.token:
            raise ZeroDivisionError(f"a defect of the check, on a token of {len(subject.token)} characters")
        return None

    try:
        yield CRASHING_CHECK
    finally:
        del CHECKS[CRASHING_CHECK]


def test_a_check_that_raises_is_exit_5_naming_the_check(
    crashing_check: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = run_against("reference", tmp_path, capsys)
    document = summary(tmp_path)
    assert code == 5, output[-3000:]
    assert document["verdict"] == "error" and document["exit_code"] == 5
    error = str(document["error"])
    assert error.startswith(
        f"suite error: check {crashing_check} raised ZeroDivisionError at test_robust.py:"
    )
    assert "(request #" in error and "case " in error
    assert f"check {crashing_check} raised ZeroDivisionError" in output
    assert "Traceback" not in output
    # The target is blamed for nothing: the requirement the check serves is judged by its other check.
    assert requirement(document, "LT-TOKEN-PRESENT")["outcome"] == "passed"
    assert not [r["id"] for r in document["requirements"] if r["outcome"] == "failed"]  # type: ignore[attr-defined]


def test_a_check_that_raises_during_rerun_is_exit_5_never_fixed(
    crashing_check: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedServer(lambda request: ("200 OK", XML, grant(request, expire="9" * 400))) as server:
        code, output = run_against(server.url, tmp_path, capsys)
        assert code == 5, output[-3000:]
        assert requirement(summary(tmp_path), "LT-EXPIRE-CONSISTENT")["failures"]  # kept: something to rerun
        rerun = ["rerun", str(tmp_path / "r" / "summary.json"), "--target", server.url, "--user-id", "12345"]
        code, output = conformance(capsys, *rerun, "--times", "1", "--timeout", "2")
    assert code == 5, output[-3000:]
    assert f"suite error: check {crashing_check} raised ZeroDivisionError" in output
    assert " fixed" not in output.replace("0 fixed", "")


# -- 19.9: target text cannot forge output -----------------------------------------------------------------


def forging_answer(request: ReceivedRequest) -> tuple[str, list[tuple[str, str]], bytes]:
    """Grants carry the hostile text in every element XML allows it in (and a header); refusals of a wrong
    key come back as text with ESC and BEL, which no XML may hold."""
    form = dict(parse_qsl(request.body.decode("ascii", "replace")))
    xml_safe = HOSTILE.replace("\x1b", "").replace("\x07", "").replace("\r", "")
    if form.get("api_key") != API_KEY:
        return "200 OK", [("Content-Type", "text/plain"), ("X-Note", "\u202e\u2028")], HOSTILE.encode()
    fields = {name: f"{form.get('user_id', '')}{xml_safe}" for name in ("user_id", "message", "status")}
    return "200 OK", [*XML, ("X-Note", "a\u202eb\u2066c")], grant(request, **fields)


def forged_lines(text: str) -> list[str]:
    """Lines of ``text`` that start (after indentation or markup) with the forged verdict."""
    return [line for line in text.splitlines() if re.sub(r"^[\s>*|#`'\"-]+", "", line).startswith(FORGED)]


def assert_not_forged(where: str, text: str) -> None:
    assert not forged_lines(text), f"{where}: forged line(s) {forged_lines(text)[:3]}"
    raw = [repr(c) for c in UNSAFE if c in text]
    assert not raw, f"{where}: raw {raw}"


def test_target_text_cannot_forge_a_line_anywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(forging_answer) as server:
        code, output = run_against(server.url, tmp_path, capsys)
        reports = tmp_path / "r"
        document = summary(tmp_path)
        assert code == 1, output[-3000:]
        # The hostile text did reach the findings (escaped), so the files below are really tested.
        echoed = requirement(document, "LT-ECHO-USER")["failures"]
        assert any("\\n verdict: conformant" in f["received"] for f in echoed)  # type: ignore[attr-defined]
        assert "\\n verdict: conformant" in output
        assert_not_forged("terminal", output)
        for name in ("junit.xml", "signoff.md", "signoff.html", "summary.json"):
            assert_not_forged(name, (reports / name).read_text(encoding="utf-8"))
        junit = (reports / "junit.xml").read_text(encoding="utf-8")
        assert "&#10;" not in junit and "&#13;" not in junit  # no attribute (a CI message) spans lines
        for path in sorted(reports.rglob("*")):
            if path.is_file():
                assert_not_forged(
                    str(path.relative_to(reports)), path.read_bytes().decode("utf-8", "replace")
                )
        # rerun prints the case labels of a summary.json: a file anyone can edit.
        for item in document["requirements"]:  # type: ignore[attr-defined]
            for failure in item["failures"]:
                failure["case"] = f"label{HOSTILE}"
        edited = tmp_path / "edited-summary.json"
        edited.write_text(json.dumps(document), encoding="utf-8")
        rerun = ["rerun", str(edited), "--target", server.url, "--user-id", "12345", "--times", "1"]
        code, output = conformance(capsys, *rerun, "--timeout", "2")
    assert code == 1, output[-3000:]
    assert "label\\n verdict: conformant" in output
    assert_not_forged("rerun output", output)
