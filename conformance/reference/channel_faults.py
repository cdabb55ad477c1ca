"""Built-in faults that grant on a channel the suite used not to watch (issue 19).

A grant as a redirect or as JSON, from another method or a path variant; and servers that decide by who
the client claims to be (its User-Agent and Accept headers) instead of by the key.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from conformance.core.contract import ENDPOINT_PATH
from conformance.reference.behaviour import Accepted, Behaviour, Form, Rejection, Reply, date_header
from conformance.reference.faults import fault

APP_URL = "https://app.reference.invalid/"  # where a redirecting fault sends the token
JSON_TYPE = "application/json"
# What the suite sent before issue 19 (User-Agent and Accept), and what it sends now by default.
OLD_SUITE_IDENTITY = ("login-token-conformance", "application/xml, text/xml;q=0.9, */*;q=0.1")
STOCK_AGENT_PREFIX = "python-httpx/"

Headers = tuple[tuple[str, str], ...]


def _form_of(target: str, body: bytes) -> bytes:
    """The form a lenient route reads: the query string, else the body."""
    query = urlsplit(target).query
    return query.encode("latin-1", "replace") if query else body


def _header(headers: Headers, name: str) -> str:
    return next((value for key, value in headers if key == name), "")


def _json_grant(behaviour: Behaviour, accepted: Accepted, now: float) -> Reply:
    grant = behaviour.issue(accepted, now)
    body = json.dumps(
        {"status": 200, "user_id": accepted.user_id, "token": grant.token, "expire": grant.expire}
    ).encode()
    return Reply(200, (("Content-Type", JSON_TYPE), ("Cache-Control", "no-store"), date_header(now)), body)


def _anyone(behaviour: Behaviour, form: Form) -> Accepted:
    """The request accepted whatever its key and user: only the numbers are parsed."""
    user_id = behaviour.required_number(form, "user_id")
    token_expire = behaviour.expire_range(behaviour.required_number(form, "token_expire"))
    return Accepted(user_id=user_id, token_expire=token_expire, api_key=behaviour.pick(form, "api_key"))


def _grant_anyone(behaviour: Behaviour, body: bytes, now: float) -> Reply:
    """An XML grant for any key and any user (a malformed number is still refused)."""
    try:
        accepted = _anyone(behaviour, behaviour.read_form(body))
    except Rejection as rejection:
        return behaviour.reject(rejection, now=now)
    grant = behaviour.issue(accepted, now)
    return behaviour.reply(behaviour.SUCCESS_STATUS, behaviour.success_elements(grant), now=now)


@fault(name="get_redirects_token", kind="method confusion", requirements=("LT-HTTP-POST-ONLY",))
class GetRedirectsToken(Behaviour):
    """GET with the form (in the query or the body) is granted as `302 Location: https://app…/#token=…`,
    with an empty body."""

    ROUTES_ELSEWHERE = True

    def route(self, method: str, target: str, body: bytes, now: float) -> Reply | None:
        if method != "GET" or urlsplit(target).path != ENDPOINT_PATH:
            return super().route(method, target, body, now)
        try:
            accepted = self.validate(self.read_form(_form_of(target, body)))
        except Rejection as rejection:
            return self.reject(rejection, now=now)
        grant = self.issue(accepted, now)
        location = f"{APP_URL}#token={grant.token}"
        return Reply(302, (("Location", location), ("Cache-Control", "no-store"), date_header(now)), b"")


@fault(name="get_answers_json_token", kind="method confusion", requirements=("LT-HTTP-POST-ONLY",))
class GetAnswersJsonToken(Behaviour):
    """GET with the form (in the query or the body) and a valid key is answered `200` JSON
    `{"token": …}`, for any user, the foreign one included (a JSON API route without the scope check)."""

    ROUTES_ELSEWHERE = True

    def route(self, method: str, target: str, body: bytes, now: float) -> Reply | None:
        if method != "GET" or urlsplit(target).path != ENDPOINT_PATH:
            return super().route(method, target, body, now)
        try:
            form = self.read_form(_form_of(target, body))
            self.authenticate(self.pick(form, "api_key"))
            accepted = _anyone(self, form)
        except Rejection as rejection:
            return self.reject(rejection, now=now)
        return _json_grant(self, accepted, now)


@fault(
    name="trailing_slash_grants_json",
    kind="path confusion",
    requirements=("LT-HTTP-PATH-VARIANT", "LT-AUTH-KEY-INVALID", "LT-AUTH-USER-SCOPE"),
)
class TrailingSlashGrantsJson(Behaviour):
    """POST to the path with a trailing slash reaches a JSON route that grants any key and any user."""

    ROUTES_ELSEWHERE = True

    def route(self, method: str, target: str, body: bytes, now: float) -> Reply | None:
        if method != "POST" or urlsplit(target).path != ENDPOINT_PATH + "/":
            return super().route(method, target, body, now)
        try:
            accepted = _anyone(self, self.read_form(body))
        except Rejection as rejection:
            return self.reject(rejection, now=now)
        return _json_grant(self, accepted, now)


@fault(
    name="trailing_slash_redirect_with_token", kind="path confusion", requirements=("LT-HTTP-PATH-VARIANT",)
)
class TrailingSlashRedirectWithToken(Behaviour):
    """POST to the path with a trailing slash is redirected (`308`) to the endpoint with a fresh session
    token in the query, whatever the key."""

    ROUTES_ELSEWHERE = True

    def route(self, method: str, target: str, body: bytes, now: float) -> Reply | None:
        if method != "POST" or urlsplit(target).path != ENDPOINT_PATH + "/":
            return super().route(method, target, body, now)
        location = f"{ENDPOINT_PATH}?session={self.token()}"
        return Reply(308, (("Location", location), ("Cache-Control", "no-store"), date_header(now)), b"")


@fault(
    name="grants_unless_suite_identity",
    kind="client identity",
    requirements=("LT-AUTH-KEY-INVALID", "LT-AUTH-KEY-MISSING", "LT-AUTH-USER-SCOPE"),
)
class GrantsUnlessSuiteIdentity(Behaviour):
    """Any key and any user are granted unless the request carries the suite's former User-Agent
    (`login-token-conformance`) and Accept header: a server that behaves only for the test suite."""

    def serve(self, method: str, target: str, headers: Headers, body: bytes, now: float) -> Reply | None:
        suite = (_header(headers, "user-agent"), _header(headers, "accept")) == OLD_SUITE_IDENTITY
        if suite or method != "POST" or urlsplit(target).path != ENDPOINT_PATH:
            return super().serve(method, target, headers, body, now)
        return _grant_anyone(self, body, now)


@fault(
    name="grants_unless_stock_identity",
    kind="client identity",
    requirements=("LT-SEC-IDENTITY-BLIND", "LT-AUTH-KEY-INVALID"),
)
class GrantsUnlessStockIdentity(Behaviour):
    """Any key and any user are granted unless the request looks like the suite's default client (a
    `python-httpx/` User-Agent with `Accept: */*`): a server that learnt the suite's new headers."""

    def serve(self, method: str, target: str, headers: Headers, body: bytes, now: float) -> Reply | None:
        stock = (
            _header(headers, "user-agent").startswith(STOCK_AGENT_PREFIX)
            and _header(headers, "accept") == "*/*"
        )
        if stock or method != "POST" or urlsplit(target).path != ENDPOINT_PATH:
            return super().serve(method, target, headers, body, now)
        return _grant_anyone(self, body, now)
