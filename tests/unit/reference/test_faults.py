"""The fault catalogue: the registry's promises, and for each fault the raw misbehaviour it promises."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urlsplit

import httpcore
import httpx
import pytest
import xmlschema

from conformance.core import wire
from conformance.core.contract import REQUIREMENTS, REQUIREMENTS_BY_ID
from conformance.core.model import RawOutcome
from conformance.core.prediction import TokenPredictor, time_seeded
from conformance.exchange.qrfetch import decode_qr
from conformance.exchange.raw import converse
from conformance.exchange.raw import get_probe as get_raw_probe
from conformance.reference import (
    DEFAULT_SLOW_DELAY,
    FAULTS,
    REFERENCE_API_KEY,
    REFERENCE_FOREIGN_USER_ID,
    REFERENCE_SECOND_USER_ID,
    REFERENCE_UNKNOWN_USER_ID,
    REFERENCE_USER_ID,
    Behaviour,
    Fault,
    ReferenceServer,
    fault,
    faults_markdown,
    get_fault,
    uncovered_requirements,
)
from tests.support import ROOT
from tests.support.side_channel_probes import SIDE_CHANNEL_PROBES

SCHEMAS = ROOT / "schemas"
SUCCESS_SCHEMA = xmlschema.XMLSchema(SCHEMAS / "user_response.xsd")
ERROR_SCHEMA = xmlschema.XMLSchema(SCHEMAS / "error_response.xsd")
REQUIRED_NAMES = ("expire_one_hour_late", "token_expire_59_accepted", "qrcode_missing")
SLOW_DELAY = 5.0  # the stop event cuts it short; only has to outlast SHORT_TIMEOUT by a wide margin
SHORT_TIMEOUT = 0.3
DTD_PREFIX = "<!DOCTYPE user_response [<!ENTITY"
HTTP_QRCODE = "http://qr.reference.invalid/"  # (the conforming probe serves its images over http)


class Probe:
    """Sends requests to one running faulty server and reads the answers."""

    def __init__(self, server: ReferenceServer, client: httpx.Client) -> None:
        self.server = server
        self.client = client

    def post(self, **fields: str) -> httpx.Response:
        """POST a valid form with fields overridden ("-" drops one)."""
        base = {"api_key": REFERENCE_API_KEY, "user_id": str(REFERENCE_USER_ID), "token_expire": "3600"}
        base.update(fields)
        return self.post_pairs([(k, v) for k, v in base.items() if v != "-"])

    def post_pairs(self, pairs: list[tuple[str, str]]) -> httpx.Response:
        """POST exactly these form pairs, order and repeats kept."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.client.post(self.server.endpoint, content=urlencode(pairs).encode(), headers=headers)

    def issued(self, **fields: str) -> dict[str, str]:
        """POST and require HTTP 200; the body's elements."""
        response = self.post(**fields)
        assert response.status_code == 200, response.text
        return elements(response)


def elements(response: httpx.Response) -> dict[str, str]:
    """The children of <user_response> by local name (last one wins)."""
    return {child.tag.rpartition("}")[2]: child.text or "" for child in ET.fromstring(response.content)}


def tags(response: httpx.Response) -> list[str]:
    """The child element names of <user_response>, in order."""
    return [child.tag for child in ET.fromstring(response.content)]


def expire_offset(response: httpx.Response) -> int:
    """<expire> minus the Date header, in seconds (the response must be a success)."""
    assert response.status_code in (200, 201), response.text
    date = int(parsedate_to_datetime(response.headers["date"]).timestamp())
    return int(elements(response)["expire"]) - date


def valid(schema: xmlschema.XMLSchema, response: httpx.Response) -> bool:
    """Whether the body validates against ``schema`` (a body that is not XML does not)."""
    try:
        return bool(schema.is_valid(response.text))
    except Exception:
        return False


# -- the probes: what each fault promises, observed on the wire --------------------------------------


def probe_clamped(p: Probe) -> None:
    assert expire_offset(p.post(token_expire="30")) == 60
    assert expire_offset(p.post(token_expire="100000")) == 86400


def probe_fixed_list_only(p: Probe) -> None:
    assert all(p.post(token_expire=v).status_code == 200 for v in ("60", "61", "3600", "86399", "86400"))
    assert p.post(token_expire="600").status_code == 400


def probe_lenient_expire(raw: str) -> Callable[[Probe], None]:
    def probe(p: Probe) -> None:
        assert expire_offset(p.post(token_expire=raw)) == 3600
        assert p.post(token_expire="x3600").status_code == 400

    return probe


def probe_user_id_int(p: Probe) -> None:
    for raw in (" 12345", "+12345", "12_345", "١٢٣٤٥"):
        assert p.issued(user_id=raw)["user_id"] == "12345"


def probe_repeated(winner: str) -> Callable[[Probe], None]:
    def probe(p: Probe) -> None:
        pairs = [
            ("api_key", REFERENCE_API_KEY),
            ("user_id", "12345"),
            ("user_id", "12346"),
            ("token_expire", "60"),
        ]
        response = p.post_pairs(pairs)
        assert response.status_code == 200
        assert elements(response)["user_id"] == winner

    return probe


def probe_third_party_qrcode(p: Probe) -> None:
    grant = p.issued()
    assert urlsplit(grant["qrcode"]).hostname == "charts.example.net"
    assert f"token%3D{grant['token']}" in urlsplit(grant["qrcode"]).query


def probe_mersenne_twister(p: Probe) -> None:
    tokens = [p.issued()["token"] for _ in range(79)]
    assert all(len(t) == 64 for t in tokens)
    predictor = TokenPredictor()
    for token in tokens[:-1]:
        predictor.learn(token, user=None)
    assert tokens[-1] in predictor.predicted


def probe_lcg_per_user(p: Probe) -> None:
    values = [int(p.issued()["token"], 16) for _ in range(5)]
    if (values[1] - values[0]) % 2 == 0:  # an even step has no inverse mod 2^128: start one later
        values = values[1:]
    assert (values[1] - values[0]) % 2 == 1
    a = (values[2] - values[1]) * pow(values[1] - values[0], -1, 2**128) % 2**128
    assert values[3] == (a * values[2] + values[1] - a * values[0]) % 2**128


def probe_24_bit_repeated(p: Probe) -> None:
    token = p.issued()["token"]
    assert token == token[:6] * 5 + token[:2]


def probe_hash_chain(p: Probe) -> None:
    first, second = p.issued()["token"], p.issued()["token"]
    assert second == hashlib.sha256(first.encode()).hexdigest()[:32]


def probe_time_seeded(p: Probe) -> None:
    response = p.post()
    date = parsedate_to_datetime(response.headers["date"]).timestamp()
    assert time_seeded(elements(response)["token"], [date, date + 1]) is not None


def probe_token_sequence(*, length: int, base: int) -> Callable[[Probe], None]:
    def probe(p: Probe) -> None:
        first, second = p.issued()["token"], p.issued()["token"]
        assert len(first) == len(second) == length
        assert int(second, base) == int(first, base) + 1

    return probe


def probe_redirect(p: Probe) -> None:
    response = p.post(api_key="ref-test-key-unknown")
    assert response.status_code == 302
    assert urlsplit(response.headers["location"]).hostname == "127.0.0.2"
    assert p.post().status_code == 200


def probe_slow(p: Probe) -> None:
    with pytest.raises(httpx.ReadTimeout):
        p.client.post(
            p.server.endpoint,
            data={"api_key": REFERENCE_API_KEY, "user_id": "12345", "token_expire": "60"},
            timeout=SHORT_TIMEOUT,
        )
    assert p.post(token_expire="61").status_code == 200


def probe_fails_open_late(p: Probe) -> None:
    assert status(p, api_key="wrong-key") == 401
    for _ in range(250):
        p.post(api_key="-")
    assert status(p, api_key="wrong-key") == 200


def qr_image(p: Probe, grant: dict[str, str]) -> httpx.Response:
    """GET the grant's <qrcode> image from the server under probe (it serves its own)."""
    assert urlsplit(grant["qrcode"]).hostname == "127.0.0.1", grant["qrcode"]
    return p.client.get(grant["qrcode"])


def qr_payload(p: Probe, grant: dict[str, str]) -> str | None:
    """The decoded payload of the grant's image (None: no QR code in it)."""
    response = qr_image(p, grant)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    return decode_qr(response.content)[0]


def probe_qr_same(p: Probe) -> None:
    first, second = p.issued(), p.issued()
    assert first["qrcode"] != second["qrcode"]
    assert qr_payload(p, first) == qr_payload(p, second) is not None


def probe_qr_other_token(p: Probe) -> None:
    grant = p.issued()
    payload = qr_payload(p, grant)
    assert payload is not None and grant["token"] not in payload


def probe_qr_redirect(p: Probe) -> None:
    response = qr_image(p, p.issued())
    assert response.status_code == 302 and response.headers["location"].startswith("/qr/")


def probe_get_issues_token(p: Probe) -> None:
    query = urlencode({"api_key": REFERENCE_API_KEY, "user_id": "12345", "token_expire": "3600"})
    response = p.client.get(f"{p.server.endpoint}?{query}")
    assert response.status_code == 200
    assert elements(response)["token"]


def probe_trailing_slash(p: Probe) -> None:
    form = urlencode({"api_key": "wrong-key", "user_id": "12345", "token_expire": "3600"}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert p.client.post(p.server.endpoint + "/", content=form, headers=headers).status_code == 200
    assert status(p, api_key="wrong-key") == 401


FORM = {"api_key": REFERENCE_API_KEY, "user_id": str(REFERENCE_FOREIGN_USER_ID), "token_expire": "3600"}
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}
OLD_SUITE_HEADERS = {
    "User-Agent": "login-token-conformance",
    "Accept": "application/xml, text/xml;q=0.9, */*;q=0.1",
}
CURL_HEADERS = {"User-Agent": "curl/8.5.0", "Accept": "application/xml"}


def probe_get_redirects_token(p: Probe) -> None:
    body = urlencode({**FORM, "user_id": "12345"}).encode()
    response = p.client.request("GET", p.server.endpoint, content=body, headers=FORM_TYPE)
    assert response.status_code == 302
    assert response.headers["location"].startswith("https://app.reference.invalid/#token=")
    assert p.client.get(f"{p.server.endpoint}?{urlencode({**FORM, 'api_key': 'wrong'})}").status_code == 401


def probe_get_answers_json_token(p: Probe) -> None:
    response = p.client.get(f"{p.server.endpoint}?{urlencode(FORM)}")  # the foreign user
    assert response.status_code == 200
    assert response.json()["token"]
    assert response.json()["user_id"] == REFERENCE_FOREIGN_USER_ID


def probe_trailing_slash_json(p: Probe) -> None:
    form = urlencode({**FORM, "api_key": "wrong-key"}).encode()
    response = p.client.post(p.server.endpoint + "/", content=form, headers=FORM_TYPE)
    assert response.status_code == 200
    assert response.json()["token"]
    assert status(p, api_key="wrong-key") == 401


def probe_trailing_slash_redirect(p: Probe) -> None:
    form = urlencode({**FORM, "api_key": "wrong-key"}).encode()
    response = p.client.post(p.server.endpoint + "/", content=form, headers=FORM_TYPE)
    assert response.status_code == 308
    assert "?session=" in response.headers["location"]


def probe_grants_unless_suite_identity(p: Probe) -> None:
    form = urlencode({**FORM, "api_key": "wrong-key"}).encode()
    assert status(p, api_key="wrong-key") == 200  # the stock httpx client
    headers = {**FORM_TYPE, **OLD_SUITE_HEADERS}
    assert p.client.post(p.server.endpoint, content=form, headers=headers).status_code == 401


def probe_grants_unless_stock_identity(p: Probe) -> None:
    form = urlencode({**FORM, "api_key": "wrong-key"}).encode()
    assert status(p, api_key="wrong-key") == 401  # the stock httpx client
    headers = {**FORM_TYPE, **CURL_HEADERS}
    assert p.client.post(p.server.endpoint, content=form, headers=headers).status_code == 200


def probe_race(p: Probe) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(lambda _: p.issued()["token"], range(8)))
    assert len(set(tokens)) < len(tokens)


def probe_wrong_key_aliased(p: Probe) -> None:
    assert [status(p, api_key="wrong-key"), status(p), status(p, api_key="wrong-key")] == [401, 200, 200]
    assert status(p, api_key="wrong-key") == 401  # the alias served one request only


def probe_session_cookie(p: Probe) -> None:
    set_cookie = p.post().headers.get("set-cookie", "")
    assert "Secure" in set_cookie  # never sent back by a client over plain http
    session = set_cookie.split(";", 1)[0]
    assert status(p, user_id=str(REFERENCE_FOREIGN_USER_ID)) == 403
    form = urlencode({**FORM, "api_key": "wrong-key", "user_id": str(REFERENCE_FOREIGN_USER_ID)}).encode()
    headers = {**FORM_TYPE, "Cookie": session}
    assert p.client.post(p.server.endpoint, content=form, headers=headers).status_code == 200


def eq(actual: object, expected: object) -> bool:
    """Assert equality (pytest shows both values when it fails); True so probes can chain checks."""
    assert actual == expected
    return True


def status(p: Probe, **fields: str) -> int:
    """The HTTP status the faulty server answers this form with."""
    return p.post(**fields).status_code


def both(*checks: bool) -> None:
    """Lets a one-line probe run several ``eq`` checks (each asserts on its own)."""


def spelt(
    p: Probe, spelling: str, pairs: list[tuple[str, str]] | None = None, **fields: str
) -> httpx.Response:
    """POST the valid form (fields overridden, or exactly ``pairs``) in a conformance.core.wire spelling."""
    base = {"api_key": REFERENCE_API_KEY, "user_id": str(REFERENCE_USER_ID), "token_expire": "3600", **fields}
    written = wire.write(spelling, pairs if pairs is not None else list(base.items()))
    content = iter(written.content) if isinstance(written.content, tuple) else written.content
    return p.client.post(p.server.endpoint, content=content, headers=written.headers)


def granted_user(response: httpx.Response) -> str | None:
    """The <user_id> of a grant; None for any other answer."""
    return elements(response).get("user_id") if response.status_code == 200 else None


def probe_post_query_skips_scope(p: Probe) -> None:
    query = urlencode(
        {"api_key": REFERENCE_API_KEY, "user_id": REFERENCE_FOREIGN_USER_ID, "token_expire": 60}
    )
    granted = p.client.post(f"{p.server.endpoint}?{query}", content=b"")
    assert granted_user(granted) == str(REFERENCE_FOREIGN_USER_ID)
    assert status(p, user_id=str(REFERENCE_FOREIGN_USER_ID)) == 403


FOREIGN = str(REFERENCE_FOREIGN_USER_ID)
VALID_FORM = [("api_key", REFERENCE_API_KEY), ("user_id", str(REFERENCE_USER_ID)), ("token_expire", "3600")]


def raw(p: Probe, name: str) -> RawOutcome:
    """What the faulty server shows a raw-message probe (conformance.exchange.raw) carrying the valid form."""
    form = urlencode(
        {"api_key": REFERENCE_API_KEY, "user_id": str(REFERENCE_USER_ID), "token_expire": "3600"}
    )
    split = urlsplit(p.server.url)
    backend = httpcore.SyncBackend()
    return converse(
        get_raw_probe(name),
        connect=lambda: backend.connect_tcp(split.hostname or "", split.port or 80, timeout=5.0),
        url=p.server.endpoint,
        form=form.encode(),
        max_bytes=1 << 20,
    )


def raw_statuses(p: Probe, name: str) -> list[int]:
    return [r.status for r in raw(p, name).responses]


def probe_no_allow(p: Probe) -> None:
    answer = p.client.request("DELETE", p.server.endpoint)
    both(eq(answer.status_code, 405), eq(answer.headers.get("allow"), None))


PROBES: dict[str, Callable[[Probe], object]] = {
    "token_expire_59_accepted": lambda p: both(
        eq(status(p, token_expire="59"), 200), eq(status(p, token_expire="58"), 400)
    ),
    "token_expire_86401_accepted": lambda p: both(
        eq(status(p, token_expire="86401"), 200), eq(status(p, token_expire="86402"), 400)
    ),
    "token_expire_60_rejected": lambda p: both(
        eq(status(p, token_expire="60"), 400), eq(status(p, token_expire="61"), 200)
    ),
    "token_expire_86400_rejected": lambda p: both(
        eq(status(p, token_expire="86400"), 400), eq(status(p, token_expire="86399"), 200)
    ),
    "token_expire_clamped": probe_clamped,
    "token_expire_fixed_list_only": probe_fixed_list_only,
    "token_expire_signed_accepted": probe_lenient_expire("+3600"),
    "token_expire_decimal_accepted": probe_lenient_expire("3600.0"),
    "token_expire_exponent_accepted": probe_lenient_expire("3.6e3"),
    "token_expire_whitespace_accepted": probe_lenient_expire(" 3600 "),
    "token_expire_unicode_digits_accepted": probe_lenient_expire("٣٦٠٠"),
    "user_id_parsed_with_int": probe_user_id_int,
    "leading_zeros_octal": lambda p: eq(expire_offset(p.post(token_expire="03600")), 0o3600),
    "leading_zeros_expire_defaulted": lambda p: eq(expire_offset(p.post(token_expire="0060")), 3600),
    "repeated_parameter_last_wins": probe_repeated("12346"),
    "repeated_parameter_first_wins": probe_repeated("12345"),
    "token_expire_missing_defaulted": lambda p: eq(expire_offset(p.post(token_expire="-")), 3600),
    "user_id_missing_defaulted": lambda p: eq(p.issued(user_id="-")["user_id"], "12345"),
    "plain_user_id_rejected": lambda p: both(eq(status(p), 404), eq(status(p, user_id="012345"), 200)),
    "missing_api_key_accepted": lambda p: eq(status(p, api_key="-"), 200),
    "invalid_api_key_accepted": lambda p: both(
        eq(status(p, api_key="ref-test-key-unknown"), 200), eq(status(p, api_key="-"), 401)
    ),
    "unknown_user_issued": lambda p: both(
        eq(status(p, user_id=str(REFERENCE_UNKNOWN_USER_ID)), 200),
        eq(status(p, user_id=str(REFERENCE_FOREIGN_USER_ID)), 403),
    ),
    "foreign_user_issued": lambda p: both(
        eq(status(p, user_id=str(REFERENCE_FOREIGN_USER_ID)), 200),
        eq(status(p, user_id=str(REFERENCE_UNKNOWN_USER_ID)), 404),
    ),
    "expire_one_hour_late": lambda p: eq(expire_offset(p.post(token_expire="600")), 600 + 3600),
    "expire_in_milliseconds": lambda p: eq(expire_offset(p.post(token_expire="600")) > 10**12, True),
    "expire_relative": lambda p: eq(p.issued(token_expire="600")["expire"], "600"),
    "expire_ignores_token_expire": lambda p: eq(expire_offset(p.post(token_expire="600")), 3600),
    "token_empty": lambda p: eq(p.issued()["token"], ""),
    "token_repeated": lambda p: eq(p.issued()["token"], p.issued()["token"]),
    "token_sequential_counter": probe_token_sequence(length=10, base=10),
    "token_hex_counter": probe_token_sequence(length=32, base=16),
    "token_short": lambda p: eq(len(p.issued()["token"]), 8),
    "token_python_random": probe_mersenne_twister,
    "token_lcg_per_user": probe_lcg_per_user,
    "token_24_bit_repeated": probe_24_bit_repeated,
    "token_hash_chain": probe_hash_chain,
    "token_time_seeded": probe_time_seeded,
    "qrcode_carries_previous_token": lambda p: eq(p.issued()["token"] in p.issued()["qrcode"], True),
    "refusal_hands_out_last_token": lambda p: eq(
        p.issued()["token"] in elements(p.post(api_key="wrong"))["message"], True
    ),
    "qrcode_http": lambda p: eq(p.issued()["qrcode"][: len(HTTP_QRCODE)], HTTP_QRCODE),
    "qrcode_relative": lambda p: eq(p.issued()["qrcode"][:4], "/qr/"),
    "qrcode_empty": lambda p: eq(p.issued()["qrcode"], ""),
    "qrcode_missing": lambda p: both(
        eq("qrcode" in tags(p.post()), False), eq(valid(SUCCESS_SCHEMA, p.post()), False)
    ),
    "extra_element": lambda p: both(
        eq(tags(p.post())[-1], "session"), eq(valid(SUCCESS_SCHEMA, p.post()), False)
    ),
    "elements_reordered": lambda p: both(
        eq(tags(p.post())[2:4], ["token", "user_id"]), eq(valid(SUCCESS_SCHEMA, p.post()), False)
    ),
    "element_duplicated": lambda p: both(
        eq(tags(p.post()).count("message"), 2), eq(valid(SUCCESS_SCHEMA, p.post()), False)
    ),
    "default_namespace": lambda p: both(
        eq(ET.fromstring(p.post().content).tag, "{urn:example:login-token}user_response"),
        eq(valid(SUCCESS_SCHEMA, p.post()), False),
        eq(valid(ERROR_SCHEMA, p.post(api_key="-")), True),
    ),
    "expire_float_lexical": lambda p: both(
        eq(p.issued()["expire"][-2:], ".0"), eq(valid(SUCCESS_SCHEMA, p.post()), False)
    ),
    "qrcode_stray_percent": lambda p: both(
        eq(p.issued()["qrcode"][-1], "%"), eq(valid(SUCCESS_SCHEMA, p.post()), True)
    ),
    "indent_no_break_space": lambda p: both(
        eq("\u00a0<status>" in p.post().text, True), eq(valid(SUCCESS_SCHEMA, p.post()), True)
    ),
    "qrcode_third_party_chart": probe_third_party_qrcode,
    "status_word": lambda p: both(eq(p.issued()["status"], "OK"), eq(valid(SUCCESS_SCHEMA, p.post()), False)),
    "status_element_201": lambda p: both(
        eq(p.issued()["status"], "201"), eq(valid(SUCCESS_SCHEMA, p.post()), True)
    ),
    "user_id_echo_off_by_one": lambda p: eq(p.issued()["user_id"], str(REFERENCE_USER_ID + 1)),
    "api_key_echoed": lambda p: eq(REFERENCE_API_KEY in p.issued()["message"], True),
    "dtd_declared": lambda p: eq(
        [DTD_PREFIX in r.text for r in (p.post(), p.post(api_key="-"))], [True, True]
    ),
    "rejection_plain_text": lambda p: both(eq(p.post(api_key="-").text, "Bad Request\n"), eq(status(p), 200)),
    "rejection_with_token": lambda p: both(
        eq(len(elements(p.post(api_key="-")).get("token", "")), 32),
        eq(valid(ERROR_SCHEMA, p.post(api_key="-")), False),
    ),
    "content_type_html": lambda p: eq(
        [r.headers["content-type"] for r in (p.post(), p.post(api_key="-"))], ["text/html; charset=utf-8"] * 2
    ),
    "cache_control_missing": lambda p: both(
        eq("cache-control" in p.post().headers, False), eq(status(p), 200)
    ),
    "success_http_201": lambda p: both(eq(status(p), 201), eq(elements(p.post())["status"], "201")),
    "rejection_http_200": lambda p: both(
        eq(status(p, api_key="-"), 200),
        eq(elements(p.post(api_key="-")), {"status": "401", "message": "api_key is missing"}),
    ),
    "server_error_on_max_expire": lambda p: both(
        eq(status(p, token_expire="86400"), 500), eq(status(p, token_expire="86399"), 200)
    ),
    "redirect_on_auth_failure": probe_redirect,
    "slow_on_min_expire": probe_slow,
    # -- issue 11 --
    "api_key_case_insensitive": lambda p: both(
        eq(status(p, api_key=REFERENCE_API_KEY.upper()), 200), eq(status(p, api_key="x"), 401)
    ),
    "api_key_prefix_only": lambda p: both(
        eq(status(p, api_key=REFERENCE_API_KEY[:8] + "-anything"), 200), eq(status(p, api_key="ref"), 401)
    ),
    "api_key_last_character_ignored": lambda p: both(
        eq(status(p, api_key=REFERENCE_API_KEY[:-1] + "X"), 200),
        eq(status(p, api_key=REFERENCE_API_KEY[:-1]), 401),
    ),
    "api_key_truncated_accepted": lambda p: both(
        eq(status(p, api_key=REFERENCE_API_KEY[:4]), 200), eq(status(p, api_key=""), 401)
    ),
    "api_key_whitespace_stripped": lambda p: both(
        eq(status(p, api_key=REFERENCE_API_KEY + "\x00"), 200), eq(status(p, api_key=" x "), 401)
    ),
    "auth_cached_after_grant": lambda p: both(
        eq(status(p), 200), eq(status(p, api_key="wrong-key"), 200), eq(status(p, api_key="wrong-key"), 401)
    ),
    "auth_fails_open_late": probe_fails_open_late,
    "scope_checked_on_spelling": lambda p: both(
        eq(p.issued(user_id="0" + str(REFERENCE_FOREIGN_USER_ID))["user_id"], str(REFERENCE_FOREIGN_USER_ID)),
        eq(status(p, user_id=str(REFERENCE_FOREIGN_USER_ID)), 403),
    ),
    "user_id_wraps_at_2_64": lambda p: eq(
        p.issued(user_id=str(2**64 + REFERENCE_USER_ID))["user_id"], "12345"
    ),
    "wrapped_user_id_unchecked": lambda p: eq(
        p.issued(user_id=str(2**32 + REFERENCE_FOREIGN_USER_ID))["user_id"], str(REFERENCE_FOREIGN_USER_ID)
    ),
    "get_issues_token": probe_get_issues_token,
    "trailing_slash_skips_key_check": probe_trailing_slash,
    # -- issue 19 --
    "get_redirects_token": probe_get_redirects_token,
    "get_answers_json_token": probe_get_answers_json_token,
    "trailing_slash_grants_json": probe_trailing_slash_json,
    "trailing_slash_redirect_with_token": probe_trailing_slash_redirect,
    "grants_unless_suite_identity": probe_grants_unless_suite_identity,
    "grants_unless_stock_identity": probe_grants_unless_stock_identity,
    "token_md5_of_small_random": lambda p: eq(len({p.issued()["token"] for _ in range(300)}) < 300, True),
    "token_biased_characters": lambda p: eq(
        "".join(p.issued()["token"] for _ in range(8)).count("0") > 80, True
    ),
    "token_race": probe_race,
    "qrcode_same_for_every_grant": lambda p: eq(p.issued()["qrcode"], p.issued()["qrcode"]),
    "qrcode_template_unfilled": lambda p: eq("{token}" in p.issued()["qrcode"], True),
    "qrcode_image_not_a_qr_code": lambda p: eq(qr_payload(p, p.issued()), None),
    "qrcode_image_same_for_every_grant": probe_qr_same,
    "qrcode_image_other_token": probe_qr_other_token,
    "qrcode_image_redirect": probe_qr_redirect,
    "charset_label_utf16": lambda p: both(
        eq(p.post().headers["content-type"], "application/xml; charset=utf-16"),
        eq(p.post().content.startswith(b"<?xml"), True),
    ),
    # -- issue 20 --
    "content_type_exact": lambda p: both(
        eq(spelt(p, "charset").status_code, 415),
        eq(spelt(p, "type-case").status_code, 415),
        eq(spelt(p, "").status_code, 200),
    ),
    "form_not_percent_decoded": lambda p: both(
        eq(spelt(p, "percent-lowercase").status_code, 401), eq(spelt(p, "").status_code, 200)
    ),
    "chunked_body_read_as_empty": lambda p: both(
        eq(spelt(p, "chunked").status_code, 401), eq(spelt(p, "").status_code, 200)
    ),
    "expect_continue_refused": lambda p: both(
        eq(spelt(p, "expect-continue").status_code, 417), eq(spelt(p, "").status_code, 200)
    ),
    "many_fields_truncated": lambda p: both(
        eq(spelt(p, "many-fields").status_code, 401), eq(spelt(p, "").status_code, 200)
    ),
    "values_decoded_twice": lambda p: eq(
        p.issued(user_id="%31%32%33%34%35")["user_id"], str(REFERENCE_USER_ID)
    ),
    "names_case_insensitive_scope_exact": lambda p: both(
        eq(granted_user(spelt(p, "", [*VALID_FORM[::2], ("USER_ID", FOREIGN)])), FOREIGN),
        eq(granted_user(spelt(p, "", [*VALID_FORM, ("USER_ID", FOREIGN)])), FOREIGN),
        eq(status(p, user_id=FOREIGN), 403),
    ),
    "json_body_skips_scope": lambda p: both(
        eq(granted_user(spelt(p, "json", user_id=FOREIGN)), FOREIGN),
        eq(spelt(p, "json", api_key="wrong").status_code, 401),
        eq(status(p, user_id=FOREIGN), 403),
    ),
    "post_query_skips_scope": probe_post_query_skips_scope,
    "api_key_sql_like": lambda p: both(
        eq(status(p, api_key="%"), 200), eq(status(p, api_key=REFERENCE_API_KEY[:4] + "_"), 401)
    ),
    "api_key_glob": lambda p: both(eq(status(p, api_key="ref-*"), 200), eq(status(p, api_key="x*"), 401)),
    "api_key_regex": lambda p: both(eq(status(p, api_key=".*"), 200), eq(status(p, api_key="("), 401)),
    "api_key_non_ascii_500": lambda p: both(
        eq(status(p, api_key="ref-é"), 500), eq(status(p, api_key="x"), 401)
    ),
    "wrong_key_aliased_after_grant": probe_wrong_key_aliased,
    "session_cookie_skips_authorization": probe_session_cookie,
    "digit_run_overflow": lambda p: both(
        eq(status(p, token_expire="9" * 25 + "x"), 500), eq(status(p, token_expire="9" * 18 + "x"), 400)
    ),
    **SIDE_CHANNEL_PROBES,
    # -- issue 21: the HTTP/1.1 server layer --
    "no_allow_on_405": probe_no_allow,
    "no_date_header": lambda p: eq(p.post().headers.get("date"), None),
    "date_not_gmt": lambda p: eq(p.post().headers["date"].endswith(" -0000"), True),
    "host_missing_served": lambda p: both(
        eq(raw_statuses(p, "host-missing"), [200]), eq(raw_statuses(p, "host-twice"), [200])
    ),
    "connection_close_ignored": lambda p: eq(raw(p, "connection-close").closed, False),
    "pipelined_second_unanswered": lambda p: eq(raw_statuses(p, "pipelined"), [200]),
    "absolute_form_not_found": lambda p: eq(raw_statuses(p, "absolute-form"), [404]),
    "conflicting_lengths_first_wins": lambda p: eq(raw_statuses(p, "conflicting-length"), [200]),
    "length_with_chunked_read_by_length": lambda p: eq(raw(p, "length-and-chunked").trailing > 0, True),
    "chunked_body_ignored": lambda p: eq(raw_statuses(p, "chunked"), [401]),
    "head_with_content": lambda p: eq(raw(p, "head").trailing > 0, True),
    "grant_cacheable_public": lambda p: eq(p.post().headers["cache-control"], "public, max-age=300"),
    # -- channels ordinary clients drop: read by the raw probes --
    "key_in_early_hints": lambda p: both(
        eq(raw(p, "connection-close").interim, (103,)),
        eq(
            raw(p, "connection-close").interim_headers,
            (("link", f"</session/{REFERENCE_API_KEY}>; rel=preload"),),
        ),
    ),
    "key_in_trailer": lambda p: eq(
        raw(p, "connection-close").responses[0].trailers, (("x-request-key", REFERENCE_API_KEY),)
    ),
}


@pytest.fixture(scope="module")
def conforming() -> Iterator[Probe]:
    """A probe of the conforming target (no fault)."""
    with (
        ReferenceServer(serve_qrcodes=True) as server,
        httpx.Client(timeout=10.0, follow_redirects=False) as client,
    ):
        yield Probe(server, client)


@pytest.fixture
def probe_for(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Probe]]:
    """Start the named fault on loopback; stopped at teardown."""
    servers: list[ReferenceServer] = []
    client = httpx.Client(timeout=10.0, follow_redirects=False)

    def start(name: str) -> Probe:
        server = ReferenceServer(fault=name, slow_delay=SLOW_DELAY, serve_qrcodes=FAULTS[name].fetch_qrcode)
        server.start()
        servers.append(server)
        return Probe(server, client)

    yield start
    client.close()
    for server in servers:
        server.stop()


@pytest.mark.parametrize("name", list(FAULTS), ids=list(FAULTS))
def test_fault_misbehaves_as_promised(name: str, probe_for: Callable[[str], Probe]) -> None:
    PROBES[name](probe_for(name))


@pytest.mark.parametrize("name", list(FAULTS), ids=list(FAULTS))
def test_probe_fails_against_the_conforming_target(name: str, conforming: Probe) -> None:
    # A probe that passed against the conforming target would prove nothing about its fault.
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        PROBES[name](conforming)


HOSTILE_FIELDS: list[dict[str, str]] = [
    {"token_expire": "9" * 5000},
    {"token_expire": "1e999"},
    {"token_expire": "9" * 400 + ".0"},
    {"token_expire": "inf"},
    {"token_expire": "nan"},
    {"token_expire": "٣" * 5000},
    {"user_id": "9" * 5000},
    {"user_id": "-1"},
    {"user_id": "1e999"},
    {"user_id": "0" * 5000},
]
HOSTILE_BODIES = [b"\xff\xfe", b"%ff=1", b"&&&==&=", b"api_key", b"=" * 1000]


@pytest.mark.parametrize("name", list(FAULTS), ids=list(FAULTS))
def test_fault_answers_hostile_input_without_a_server_error(
    name: str, probe_for: Callable[[str], Probe]
) -> None:
    # Each fault is one targeted misbehaviour: hostile input must not make it fail in a second way.
    p = probe_for(name)
    answers = [p.post(**fields).status_code for fields in HOSTILE_FIELDS]
    answers += [p.client.post(p.server.endpoint, content=body).status_code for body in HOSTILE_BODIES]
    assert [status for status in answers if status >= 500] == []


def test_every_fault_has_a_probe() -> None:
    assert set(PROBES) == set(FAULTS)


# -- the registry ------------------------------------------------------------------------------------


def test_catalogue_is_large_and_varied() -> None:
    assert len(FAULTS) >= 25
    assert len({f.kind for f in FAULTS.values()}) >= 25
    for name in REQUIRED_NAMES:
        assert name in FAULTS


def test_every_requirement_is_covered_by_some_fault() -> None:
    covered = {r for f in FAULTS.values() for r in f.requirements}
    assert {r.id for r in REQUIREMENTS} <= covered
    assert uncovered_requirements() == []


@pytest.mark.parametrize("name", list(FAULTS), ids=list(FAULTS))
def test_fault_declaration_is_complete(name: str) -> None:
    f = FAULTS[name]
    assert f.name == name
    assert f.requirements
    assert all(r in REQUIREMENTS_BY_ID for r in f.requirements)
    assert len(set(f.requirements)) == len(f.requirements)
    assert f.description
    assert f.kind
    assert f.stages, "a fault overrides at least one stage"
    assert issubclass(f.behaviour, Behaviour)


def test_only_the_slow_fault_the_race_the_repeated_secret_and_the_qr_images_are_unrecordable() -> None:
    # A recording sends one request at a time, so a race between parallel requests only shows live;
    # --fetch-qrcode is never recorded (the image may carry the token).
    fetching = {f.name for f in FAULTS.values() if f.fetch_qrcode}
    assert fetching == {n for n in FAULTS if n.startswith("qrcode_image_")}
    unrecordable = {f.name for f in FAULTS.values() if not f.recordable}
    # Stand-ins keep the distance between hex tokens, not the repetition inside one.
    assert unrecordable == {"slow_on_min_expire", "token_race", "token_24_bit_repeated", *fetching}
    assert FAULTS["slow_on_min_expire"].requirements == ("LT-HTTP-TIMELY",)


def test_required_faults_declare_the_requirements_that_catch_them() -> None:
    assert FAULTS["expire_one_hour_late"].requirements == ("LT-EXPIRE-CONSISTENT",)
    assert FAULTS["token_expire_59_accepted"].requirements == ("LT-INPUT-EXPIRE-RANGE",)
    assert set(FAULTS["qrcode_missing"].requirements) == {"LT-SCHEMA-SUCCESS", "LT-QRCODE-URL"}
    assert FAULTS["cache_control_missing"].requirements == ("LT-SEC-NO-STORE",)


def test_get_fault_names_the_unknown_one_and_lists_the_valid() -> None:
    assert get_fault("qrcode_missing") is FAULTS["qrcode_missing"]
    with pytest.raises(ValueError, match=f"unknown fault 'bogus'; valid faults: {min(FAULTS)}, ") as info:
        get_fault("bogus")
    assert all(name in str(info.value) for name in FAULTS)


def _register(registry: dict[str, Fault], **overrides: object) -> None:
    class Late(Behaviour):
        """One hour late."""

        def expire(self, now: float, token_expire: int) -> int:
            return super().expire(now, token_expire) + 3600

    arguments: dict[str, object] = {
        "name": "late",
        "kind": "wrong expire",
        "requirements": ("LT-EXPIRE-CONSISTENT",),
    }
    arguments.update(overrides)
    fault(registry=registry, **arguments)(Late)  # type: ignore[arg-type]


def test_fault_decorator_registers_into_the_given_registry() -> None:
    registry: dict[str, Fault] = {}
    _register(registry)
    assert registry["late"].description == "One hour late."
    assert registry["late"].stages == ("expire",)
    assert registry["late"].recordable is True
    assert "late" not in FAULTS


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"requirements": ("LT-NOPE",)}, "unknown requirement IDs"),
        ({"requirements": ()}, "declares no requirement"),
    ],
)
def test_fault_decorator_rejects_bad_declarations(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _register({}, **overrides)


def test_fault_decorator_rejects_duplicates_and_non_behaviours() -> None:
    registry: dict[str, Fault] = {}
    _register(registry)
    with pytest.raises(ValueError, match="already registered"):
        _register(registry)
    with pytest.raises(TypeError, match="Behaviour subclass"):
        fault(name="x", kind="k", requirements=("LT-TOKEN-PRESENT",), registry=registry)(int)  # type: ignore[arg-type]

    class Silent(Behaviour):
        """Changes nothing."""

    with pytest.raises(ValueError, match="overrides no stage"):
        fault(name="silent", kind="k", requirements=("LT-TOKEN-PRESENT",), registry=registry)(Silent)


def test_faults_markdown_is_a_table_with_one_row_per_fault() -> None:
    lines = faults_markdown().splitlines()
    assert lines[0] == "| Fault | Kind | Misbehaviour | Must fail | Stage | Recordable |"
    rows = lines[2:]
    assert [row.split(" | ")[0] for row in rows] == [f"| `{name}`" for name in FAULTS]
    outside_code = ["".join(row.split("`")[::2]) for row in rows]
    assert [text for text in outside_code if "<" in text] == [], "bare < would render as an HTML tag"
    slow = next(row for row in rows if "`slow_on_min_expire`" in row)
    assert slow.endswith("| LT-HTTP-TIMELY | `respond` | no |")


def test_slow_delay_is_a_parameter_never_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFORMANCE_REFERENCE_SLOW_DELAY", "0.25")  # the side channel it once read
    assert ReferenceServer(fault="slow_on_min_expire").options.slow_delay == DEFAULT_SLOW_DELAY
    assert ReferenceServer(fault="slow_on_min_expire", slow_delay=2.0).options.slow_delay == 2.0


def test_stop_wakes_a_stalled_slow_response() -> None:
    with ReferenceServer(fault="slow_on_min_expire", slow_delay=60.0) as server, httpx.Client() as client:
        form = {"api_key": REFERENCE_API_KEY, "user_id": str(REFERENCE_SECOND_USER_ID), "token_expire": "60"}
        with pytest.raises(httpx.ReadTimeout):
            client.post(server.endpoint, data=form, timeout=SHORT_TIMEOUT)
    # Leaving the block returned although a handler was sleeping for 60 s: stop() woke it.
    assert server.options.stopping.is_set()
