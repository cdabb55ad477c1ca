"""--fetch-qrcode: a grant's QR code image fetched behind the transport's rails and decoded.

The fetch is a plain GET without the api key, cookies or a proxy, never following a redirect (so never into
another scheme), under the run's per-request deadline (connect to last byte) and body cap. The host is
resolved once and checked (conformance.exchange.addresses: never the runner's own networks unless the target
is on that kind of network itself), and the connection goes to exactly the address checked. A URL refused is a
finding against LT-QRCODE-IMAGE like an image that is not one: a target pointing the runner at its own
loopback, private network or a cloud-metadata address is faulty or hostile.

The image is decoded with Pillow and zxing-cpp behind a pixel bound checked from the header before a pixel
is decoded (a decompression bomb never inflates). Whatever the target serves, the result is a QrImage: a
payload, or why there is none.
The payload may carry the token: it is a secret, compared and never shown or stored.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import warnings
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

from conformance.core._limits import BodyTooLarge, CappedBody, Deadline, RateLimiter, UnsupportedEncoding
from conformance.exchange._network import within
from conformance.exchange.addresses import (
    Resolver,
    address_class,
    addresses_of,
    allowed_classes,
    destination,
    resolve_all,
)
from conformance.exchange.transport import (
    DEFAULT_REMOTE_RATE,
    DEFAULT_SETTINGS,
    NetworkTransport,
    TransportSettings,
)
from conformance.redaction.run_secrets import RunSecrets, secrets_of

# A QR code of any version fits in a few hundred pixels a side; 4096 x 4096 is far beyond any real one
# and far below Pillow's own bomb limit (~89 Mpx), so its DecompressionBombWarning never fires first.
MAX_IMAGE_PIXELS = 4096 * 4096
IMAGE_FORMATS = ("PNG", "GIF", "JPEG", "WEBP")
SCHEMES = ("http", "https")
DETAIL_MAX_CHARS = 200
# After this many image fetches ran out of time, the rest are not tried: a stalling image host costs a
# few timeouts, not one per grant (the failures already make LT-QRCODE-IMAGE fail).
MAX_TIMEOUTS = 3
REQUEST_HEADERS = {"Accept": "image/png, image/*;q=0.8", "Accept-Encoding": "gzip, deflate"}


@dataclass(frozen=True)
class QrImage:
    """What one <qrcode> URL led to: the decoded payload, or why there is none (``problem``)."""

    url: str
    payload: str | None = None  # a secret: may carry the token; never printed
    problem: str | None = None
    status: int | None = None


def decode_qr(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> tuple[str | None, str | None]:
    """(payload, None) for an image holding a QR code, else (None, why): never raises for what it is fed."""
    import zxingcpp  # heavy: loaded when the first image is decoded
    from PIL import Image

    try:
        with warnings.catch_warnings():  # over Pillow's own limit: refused below, by our tighter bound
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)  # reads the header only
    except Image.DecompressionBombError:
        return None, f"an image over the {max_pixels}-pixel bound (a decompression bomb's size)"
    # Pillow's header parsers raise many types on hostile input (struct.error, IndexError, zlib.error...).
    except Exception:
        return None, f"not an image ({', '.join(IMAGE_FORMATS)}): {len(data)} bytes"
    width, height = image.size
    if width * height > max_pixels:
        return None, f"an image of {width}x{height} pixels, over the {max_pixels}-pixel bound"
    try:
        grey = image.convert("L")
        found = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    # Pillow's decoders raise many types on hostile input (zlib.error, EOFError, struct.error, ...); a
    # hostile image is a finding, never a crash.
    except Exception as exc:
        return None, f"an undecodable {image.format} image ({type(exc).__name__})"
    payloads = [barcode.text for barcode in found if barcode.valid]
    if not payloads:
        return None, f"a {width}x{height} {image.format} image without a readable QR code"
    return payloads[0], None


class QrFetcher:
    """Fetches and decodes <qrcode> images for a run (``api_key`` only to make sure it is never sent).

    ``target``: the run's target URL; images on its own kind of network (loopback for a loopback target,
    private for a private one) are fetched, every other non-public address is refused (see
    conformance.exchange.addresses). ``resolve``: the name lookup (a seam for tests; the system resolver).
    ``secrets``: the run's (None: the fetcher's own, for ``api_key``).
    """

    def __init__(
        self,
        *,
        api_key: str,
        settings: TransportSettings = DEFAULT_SETTINGS,
        max_pixels: int = MAX_IMAGE_PIXELS,
        target: str | None = None,
        resolve: Resolver = resolve_all,
        secrets: RunSecrets | None = None,
    ) -> None:
        self.settings = settings
        self.max_pixels = max_pixels
        self.fetched = 0
        self.timeouts = 0
        self._book = secrets_of(api_key, secrets).key_book()
        self._resolve = resolve
        own = addresses_of(urlsplit(target).hostname or "", resolve=resolve) if target else []
        self._allowed = allowed_classes(own)
        self._pins: dict[str, str] = {}  # host -> the address checked for the fetch in progress
        # Like the transport: --rate, else unthrottled on loopback and DEFAULT_REMOTE_RATE elsewhere.
        self._limiter = RateLimiter(settings.rate)
        self._remote = RateLimiter(settings.rate or DEFAULT_REMOTE_RATE)
        # The CA trusted for the target is trusted for its images too; connections go to the pinned address.
        self._client = httpx.Client(
            transport=NetworkTransport(settings=settings, connect_to=self._pinned),
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=False,
            trust_env=False,
        )

    def __call__(self, url: str) -> QrImage:
        """The decoded image behind ``url``, or why there is none."""
        try:
            host = httpx.URL(url).raw_host.decode("ascii")
        except (httpx.InvalidURL, ValueError, TypeError):
            return QrImage(url, problem="not a URL that can be fetched")
        refused = self._refusal(url)
        if refused:
            return QrImage(url, problem=refused)
        if self.timeouts >= MAX_TIMEOUTS:
            return QrImage(url, problem=f"not fetched: {self.timeouts} image fetches already timed out")
        where = destination(host, resolve=self._resolve, allowed=self._allowed)
        if where.address is None:
            return QrImage(url, problem=where.refused)
        local = address_class(ipaddress.ip_address(where.address)) == "loopback"
        if url[:5].lower() == "http:" and not self.settings.allow_http and not local:
            return QrImage(url, problem="not fetched: plain http to a non-loopback host (pass --allow-http)")
        (self._limiter if self.settings.rate is not None or local else self._remote).wait()
        self.fetched += 1
        deadline = Deadline(self.settings.timeout)
        self._pins = {host: where.address}
        try:
            with within(deadline):  # connect to last byte, the image body included
                status, data, problem = self._get(url, deadline)
        except (httpx.HTTPError, OSError) as exc:
            late = deadline.expired or isinstance(exc, httpx.TimeoutException)
            self.timeouts += late
            why = f"no complete response within {self.settings.timeout:g} s" if late else type(exc).__name__
            return QrImage(url, problem=f"the image could not be fetched: {why}")
        finally:
            self._pins = {}
            self._client.cookies.clear()  # nothing an image host set travels with the next fetch
        if problem:
            return QrImage(url, problem=problem, status=status)
        payload, problem = decode_qr(data, max_pixels=self.max_pixels)
        return QrImage(url, payload=payload, problem=problem, status=status)

    def _pinned(self, host: str) -> str:
        """The address checked for ``host`` in this fetch; nothing else is ever connected to."""
        address = self._pins.get(host)
        if address is None:
            raise httpcore.ConnectError(f"no checked address for {host!r}")
        return address

    def _refusal(self, url: str) -> str | None:
        try:
            parts = urlsplit(url)
        except ValueError:
            return "not a URL that can be fetched"
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES or not parts.hostname:
            return f"not fetched: only absolute {' or '.join(SCHEMES)} URLs are (scheme {scheme!r})"
        if self._book.scrub(url) != url:
            return "not fetched: the URL carries the api key"
        return None

    def _get(self, url: str, deadline: Deadline) -> tuple[int | None, bytes, str | None]:
        with self._client.stream("GET", url, headers=REQUEST_HEADERS) as response:
            status = response.status_code
            if status != 200:
                where = response.headers.get("location", "")
                moved = f" to another location ({len(where)}-character Location)" if where else ""
                return status, b"", f"HTTP {status}{moved} instead of the image (redirects are not followed)"
            try:
                body = CappedBody(
                    response.headers.get("content-encoding", ""), max_bytes=self.settings.max_body_bytes
                )
                for chunk in response.iter_raw():
                    body.feed(chunk)
                    deadline.check()
                    if deadline.expired:
                        self.timeouts += 1
                        return status, b"", f"no complete image within {self.settings.timeout:g} s"
                return status, body.finish(), None
            except (UnsupportedEncoding, BodyTooLarge) as exc:
                return status, b"", f"the image was not read: {str(exc)[:DETAIL_MAX_CHARS]}"
            except zlib.error:
                return status, b"", "the image was not read: an undecodable compressed body"

    def close(self) -> None:
        """Close the connection pool."""
        with contextlib.suppress(Exception):
            self._client.close()
