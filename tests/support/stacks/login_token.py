"""The login-token contract as a web developer writes it: the domain logic the three stack apps share.

Routing, form parsing, error pages and the HTTP layer are each framework's own (``fastapi_app``,
``flask_app``, ``aiohttp_app``); this module only decides, from the form values the framework parsed,
what to answer, and renders the XML. It imports no web framework and nothing of ``conformance``: the
apps implement the vendor's document, not the suite's idea of it.
"""

from __future__ import annotations

import hmac
import io
import os
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from xml.sax.saxutils import escape

# Where the app reads its configuration (set by tests/support/stacks/serving.py when it starts a stack).
API_KEY_ENV = "STACK_API_KEY"  # the key whose tenant owns USER_ID and SECOND_USER_ID
OTHER_API_KEY_ENV = "STACK_OTHER_API_KEY"  # another tenant's key, owning FOREIGN_USER_ID
PUBLIC_URL_ENV = "STACK_PUBLIC_URL"  # the app's own base URL: its <qrcode> URLs point there
QRCODE_DIR_ENV = "STACK_QRCODE_DIR"  # where issued QR codes are kept, shared by every worker process

ENDPOINT = "/v1/user/login_token"
QRCODE_ROUTE = "/qr/{name}.png"
USER_ID = 12345
SECOND_USER_ID = 12346
FOREIGN_USER_ID = 54321
USER_ID_MAX = 2**63 - 1  # a user id is a signed 64-bit integer in the user table
TOKEN_EXPIRE_MIN = 60
TOKEN_EXPIRE_MAX = 86400
FIELDS = ("api_key", "user_id", "token_expire")
XML_TYPE = "application/xml; charset=utf-8"
PNG_TYPE = "image/png"
# Every answer of the endpoint; a grant carries a credential and must never be stored by a cache.
HEADERS: Mapping[str, str] = {"Cache-Control": "no-store"}
SUCCESS_MESSAGE = "The request has been successfully processed"
LOGIN_URL = "https://login.stack.invalid/qr"  # what a QR code encodes: the mobile login link
DIGITS = re.compile(r"[0-9]+")  # plain ASCII decimal digits; str.isdigit() would take '²' and '٤'
QRCODE_NAME = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16): never a path


class Refused(Exception):
    """The request is refused with a 4xx status and a message that repeats nothing the client sent."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Answer:
    """The endpoint's answer: an HTTP status and an XML body (sent with XML_TYPE and HEADERS)."""

    status: int
    body: bytes


def document(elements: Sequence[tuple[str, str]]) -> bytes:
    """A <user_response> with these children, laid out like the vendor's sample."""
    children = "".join(f"    <{tag}>{escape(text)}</{tag}>\n" for tag, text in elements)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<user_response>\n{children}</user_response>\n'.encode()


def error(status: int, message: str | None = None) -> Answer:
    """A refusal (schemas/error_response.xsd): the status and a message, by default its reason phrase."""
    text = message or HTTPStatus(status).phrase
    return Answer(status, document([("status", str(status)), ("message", text)]))


class LoginTokens:
    """The tenants, where the QR codes issued so far are kept, and the decision for one request."""

    def __init__(self, tenants: Mapping[str, frozenset[int]], *, public_url: str, qrcodes: Path) -> None:
        self.tenants = dict(tenants)
        self.users = frozenset().union(*self.tenants.values())
        self.public_url = public_url.rstrip("/")
        self.qrcodes = qrcodes  # one file per issued QR code: its name, holding what the image encodes

    @classmethod
    def from_environment(cls) -> LoginTokens:
        """The service configured by the STACK_* variables above."""
        return cls(
            {
                os.environ[API_KEY_ENV]: frozenset({USER_ID, SECOND_USER_ID}),
                os.environ[OTHER_API_KEY_ENV]: frozenset({FOREIGN_USER_ID}),
            },
            public_url=os.environ[PUBLIC_URL_ENV],
            qrcodes=Path(os.environ[QRCODE_DIR_ENV]),
        )

    def login_token(
        self, *, api_key: Sequence[str], user_id: Sequence[str], token_expire: Sequence[str]
    ) -> Answer:
        """Answer a request whose form gave these values for each field (empty: the field is absent)."""
        try:
            scope = self.authenticate(one("api_key", api_key))
            user = number("user_id", one("user_id", user_id), maximum=USER_ID_MAX)
            lifetime = number("token_expire", one("token_expire", token_expire), maximum=TOKEN_EXPIRE_MAX)
            if lifetime < TOKEN_EXPIRE_MIN:
                raise Refused(400, f"token_expire must be from {TOKEN_EXPIRE_MIN} to {TOKEN_EXPIRE_MAX}")
            self.authorize(user, scope)
        except Refused as refused:
            return error(refused.status, refused.message)
        return self.grant(user, lifetime)

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        """The users the key may ask for; a missing or unknown key is a 401 (before any user is looked at)."""
        if api_key is None:
            raise Refused(401, "api_key is missing")
        given = api_key.encode("utf-8", "surrogatepass")
        # Every key is compared, in constant time: neither the answer nor its timing tells how close it was.
        matches = [scope for key, scope in self.tenants.items() if hmac.compare_digest(key.encode(), given)]
        if not matches:
            raise Refused(401, "api_key is not valid")
        return matches[0]

    def authorize(self, user_id: int, scope: frozenset[int]) -> None:
        """An unknown user is a 404, another tenant's user a 403 (naming neither the tenant nor the key)."""
        if user_id not in self.users:
            raise Refused(404, "the user does not exist")
        if user_id not in scope:
            raise Refused(403, "the api_key has no access to this user")

    def grant(self, user_id: int, lifetime: int) -> Answer:
        """A fresh token, its QR code URL and its expiry (Unix time, from this server's clock)."""
        token = secrets.token_urlsafe(32)
        name = secrets.token_urlsafe(16)
        (self.qrcodes / name).write_text(f"{LOGIN_URL}?token={token}", encoding="ascii")
        elements = [
            ("status", "200"),
            ("message", SUCCESS_MESSAGE),
            ("user_id", str(user_id)),
            ("token", token),
            ("qrcode", self.public_url + QRCODE_ROUTE.format(name=name)),
            ("expire", str(int(time.time()) + lifetime)),
        ]
        return Answer(200, document(elements))

    def qrcode_png(self, name: str) -> bytes | None:
        """The PNG of an issued QR code, None when no grant issued ``name``."""
        if not QRCODE_NAME.fullmatch(name):
            return None
        try:
            payload = (self.qrcodes / name).read_text(encoding="ascii")
        except FileNotFoundError:
            return None
        import segno

        out = io.BytesIO()
        segno.make_qr(payload, error="m").save(out, kind="png", scale=4, border=4)
        return out.getvalue()


def one(name: str, values: Sequence[str]) -> str | None:
    """The field's value, None when absent; the same value twice is that value, two different ones a 400."""
    distinct = set(values)
    if len(distinct) > 1:
        raise Refused(400, f"{name} is given more than once with different values")
    return distinct.pop() if distinct else None


def number(name: str, raw: str | None, *, maximum: int) -> int:
    """A required whole number in plain decimal digits (leading zeros allowed), at most ``maximum``."""
    if raw is None:
        raise Refused(400, f"{name} is missing")
    if not DIGITS.fullmatch(raw):
        raise Refused(400, f"{name} must be a whole number in decimal digits")
    significant = raw.lstrip("0") or "0"
    # Compared by length first: int() of thousands of digits is slow, and past 4300 an error.
    if len(significant) > len(str(maximum)) or int(significant) > maximum:
        raise Refused(400, f"{name} is out of range")
    return int(significant)
