"""Built-in faults in the spellings of one request (issue 20): a valid request refused or misread in one
spelling, a forbidden one granted in another, a key compared by a pattern matcher.

Each is a plausible real bug that the release before issue 20 missed: it sent every request as a plain
urlencoded form, and its key probes never carried a wildcard or a non-ASCII character.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from conformance.core.contract import ENDPOINT_PATH
from conformance.reference.auth_faults import match_key
from conformance.reference.behaviour import USERS, Accepted, Behaviour, Form, Rejection, Reply
from conformance.reference.faults import fault

# A fault overrides a stage with the stage's full signature, used or not.

FORM_TYPE = "application/x-www-form-urlencoded"
PHP_MAX_INPUT_VARS = 1000  # fields a PHP-style parser keeps; the rest are dropped silently
# A field name a rewriting stage adds for validate to see: the request came by a route without a scope check.
UNSCOPED = "\x00unscoped"


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    return next((value for key, value in headers if key == name), None)


class _UnscopedRoute(Behaviour):
    """A route that reaches the handler without the scope check: it marks the form it passes on."""

    def unscoped(self, form: Form, now: float) -> Reply:
        """Handle ``form`` with its key checked and its user looked up, but not its scope."""
        return self.handle(urlencode([(UNSCOPED, ""), *form]).encode("utf-8"), now)

    def validate(self, form: Form) -> Accepted:
        if not form or form[0][0] != UNSCOPED:
            return super().validate(form)
        api_key = self.pick(form, "api_key")
        self.authenticate(api_key)
        user_id = self.required_number(form, "user_id")
        token_expire = self.expire_range(self.required_number(form, "token_expire"))
        if user_id not in USERS:
            raise Rejection(404, "the user does not exist")
        return Accepted(user_id=user_id, token_expire=token_expire, api_key=api_key)


# -- equivalent spellings of a valid request ---------------------------------------------------------


@fault(name="content_type_exact", kind="media type comparison", requirements=("LT-INPUT-EQUIVALENT",))
class ContentTypeExact(Behaviour):
    """Content-Type is compared as a whole string: `; charset=UTF-8` or another letter case is a 415."""

    def serve(
        self, method: str, target: str, headers: tuple[tuple[str, str], ...], body: bytes, now: float
    ) -> Reply | None:
        if method == "POST" and _header(headers, "content-type") != FORM_TYPE:
            return self.reject(Rejection(415, "send application/x-www-form-urlencoded"), now=now)
        return super().serve(method, target, headers, body, now)


@fault(name="form_not_percent_decoded", kind="form parsing", requirements=("LT-INPUT-EQUIVALENT",))
class FormNotPercentDecoded(Behaviour):
    """A hand-written form parser splits on `&` and `=` and reads `+` as a space, but never decodes
    percent-escapes: `token_expire=%36%30` is not a number."""

    def read_form(self, body: bytes) -> Form:
        text = body.decode("utf-8", "replace").replace("+", " ")
        return [(name, value) for name, _, value in (p.partition("=") for p in text.split("&") if p)]


@fault(name="chunked_body_read_as_empty", kind="body framing", requirements=("LT-INPUT-EQUIVALENT",))
class ChunkedBodyReadAsEmpty(Behaviour):
    """The body is read by its Content-Length only: a chunked body reads as empty and the request is
    refused as if it had no api_key (a 401, not a 411 Length Required)."""

    def serve(
        self, method: str, target: str, headers: tuple[tuple[str, str], ...], body: bytes, now: float
    ) -> Reply | None:
        length = _header(headers, "content-length")
        return super().serve(method, target, headers, body if length is not None else b"", now)


@fault(name="expect_continue_refused", kind="expectation", requirements=("LT-INPUT-EQUIVALENT",))
class ExpectContinueRefused(Behaviour):
    """A request announced with `Expect: 100-continue` (curl's larger bodies) is refused with 417."""

    def serve(
        self, method: str, target: str, headers: tuple[tuple[str, str], ...], body: bytes, now: float
    ) -> Reply | None:
        if _header(headers, "expect") is not None:
            return self.reject(Rejection(417, "expectation failed"), now=now)
        return super().serve(method, target, headers, body, now)


@fault(name="many_fields_truncated", kind="form limits", requirements=("LT-INPUT-EQUIVALENT",))
class ManyFieldsTruncated(Behaviour):
    """Only the first 1,000 fields of a form are kept (PHP's max_input_vars): behind many unknown fields
    the api_key is answered as missing."""

    def read_form(self, body: bytes) -> Form:
        return super().read_form(body)[:PHP_MAX_INPUT_VARS]


@fault(name="values_decoded_twice", kind="form parsing", requirements=("LT-INPUT-EQUIVALENT",))
class ValuesDecodedTwice(Behaviour):
    """Every value is percent-decoded a second time (a framework's decoding, then the handler's own):
    `user_id=%2531%2532...` is read as the user."""

    def read_form(self, body: bytes) -> Form:
        return [(name, unquote(value)) for name, value in super().read_form(body)]


# -- forbidden requests in other spellings ------------------------------------------------------------


@fault(
    name="names_case_insensitive_scope_exact",
    kind="authorization spelling",
    requirements=("LT-AUTH-USER-SCOPE", "LT-AUTH-TOKEN-OWNER"),
)
class NamesCaseInsensitiveScopeExact(Behaviour):
    """The handler reads parameter names ignoring case (the last one wins) while the scope check reads
    `user_id` exactly, when there is one: `USER_ID=<foreign>` gets the foreign user's token."""

    def validate(self, form: Form) -> Accepted:
        api_key = self.pick(form, "api_key")
        scope = self.authenticate(api_key)
        exact = self.pick(form, "user_id")
        if exact is not None:
            self.authorize(self.number("user_id", exact), scope)
        folded = [(name.lower(), value) for name, value in form]
        users = [value for name, value in folded if name == "user_id"]
        if not users:
            raise Rejection(400, "user_id is missing")
        user_id = self.number("user_id", users[-1])
        token_expire = self.expire_range(self.required_number(form, "token_expire"))
        if user_id not in USERS:
            raise Rejection(404, "the user does not exist")
        return Accepted(user_id=user_id, token_expire=token_expire, api_key=api_key)


@fault(
    name="json_body_skips_scope",
    kind="authorization spelling",
    requirements=("LT-AUTH-USER-SCOPE", "LT-AUTH-TOKEN-OWNER"),
)
class JsonBodySkipsScope(_UnscopedRoute):
    """A newer JSON code path (application/json) checks the key and that the user exists, but not that
    the user is in the key's scope."""

    def serve(
        self, method: str, target: str, headers: tuple[tuple[str, str], ...], body: bytes, now: float
    ) -> Reply | None:
        media = (_header(headers, "content-type") or "").split(";")[0].strip().lower()
        if method == "POST" and media == "application/json":
            try:
                document = json.loads(body)
            except ValueError:
                return self.reject(Rejection(400, "the body is not JSON"), now=now)
            items = document.items() if isinstance(document, dict) else ()
            return self.unscoped([(str(name), str(value)) for name, value in items], now)
        return super().serve(method, target, headers, body, now)


@fault(
    name="post_query_skips_scope",
    kind="authorization spelling",
    requirements=("LT-AUTH-TOKEN-OWNER",),
)
class PostQuerySkipsScope(_UnscopedRoute):
    """The handler reads fields from the body and the query string (Flask's `request.values`); the scope
    check reads the body's user_id only: a POST with the form in its query string skips it."""

    def route(self, method: str, target: str, body: bytes, now: float) -> Reply | None:
        split = urlsplit(target)
        if method == "POST" and split.path == ENDPOINT_PATH and split.query:
            try:
                form = self.read_form(body)
            except Rejection:
                form = [("user_id", "")]  # unreadable: the ordinary route refuses it
            if all(name != "user_id" for name, _ in form):
                return self.unscoped([*form, *parse_qsl(split.query, keep_blank_values=True)], now)
        return super().route(method, target, body, now)


# -- key matchers ------------------------------------------------------------------------------------


def _like(pattern: str, key: str) -> bool:
    """SQL LIKE: % any run, _ any one character."""
    translated = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(translated, key, re.DOTALL) is not None


def _regex(pattern: str, key: str) -> bool:
    try:
        return re.fullmatch(pattern, key) is not None
    except re.error:
        return False


@fault(name="api_key_sql_like", kind="key comparison", requirements=("LT-AUTH-KEY-INVALID",))
class ApiKeySqlLike(Behaviour):
    """The api_key is looked up with SQL `LIKE` (`WHERE key LIKE ?`): `%` authenticates."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        return match_key(api_key, _like) or super().authenticate(api_key)


@fault(name="api_key_glob", kind="key comparison", requirements=("LT-AUTH-KEY-INVALID",))
class ApiKeyGlob(Behaviour):
    """The api_key is matched as a glob pattern against the configured keys (`fnmatch`): `*` authenticates."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        return match_key(api_key, lambda given, key: fnmatchcase(key, given)) or super().authenticate(api_key)


@fault(name="api_key_regex", kind="key comparison", requirements=("LT-AUTH-KEY-INVALID",))
class ApiKeyRegex(Behaviour):
    """The api_key is used as a regular expression over the configured keys: `.*` authenticates."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        return match_key(api_key, _regex) or super().authenticate(api_key)


@fault(name="api_key_non_ascii_500", kind="key encoding", requirements=("LT-HTTP-NO-5XX",))
class ApiKeyNonAscii500(Behaviour):
    """The api_key is encoded to ASCII before the lookup: a non-ASCII key is answered 500."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        if api_key is not None:
            api_key.encode("ascii")  # UnicodeEncodeError: the server's 500
        return super().authenticate(api_key)
