"""Reproduction lines: each printed curl line, pasted into a shell, sends exactly the case that failed."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar
from urllib.parse import parse_qsl, quote_plus, urlsplit

import pytest

from conformance.core.model import API_KEY_PLACEHOLDER, Case, Expect
from conformance.core.wire import SPELLINGS, write
from conformance.exchange.raw import PROBES
from conformance.inputs import HUGE, api_key_variants, malformed_spellings
from conformance.run.evidence import curl_command

KEY = 'k3y-with $pecial `chars` "and" \\ =&+ 50%'
KEY_VARIABLE = "REPRO_KEY"


class _Echo(BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []
    seen: ClassVar[list[tuple[str, str, dict[str, str]]]] = []  # method, path, headers of each request

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # the trailer section
                pass
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Echo.bodies.append(body)
        _Echo.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_OPTIONS = do_POST

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    """A loopback server that keeps every body it is sent."""
    server = HTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Echo.bodies, _Echo.seen = [], []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/user/login_token"
    finally:
        server.shutdown()
        server.server_close()


def _forms() -> list[tuple[tuple[str, str], ...]]:
    key = ("api_key", API_KEY_PLACEHOLDER)
    forms: list[tuple[tuple[str, str], ...]] = [
        (key, ("user_id", "12345"), ("token_expire", value)) for value in malformed_spellings(3600)
    ]
    forms += [(*(("api_key", v) for v in param.values), ("user_id", "12345")) for param in api_key_variants()]
    forms += [
        (key, ("user_id", "12345"), ("token_expire", "60"), ("token_expire", "61")),  # repeated
        (key, ("user_id", "@/etc/passwd"), ("token_expire", "=3600")),  # curl's own syntax, taken literally
        (key, ("user_id", "1 2'3\"4$5`6\\7!8\n9\r\t\x00"), ("token_expire", HUGE)),
        (key, ("user_id", ""), ("", "x")),
        (),  # the empty form
    ]
    return forms


def test_every_curl_line_is_one_line_and_sends_exactly_the_case(echo_url: str, curl: str) -> None:
    forms = _forms()
    for form in forms:
        case = Case(label="c", form=form, expect=Expect.REJECT, requirement="LT-INPUT-EXPIRE-MALFORMED")
        line = curl_command(case, echo_url, key_variable=KEY_VARIABLE).replace("curl ", f"{curl} ", 1)
        assert "\n" not in line and "\r" not in line and line.isprintable(), line
        assert KEY not in line
        done = subprocess.run(
            ["bash", "-c", line], env={KEY_VARIABLE: KEY}, capture_output=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr
        sent = parse_qsl(_Echo.bodies[-1].decode("ascii"), keep_blank_values=True)
        expected = parse_qsl(case.body(api_key=KEY).decode("ascii"), keep_blank_values=True)
        assert sent == expected, line
    assert len(_Echo.bodies) == len(forms)


def test_a_curl_line_keeps_the_method_the_query_and_the_second_identity(echo_url: str, curl: str) -> None:
    form = (("api_key", API_KEY_PLACEHOLDER), ("user_id", "12345"), ("token_expire", "3600"))
    base = Case(label="c", form=form, expect=Expect.REJECT, requirement="LT-HTTP-POST-ONLY", method="GET")
    in_query = dataclasses.replace(base, form_in_query=True)
    cases = [base, in_query, dataclasses.replace(base, method="PUT", alternate_identity=True)]
    for case in cases:
        url = echo_url + ("?" + case.body(api_key=API_KEY_PLACEHOLDER).decode() if case.form_in_query else "")
        line = curl_command(case, url, key_variable=KEY_VARIABLE).replace("curl ", f"{curl} ", 1)
        done = subprocess.run(
            ["bash", "-c", line], env={KEY_VARIABLE: KEY}, capture_output=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr
    expected = parse_qsl(base.body(api_key=KEY).decode("ascii"), keep_blank_values=True)
    (get, body), (get_query, query), (put, _) = zip(_Echo.seen, _Echo.bodies, strict=True)
    assert get[0] == "GET" and parse_qsl(body.decode()) == expected
    assert get_query[0] == "GET" and not query
    assert parse_qsl(urlsplit(get_query[1]).query, keep_blank_values=True) == expected
    assert put[0] == "PUT" and put[2]["accept"] == "application/xml"


@pytest.mark.parametrize("key", [KEY, "Plain-key_0123456789"])
def test_a_curl_line_sends_every_spelling_exactly(echo_url: str, key: str, curl: str) -> None:
    """Each spelling's body as the suite writes it (JSON, multipart, every byte escaped, reversed, 1,500
    fields, chunked...) and its headers; only a urlencoded key may be escaped another way by curl."""
    form = (("api_key", API_KEY_PLACEHOLDER), ("user_id", "12345"), ("token_expire", "3600"))
    base = Case(label="c", form=form, expect=Expect.ACCEPT, requirement="LT-INPUT-EQUIVALENT")
    for spelling in SPELLINGS:
        case = dataclasses.replace(base, spelling=spelling)
        line = curl_command(case, echo_url, key_variable=KEY_VARIABLE)
        assert "\n" not in line and line.isprintable() and key not in line and "#" not in line, line
        done = subprocess.run(
            ["bash", "-c", line.replace("curl ", f"{curl} ", 1)],
            env={KEY_VARIABLE: key, "PATH": os.environ["PATH"]},
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        written = write(spelling, case.pairs(api_key=key))
        sent, headers = _Echo.bodies[-1], _Echo.seen[-1][2]
        urlencoded_key = quote_plus(key) != key and spelling not in ("percent-encoded", "percent-lowercase")
        if urlencoded_key and headers["content-type"].startswith("application/x-www-form"):
            # curl escapes the key its own way: the same pairs in the same order, every other byte the same
            assert parse_qsl(sent.decode(), keep_blank_values=True) == parse_qsl(written.body.decode()), line
            assert _without_key(sent) == _without_key(written.body), line
        else:
            assert sent == written.body, line
        for name, value in written.headers.items():
            assert headers[name.lower()] == value, (spelling, headers)
        assert ("transfer-encoding" in headers) == written.chunked, (spelling, headers)


def _without_key(body: bytes) -> bytes:
    return b"&".join(pair for pair in body.split(b"&") if not pair.startswith(b"api_key="))


def test_a_raw_probe_is_not_a_curl_line_and_names_the_rerun() -> None:
    form = (("api_key", API_KEY_PLACEHOLDER), ("user_id", "12345"), ("token_expire", "3600"))
    for name, probe in PROBES.items():
        case = Case(label="c", form=form, expect=Expect.EITHER, requirement=probe.requirement, raw=name)
        line = curl_command(case, "http://127.0.0.1:1/v1/user/login_token", key_variable=KEY_VARIABLE)
        assert line.startswith(f"# curl cannot send the raw HTTP/1.1 probe {name} ("), line
        assert line.endswith("reproduce it with the conformance rerun line the run printed")
        assert "\n" not in line and line.isprintable()


def test_a_body_no_shell_word_can_hold_says_so() -> None:
    """A multipart body with a NUL byte cannot be one shell argument: the line says the rerun sends it."""
    form = (("api_key", API_KEY_PLACEHOLDER), ("user_id", "1\x002"))
    case = Case(label="c", form=form, expect=Expect.REJECT, requirement="LT-INPUT-USER-MALFORMED")
    line = curl_command(dataclasses.replace(case, spelling="multipart"), "http://h/x", key_variable="K")
    assert line.endswith(" # the body holds a NUL byte: conformance rerun sends it exactly"), line
    assert "--data-binary" not in line and line.isprintable()
