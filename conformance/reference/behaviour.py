"""The conforming behaviour of the reference target, as a pipeline of overridable stages.

A request goes through the stages in this order: ``read_form``; ``validate`` (``pick`` the api_key and
``authenticate`` it, ``pick`` and ``number`` user_id and token_expire, ``expire_range``, ``authorize``);
``issue`` (``token``, ``qrcode``, ``expire``); ``success_elements`` or ``rejection_elements``,
``document``, ``headers``; ``respond``.
A fault is a subclass that overrides one stage (or one class-level knob), so each misbehaviour is a
few lines next to the stage it changes and mypy checks its signature.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from conformance.core.contract import ENDPOINT_PATH, TOKEN_EXPIRE_MAX, TOKEN_EXPIRE_MIN

# Stage methods share one signature so faults can override them; the conforming stage need not use
# every argument a fault might.
# ruff: noqa: ARG002

# Public test fixtures, not secrets: the reference target exists to be tested against.
REFERENCE_API_KEY = "ref-test-key-0001-public-fixture"
REFERENCE_OTHER_API_KEY = "ref-test-key-0002-public-fixture"
REFERENCE_USER_ID = 12345
REFERENCE_SECOND_USER_ID = 12346
REFERENCE_FOREIGN_USER_ID = 54321
REFERENCE_UNKNOWN_USER_ID = 9223372036854775806
SCOPES: dict[str, frozenset[int]] = {
    REFERENCE_API_KEY: frozenset({REFERENCE_USER_ID, REFERENCE_SECOND_USER_ID}),
    REFERENCE_OTHER_API_KEY: frozenset({REFERENCE_FOREIGN_USER_ID}),
}
USERS: frozenset[int] = frozenset().union(*SCOPES.values())

CONTENT_TYPE = "application/xml; charset=utf-8"
QRCODE_BASE = "https://qr.reference.invalid/"
QRCODE_PATH = "/qr/"  # where the server serves the images when it serves them
LOGIN_URL = "https://login.reference.invalid/qr"  # what a QR code encodes: this URL with the token
PNG_TYPE = "image/png"
SUCCESS_MESSAGE = "The request has been successfully processed"
XML_PROLOG = '<?xml version="1.0" encoding="UTF-8"?>'
DIGITS = re.compile(r"[0-9]+", re.ASCII)
# Beyond this many significant digits a number is out of every range; int() of a very long string
# would raise (Python's int_max_str_digits) and must not turn into a 500.
MAX_SIGNIFICANT_DIGITS = 40
BEYOND_ANY_RANGE: int = 10**MAX_SIGNIFICANT_DIGITS

Form = list[tuple[str, str]]
Elements = list[tuple[str, str]]


class Rejection(Exception):
    """The request is refused with a 4xx status and a human-readable message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Options:
    """Per-server settings the stages may read."""

    slow_delay: float
    stopping: threading.Event = field(default_factory=threading.Event)
    # Where <qrcode> URLs point; the server's own /qr/ when it serves the images (serve_qrcodes).
    qrcode_base: str = QRCODE_BASE
    serve_qrcodes: bool = False


@dataclass(frozen=True)
class Accepted:
    """A request that passed authentication and validation."""

    user_id: int
    token_expire: int
    api_key: str | None = field(repr=False)


@dataclass(frozen=True)
class Grant:
    """What the target issues for an accepted request."""

    request: Accepted
    token: str
    qrcode: str
    expire: int


@dataclass(frozen=True)
class Reply:
    """The HTTP response before the server adds Date, Content-Length and writes it."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class Behaviour:
    """The conforming implementation of POST /v1/user/login_token; faults override one stage."""

    SUCCESS_STATUS = 200
    ROUTES_ELSEWHERE = False  # a fault that answers other methods or paths sets this
    EXPIRE_MIN = TOKEN_EXPIRE_MIN
    EXPIRE_MAX = TOKEN_EXPIRE_MAX
    # The HTTP/1.1 server layer (reference/server.py) reads these; a fault turns one off (RFC 9110 / 9112).
    ALLOW_ON_405 = True  # a 405 says Allow: POST
    HTTP_REQUIRE_HOST = True  # an HTTP/1.1 request without exactly one Host is a 400
    HTTP_HONOUR_CLOSE = True  # Connection: close closes the connection after the answer
    HTTP_PIPELINING = True  # a request already waiting behind the one answered is answered too
    HTTP_REFUSE_CONFLICTING_LENGTHS = True  # else the first Content-Length wins
    HTTP_REFUSE_LENGTH_WITH_CHUNKED = True  # else Transfer-Encoding is dropped and Content-Length read
    HTTP_READ_CHUNKED = True  # else a chunked body is ignored: read as empty
    HTTP_ABSOLUTE_FORM = True  # an absolute-form request target is served like its path
    HTTP_HEAD_WITHOUT_CONTENT = True  # an answer to HEAD sends its header section only

    def interim_headers(self, request_body: bytes) -> tuple[tuple[str, str], ...]:
        """The fields of a 103 (Early Hints) sent before the answer to an HTTP/1.1 request; none: no
        interim response (a fault sends one)."""
        return ()

    def trailers(self, request_body: bytes) -> tuple[tuple[str, str], ...]:
        """Trailer fields after the answer's body, then sent chunked to an HTTP/1.1 request; none: a body
        framed by Content-Length (a fault sends some)."""
        return ()

    def __init__(self, options: Options) -> None:
        self.options = options
        self.lock = threading.Lock()
        self.qr_payloads: dict[str, str] = {}  # image path -> payload, kept only while serving images

    def handle(self, body: bytes, now: float) -> Reply:
        """Run every stage for one request body received at Unix time ``now``."""
        accepted: Accepted | None = None
        try:
            accepted = self.validate(self.read_form(body))
            grant = self.issue(accepted, now)
            reply = self.reply(self.SUCCESS_STATUS, self.success_elements(grant), now=now)
        except Rejection as rejection:
            reply = self.reject(rejection, now=now)
        return self.respond(accepted, reply, now=now)

    def serve(
        self, method: str, target: str, headers: tuple[tuple[str, str], ...], body: bytes, now: float
    ) -> Reply | None:
        """One request as received, its headers included (names lower-cased): routed whoever sends it."""
        return self.route(method, target, body, now)

    def route(self, method: str, target: str, body: bytes, now: float) -> Reply | None:
        """The endpoint answers only POST to its exact path (any query ignored); None: not routed here."""
        if method != "POST" or urlsplit(target).path != ENDPOINT_PATH:
            return None
        return self.handle(body, now)

    def connection_opened(self, number: int, accepted_at: float) -> None:
        """The server accepted its ``number``-th connection at Unix time ``accepted_at``; called on the
        thread that then serves every request of that connection (a fault that misbehaves per connection
        keeps what it needs in a thread-local)."""
        return

    # -- parsing and validation ------------------------------------------------------------------
    def read_form(self, body: bytes) -> Form:
        """The form pairs, blank values kept; an undecodable body is a 400."""
        try:
            text = body.decode("utf-8")
            return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise Rejection(400, "the body is not UTF-8 form data") from None

    def pick(self, form: Form, name: str) -> str | None:
        """The one value of ``name``, None when absent; different repeated values are a 400."""
        values = {value for key, value in form if key == name}
        if len(values) > 1:
            raise Rejection(400, f"{name} is given more than once with different values")
        return values.pop() if values else None

    def number(self, name: str, raw: str) -> int:
        """Plain ASCII decimal digits (leading zeros allowed) as an int; anything else is a 400."""
        if not DIGITS.fullmatch(raw):
            raise Rejection(400, f"{name} must be plain decimal digits")
        significant = raw.lstrip("0") or "0"
        if len(significant) > MAX_SIGNIFICANT_DIGITS:
            return BEYOND_ANY_RANGE
        return int(significant)

    def required_number(self, form: Form, name: str) -> int:
        """Pick ``name`` and parse it as a number; a missing value is a 400."""
        raw = self.pick(form, name)
        if raw is None:
            raise Rejection(400, f"{name} is missing")
        return self.number(name, raw)

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        """The users ``api_key`` may act for; missing or unknown keys are a 401."""
        if api_key is None:
            raise Rejection(401, "api_key is missing")
        if api_key not in SCOPES:
            raise Rejection(401, "api_key is not valid")
        return SCOPES[api_key]

    def expire_range(self, token_expire: int) -> int:
        """The effective token lifetime; outside EXPIRE_MIN..EXPIRE_MAX is a 400."""
        if not self.EXPIRE_MIN <= token_expire <= self.EXPIRE_MAX:
            raise Rejection(400, f"token_expire must be between {TOKEN_EXPIRE_MIN} and {TOKEN_EXPIRE_MAX}")
        return token_expire

    def authorize(self, user_id: int, scope: frozenset[int]) -> None:
        """Unknown users are a 404, users outside the key's scope a 403."""
        if user_id not in USERS:
            raise Rejection(404, "the user does not exist")
        if user_id not in scope:
            raise Rejection(403, "the api_key has no access to this user")

    def validate(self, form: Form) -> Accepted:
        """Authenticate, parse and authorize in the documented order."""
        api_key = self.pick(form, "api_key")
        scope = self.authenticate(api_key)
        user_id = self.required_number(form, "user_id")
        token_expire = self.expire_range(self.required_number(form, "token_expire"))
        self.authorize(user_id, scope)
        return Accepted(user_id=user_id, token_expire=token_expire, api_key=api_key)

    # -- issuing ---------------------------------------------------------------------------------
    def token(self) -> str:
        """A fresh 128-bit token."""
        return secrets.token_hex(16)

    def qrcode(self) -> str:
        """An absolute https URL on a host that can never resolve (or the server's own /qr/ path)."""
        return f"{self.options.qrcode_base}{secrets.token_hex(8)}.png"

    def qrcode_payload(self, grant: Grant) -> str:
        """What the grant's QR code encodes: a login URL carrying its token."""
        return f"{LOGIN_URL}?token={grant.token}"

    def qrcode_image(self, payload: str) -> bytes:
        """The PNG of a QR code (full size, never a Micro QR) encoding ``payload``."""
        import io

        import segno

        out = io.BytesIO()
        segno.make_qr(payload, error="m").save(out, kind="png", scale=4, border=4)
        return out.getvalue()

    def serve_qrcode(self, path: str, now: float) -> Reply | None:
        """GET of an issued grant's image: the PNG; None for any other path (not served here)."""
        with self.lock:
            payload = self.qr_payloads.get(urlsplit(path).path)
        if payload is None:
            return None
        return Reply(200, (("Content-Type", PNG_TYPE), *self.http_date(now)), self.qrcode_image(payload))

    def expire(self, now: float, token_expire: int) -> int:
        """The Unix time the token expires."""
        return int(now) + token_expire

    def issue(self, accepted: Accepted, now: float) -> Grant:
        """Token, QR code URL and expiry for an accepted request (its image kept when images are served)."""
        grant = Grant(accepted, self.token(), self.qrcode(), self.expire(now, accepted.token_expire))
        if self.options.serve_qrcodes:
            path = urlsplit(grant.qrcode).path
            with self.lock:
                self.qr_payloads[path] = self.qrcode_payload(grant)
        return grant

    # -- rendering -------------------------------------------------------------------------------
    def success_elements(self, grant: Grant) -> Elements:
        """The children of <user_response> for an issued token, in schema order."""
        return [
            ("status", str(self.SUCCESS_STATUS)),
            ("message", SUCCESS_MESSAGE),
            ("user_id", str(grant.request.user_id)),
            ("token", grant.token),
            ("qrcode", grant.qrcode),
            ("expire", str(grant.expire)),
        ]

    def rejection_elements(self, rejection: Rejection) -> Elements:
        """The children of <user_response> for a rejection: status and message only."""
        return [("status", str(rejection.status)), ("message", rejection.message)]

    def document(self, elements: Elements, *, success: bool) -> str:
        """The XML document, laid out like the vendor's sample response."""
        children = "".join(f"    <{tag}>{escape(text)}</{tag}>\n" for tag, text in elements)
        return f"{XML_PROLOG}\n<user_response>\n{children}</user_response>\n"

    def rejection_document(self, rejection: Rejection) -> str:
        """The body of a rejection."""
        return self.document(self.rejection_elements(rejection), success=False)

    def headers(self, *, success: bool) -> tuple[tuple[str, str], ...]:
        """Content-Type and Cache-Control of every response."""
        return (("Content-Type", CONTENT_TYPE), ("Cache-Control", "no-store"))

    def http_date(self, now: float) -> tuple[tuple[str, str], ...]:
        """The Date header of every answer (RFC 9110 section 6.6.1), an IMF-fixdate in GMT."""
        return (date_header(now),)

    def reply(self, status: int, elements: Elements, *, now: float) -> Reply:
        """A success reply carrying ``elements``."""
        body = self.document(elements, success=True).encode("utf-8")
        return Reply(status, (*self.headers(success=True), *self.http_date(now)), body)

    def reject(self, rejection: Rejection, *, now: float) -> Reply:
        """A rejection reply."""
        body = self.rejection_document(rejection).encode("utf-8")
        return Reply(rejection.status, (*self.headers(success=False), *self.http_date(now)), body)

    def respond(self, accepted: Accepted | None, reply: Reply, *, now: float) -> Reply:
        """The last stage: the reply as sent (faults redirect, fail or stall here)."""
        return reply


def date_header(now: float) -> tuple[str, str]:
    """The Date header for Unix time ``now`` (the same ``now`` the expiry is computed from)."""
    return ("Date", formatdate(now, usegmt=True))


def stages() -> tuple[str, ...]:
    """The names a fault may override: the stage methods and the class-level knobs."""
    return tuple(name for name in vars(Behaviour) if not name.startswith("_") and name != "handle")
