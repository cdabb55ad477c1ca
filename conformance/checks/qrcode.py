"""The QR code: its URL hands no secret to a third party; the image behind a grant's <qrcode> decodes, is a
QR code of its own, carries the token (live runs).

A live run judges the images of a spread of grants (the first SAMPLE_FIRST, then every SAMPLE_EVERY-th:
about 40 images in a default run's ~780 grants), which keeps a default loopback run near its time without
images; --fetch-qrcode judges every grant's. The decoded payload may contain the token, so a failure shows
only its length and where it was seen first; a URL that carries a secret is described by its host and what
it carries, never shown.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import functools
import hashlib
import ipaddress
import re
from urllib.parse import unquote, unquote_plus, urlsplit

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject
from conformance.core.model import MAX_DIGITS, CheckFailure
from conformance.redaction.normalised import DEEP_MIN_LENGTH, folded, holds_folded
from conformance.redaction.secrets import spellings

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


# -- no secret to a third party (issue 21.4) --------------------------------------------------------

THIRD_PARTY = "LT-SEC-QRCODE-THIRD-PARTY"
_COMPONENT = re.compile(r"[A-Za-z0-9+/_=-]+")
_DIGIT_RUN = re.compile(r"[0-9]+")
_MIN_BASE64 = 8  # shorter runs decode to too few bytes to hold a user id by more than chance


@functools.lru_cache(maxsize=256)  # a run's grants name a few hosts: each is told apart once
def own_host(host: str, target_host: str, patterns: tuple[str, ...] = ()) -> bool:
    """Whether ``host`` is the vendor's own (AMB-QRCODE-HOST): the target's host, a host of the target's
    parent domain (api.example.com -> *.example.com; example.com -> *.example.com; an IP address only
    itself), or one the profile's ``qrcode_hosts`` patterns name."""
    host, target_host = host.lower().rstrip("."), target_host.lower().rstrip(".")
    if host == target_host or any(fnmatch.fnmatchcase(host, p.lower()) for p in patterns):
        return True
    try:
        ipaddress.ip_address(target_host)
        return False
    except ValueError:
        pass
    labels = target_host.split(".")
    parent = ".".join(labels[1:]) if len(labels) > 2 else target_host
    return host == parent or host.endswith(f".{parent}")


def user_id_places(url: str, user_id: int) -> list[str]:
    """The parts of ``url`` (path, query, fragment) that name ``user_id`` as a whole number, as is,
    percent-encoded or inside a base64/base64url run."""
    parts = urlsplit(url)
    wanted = re.compile(rf"(?<![0-9]){user_id}(?![0-9])")
    places = []
    for place, text in (("path", parts.path), ("query", parts.query), ("fragment", parts.fragment)):
        decoded = unquote(unquote(text))
        if any(
            _names_number(run, user_id) or (len(run) >= _MIN_BASE64 and wanted.search(_base64_text(run)))
            for run in _COMPONENT.findall(decoded)
        ):
            places.append(place)
    return places


def _carries(views: str, token: str) -> bool:
    """Whether the URL's ``views`` hold ``token`` in any spelling: case and separators aside, decoded
    (percent, entities, escapes) or inside a base64, base32 or hex run, forwards or reversed; a token
    folding to fewer than DEEP_MIN_LENGTH letters and digits, in one of its literal spellings."""
    if token in views:
        return True
    if len(folded(token)) >= DEEP_MIN_LENGTH:
        return holds_folded(views, token, token[::-1])
    return any(spelling in views for spelling in spellings(token))


def _names_number(run: str, number: int) -> bool:
    """``run`` is the number, alone or with letters around it (``user12345``, ``12345.png``'s stem); a
    digit run among other digits (a random hex name) is not, or every hex name would match by chance."""
    for word in re.split(r"[^A-Za-z0-9]+", run):
        digits = _DIGIT_RUN.findall(word)
        if len(digits) == 1 and len(digits[0]) <= MAX_DIGITS and int(digits[0]) == number:
            return True
    return False


def _base64_text(run: str) -> str:
    standard = run.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        data = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        return ""
    return data.decode("latin-1")


@check(serves=(THIRD_PARTY,))
def qrcode_no_secret_to_third_party(subject: Subject, ctx: CheckContext) -> str | None:
    """A grant's <qrcode> on a host that is not the vendor's own carries no token, api_key or user id."""
    token = subject.token
    if not (subject.issued and token):
        return None
    url = (subject.document.field("qrcode") or "").strip()
    try:
        host = urlsplit(url).hostname
        target_host = urlsplit(subject.exchange.url).hostname
    except ValueError:
        return None  # qrcode_url reports a <qrcode> that is no URL
    if not host or not target_host:
        return None
    if own_host(host, target_host, ctx.profile.qrcode_hosts):
        return THIRD_PARTY
    views = "\n".join({url, unquote(url), unquote(unquote(url)), unquote_plus(url)})
    carried = ["the api_key"] if ctx.secrets.echo_book().find(views) else []
    if _carries(views, token):
        carried.append("the token")
    user_id = subject.case.user_id
    places = user_id_places(url, user_id) if user_id is not None else []
    if places:
        carried.append(f"the user id (in its {', '.join(places)})")
    if carried:
        raise CheckFailure(
            THIRD_PARTY,
            "<qrcode> hands a secret to a third-party host",
            f"a <qrcode> on {target_host}, its parent domain or a profile qrcode_hosts host, or one that "
            "carries no token, api_key or user id",
            f"a URL on {host[:80]} carrying {' and '.join(carried)}",
        )
    return THIRD_PARTY
