"""Built-in faults where the suite used not to look: key comparison, authentication state, scope spellings.

Each is a plausible real bug, caught only by the probes of issue 11 (derived keys, sentinels spread over
the run, every spelling of every user, methods and paths).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

from conformance.core.contract import ENDPOINT_PATH
from conformance.reference.behaviour import (
    BEYOND_ANY_RANGE,
    REFERENCE_API_KEY,
    SCOPES,
    USERS,
    Accepted,
    Behaviour,
    Form,
    Options,
    Reply,
)
from conformance.reference.faults import fault

# A fault overrides a stage with the stage's full signature, used or not.

KEY_PREFIX_CHECKED = 8  # characters a prefix-comparing fault looks at


def match_key(api_key: str | None, same: Callable[[str, str], bool]) -> frozenset[int] | None:
    """The scope of the first configured key ``same(given, configured)`` says matches, else None."""
    if api_key is None:
        return None
    for key, scope in SCOPES.items():
        if same(api_key, key):
            return scope
    return None


@fault(name="api_key_case_insensitive", kind="key comparison", requirements=("LT-AUTH-KEY-INVALID",))
class ApiKeyCaseInsensitive(Behaviour):
    """The api_key is compared ignoring case (`casefold()` on both sides)."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        return match_key(api_key, lambda a, b: a.casefold() == b.casefold()) or super().authenticate(api_key)


@fault(name="api_key_prefix_only", kind="key comparison", requirements=("LT-AUTH-KEY-INVALID",))
class ApiKeyPrefixOnly(Behaviour):
    """Only the first 8 characters of the api_key are compared (a truncated column or index)."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        n = KEY_PREFIX_CHECKED
        return match_key(api_key, lambda a, b: len(a) >= n and a[:n] == b[:n]) or super().authenticate(
            api_key
        )


@fault(name="api_key_last_character_ignored", kind="key comparison", requirements=("LT-AUTH-KEY-INVALID",))
class ApiKeyLastCharacterIgnored(Behaviour):
    """The api_key's last character is not compared (an off-by-one in a hand-written comparison loop)."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        return match_key(api_key, lambda a, b: len(a) == len(b) and a[:-1] == b[:-1]) or super().authenticate(
            api_key
        )


@fault(name="api_key_truncated_accepted", kind="key comparison", requirements=("LT-AUTH-KEY-INVALID",))
class ApiKeyTruncatedAccepted(Behaviour):
    """A non-empty api_key that is a prefix of a configured key is accepted (`startswith` the wrong way)."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        return match_key(api_key, lambda a, b: bool(a) and b.startswith(a)) or super().authenticate(api_key)


@fault(name="api_key_whitespace_stripped", kind="key comparison", requirements=("LT-AUTH-KEY-INVALID",))
class ApiKeyWhitespaceStripped(Behaviour):
    """Whitespace and NUL around the api_key are stripped before the comparison."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        return match_key(api_key, lambda a, b: a.strip(" \t\r\n\x00") == b) or super().authenticate(api_key)


# -- authentication state ------------------------------------------------------------------------------


@fault(name="auth_cached_after_grant", kind="authentication state", requirements=("LT-AUTH-KEY-INVALID",))
class AuthCachedAfterGrant(Behaviour):
    """After a grant, the next request is served under the same key whatever key it sends (a cache)."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.cached: frozenset[int] | None = None

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        with self.lock:
            cached, self.cached = self.cached, None
        if cached is not None and api_key is not None:
            return cached
        scope = super().authenticate(api_key)
        with self.lock:
            self.cached = scope
        return scope


FAIL_OPEN_AFTER = 250


@fault(
    name="auth_fails_open_late",
    kind="authentication state",
    requirements=("LT-AUTH-KEY-INVALID",),
    whole_run=True,  # only after 250 requests
)
class AuthFailsOpenLate(Behaviour):
    """After 250 requests any api_key is accepted (a key cache that fails open when full)."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.seen = 0

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        with self.lock:
            self.seen += 1
            late = self.seen > FAIL_OPEN_AFTER
        if late and api_key is not None:
            return next(iter(SCOPES.values()))
        return super().authenticate(api_key)


# -- every spelling of every user -------------------------------------------------------------------


@fault(
    name="scope_checked_on_spelling",
    kind="authorization spelling",
    requirements=("LT-AUTH-USER-SCOPE", "LT-AUTH-TOKEN-OWNER"),
)
class ScopeCheckedOnSpelling(Behaviour):
    """The scope list is keyed by the user_id as spelt: a zero-padded existing user (the foreign one too)
    is served without a scope check."""

    def validate(self, form: Form) -> Accepted:
        raw = self.pick(form, "user_id") or ""
        if len(raw) > 1 and raw.startswith("0"):
            api_key = self.pick(form, "api_key")
            self.authenticate(api_key)
            user_id = self.required_number(form, "user_id")
            token_expire = self.expire_range(self.required_number(form, "token_expire"))
            if user_id in USERS:
                return Accepted(user_id=user_id, token_expire=token_expire, api_key=api_key)
        return super().validate(form)


@fault(name="user_id_wraps_at_2_64", kind="integer overflow", requirements=("LT-INPUT-USER-RANGE",))
class UserIdWrapsAt264(Behaviour):
    """user_id is read into an unsigned 64-bit integer: 2^64 + n is user n."""

    def number(self, name: str, raw: str) -> int:
        value = super().number(name, raw)
        return value % 2**64 if name == "user_id" and value < BEYOND_ANY_RANGE else value


@fault(name="wrapped_user_id_unchecked", kind="integer overflow", requirements=("LT-AUTH-TOKEN-OWNER",))
class WrappedUserIdUnchecked(Behaviour):
    """An id of 2^32 or more is taken modulo 2^32 after the scope check passed it as unknown-but-harmless:
    2^32 + the foreign user gets a token for the foreign user."""

    def validate(self, form: Form) -> Accepted:
        api_key = self.pick(form, "api_key")
        self.authenticate(api_key)
        user_id = self.required_number(form, "user_id")
        token_expire = self.expire_range(self.required_number(form, "token_expire"))
        if 2**32 <= user_id < 2**64 and user_id % 2**32 in USERS:
            return Accepted(user_id=user_id % 2**32, token_expire=token_expire, api_key=api_key)
        return super().validate(form)


# -- methods and paths ----------------------------------------------------------------------------------


@fault(name="get_issues_token", kind="method confusion", requirements=("LT-HTTP-POST-ONLY",))
class GetIssuesToken(Behaviour):
    """GET with the form in the query string is served like the POST (a framework's `request.values`)."""

    ROUTES_ELSEWHERE = True

    def route(self, method: str, target: str, body: bytes, now: float) -> Reply | None:
        split = urlsplit(target)
        if method == "GET" and split.path == ENDPOINT_PATH:
            return self.handle(split.query.encode("latin-1", "replace"), now)
        return super().route(method, target, body, now)


@fault(name="trailing_slash_skips_key_check", kind="path confusion", requirements=("LT-HTTP-PATH-VARIANT",))
class TrailingSlashSkipsKeyCheck(Behaviour):
    """The path with a trailing slash reaches the handler through a route that has no key check."""

    ROUTES_ELSEWHERE = True

    def route(self, method: str, target: str, body: bytes, now: float) -> Reply | None:
        if method == "POST" and urlsplit(target).path == ENDPOINT_PATH + "/":
            form = [
                (k, REFERENCE_API_KEY if k == "api_key" else v)
                for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            ]
            return self.handle(urlencode(form).encode(), now)
        return super().route(method, target, body, now)
