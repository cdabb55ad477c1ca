"""Built-in faults that decide by what the client should not control, or tell users apart (issue 20).

A client Date, a cookie, a forwarding header or the connection a request arrives on changes a decision
or an <expire>; with a wrong key the answer or its timing tells existing users from unknown ones; a
refusal names the tenant that owns a user. The per-connection faults keep their state in a thread-local:
the reference serves each connection on a thread of its own (``Behaviour.connection_opened``).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, SimpleCookie

from conformance.reference.behaviour import SCOPES, USERS, Accepted, Behaviour, Options, Rejection, Reply
from conformance.reference.faults import fault

# Stage methods keep Behaviour's signatures, used or not.
# ruff: noqa: ARG002

Headers = tuple[tuple[str, str], ...]
SESSION_COOKIE = "sid"
INTERNAL_PREFIXES = ("127.", "10.", "192.168.", "::1")  # what a naive "internal caller" test trusts
EXISTING_USER_LOOKUP = 0.3  # seconds: the extra lookup a wrong key costs for a user that exists
OWNING_TENANT = "globex-0002"
EVERY_NTH_CONNECTION = 3
EXISTING_USER_SPELLINGS = frozenset(str(user) for user in USERS)


def _header(headers: Headers, name: str) -> str:
    return next((value for key, value in headers if key == name), "")


class _PerRequest(Behaviour):
    """A Behaviour that keeps per-connection (per-thread) state for the stages of one request."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.local = threading.local()


@fault(
    name="expire_from_client_date",
    kind="client clock",
    requirements=("LT-SEC-CLIENT-BLIND", "LT-EXPIRE-CONSISTENT"),
)
class ExpireFromClientDate(_PerRequest):
    """A request carrying a `Date` header gets `<expire>` = that Date + token_expire: the client's clock
    taken for the server's."""

    def serve(self, method: str, target: str, headers: Headers, body: bytes, now: float) -> Reply | None:
        try:
            self.local.client_now = parsedate_to_datetime(_header(headers, "date")).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            self.local.client_now = None
        return super().serve(method, target, headers, body, now)

    def expire(self, now: float, token_expire: int) -> int:
        client_now = getattr(self.local, "client_now", None)
        return super().expire(now if client_now is None else client_now, token_expire)


@fault(
    name="session_cookie_stands_in_for_key",
    kind="cookie as credential",
    requirements=("LT-SEC-CLIENT-BLIND", "LT-AUTH-KEY-INVALID", "LT-AUTH-KEY-MISSING"),
)
class SessionCookieStandsInForKey(_PerRequest):
    """A grant sets a `Secure; HttpOnly` session cookie; a later request carrying it is authenticated by
    the cookie, whatever its api_key (wrong or missing)."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.sessions: dict[str, frozenset[int]] = {}

    def serve(self, method: str, target: str, headers: Headers, body: bytes, now: float) -> Reply | None:
        jar: SimpleCookie = SimpleCookie()
        with contextlib.suppress(CookieError):
            jar.load(_header(headers, "cookie"))
        sid = jar[SESSION_COOKIE].value if SESSION_COOKIE in jar else ""
        with self.lock:
            self.local.session = self.sessions.get(sid)
        self.local.scope = None
        return super().serve(method, target, headers, body, now)

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        session: frozenset[int] | None = getattr(self.local, "session", None)
        scope = session if session is not None else super().authenticate(api_key)
        self.local.scope = scope
        return scope

    def reply(self, status: int, elements: list[tuple[str, str]], *, now: float) -> Reply:
        reply = super().reply(status, elements, now=now)
        sid = secrets.token_hex(16)
        with self.lock:
            self.sessions[sid] = self.local.scope
        cookie = ("Set-Cookie", f"{SESSION_COOKIE}={sid}; Path=/; Secure; HttpOnly; SameSite=Strict")
        return Reply(reply.status, (*reply.headers, cookie), reply.body)


def _claims_internal(headers: Headers, name: str) -> bool:
    value = _header(headers, name).split(",")[0].strip()
    if name == "forwarded":
        value = value.partition("for=")[2].split(";")[0].strip('"[]')
    return value.startswith(INTERNAL_PREFIXES)


@fault(
    name="forwarded_for_loopback_skips_key",
    kind="forwarding header trusted",
    requirements=("LT-SEC-CLIENT-BLIND", "LT-AUTH-KEY-INVALID", "LT-AUTH-KEY-MISSING"),
)
class ForwardedForLoopbackSkipsKey(_PerRequest):
    """A request whose `X-Forwarded-For` names an internal address (127.x, 10.x, 192.168.x, ::1) counts
    as an internal caller: its api_key is not checked (any key, or none, acts for the reference key's
    users)."""

    def serve(self, method: str, target: str, headers: Headers, body: bytes, now: float) -> Reply | None:
        self.local.internal = _claims_internal(headers, "x-forwarded-for")
        return super().serve(method, target, headers, body, now)

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        if getattr(self.local, "internal", False):
            return next(iter(SCOPES.values()))
        return super().authenticate(api_key)


@fault(
    name="forwarded_internal_skips_scope",
    kind="forwarding header trusted",
    requirements=("LT-SEC-CLIENT-BLIND", "LT-AUTH-USER-SCOPE"),
)
class ForwardedInternalSkipsScope(_PerRequest):
    """A request whose RFC 7239 `Forwarded: for=` names an internal address may act for any existing
    user: the key is checked, its scope is not."""

    def serve(self, method: str, target: str, headers: Headers, body: bytes, now: float) -> Reply | None:
        self.local.internal = _claims_internal(headers, "forwarded")
        return super().serve(method, target, headers, body, now)

    def authorize(self, user_id: int, scope: frozenset[int]) -> None:
        super().authorize(user_id, USERS if getattr(self.local, "internal", False) else scope)


@fault(
    name="every_third_connection_unscoped",
    kind="one bad worker",
    requirements=("LT-SEC-CLIENT-BLIND", "LT-AUTH-USER-SCOPE"),
)
class EveryThirdConnectionUnscoped(_PerRequest):
    """One TCP connection in three (every third accepted) is served by a build without the scope check:
    the key may act for any existing user there."""

    def connection_opened(self, number: int, accepted_at: float) -> None:
        self.local.unscoped = number % EVERY_NTH_CONNECTION == 0

    def authorize(self, user_id: int, scope: frozenset[int]) -> None:
        super().authorize(user_id, USERS if getattr(self.local, "unscoped", False) else scope)


@fault(
    name="expire_from_connection_idle_start",
    kind="stale issue time",
    requirements=("LT-EXPIRE-CONSISTENT",),
    profile="connection_idle = 11",
)
class ExpireFromConnectionIdleStart(_PerRequest):
    """`<expire>` counts from when the connection last went idle (the previous answer on it, or its
    accept): a grant after a pause on a keep-alive connection expires too early."""

    def connection_opened(self, number: int, accepted_at: float) -> None:
        self.local.idle_since = accepted_at

    def expire(self, now: float, token_expire: int) -> int:
        return super().expire(getattr(self.local, "idle_since", now), token_expire)

    def respond(self, accepted: Accepted | None, reply: Reply, *, now: float) -> Reply:
        self.local.idle_since = time.time()
        return reply


@fault(
    name="expire_from_cached_clock",
    kind="stale issue time",
    requirements=("LT-EXPIRE-CONSISTENT",),
    profile="connection_idle = 11",
)
class ExpireFromCachedClock(Behaviour):
    """`<expire>` counts from a server-wide clock cached when the last answer went out (as servers that
    refresh a coarse time on events keep one): busy, it is exact; the first grant after a quiet spell, on
    any connection, expires too early."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.cached: float | None = None

    def expire(self, now: float, token_expire: int) -> int:
        return super().expire(now if self.cached is None else self.cached, token_expire)

    def respond(self, accepted: Accepted | None, reply: Reply, *, now: float) -> Reply:
        self.cached = time.time()
        return reply


@fault(
    name="expire_stamped_at_accept",
    kind="stale issue time",
    requirements=("LT-EXPIRE-CONSISTENT",),
    profile="connection_idle = 11",
)
class ExpireStampedAtAccept(_PerRequest):
    """`<expire>` counts from when the TCP connection was accepted, however long ago."""

    def connection_opened(self, number: int, accepted_at: float) -> None:
        self.local.accepted_at = accepted_at

    def expire(self, now: float, token_expire: int) -> int:
        return super().expire(getattr(self.local, "accepted_at", now), token_expire)


@fault(
    name="wrong_key_tells_unknown_users",
    kind="user enumeration",
    requirements=("LT-SEC-NON-INTERFERENCE",),
)
class WrongKeyTellsUnknownUsers(Behaviour):
    """The user is looked up before the key: with a wrong or missing key an unknown user is answered
    `404 the user does not exist`, an existing one `401`."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        return frozenset({-1}) if api_key not in SCOPES else SCOPES[api_key]

    def authorize(self, user_id: int, scope: frozenset[int]) -> None:
        if user_id not in USERS:
            raise Rejection(404, "the user does not exist")
        if scope == frozenset({-1}):
            raise Rejection(401, "api_key is not valid")
        super().authorize(user_id, scope)


@fault(
    name="wrong_key_slower_for_existing_users",
    kind="user enumeration by timing",
    requirements=("LT-SEC-NON-INTERFERENCE",),
)
class WrongKeySlowerForExistingUsers(Behaviour):
    """With a wrong key, a user that exists costs an extra lookup of 300 ms before the same `401`."""

    def read_form(self, body: bytes) -> list[tuple[str, str]]:
        form = super().read_form(body)
        keys = {value for name, value in form if name == "api_key"}
        users = {value for name, value in form if name == "user_id"}
        if keys and not keys <= set(SCOPES) and users & EXISTING_USER_SPELLINGS:
            self.options.stopping.wait(EXISTING_USER_LOOKUP)
        return form


@fault(
    name="foreign_refusal_names_tenant",
    kind="tenant disclosure",
    requirements=("LT-SEC-NON-INTERFERENCE",),
)
class ForeignRefusalNamesTenant(Behaviour):
    """The refusal of another tenant's user names the owning tenant: `403 user 54321 belongs to tenant
    globex-0002`."""

    def authorize(self, user_id: int, scope: frozenset[int]) -> None:
        if user_id in USERS and user_id not in scope:
            raise Rejection(403, f"user {user_id} belongs to tenant {OWNING_TENANT}")
        super().authorize(user_id, scope)
