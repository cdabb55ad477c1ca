"""The conforming reference target: a real server on loopback, real requests, the contract's answers."""

from __future__ import annotations

import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from types import ModuleType
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import xmlschema

import conformance.reference as reference
from conformance.exchange.qrfetch import decode_qr
from conformance.reference import (
    REFERENCE_API_KEY,
    REFERENCE_FOREIGN_USER_ID,
    REFERENCE_OTHER_API_KEY,
    REFERENCE_SECOND_USER_ID,
    REFERENCE_UNKNOWN_USER_ID,
    REFERENCE_USER_ID,
    ReferenceServer,
)
from tests.support import ROOT

SCHEMAS = ROOT / "schemas"
SUCCESS_SCHEMA = xmlschema.XMLSchema(SCHEMAS / "user_response.xsd")
ERROR_SCHEMA = xmlschema.XMLSchema(SCHEMAS / "error_response.xsd")
SUCCESS_TAGS = ["status", "message", "user_id", "token", "qrcode", "expire"]
Form = list[tuple[str, str]]


def form(**fields: str) -> Form:
    """A valid request's form, with fields overridden (a value of None-like "-" drops the field)."""
    base = {"api_key": REFERENCE_API_KEY, "user_id": str(REFERENCE_USER_ID), "token_expire": "3600"}
    base.update(fields)
    return [(name, value) for name, value in base.items() if value != "-"]


def post(client: httpx.Client, server: ReferenceServer, pairs: Form | bytes) -> httpx.Response:
    """POST a form (url-encoded, order and repeats kept) or a raw body to the endpoint."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    content = pairs if isinstance(pairs, bytes) else urlencode(pairs).encode("ascii")
    return client.post(server.endpoint, content=content, headers=headers)


def elements(response: httpx.Response) -> dict[str, str]:
    """The children of <user_response> as a tag -> text mapping."""
    return {child.tag: child.text or "" for child in ET.fromstring(response.content)}


def date_of(response: httpx.Response) -> int:
    """The Date header as a Unix timestamp."""
    return int(parsedate_to_datetime(response.headers["date"]).timestamp())


def assert_success(response: httpx.Response, *, user_id: int, token_expire: int) -> dict[str, str]:
    """The response is a conforming token issue for ``user_id``; returns its elements."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    SUCCESS_SCHEMA.validate(response.text)
    root = ET.fromstring(response.content)
    assert [child.tag for child in root] == SUCCESS_TAGS
    values = elements(response)
    assert values["status"] == "200"
    assert values["user_id"] == str(user_id)
    assert re.fullmatch(r"[0-9a-f]{32}", values["token"])
    assert int(values["expire"]) == date_of(response) + token_expire
    return values


def assert_rejection(response: httpx.Response, status: int) -> None:
    """The response is a conforming rejection with ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert "date" in response.headers
    ERROR_SCHEMA.validate(response.text)
    values = elements(response)
    assert list(values) == ["status", "message"]
    assert values["status"] == str(status)
    assert values["message"]
    assert REFERENCE_API_KEY not in response.text
    assert REFERENCE_OTHER_API_KEY not in response.text


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    """The conforming reference target on an ephemeral loopback port."""
    with ReferenceServer() as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """An httpx client that never follows redirects."""
    with httpx.Client(timeout=10.0, follow_redirects=False) as http:
        yield http


def test_exports_match_all() -> None:
    public = {
        name
        for name, value in vars(reference).items()
        if not name.startswith("_") and not isinstance(value, ModuleType) and name != "annotations"
    }
    assert public == set(reference.__all__)
    documented = {
        "ReferenceServer",
        "FAULTS",
        "Fault",
        "fault",
        "faults_markdown",
        "Behaviour",
        "Grant",
        "REFERENCE_API_KEY",
        "REFERENCE_OTHER_API_KEY",
        "REFERENCE_USER_ID",
        "REFERENCE_FOREIGN_USER_ID",
        "REFERENCE_UNKNOWN_USER_ID",
    }
    assert documented <= set(reference.__all__)
    assert all(hasattr(reference, name) for name in reference.__all__)


def test_fixture_data_is_test_data() -> None:
    assert REFERENCE_API_KEY.startswith("ref-test-key-")
    assert REFERENCE_OTHER_API_KEY.startswith("ref-test-key-")
    assert REFERENCE_UNKNOWN_USER_ID == 9223372036854775806
    assert len({REFERENCE_USER_ID, REFERENCE_SECOND_USER_ID, REFERENCE_FOREIGN_USER_ID}) == 3


def test_url_and_endpoint_are_loopback(server: ReferenceServer) -> None:
    parts = urlsplit(server.endpoint)
    assert (parts.scheme, parts.hostname, parts.path) == ("http", "127.0.0.1", "/v1/user/login_token")
    assert server.url == f"http://127.0.0.1:{parts.port}"
    assert server.fault is None


def test_success_is_conforming(client: httpx.Client, server: ReferenceServer) -> None:
    response = post(client, server, form())
    values = assert_success(response, user_id=REFERENCE_USER_ID, token_expire=3600)
    assert values["message"] == "The request has been successfully processed"
    qrcode = urlsplit(values["qrcode"])
    assert qrcode.scheme == "https"
    assert qrcode.hostname is not None
    assert qrcode.hostname.endswith(".invalid")
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<user_response>\n')


def test_expire_is_issue_time_plus_token_expire(client: httpx.Client, server: ReferenceServer) -> None:
    for token_expire in (60, 61, 3600, 86399, 86400):
        before = int(time.time())
        response = post(client, server, form(token_expire=str(token_expire)))
        after = int(time.time())
        values = assert_success(response, user_id=REFERENCE_USER_ID, token_expire=token_expire)
        assert before + token_expire <= int(values["expire"]) <= after + token_expire


def test_tokens_and_qrcodes_never_repeat(client: httpx.Client, server: ReferenceServer) -> None:
    issued = [elements(post(client, server, form())) for _ in range(20)]
    assert len({values["token"] for values in issued}) == 20
    assert len({values["qrcode"] for values in issued}) == 20


def test_every_in_scope_user_is_served(client: httpx.Client, server: ReferenceServer) -> None:
    assert_success(
        post(client, server, form(user_id=str(REFERENCE_SECOND_USER_ID))),
        user_id=REFERENCE_SECOND_USER_ID,
        token_expire=3600,
    )
    other = form(api_key=REFERENCE_OTHER_API_KEY, user_id=str(REFERENCE_FOREIGN_USER_ID))
    assert_success(post(client, server, other), user_id=REFERENCE_FOREIGN_USER_ID, token_expire=3600)


@pytest.mark.parametrize(
    ("user_id", "token_expire", "user", "seconds"),
    [
        ("012345", "3600", REFERENCE_USER_ID, 3600),
        ("12345", "0060", REFERENCE_USER_ID, 60),
        ("0000012345", "086400", REFERENCE_USER_ID, 86400),
    ],
)
def test_leading_zeros_are_honoured(
    client: httpx.Client, server: ReferenceServer, user_id: str, token_expire: str, user: int, seconds: int
) -> None:
    response = post(client, server, form(user_id=user_id, token_expire=token_expire))
    assert_success(response, user_id=user, token_expire=seconds)


def test_repeated_parameter_with_the_same_value_is_accepted(
    client: httpx.Client, server: ReferenceServer
) -> None:
    pairs = [*form(), ("user_id", str(REFERENCE_USER_ID)), ("token_expire", "3600")]
    assert_success(post(client, server, pairs), user_id=REFERENCE_USER_ID, token_expire=3600)


REJECTIONS: dict[str, tuple[Form | bytes, int]] = {
    "api_key missing": (form(api_key="-"), 401),
    "api_key empty": (form(api_key=""), 401),
    "api_key unknown": (form(api_key="ref-test-key-unknown"), 401),
    "api_key repeated differently": ([*form(), ("api_key", REFERENCE_OTHER_API_KEY)], 400),
    "user_id missing": (form(user_id="-"), 400),
    "user_id empty": (form(user_id=""), 400),
    "user_id signed": (form(user_id="+12345"), 400),
    "user_id negative": (form(user_id="-12345"), 400),
    "user_id padded": (form(user_id=" 12345"), 400),
    "user_id underscore": (form(user_id="12_345"), 400),
    "user_id arabic-indic digits": (form(user_id="١٢٣٤٥"), 400),
    "user_id decimal": (form(user_id="12345.0"), 400),
    "user_id repeated differently": ([*form(), ("user_id", str(REFERENCE_SECOND_USER_ID))], 400),
    "token_expire missing": (form(token_expire="-"), 400),
    "token_expire empty": (form(token_expire=""), 400),
    "token_expire signed": (form(token_expire="+3600"), 400),
    "token_expire decimal": (form(token_expire="3600.0"), 400),
    "token_expire exponent": (form(token_expire="3.6e3"), 400),
    "token_expire padded": (form(token_expire=" 3600 "), 400),
    "token_expire arabic-indic digits": (form(token_expire="٣٦٠٠"), 400),
    "token_expire fullwidth digits": (form(token_expire="３６００"), 400),
    "token_expire letters": (form(token_expire="1h"), 400),
    "token_expire 0": (form(token_expire="0"), 400),
    "token_expire 59": (form(token_expire="59"), 400),
    "token_expire 86401": (form(token_expire="86401"), 400),
    "token_expire 5000 digits": (form(token_expire="9" * 5000), 400),
    "token_expire repeated differently": ([*form(), ("token_expire", "60")], 400),
    "user unknown": (form(user_id=str(REFERENCE_UNKNOWN_USER_ID)), 404),
    "user unknown, 5000 digits": (form(user_id="9" * 5000), 404),
    "user outside scope": (form(user_id=str(REFERENCE_FOREIGN_USER_ID)), 403),
    "other key, user outside its scope": (form(api_key=REFERENCE_OTHER_API_KEY), 403),
    "body not UTF-8": (b"api_key=x&user_id=\xff\xfe", 400),
    "percent-escape not UTF-8": (b"api_key=%ff&user_id=12345&token_expire=3600", 400),
    # The order of the checks: authentication first, then user_id, then token_expire, then the user.
    "missing key beats bad user_id": (form(api_key="-", user_id="x"), 401),
    "bad user_id beats bad token_expire": (form(user_id="x", token_expire="x"), 400),
    "bad token_expire beats unknown user": (
        form(user_id=str(REFERENCE_UNKNOWN_USER_ID), token_expire="1"),
        400,
    ),
}


@pytest.mark.parametrize(("pairs", "status"), REJECTIONS.values(), ids=REJECTIONS.keys())
def test_rejections_are_conforming(
    client: httpx.Client, server: ReferenceServer, pairs: Form | bytes, status: int
) -> None:
    assert_rejection(post(client, server, pairs), status)


def test_rejection_messages_say_which_check_failed(client: httpx.Client, server: ReferenceServer) -> None:
    assert "user_id" in elements(post(client, server, form(user_id="x", token_expire="x")))["message"]
    assert "token_expire" in elements(post(client, server, form(token_expire="x")))["message"]
    assert "api_key" in elements(post(client, server, form(api_key="-")))["message"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "FROBNICATE"])
def test_other_methods_are_405(client: httpx.Client, server: ReferenceServer, method: str) -> None:
    response = client.request(method, server.endpoint)
    assert_rejection(response, 405)
    assert response.headers["allow"] == "POST"


def test_head_is_405_without_body(client: httpx.Client, server: ReferenceServer) -> None:
    response = client.head(server.endpoint)
    assert response.status_code == 405
    assert response.content == b""


@pytest.mark.parametrize("path", ["/", "/v1/user/login", "/v1/user/login_token/x", "/V1/USER/LOGIN_TOKEN"])
def test_other_paths_are_404(client: httpx.Client, server: ReferenceServer, path: str) -> None:
    assert_rejection(client.post(server.url + path, data=dict(form())), 404)
    assert_rejection(client.get(server.url + path), 404)


def test_oversized_body_is_413(client: httpx.Client, server: ReferenceServer) -> None:
    assert_rejection(post(client, server, b"user_id=" + b"1" * (65 * 1024)), 413)


def raw_exchange(server: ReferenceServer, data: bytes) -> bytes:
    """Send raw bytes on a fresh connection and read until the server closes it."""
    port = urlsplit(server.url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "garbage",
    [
        b"GARBAGE\r\n\r\n",
        b"POST /v1/user/login_token HTTP/9.9\r\n\r\n",
        b"POST /v1/user/login_token HTTP/1.1\r\nContent-Length: -5\r\nConnection: close\r\n\r\n",
        b"POST /v1/user/login_token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /v1/user/login_token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello, world\r\n",
        b"POST /v1/user/login_token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
        b"POST /v1/user/login_token HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        b"\x00\xff\xfe" * 100 + b"\r\n\r\n",
    ],
)
def test_malformed_http_is_answered_quietly_and_the_server_survives(
    client: httpx.Client, server: ReferenceServer, garbage: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    answer = raw_exchange(server, garbage)
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500 or status == 505
    assert b"<status>" in answer
    assert_success(post(client, server, form()), user_id=REFERENCE_USER_ID, token_expire=3600)
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")


CHUNKED_HEAD = b"POST /v1/user/login_token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"


@pytest.mark.parametrize(
    ("headers", "chunks"),
    [
        (b"Transfer-Encoding: chunked\r\n", [b"%x\r\n%s\r\n"]),
        (b"Transfer-Encoding: Chunked\r\n", [b"%x;name=value\r\n%s\r\n"]),
        (b"Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n", [b"%X\r\n%s\r\n"]),
    ],
    ids=["chunked", "extension", "expect"],
)
def test_chunked_bodies_are_read(server: ReferenceServer, headers: bytes, chunks: list[bytes]) -> None:
    # RFC 9112 section 7.1: a recipient MUST be able to parse chunked; extensions and trailers are ignored.
    body = urlencode(form()).encode()
    halves = (body[:10], body[10:])
    data = b"".join(chunks[0] % (len(half), half) for half in halves) + b"0\r\nTrailer-Field: x\r\n\r\n"
    answer = raw_exchange(server, CHUNKED_HEAD + headers + b"\r\n" + data)
    assert answer.count(b"HTTP/1.1 100 Continue") == (b"Expect" in headers)
    assert b"HTTP/1.1 200 OK" in answer
    assert f"<user_id>{REFERENCE_USER_ID}</user_id>".encode() in answer


def test_a_chunked_body_over_the_limit_is_413(server: ReferenceServer) -> None:
    chunk = b"%x\r\n%s\r\n" % (40 * 1024, b"x" * 40 * 1024)
    answer = raw_exchange(server, CHUNKED_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 2)
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_client_hanging_up_mid_request_is_quiet(
    client: httpx.Client, server: ReferenceServer, capfd: pytest.CaptureFixture[str]
) -> None:
    port = urlsplit(server.url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /v1/user/login_token HTTP/1.1\r\nContent-Length: 100\r\n\r\nuser_id=1")
    assert_success(post(client, server, form()), user_id=REFERENCE_USER_ID, token_expire=3600)
    assert capfd.readouterr().err == ""


def test_start_stop_is_clean_and_idempotent() -> None:
    target = ReferenceServer()
    target.start()
    target.start()
    url = target.endpoint
    with httpx.Client() as keep_alive:
        assert keep_alive.post(url, data=dict(form())).status_code == 200
        target.stop()  # must not wait for the idle keep-alive connection
        target.stop()
        with pytest.raises(httpx.TransportError):
            keep_alive.post(url, data=dict(form()))
    with pytest.raises(RuntimeError, match="not running"):
        _ = target.url


def test_restart_serves_again() -> None:
    target = ReferenceServer()
    for _ in range(2):
        with target, httpx.Client() as http:
            assert http.post(target.endpoint, data=dict(form())).status_code == 200


def test_unknown_fault_is_a_value_error_listing_the_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown fault 'no_such_fault'.*expire_one_hour_late"):
        ReferenceServer(fault="no_such_fault")


def test_repr_never_shows_a_key() -> None:
    with ReferenceServer(fault="api_key_echoed") as target:
        assert "api_key_echoed" in repr(target)
        assert REFERENCE_API_KEY not in repr(target)


def test_another_method_with_a_body_leaves_the_connection_usable(
    client: httpx.Client, server: ReferenceServer
) -> None:
    # The unread body of a PUT would otherwise be parsed as the next request on the keep-alive connection.
    for method in ("PUT", "PATCH", "DELETE"):
        assert_rejection(client.request(method, server.endpoint, content=b"api_key=x&user_id=1"), 405)
        assert post(client, server, form()).status_code == 200


def test_path_variants_are_404_and_an_added_query_is_the_endpoint(
    client: httpx.Client, server: ReferenceServer
) -> None:
    assert_rejection(client.post(server.endpoint + "/", data=dict(form())), 404)
    assert_rejection(client.post(server.url + "/v1/user//login_token", data=dict(form())), 404)
    assert client.post(server.endpoint + "?format=xml", data=dict(form())).status_code == 200


# -- the QR code images (served only when asked: --fetch-qrcode) -------------------------------------


def test_by_default_qrcode_urls_point_at_a_host_that_never_resolves(
    client: httpx.Client, server: ReferenceServer
) -> None:
    url = elements(post(client, server, form()))["qrcode"]
    assert url.startswith("https://qr.reference.invalid/")
    assert client.get(server.url + "/qr" + urlsplit(url).path).status_code == 404  # no image served


def test_served_qrcodes_are_real_qr_images_carrying_the_token(client: httpx.Client) -> None:
    with ReferenceServer(serve_qrcodes=True) as serving:
        grants = [elements(post(client, serving, form())) for _ in range(3)]
        payloads = []
        for values in grants:
            assert values["qrcode"].startswith(serving.url + "/qr/")
            image = client.get(values["qrcode"])
            assert image.status_code == 200
            assert image.headers["content-type"] == "image/png"
            payload, problem = decode_qr(image.content)
            assert problem is None and payload is not None
            assert values["token"] in payload
            payloads.append(payload)
        assert len(set(payloads)) == 3
        assert client.get(serving.url + "/qr/never-issued.png").status_code == 404
