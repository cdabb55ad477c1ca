"""Built-in faults that show only in some order of requests (issue 20): state kept between requests.

Each answers every request plausibly on its own; only a sequence the suite's fixed tests never send (a
refusal, a grant, the refusal again; a cookie the target set sent back) turns a refusal into a grant.
The stateful exploration (``conformance/run/stateful.py``) finds them.
"""

from __future__ import annotations

import secrets
import threading

from conformance.reference.behaviour import USERS, Accepted, Behaviour, Form, Options, Rejection, Reply
from conformance.reference.faults import fault

SESSION_COOKIE = "session"

Headers = tuple[tuple[str, str], ...]


@fault(
    name="wrong_key_aliased_after_grant",
    kind="authentication state",
    requirements=("LT-AUTH-KEY-INVALID", "LT-AUTH-STATELESS"),
)
class WrongKeyAliasedAfterGrant(Behaviour):
    """A wrong api_key refused for a user and directly followed by that user's grant under the right key is
    taken for the user's rotated key: sent again as the next request, the wrong key is granted (a second
    try that succeeds)."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        # (granted, api_key, user_id as sent) of the previous request
        self.previous: tuple[bool, str | None, str | None] | None = None
        self.alias: tuple[str, str | None, str] | None = None  # (wrong key, user_id as sent, its right key)

    def validate(self, form: Form) -> Accepted:
        api_key, user = self.pick(form, "api_key"), self.pick(form, "user_id")
        with self.lock:
            previous, alias, self.alias = self.previous, self.alias, None
        if alias is not None and alias[:2] == (api_key, user):
            form = [(name, alias[2] if name == "api_key" else value) for name, value in form]
        try:
            accepted = super().validate(form)
        except Rejection:
            with self.lock:
                self.previous = (False, api_key, user)
            raise
        with self.lock:
            if previous is not None and api_key is not None:
                granted, refused_key, refused_user = previous
                if not granted and refused_key not in (None, api_key) and refused_user == user:
                    self.alias = (refused_key or "", user, api_key)
            self.previous = (True, api_key, user)
        return accepted


@fault(
    name="session_cookie_skips_authorization",
    kind="authentication state",
    # a wrong key, a missing one or a foreign user, whichever refusal a sequence sends with the cookie
    requirements=("LT-AUTH-STATELESS",),
)
class SessionCookieSkipsAuthorization(Behaviour):
    """A grant sets a session cookie (`Secure`, as on the https deployment); a later request carrying it
    is served as authenticated and authorised: neither its api_key nor the user's scope is checked (a
    user cached after a grant)."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.sessions: set[str] = set()
        self.local = threading.local()

    def serve(self, method: str, target: str, headers: Headers, body: bytes, now: float) -> Reply | None:
        cookies = "; ".join(value for name, value in headers if name == "cookie")
        sent = {part.strip().partition("=")[2] for part in cookies.split(";") if "=" in part}
        with self.lock:
            self.local.session = bool(sent & self.sessions)
        return super().serve(method, target, headers, body, now)

    def validate(self, form: Form) -> Accepted:
        if not getattr(self.local, "session", False):
            return super().validate(form)
        user_id = self.required_number(form, "user_id")
        token_expire = self.expire_range(self.required_number(form, "token_expire"))
        if user_id not in USERS:
            raise Rejection(404, "the user does not exist")
        return Accepted(user_id=user_id, token_expire=token_expire, api_key=self.pick(form, "api_key"))

    def respond(self, accepted: Accepted | None, reply: Reply, *, now: float) -> Reply:  # noqa: ARG002
        if accepted is None:
            return reply
        session = secrets.token_hex(16)
        with self.lock:
            self.sessions.add(session)
        cookie = ("Set-Cookie", f"{SESSION_COOKIE}={session}; Path=/; Secure; HttpOnly; SameSite=Strict")
        return Reply(reply.status, (*reply.headers, cookie), reply.body)
