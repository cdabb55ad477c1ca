"""The image behind a grant's <qrcode> decodes, is a QR code of its own, carries the token (live runs).

A live run judges the images of a spread of grants (the first SAMPLE_FIRST, then every SAMPLE_EVERY-th:
about 40 images in a default run's ~780 grants), which keeps a default loopback run near its time without
images; --fetch-qrcode judges every grant's. The decoded payload may contain the token, so a failure shows
only its length and where it was seen first.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject
from conformance.model import CheckFailure

REQUIREMENT = "LT-QRCODE-IMAGE"
SAMPLE_FIRST = 16
SAMPLE_EVERY = 32


def sampled(grant: int) -> bool:
    """Whether the image of the run's ``grant``-th grant (from 0) is judged without --fetch-qrcode."""
    return grant < SAMPLE_FIRST or grant % SAMPLE_EVERY == 0


@check(serves=(REQUIREMENT,))
def qrcode_image(subject: Subject, ctx: CheckContext) -> str | None:
    """Live: a grant's <qrcode> image decodes as a QR code of its own (with the token if the profile says)."""
    fetch = ctx.qrcode_fetcher
    token = subject.token
    if fetch is None or not (subject.issued and token):
        return None
    if not ctx.qrcode_every_grant and not sampled(len(ctx.tokens.ordered)):
        return None
    url = (subject.document.field("qrcode") or "").strip()
    try:
        absolute = bool(urlsplit(url).hostname)
    except ValueError:
        absolute = False
    if not absolute:
        return None  # qrcode_url reports a <qrcode> that is no absolute URL; there is nothing to fetch
    image = fetch(url)
    if image.payload is None:
        raise CheckFailure(
            REQUIREMENT,
            "<qrcode> image is not a readable QR code",
            "a PNG, GIF, JPEG or WebP image holding a QR code, answered 200 without a redirect",
            image.problem or "no QR code",
        )
    digest = hashlib.sha256(image.payload.encode("utf-8", "surrogatepass")).hexdigest()
    subject.qr_payload_digest = digest  # the run state learns it once every check has judged
    first = ctx.state.qr_payloads.get(digest)  # the grants before this one
    if first is not None and first != subject.exchange.sequence:
        raise CheckFailure(
            REQUIREMENT,
            "the same QR code for two grants",
            "a QR code of its own for every grant",
            f"the QR code of request #{first} again ({len(image.payload)}-character payload)",
        )
    if ctx.profile.qrcode_carries_token and token not in image.payload:
        raise CheckFailure(
            REQUIREMENT,
            "the QR code does not carry the grant's token",
            "a QR payload containing this grant's <token> (profile qrcode_carries_token)",
            f"a {len(image.payload)}-character payload without it",
        )
    return REQUIREMENT
