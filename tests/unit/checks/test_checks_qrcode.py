"""qrcode_image (LT-QRCODE-IMAGE) on hand-made grants with an injected fetcher; the http exception; no
secret in a <qrcode> on a third-party host (LT-SEC-QRCODE-THIRD-PARTY)."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import pytest
import yaml

from conformance.checks import CheckContext, Subject, run_checks
from conformance.checks.qrcode import own_host
from conformance.core.profile import Profile
from conformance.exchange.qrfetch import QrImage
from tests.support.exchanges import API_KEY, exchange_from

CASES = Path(__file__).parent / "cases"
TOKEN = "token-of-the-grant"


def grant(*, sequence: int, token: str = TOKEN, qrcode: str = "https://qr.example/a.png") -> Subject:
    """The conforming grant of the case files with this token and <qrcode>."""
    data = yaml.safe_load((CASES / "grant_conforming.yaml").read_text(encoding="utf-8"))
    exchange = exchange_from(data, sequence=sequence)
    body = exchange.body.decode("utf-8")
    start, end = body.index("<token>") + 7, body.index("</token>")
    body = body[:start] + token + body[end:]
    start, end = body.index("<qrcode>") + 8, body.index("</qrcode>")
    body = body[:start] + qrcode + body[end:]
    return Subject(dataclasses.replace(exchange, body=body.encode("utf-8")))


def fetcher(images: dict[str, QrImage]) -> tuple[list[str], CheckContext]:
    """A context whose fetcher answers from ``images`` and lists the URLs asked for."""
    asked: list[str] = []

    def fetch(url: str) -> QrImage:
        asked.append(url)
        return images[url]

    return asked, CheckContext(profile=Profile(), api_key=API_KEY, qrcode_fetcher=fetch)


def outcome(subject: Subject, ctx: CheckContext) -> tuple[bool | None, str]:
    """(passed, failure text) of qrcode_image; passed None when it did not judge. The run state then learns
    the exchange, as the engine has it do after the checks."""
    (result,) = [r for r in run_checks(subject, ctx) if r.check == "qrcode_image"]
    ctx.state.observe(subject)
    if result.failure is not None:
        return False, f"{result.failure.title}: {result.failure.received}"
    return (True if result.passed else None), ""


def test_a_decodable_qr_code_of_its_own_passes_and_is_fetched_once() -> None:
    url = "https://qr.example/a.png"
    asked, ctx = fetcher({url: QrImage(url, payload="https://login.example/qr?n=1")})
    assert outcome(grant(sequence=1), ctx) == (True, "")
    assert asked == [url]


def test_without_a_fetcher_the_check_does_not_judge() -> None:
    ctx = CheckContext(profile=Profile(), api_key=API_KEY)
    assert outcome(grant(sequence=1), ctx) == (None, "")


def test_an_image_without_a_qr_code_fails_with_the_reason() -> None:
    url = "https://qr.example/a.png"
    _, ctx = fetcher({url: QrImage(url, problem="a 64x64 PNG image without a readable QR code")})
    passed, text = outcome(grant(sequence=1), ctx)
    assert passed is False
    assert text == "<qrcode> image is not a readable QR code: a 64x64 PNG image without a readable QR code"


def test_the_same_payload_behind_two_urls_fails_without_showing_it() -> None:
    payload = f"https://login.example/qr?token={TOKEN}"
    images = {
        u: QrImage(u, payload=payload) for u in ("https://qr.example/a.png", "https://qr.example/b.png")
    }
    _, ctx = fetcher(images)
    assert outcome(grant(sequence=1, qrcode="https://qr.example/a.png"), ctx)[0] is True
    passed, text = outcome(grant(sequence=2, qrcode="https://qr.example/b.png"), ctx)
    assert passed is False
    assert text == (
        f"the same QR code for two grants: the QR code of request #1 again ({len(payload)}-character payload)"
    )
    assert TOKEN not in text


def test_the_token_is_required_only_where_the_profile_says_so() -> None:
    url = "https://qr.example/a.png"
    image = QrImage(url, payload="https://login.example/qr?token=another-token")
    _, ctx = fetcher({url: image})
    assert outcome(grant(sequence=1), ctx) == (True, "")
    _, ctx = fetcher({url: image})
    ctx.profile = Profile(qrcode_carries_token=True)
    passed, text = outcome(grant(sequence=1), ctx)
    assert passed is False
    assert text.startswith("the QR code does not carry the grant's token: a 44-character payload")
    _, ctx = fetcher({url: QrImage(url, payload=f"https://login.example/qr?token={TOKEN}")})
    ctx.profile = Profile(qrcode_carries_token=True)
    assert outcome(grant(sequence=1), ctx) == (True, "")


def test_a_url_that_is_not_absolute_is_left_to_qrcode_url() -> None:
    asked, ctx = fetcher({})
    assert outcome(grant(sequence=1, qrcode="/qr/a.png"), ctx) == (None, "")
    assert asked == []


def url_failed(subject: Subject, ctx: CheckContext) -> bool:
    """Whether LT-QRCODE-URL failed on ``subject``."""
    return "LT-QRCODE-URL" in {r.requirement for r in run_checks(subject, ctx) if r.failure}


def test_plain_http_qrcode_is_accepted_only_from_the_hosts_the_run_names() -> None:
    loopback = "http://127.0.0.1:8080/qr/a.png"
    assert url_failed(grant(sequence=1, qrcode=loopback), CheckContext(Profile(), API_KEY))
    ctx = CheckContext(profile=Profile(), api_key=API_KEY, qrcode_http_hosts=frozenset({"127.0.0.1"}))
    assert not url_failed(grant(sequence=1, qrcode=loopback), ctx)
    assert url_failed(grant(sequence=1, qrcode="http://qr.example/a.png"), ctx)


# -- LT-SEC-QRCODE-THIRD-PARTY ----------------------------------------------------------------------

TOKEN_HEX = "9f86d081884c7d659a2feaa0c55ad015"
TOKEN_BYTES = TOKEN_HEX.encode()
CHART = "https://charts.example.net/qr"


def third_party_failures(qrcode: str, *, profile: Profile | None = None) -> list[str]:
    """The third-party check's received values for a grant of TOKEN_HEX with this <qrcode>."""
    subject = grant(sequence=1, token=TOKEN_HEX, qrcode=qrcode.replace("&", "&amp;"))
    ctx = CheckContext(profile=profile or Profile(), api_key=API_KEY)
    results = [r for r in run_checks(subject, ctx) if r.check == "qrcode_no_secret_to_third_party"]
    assert len(results) == 1 and results[0].requirement == "LT-SEC-QRCODE-THIRD-PARTY"
    return [results[0].failure.received] if results[0].failure else []


@pytest.mark.parametrize(
    ("qrcode", "carried"),
    [
        (f"https://charts.example.net/chart?chl={TOKEN_HEX}", "the token"),
        (f"https://charts.example.net/chart?chl=https%3A%2F%2Fx%2F%3Ft%3D{TOKEN_HEX}", "the token"),
        (f"https://charts.example.net/{TOKEN_HEX.upper()}.png", "the token"),
        (f"https://charts.example.net/qr#{base64.b64encode(TOKEN_HEX.encode()).decode()}", "the token"),
        (f"{CHART}?t={base64.urlsafe_b64encode(TOKEN_BYTES).decode().rstrip('=')}", "the token"),
        (f"{CHART}/{base64.b32encode(TOKEN_BYTES).decode().lower()}", "the token"),
        (f"{CHART}?t={base64.b64encode(TOKEN_HEX.encode('utf-16-le')).decode()}", "the token"),
        (f"{CHART}?t={TOKEN_BYTES.hex()}", "the token"),
        (f"{CHART}?t={'-'.join(TOKEN_HEX[i : i + 4] for i in range(0, 32, 4))}", "the token"),
        (f"{CHART}?t={TOKEN_HEX[::-1]}", "the token"),
        (f"https://charts.example.net/qr?k={API_KEY}", "the api_key"),
        ("https://charts.example.net/qr/12345.png", "the user id (in its path)"),
        ("https://charts.example.net/qr/user12345.png", "the user id (in its path)"),
        ("https://charts.example.net/qr?u=%31%32%33%34%35", "the user id (in its query)"),
        (f"https://charts.example.net/qr#{base64.urlsafe_b64encode(b'user=12345').decode()}", "fragment"),
    ],
    ids=[
        "query",
        "percent-encoded",
        "path upper-case",
        "base64 fragment",
        "base64url unpadded",
        "base32",
        "base64 of UTF-16",
        "hex of its bytes",
        "grouped",
        "reversed",
        "key",
        "user path",
        "user word",
        "user pct",
        "b64",
    ],
)
def test_a_third_party_qrcode_carrying_a_secret_fails(qrcode: str, carried: str) -> None:
    (received,) = third_party_failures(qrcode)
    assert received.startswith("a URL on charts.example.net carrying ")
    assert carried in received
    assert TOKEN_HEX not in received and API_KEY not in received


@pytest.mark.parametrize(
    "qrcode",
    [
        "https://charts.example.net/qr/7dc8942cff1c2aa3.png",  # a third party, but no secret
        "https://charts.example.net/qr/123456.png",  # another number, not the user id
        "https://charts.example.net/qr/7dc12345cff1c2aa3.png",  # the digits inside a random hex name
        f"https://127.0.0.1/qr/{TOKEN_HEX}.png",  # the target's own host
    ],
)
def test_a_qrcode_without_a_secret_or_on_the_own_host_passes(qrcode: str) -> None:
    assert third_party_failures(qrcode) == []


def test_the_profile_names_the_vendors_own_qr_hosts() -> None:
    qrcode = f"https://qr.vendor-cdn.example/{TOKEN_HEX}.png"
    assert third_party_failures(qrcode)
    assert third_party_failures(qrcode, profile=Profile(qrcode_hosts=("*.vendor-cdn.example",))) == []


@pytest.mark.parametrize(
    ("host", "target", "own"),
    [
        ("qr.example.com", "api-app.example.com", True),
        ("example.com", "api-app.example.com", True),
        ("qr.example.com", "example.com", True),
        ("example.com.evil.net", "api.example.com", False),
        ("notexample.com", "api.example.com", False),
        ("127.0.0.2", "127.0.0.1", False),
        ("QR.Example.COM.", "api.example.com", True),
    ],
)
def test_own_host(host: str, target: str, own: bool) -> None:
    assert own_host(host, target) is own
