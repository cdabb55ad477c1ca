"""Built-in faults in the QR code image behind `<qrcode>`: only --fetch-qrcode sees them.

Every URL is well formed and distinct, so LT-QRCODE-URL and LT-QRCODE-DISTINCT pass: what is wrong is
the image. They run live only (an image fetch is never recorded).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from urllib.parse import urlsplit

from conformance.reference.behaviour import LOGIN_URL, PNG_TYPE, Behaviour, Grant, Reply, date_header
from conformance.reference.faults import BehaviourT, fault

# A fault overrides a stage with the stage's full signature, used or not.
# ruff: noqa: ARG002

BLANK_SIDE = 64  # pixels of the blank image
REDIRECTED_SUFFIX = "/image"


def image_fault(name: str, *, profile: str = "") -> Callable[[BehaviourT], BehaviourT]:
    """Register a fault of the QR image: fails LT-QRCODE-IMAGE, runs with --fetch-qrcode, never recorded."""
    return fault(
        name=name,
        kind="qrcode image",
        requirements=("LT-QRCODE-IMAGE",),
        recordable=False,
        fetch_qrcode=True,
        profile=profile,
    )


def blank_png(side: int = BLANK_SIDE) -> bytes:
    """A valid white greyscale PNG of side x side pixels: an image, but no QR code."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff" * side for _ in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@image_fault("qrcode_image_not_a_qr_code")
class QrcodeImageNotAQrCode(Behaviour):
    """The `<qrcode>` URL serves a valid PNG that holds no QR code (a blank placeholder)."""

    def qrcode_image(self, payload: str) -> bytes:
        return blank_png()


@image_fault("qrcode_image_same_for_every_grant")
class QrcodeImageSameForEveryGrant(Behaviour):
    """Each grant has a URL of its own, but every image encodes the same payload."""

    def qrcode_payload(self, grant: Grant) -> str:
        return f"{LOGIN_URL}?app=login"


@image_fault("qrcode_image_other_token", profile="qrcode_carries_token = true\n")
class QrcodeImageOtherToken(Behaviour):
    """The QR code carries a token of its own, not the grant's (found where the profile wants the token)."""

    def qrcode_payload(self, grant: Grant) -> str:
        return super().qrcode_payload(grant)[:-1] + ("0" if grant.token[-1] != "0" else "1")


@image_fault("qrcode_image_redirect")
class QrcodeImageRedirect(Behaviour):
    """The `<qrcode>` URL answers 302 to where the image really is."""

    def serve_qrcode(self, path: str, now: float) -> Reply | None:
        where = urlsplit(path).path
        if where.endswith(REDIRECTED_SUFFIX):
            return super().serve_qrcode(where.removesuffix(REDIRECTED_SUFFIX), now)
        with self.lock:
            if where not in self.qr_payloads:
                return None
        headers = (("Location", where + REDIRECTED_SUFFIX), ("Content-Type", PNG_TYPE), date_header(now))
        return Reply(302, headers, b"")
