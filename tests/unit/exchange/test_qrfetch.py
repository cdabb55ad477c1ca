"""--fetch-qrcode's fetcher and decoder: real images, a real loopback server, hostile answers bounded."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
import segno

from conformance.exchange.qrfetch import MAX_IMAGE_PIXELS, MAX_TIMEOUTS, QrFetcher, decode_qr
from conformance.exchange.transport import TransportSettings
from conformance.reference.qrcode_faults import blank_png

API_KEY = "CANARY-KEY-qrfetch-0123456789"
COOKIE = "session=tracked; Path=/"
PAYLOAD = "https://login.example/qr?token=0123456789abcdef0123456789abcdef"
SMALL_RAILS = TransportSettings(timeout=0.5, max_body_bytes=100_000)
LOOPBACK_TARGET = "http://127.0.0.1:9"  # the image server shares the target's loopback


def qr_png(payload: str = PAYLOAD, *, scale: int = 4) -> bytes:
    """A PNG of a full-size QR code."""
    out = io.BytesIO()
    segno.make_qr(payload, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels and whose data is a few bytes (a bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))


# -- decode_qr -----------------------------------------------------------------------------------------


def test_a_qr_code_decodes_to_its_payload() -> None:
    assert decode_qr(qr_png()) == (PAYLOAD, None)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (blank_png(), "a 64x64 PNG image without a readable QR code"),
        (b"<html>not found</html>", "not an image"),
        (b"", "not an image"),
        (qr_png()[:60], "undecodable PNG image"),
    ],
    ids=["blank", "html", "empty", "truncated"],
)
def test_what_is_no_qr_code_says_why(data: bytes, problem: str) -> None:
    payload, why = decode_qr(data)
    assert payload is None
    assert why is not None and problem in why


@pytest.mark.parametrize("side", [5_000, 10_000, 12_000, 100_000])  # ours; Pillow's warning (x2); its error
def test_huge_dimensions_are_refused_from_the_header_before_decoding(side: int) -> None:
    started = time.monotonic()
    payload, why = decode_qr(png_header_only(side, side))
    assert payload is None
    assert why is not None and f"over the {MAX_IMAGE_PIXELS}-pixel bound" in why
    assert time.monotonic() - started < 5  # 10^10 pixels would take minutes and 10 GB to inflate


def test_the_pixel_bound_is_a_parameter() -> None:
    assert decode_qr(qr_png(), max_pixels=100)[1] is not None
    assert decode_qr(qr_png(), max_pixels=10**6)[0] == PAYLOAD


# -- QrFetcher against a loopback server ---------------------------------------------------------------


class _Images(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}
    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self.seen.append((self.path, dict(self.headers.items())))
        status, headers, body = self.routes.get(self.path, (404, {}, b"no"))
        if self.path == "/slow":
            time.sleep(1.0)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that gave up on /slow is the point of that test


@pytest.fixture(scope="module")
def images() -> Iterator[str]:
    """A loopback server of images; yields its base URL."""
    big = b"\x89PNG" + b"\x00" * 300_000
    bomb = zlib.compress(b"\x00" * 50_000_000)
    _Images.routes = {
        "/qr.png": (200, {"Content-Type": "image/png"}, qr_png()),
        "/blank.png": (200, {"Content-Type": "image/png"}, blank_png()),
        "/moved.png": (302, {"Location": "https://elsewhere.invalid/qr.png"}, b""),
        "/big.png": (200, {"Content-Type": "image/png"}, big),
        "/bomb.png": (200, {"Content-Type": "image/png", "Content-Encoding": "deflate"}, bomb),
        "/slow": (200, {"Content-Type": "image/png"}, qr_png()),
        "/cookie.png": (
            200,
            {"Content-Type": "image/png", "Set-Cookie": "session=tracked; Path=/"},
            qr_png(),
        ),
    }
    server = _QuietServer(("127.0.0.1", 0), _Images)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def fetcher() -> Iterator[QrFetcher]:
    """A fetcher with small rails: 0.5 s, 100 kB."""
    fetch = QrFetcher(api_key=API_KEY, settings=SMALL_RAILS, target=LOOPBACK_TARGET)
    yield fetch
    fetch.close()


def test_an_image_is_fetched_without_the_key_and_decoded(images: str, fetcher: QrFetcher) -> None:
    _Images.seen.clear()
    image = fetcher(f"{images}/qr.png")
    assert (image.payload, image.problem, image.status) == (PAYLOAD, None, 200)
    ((path, headers),) = _Images.seen
    assert path == "/qr.png"
    assert API_KEY not in repr(headers) and "cookie" not in {k.lower() for k in headers}


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/blank.png", "without a readable QR code"),
        ("/moved.png", "HTTP 302 to another location"),
        ("/missing.png", "HTTP 404"),
        ("/big.png", "100000-byte cap"),
        ("/bomb.png", "100000-byte cap"),
        ("/slow", "no complete response within 0.5 s"),
    ],
)
def test_hostile_answers_are_problems_within_the_rails(
    images: str, fetcher: QrFetcher, path: str, problem: str
) -> None:
    started = time.monotonic()
    image = fetcher(images + path)
    assert image.payload is None
    assert image.problem is not None and problem in image.problem
    assert time.monotonic() - started < 3


def test_a_cookie_an_image_host_sets_is_never_sent_back(images: str, fetcher: QrFetcher) -> None:
    _Images.seen.clear()
    assert fetcher(f"{images}/cookie.png").payload == PAYLOAD
    assert fetcher(f"{images}/qr.png").payload == PAYLOAD
    assert [{k.lower() for k in headers} & {"cookie"} for _, headers in _Images.seen] == [set(), set()]


def test_a_redirect_is_never_followed(images: str, fetcher: QrFetcher) -> None:
    _Images.seen.clear()
    fetcher(f"{images}/moved.png")
    assert [path for path, _ in _Images.seen] == ["/moved.png"]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("file:///etc/passwd", "only absolute http or https URLs"),
        ("ftp://127.0.0.1/qr.png", "only absolute http or https URLs"),
        ("/qr/relative.png", "only absolute http or https URLs"),
        ("http://8.8.8.8/qr.png", "plain http to a non-loopback host"),
        (f"http://127.0.0.1:9/qr.png?key={API_KEY}", "the URL carries the api key"),
    ],
)
def test_urls_that_must_not_be_fetched_are_not(fetcher: QrFetcher, url: str, problem: str) -> None:
    image = fetcher(url)
    assert image.problem is not None and problem in image.problem
    assert fetcher.fetched == 0


def test_after_a_few_timeouts_the_other_images_are_not_tried(images: str, fetcher: QrFetcher) -> None:
    for _ in range(MAX_TIMEOUTS):
        assert "no complete response within 0.5 s" in (fetcher(f"{images}/slow").problem or "")
    started = time.monotonic()
    image = fetcher(f"{images}/qr.png")
    assert time.monotonic() - started < 0.2
    assert image.problem == f"not fetched: {MAX_TIMEOUTS} image fetches already timed out"
    assert fetcher.fetched == MAX_TIMEOUTS


# -- never the runner's own networks (issue 23): resolved once, checked, pinned ---------------------------

REMOTE_TARGET = "https://staging.example.com"
PUBLIC = "93.184.215.14"


class Resolver:
    """The test's DNS (no real lookup): names to addresses, each lookup counted."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.lookups: list[str] = []

    def __call__(self, name: str) -> list[str]:
        self.lookups.append(name)
        return list(self.names.get(name, []))


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("2130706433", "loopback"),
        ("0x7f.1", "loopback"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("[::1]", "loopback"),
        ("localhost", "loopback"),
        ("admin.attacker.test", "loopback"),  # a name that resolves to the runner's loopback
        ("169.254.169.254", "cloud-metadata"),
        ("[fd00:ec2::254]", "cloud-metadata"),
        ("10.0.0.1", "private"),
    ],
)
@pytest.mark.parametrize("allow_http", [False, True])
def test_a_remote_targets_qr_url_into_the_runners_networks_is_a_finding_never_fetched(
    images: str, host: str, kind: str, allow_http: bool
) -> None:
    """The reported case: a remote https target's <qrcode> at http://127.0.0.1:…/internal/admin."""
    port = images.rsplit(":", 1)[1]
    resolve = Resolver({"staging.example.com": [PUBLIC], "admin.attacker.test": ["127.0.0.1"],
                        "localhost": ["127.0.0.1"]})  # fmt: skip
    settings = TransportSettings(timeout=0.5, allow_http=allow_http)
    fetcher = QrFetcher(api_key=API_KEY, settings=settings, target=REMOTE_TARGET, resolve=resolve)
    _Images.seen.clear()
    image = fetcher(f"http://{host}:{port}/internal/admin")
    fetcher.close()
    assert image.payload is None and image.status is None
    assert image.problem is not None and f"({kind}), an address of the runner's own networks" in image.problem
    assert fetcher.fetched == 0 and _Images.seen == []


def test_the_address_checked_is_the_one_connected_to(images: str) -> None:
    """A name is looked up once per fetch and the connection goes to that address: no rebinding after the
    check (``images.test`` resolves nowhere but in the seam, so the image came from the pinned address)."""
    port = images.rsplit(":", 1)[1]
    answers = iter([["127.0.0.1"], ["10.0.0.1"], ["10.0.0.1"]])
    lookups: list[str] = []

    def rebinding(name: str) -> list[str]:
        lookups.append(name)
        return next(answers)

    fetcher = QrFetcher(api_key=API_KEY, settings=SMALL_RAILS, target=LOOPBACK_TARGET, resolve=rebinding)
    first = fetcher(f"http://images.test:{port}/qr.png")
    second = fetcher(f"http://images.test:{port}/qr.png")
    fetcher.close()
    assert (first.payload, first.problem) == (PAYLOAD, None)
    assert lookups == ["images.test", "images.test"]  # once per fetch, never between check and connect
    assert second.problem is not None and "10.0.0.1 (private)" in second.problem


def test_a_loopback_target_may_serve_its_images_from_loopback_but_not_from_metadata(images: str) -> None:
    fetcher = QrFetcher(api_key=API_KEY, settings=SMALL_RAILS, target=LOOPBACK_TARGET)
    own = fetcher(f"{images}/qr.png")
    metadata = fetcher("http://169.254.169.254/latest/meta-data/")
    fetcher.close()
    assert own.payload == PAYLOAD
    assert metadata.problem is not None and "(cloud-metadata)" in metadata.problem
