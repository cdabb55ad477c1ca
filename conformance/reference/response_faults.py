"""Built-in faults in how the target renders its answer and sends it over HTTP."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from conformance.reference.behaviour import (
    CONTENT_TYPE,
    LOGIN_URL,
    Accepted,
    Behaviour,
    Elements,
    Grant,
    Rejection,
    Reply,
    date_header,
)
from conformance.reference.faults import fault

# A fault overrides a stage with the stage's full signature, used or not.
# ruff: noqa: ARG002

REDIRECT_LOCATION = "http://127.0.0.2:9/v1/user/login"  # nothing listens there; a client must not go
NAMESPACE = "urn:example:login-token"
CHART_SERVICE = "https://charts.example.net/chart?cht=qr&chs=300x300&chl="  # a host no target owns
DTD = '<!DOCTYPE user_response [<!ENTITY vendor "Reference">]>'

# -- success body ----------------------------------------------------------------------------------


def _without(elements: Elements, tag: str) -> Elements:
    return [(t, text) for t, text in elements if t != tag]


def _replaced(elements: Elements, tag: str, text: str) -> Elements:
    return [(t, text if t == tag else old) for t, old in elements]


@fault(
    name="qrcode_missing", kind="schema: element missing", requirements=("LT-SCHEMA-SUCCESS", "LT-QRCODE-URL")
)
class QrcodeMissing(Behaviour):
    """A success has no `<qrcode>` element."""

    def success_elements(self, grant: Grant) -> Elements:
        return _without(super().success_elements(grant), "qrcode")


@fault(name="extra_element", kind="schema: extra element", requirements=("LT-SCHEMA-SUCCESS",))
class ExtraElement(Behaviour):
    """A success carries an undeclared `<session>` element after `<expire>`."""

    def success_elements(self, grant: Grant) -> Elements:
        return [*super().success_elements(grant), ("session", secrets.token_hex(8))]


@fault(name="elements_reordered", kind="schema: order", requirements=("LT-SCHEMA-SUCCESS",))
class ElementsReordered(Behaviour):
    """A success lists `<token>` before `<user_id>`."""

    def success_elements(self, grant: Grant) -> Elements:
        elements = super().success_elements(grant)
        order = ["status", "message", "token", "user_id", "qrcode", "expire"]
        return sorted(elements, key=lambda element: order.index(element[0]))


@fault(name="element_duplicated", kind="schema: duplicate", requirements=("LT-SCHEMA-SUCCESS",))
class ElementDuplicated(Behaviour):
    """A success carries `<message>` twice."""

    def success_elements(self, grant: Grant) -> Elements:
        elements = super().success_elements(grant)
        return [*elements[:2], elements[1], *elements[2:]]


@fault(name="default_namespace", kind="schema: namespace", requirements=("LT-SCHEMA-SUCCESS",))
class DefaultNamespace(Behaviour):
    """A success puts `<user_response>` in a default namespace the schema does not declare."""

    def document(self, elements: Elements, *, success: bool) -> str:
        text = super().document(elements, success=success)
        if not success:
            return text
        return text.replace("<user_response>", f'<user_response xmlns="{NAMESPACE}">', 1)


@fault(name="expire_float_lexical", kind="schema: lexical type", requirements=("LT-SCHEMA-SUCCESS",))
class ExpireFloatLexical(Behaviour):
    """`<expire>` is written as a float ("1764290000.0"), not an xs:nonNegativeInteger."""

    def success_elements(self, grant: Grant) -> Elements:
        return _replaced(super().success_elements(grant), "expire", f"{grant.expire}.0")


@fault(name="qrcode_stray_percent", kind="schema: xs:anyURI", requirements=("LT-SCHEMA-SUCCESS",))
class QrcodeStrayPercent(Behaviour):
    """`<qrcode>` ends in a stray `%`: no RFC 3986 URI, so no xs:anyURI (xmlschema accepts it, libxml2
    does not)."""

    def success_elements(self, grant: Grant) -> Elements:
        return _replaced(super().success_elements(grant), "qrcode", f"{grant.qrcode}%")


@fault(name="indent_no_break_space", kind="schema: element-only content", requirements=("LT-SCHEMA-SUCCESS",))
class IndentNoBreakSpace(Behaviour):
    """A success is indented with NO-BREAK SPACEs: character data in element-only content (xmlschema
    accepts it, libxml2 does not)."""

    def document(self, elements: Elements, *, success: bool) -> str:
        text = super().document(elements, success=success)
        return text.replace("    <", "\u00a0\u00a0<") if success else text


@fault(
    name="status_word", kind="schema: lexical type", requirements=("LT-SCHEMA-SUCCESS", "LT-HTTP-STATUS-ECHO")
)
class StatusWord(Behaviour):
    """A success says `<status>OK</status>` instead of a number."""

    def success_elements(self, grant: Grant) -> Elements:
        return _replaced(super().success_elements(grant), "status", "OK")


@fault(name="status_element_201", kind="status mismatch", requirements=("LT-HTTP-STATUS-ECHO",))
class StatusElement201(Behaviour):
    """A success answers HTTP 200 but says `<status>201</status>`."""

    def success_elements(self, grant: Grant) -> Elements:
        return _replaced(super().success_elements(grant), "status", "201")


@fault(name="user_id_echo_off_by_one", kind="echo mismatch", requirements=("LT-ECHO-USER",))
class UserIdEchoOffByOne(Behaviour):
    """`<user_id>` names the next user (requested + 1)."""

    def success_elements(self, grant: Grant) -> Elements:
        return _replaced(super().success_elements(grant), "user_id", str(grant.request.user_id + 1))


@fault(name="api_key_echoed", kind="secret echoed", requirements=("LT-SEC-KEY-NOT-ECHOED",))
class ApiKeyEchoed(Behaviour):
    """A success's `<message>` quotes the api_key it was issued under."""

    def success_elements(self, grant: Grant) -> Elements:
        message = f"Token issued for api_key {grant.request.api_key}"
        return _replaced(super().success_elements(grant), "message", message)


@fault(
    name="qrcode_third_party_chart",
    kind="secret to a third party",
    requirements=("LT-SEC-QRCODE-THIRD-PARTY",),
)
class QrcodeThirdPartyChart(Behaviour):
    """`<qrcode>` is drawn by a third-party chart service, the login URL with the token in its query."""

    def success_elements(self, grant: Grant) -> Elements:
        login = quote(f"{LOGIN_URL}?token={grant.token}", safe="")
        return _replaced(super().success_elements(grant), "qrcode", f"{CHART_SERVICE}{login}")


@fault(name="dtd_declared", kind="DTD in body", requirements=("LT-SEC-NO-DTD",))
class DtdDeclared(Behaviour):
    """Every body carries a DOCTYPE with an internal entity declaration."""

    def document(self, elements: Elements, *, success: bool) -> str:
        prolog, _, rest = super().document(elements, success=success).partition("\n")
        return f"{prolog}\n{DTD}\n{rest}"


# -- rejection body --------------------------------------------------------------------------------


@fault(name="rejection_plain_text", kind="rejection schema", requirements=("LT-SCHEMA-ERROR",))
class RejectionPlainText(Behaviour):
    """A rejection's body is the plain text "Bad Request", not XML."""

    def rejection_document(self, rejection: Rejection) -> str:
        return "Bad Request\n"


@fault(
    name="rejection_with_token",
    kind="token in rejection",
    requirements=("LT-REJECT-NO-TOKEN", "LT-SCHEMA-ERROR"),
)
class RejectionWithToken(Behaviour):
    """A rejection still carries a freshly generated `<token>`."""

    def rejection_elements(self, rejection: Rejection) -> Elements:
        return [*super().rejection_elements(rejection), ("token", self.token())]


# -- HTTP ------------------------------------------------------------------------------------------


@fault(name="content_type_html", kind="content type", requirements=("LT-HTTP-CONTENT-TYPE",))
class ContentTypeHtml(Behaviour):
    """Every response says Content-Type: text/html."""

    def headers(self, *, success: bool) -> tuple[tuple[str, str], ...]:
        return tuple(
            ("Content-Type", "text/html; charset=utf-8") if k == "Content-Type" else (k, v)
            for k, v in super().headers(success=success)
        )


@fault(name="cache_control_missing", kind="caching", requirements=("LT-SEC-NO-STORE",))
class CacheControlMissing(Behaviour):
    """No response says Cache-Control: no-store (a SHOULD: the suite warns)."""

    def headers(self, *, success: bool) -> tuple[tuple[str, str], ...]:
        return tuple((k, v) for k, v in super().headers(success=success) if k != "Cache-Control")


@fault(name="success_http_201", kind="success status", requirements=("LT-HTTP-SUCCESS-200",))
class SuccessHttp201(Behaviour):
    """An issued token is answered with HTTP 201 Created (and `<status>201</status>`)."""

    SUCCESS_STATUS = 201


@fault(
    name="rejection_http_200",
    kind="rejection status",
    requirements=("LT-HTTP-REJECT-4XX", "LT-HTTP-STATUS-ECHO"),
)
class RejectionHttp200(Behaviour):
    """A rejection is answered with HTTP 200 while its body says `<status>4xx</status>`."""

    def respond(self, accepted: Accepted | None, reply: Reply, *, now: float) -> Reply:
        if reply.status >= 400:
            return Reply(200, reply.headers, reply.body)
        return reply


@fault(
    name="server_error_on_max_expire",
    kind="5xx on edge input",
    requirements=("LT-HTTP-NO-5XX",),
    whole_run=True,  # token_expire=86400 is sent by the tests of other requirements
)
class ServerErrorOnMaxExpire(Behaviour):
    """token_expire=86400 overflows an internal 16-bit field and the target answers 500."""

    def respond(self, accepted: Accepted | None, reply: Reply, *, now: float) -> Reply:
        if accepted is not None and accepted.token_expire == self.EXPIRE_MAX:
            body = self.rejection_document(Rejection(500, "internal server error")).encode("utf-8")
            return Reply(500, (*self.headers(success=False), date_header(now)), body)
        return reply


@fault(name="redirect_on_auth_failure", kind="redirect", requirements=("LT-HTTP-NO-REDIRECT",))
class RedirectOnAuthFailure(Behaviour):
    """A missing or invalid api_key is answered 302 to a login page on another host."""

    def respond(self, accepted: Accepted | None, reply: Reply, *, now: float) -> Reply:
        if reply.status == 401:
            headers = (("Content-Type", CONTENT_TYPE), ("Location", REDIRECT_LOCATION), date_header(now))
            return Reply(302, headers, b"")
        return reply


@fault(
    name="slow_on_min_expire",
    kind="slow response",
    requirements=("LT-HTTP-TIMELY",),
    recordable=False,
    whole_run=True,  # token_expire=60 is sent by the tests of other requirements
)
class SlowOnMinExpire(Behaviour):
    """token_expire=60 is answered only after slow_delay seconds (longer than the client timeout)."""

    def respond(self, accepted: Accepted | None, reply: Reply, *, now: float) -> Reply:
        if accepted is not None and accepted.token_expire == self.EXPIRE_MIN:
            self.options.stopping.wait(self.options.slow_delay)
        return reply


@fault(name="charset_label_utf16", kind="charset", requirements=("LT-HTTP-CHARSET",))
class CharsetLabelUtf16(Behaviour):
    """Content-Type says `charset=utf-16` while the body is UTF-8."""

    def headers(self, *, success: bool) -> tuple[tuple[str, str], ...]:
        return (("Content-Type", "application/xml; charset=utf-16"), ("Cache-Control", "no-store"))


@fault(name="digit_run_overflow", kind="5xx on edge input", requirements=("LT-HTTP-NO-5XX",))
class DigitRunOverflow(Behaviour):
    """A number is converted from its leading digits into a 64-bit integer before its suffix is
    validated (a decimal point goes another way): 19 or more digits followed by junk crash (500)."""

    def number(self, name: str, raw: str) -> int:
        digits = len(raw) - len(raw.lstrip("0123456789"))
        suffix = raw[digits:]
        if suffix and not suffix.startswith(".") and int(raw[:digits] or "0") >= 2**63:
            raise OverflowError(f"{name} does not fit in int64")
        return super().number(name, raw)


def _sent_key(behaviour: Behaviour, request_body: bytes) -> str:
    """The api_key a request's form carried ('' when none could be read)."""
    try:
        key = behaviour.pick(behaviour.read_form(request_body), "api_key") or ""
    except Rejection:
        return ""
    return "".join(c for c in key if c.isprintable())  # a probe's CR, LF or NUL would end the field


@fault(
    name="key_in_early_hints",
    kind="key echoed on a channel clients drop",
    requirements=("LT-SEC-KEY-NOT-ECHOED",),
)
class KeyInEarlyHints(Behaviour):
    """Every answer to an HTTP/1.1 request comes after a 103 (Early Hints) whose `Link` carries the
    api_key: most clients drop interim responses, intermediaries and logs keep them."""

    def interim_headers(self, request_body: bytes) -> tuple[tuple[str, str], ...]:
        key = _sent_key(self, request_body)
        return (("Link", f"</session/{key}>; rel=preload"),) if key else ()


@fault(
    name="key_in_trailer",
    kind="key echoed on a channel clients drop",
    requirements=("LT-SEC-KEY-NOT-ECHOED",),
)
class KeyInTrailer(Behaviour):
    """Every answer to an HTTP/1.1 request is sent chunked, with the api_key in a trailer field that most
    clients never read."""

    def trailers(self, request_body: bytes) -> tuple[tuple[str, str], ...]:
        key = _sent_key(self, request_body)
        return (("X-Request-Key", key),) if key else ()
