"""The contract of POST /v1/user/login_token as data: requirements and the ambiguity register.

Everything else reads this module: the checks name the requirement IDs they serve (``@check(serves=...)``
is the one place a requirement's checks are declared: conformance.checks.checks_serving derives them), the
reference target's faults name the requirements they must fail, reports and the README table are rendered
from it. IDs are stable: never renumber or reuse one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

ENDPOINT = "POST /v1/user/login_token"
ENDPOINT_PATH = "/v1/user/login_token"
SEED_DOCUMENT = "shared/seed/000_bb5fd846bf2e5573.txt"

TOKEN_EXPIRE_MIN = 60
TOKEN_EXPIRE_MAX = 86400


class Severity(StrEnum):
    """Allure's severity scale, reused so reports and the catalogue speak the same words."""

    BLOCKER = "blocker"
    CRITICAL = "critical"
    NORMAL = "normal"
    MINOR = "minor"


class Level(StrEnum):
    """MUST requirements decide the verdict; a failed SHOULD requirement is a warning."""

    MUST = "must"
    SHOULD = "should"


@dataclass(frozen=True)
class Requirement:
    """One testable statement of the contract."""

    id: str
    title: str
    group: str
    severity: Severity
    seed_line: int | None
    source: str
    level: Level = Level.MUST
    ambiguities: tuple[str, ...] = ()
    # A SHOULD that the strict HTTP profile (http_strict = true) holds as a MUST: an RFC MUST that stock
    # servers differ on (RFC 9110 / 9112), a warning by default.
    strict: bool = False

    def level_for(self, *, http_strict: bool) -> Level:
        """The level this requirement is judged at under the profile (http_strict: every RFC MUST a MUST)."""
        return Level.MUST if self.strict and http_strict else self.level

    @property
    def seed_ref(self) -> str:
        """Where the requirement comes from: a seed line, or this project's written assumption."""
        if self.seed_line is None:
            return self.source
        return f"{SEED_DOCUMENT}:{self.seed_line} ({self.source})"


@dataclass(frozen=True)
class Ambiguity:
    """A place where the seed is silent or contradicts itself, and the reading the suite takes."""

    id: str
    seed_line: int | None
    issue: str
    default_reading: str
    profile_setting: str | None


G_SCHEMA = "Schema"
G_HTTP = "HTTP"
G_INPUT = "Input validation"
G_AUTH = "Authorization"
G_SEMANTICS = "Response semantics"
G_SECURITY = "Security"
G_MESSAGE = "HTTP message"

_S = Severity

REQUIREMENTS: tuple[Requirement, ...] = (
    # -- schema --------------------------------------------------------------------------------------
    Requirement(
        "LT-SCHEMA-SUCCESS",
        "Success body validates against user_response.xsd",
        G_SCHEMA,
        _S.BLOCKER,
        47,
        "Schema Definition",
    ),
    Requirement(
        "LT-SCHEMA-ERROR",
        "Rejection body validates against error_response.xsd",
        G_SCHEMA,
        _S.NORMAL,
        None,
        "project assumption: schemas/error_response.xsd",
        ambiguities=("AMB-ERROR-FORMAT",),
    ),
    # -- HTTP ----------------------------------------------------------------------------------------
    Requirement(
        "LT-HTTP-SUCCESS-200",
        "An issued token is answered with HTTP 200",
        G_HTTP,
        _S.CRITICAL,
        37,
        "Sample Response <status>200</status>",
    ),
    Requirement(
        "LT-HTTP-REJECT-4XX",
        "A rejected request is answered with an HTTP 4xx status",
        G_HTTP,
        _S.CRITICAL,
        19,
        "Response Information: <status>",
        ambiguities=("AMB-REJECT-STATUS",),
    ),
    Requirement(
        "LT-HTTP-CONTENT-TYPE",
        "Responses carry Content-Type application/xml or text/xml",
        G_HTTP,
        _S.NORMAL,
        35,
        "Sample Response is an XML document",
        ambiguities=("AMB-CONTENT-TYPE",),
    ),
    Requirement(
        "LT-HTTP-STATUS-ECHO",
        "<status> equals the HTTP status code",
        G_HTTP,
        _S.NORMAL,
        19,
        "Response Information: <status>",
        ambiguities=("AMB-STATUS-ELEMENT",),
    ),
    Requirement(
        "LT-HTTP-NO-5XX",
        "No input makes the server answer 5xx",
        G_HTTP,
        _S.CRITICAL,
        None,
        "robustness: every input gets a 200 or a 4xx",
    ),
    Requirement(
        "LT-HTTP-TIMELY",
        "Every request gets a complete, bounded response within the timeout",
        G_HTTP,
        _S.CRITICAL,
        None,
        "robustness: per-request timeout (default 10 s)",
    ),
    Requirement(
        "LT-HTTP-NO-REDIRECT",
        "The endpoint answers itself and never redirects (3xx)",
        G_HTTP,
        _S.CRITICAL,
        30,
        "Sample Request: POST to the endpoint",
    ),
    # -- input validation ----------------------------------------------------------------------------
    Requirement(
        "LT-HTTP-CHARSET",
        "A Content-Type charset parameter agrees with the body's encoding",
        G_HTTP,
        _S.NORMAL,
        35,
        "Sample Response: an XML document (its encoding declared once)",
        ambiguities=("AMB-CONTENT-TYPE",),
    ),
    Requirement(
        "LT-HTTP-POST-ONLY",
        "Another method (GET, HEAD, OPTIONS, PUT, DELETE, PATCH; the form in the body or the query) is "
        "refused with a 4xx and issues no token",
        G_HTTP,
        _S.BLOCKER,
        30,
        "Sample Request: POST with form parameters",
        ambiguities=("AMB-METHODS",),
    ),
    Requirement(
        "LT-HTTP-PATH-VARIANT",
        "A variant of the endpoint path refuses, redirects to the endpoint's own path, or answers exactly "
        "like the endpoint (authorization included)",
        G_HTTP,
        _S.BLOCKER,
        30,
        "Sample Request: POST /v1/user/login_token",
        ambiguities=("AMB-PATH-VARIANT",),
    ),
    Requirement(
        "LT-INPUT-EXPIRE-VALID",
        "Every token_expire in 60..86400 is accepted",
        G_INPUT,
        _S.CRITICAL,
        14,
        "token_expire minimum 60, maximum 86400",
    ),
    Requirement(
        "LT-INPUT-EXPIRE-RANGE",
        "token_expire below 60 or above 86400 is rejected",
        G_INPUT,
        _S.CRITICAL,
        14,
        "token_expire minimum 60, maximum 86400",
    ),
    Requirement(
        "LT-INPUT-EXPIRE-MALFORMED",
        "A token_expire that is not plain decimal digits is rejected",
        G_INPUT,
        _S.CRITICAL,
        14,
        "token_expire {integer}",
        ambiguities=("AMB-NUMBER-SYNTAX",),
    ),
    Requirement(
        "LT-INPUT-EXPIRE-MISSING",
        "A request without token_expire is rejected",
        G_INPUT,
        _S.NORMAL,
        14,
        "token_expire: Required to generate token and QR code",
        ambiguities=("AMB-EXPIRE-REQUIRED",),
    ),
    Requirement(
        "LT-INPUT-USER-VALID",
        "The configured user_id is accepted in its plain decimal form",
        G_INPUT,
        _S.BLOCKER,
        13,
        "user_id {integer}",
    ),
    Requirement(
        "LT-INPUT-USER-MALFORMED",
        "A user_id that is not plain decimal digits is rejected",
        G_INPUT,
        _S.CRITICAL,
        13,
        "user_id {integer}",
        ambiguities=("AMB-NUMBER-SYNTAX",),
    ),
    Requirement(
        "LT-INPUT-USER-MISSING",
        "A request without user_id is rejected",
        G_INPUT,
        _S.CRITICAL,
        13,
        "user_id: the user to generate a token for",
    ),
    Requirement(
        "LT-INPUT-USER-RANGE",
        "A user_id above the profile's bound (default 2^63-1) is refused",
        G_INPUT,
        _S.CRITICAL,
        13,
        "user_id: the unique ID of the user",
        ambiguities=("AMB-USER-ID-BOUND",),
    ),
    Requirement(
        "LT-INPUT-REPEATED",
        "A parameter given twice with different values is rejected",
        G_INPUT,
        _S.NORMAL,
        11,
        "POST Parameters: one value each",
        ambiguities=("AMB-REPEATED-PARAMETER",),
    ),
    Requirement(
        "LT-INPUT-LENIENT-HONOURED",
        "A lenient input that is accepted is honoured exactly",
        G_INPUT,
        _S.CRITICAL,
        14,
        "token_expire seconds / user_id",
        ambiguities=("AMB-NUMBER-SYNTAX",),
    ),
    Requirement(
        "LT-INPUT-EQUIVALENT",
        "Every equivalent spelling of a valid request is honoured alike (same user, expire within "
        "tolerance), and every value is percent-decoded exactly once",
        G_INPUT,
        _S.CRITICAL,
        11,
        "POST Parameters, form-encoded; RFC 9110 sections 8.3.1 (media type case and parameters) and "
        "10.1.1 (Expect: 100-continue), RFC 9112 section 7.1 (a recipient MUST parse chunked), RFC 3986 "
        "sections 2.1 and 2.3 and the WHATWG urlencoded parser (percent-encoding, + and %20)",
        ambiguities=("AMB-SPELLING-REFUSAL",),
    ),
    # -- authorization -------------------------------------------------------------------------------
    Requirement(
        "LT-AUTH-KEY-MISSING",
        "A request without api_key is rejected",
        G_AUTH,
        _S.BLOCKER,
        12,
        "api_key: an API key that has access to the resource",
    ),
    Requirement(
        "LT-AUTH-KEY-INVALID",
        "A request with an invalid api_key is rejected",
        G_AUTH,
        _S.BLOCKER,
        12,
        "api_key: an API key that has access to the resource",
        ambiguities=("AMB-KEY-COMPARISON",),
    ),
    Requirement(
        "LT-AUTH-USER-UNKNOWN",
        "A token for a user that does not exist is refused",
        G_AUTH,
        _S.CRITICAL,
        13,
        "user_id: the unique ID of the user",
    ),
    Requirement(
        "LT-AUTH-USER-SCOPE",
        "A token for a user outside the key's scope is refused",
        G_AUTH,
        _S.BLOCKER,
        12,
        "api_key: access to the resource you want to query for",
        ambiguities=("AMB-SCOPE",),
    ),
    # -- response semantics --------------------------------------------------------------------------
    Requirement(
        "LT-AUTH-TOKEN-OWNER",
        "No token names a user the key does not own (the foreign or an unknown user), whatever was asked",
        G_AUTH,
        _S.BLOCKER,
        12,
        "api_key: access to the resource you want to query for",
        ambiguities=("AMB-SCOPE",),
    ),
    Requirement(
        "LT-AUTH-STATELESS",
        "A decision does not depend on earlier requests: the same request gets the same kind of answer "
        "whatever came before",
        G_AUTH,
        _S.BLOCKER,
        12,
        "api_key: an API key that has access to the resource",
    ),
    Requirement(
        "LT-ECHO-USER",
        "<user_id> equals the requested user (as integers)",
        G_SEMANTICS,
        _S.CRITICAL,
        21,
        "<user_id> The unique ID of the user",
    ),
    Requirement(
        "LT-TOKEN-PRESENT",
        "A success carries a non-empty <token>",
        G_SEMANTICS,
        _S.BLOCKER,
        22,
        "<token> The generated login token",
    ),
    Requirement(
        "LT-TOKEN-UNIQUE",
        "No token is ever issued twice within a run, as a token or in any other field of a grant",
        G_SEMANTICS,
        _S.BLOCKER,
        7,
        "Token Security: tokens provide temporary access",
    ),
    Requirement(
        "LT-TOKEN-STRENGTH",
        "Tokens are unpredictable: >= 64 bits, not sequential",
        G_SEMANTICS,
        _S.BLOCKER,
        7,
        "Token Security: should be handled securely",
        ambiguities=("AMB-TOKEN-FORMAT",),
    ),
    Requirement(
        "LT-TOKEN-UNPREDICTABLE",
        "No token is predicted before it is issued: not from earlier tokens (Mersenne Twister state, "
        "linear congruential or xorshift steps, a hash chain) nor from the issue time",
        G_SEMANTICS,
        _S.BLOCKER,
        7,
        "Token Security: should be handled securely (RFC 6749 10.10: a guessable credential; OWASP "
        "ASVS V3.2.2: tokens from a CSPRNG)",
        ambiguities=("AMB-TOKEN-FORMAT",),
    ),
    Requirement(
        "LT-TOKEN-ENTROPY",
        "A token sample across the run shows no collision, no biased position or character, and enough "
        "min-entropy",
        G_SEMANTICS,
        _S.BLOCKER,
        7,
        "Token Security: tokens provide temporary access",
        ambiguities=("AMB-TOKEN-SAMPLE",),
    ),
    Requirement(
        "LT-QRCODE-URL",
        "<qrcode> is an absolute https URL",
        G_SEMANTICS,
        _S.NORMAL,
        23,
        "<qrcode> URL to the QR code image",
        ambiguities=("AMB-ANYURI",),
    ),
    Requirement(
        "LT-QRCODE-DISTINCT",
        "<qrcode> differs per grant and has no unfilled template marker",
        G_SEMANTICS,
        _S.NORMAL,
        23,
        "<qrcode> URL to the QR code image (of this token)",
        ambiguities=("AMB-ANYURI",),
    ),
    Requirement(
        "LT-QRCODE-IMAGE",
        "<qrcode> serves a QR code of its own, with the token if the profile says (judged in live runs)",
        G_SEMANTICS,
        _S.NORMAL,
        23,
        "<qrcode> URL to the QR code image",
        ambiguities=("AMB-QRCODE-PAYLOAD",),
    ),
    Requirement(
        "LT-EXPIRE-CONSISTENT",
        "<expire> is the Unix time of issue + token_expire",
        G_SEMANTICS,
        _S.CRITICAL,
        24,
        "<expire> Token expiration timestamp",
        ambiguities=("AMB-EXPIRE-SAMPLE",),
    ),
    Requirement(
        "LT-REJECT-NO-TOKEN",
        "A rejection carries no token: no token element, and none issued before in any field",
        G_SEMANTICS,
        _S.BLOCKER,
        14,
        "token_expire: required to generate token",
    ),
    # -- security ------------------------------------------------------------------------------------
    Requirement(
        "LT-SEC-NO-DTD",
        "Responses carry no DTD or entity declaration",
        G_SECURITY,
        _S.CRITICAL,
        35,
        "Sample Response: a plain XML document",
    ),
    Requirement(
        "LT-SEC-KEY-NOT-ECHOED",
        "The api_key never appears in a response",
        G_SECURITY,
        _S.BLOCKER,
        7,
        "Token Security: handled securely",
    ),
    Requirement(
        "LT-SEC-IDENTITY-BLIND",
        "A decision does not depend on the client's User-Agent, Accept or Accept-Encoding",
        G_SECURITY,
        _S.BLOCKER,
        12,
        "api_key: the key decides access (RFC 9110 section 10.1.5: User-Agent is what a client claims)",
        ambiguities=("AMB-CLIENT-IDENTITY",),
    ),
    Requirement(
        "LT-SEC-CLIENT-BLIND",
        "A decision or an <expire> does not depend on a client-controlled header (Date, Cookie, "
        "X-Forwarded-For, Forwarded, X-Real-IP), an earlier error on the connection, or which connection "
        "carries the request",
        G_SECURITY,
        _S.BLOCKER,
        12,
        "api_key: the key decides access (RFC 9110 section 6.6.1: Date is the sender's clock, not the "
        "server's; RFC 7239: Forwarded is what a client or proxy claims)",
        ambiguities=("AMB-CONNECTION-SPREAD",),
    ),
    Requirement(
        "LT-SEC-NON-INTERFERENCE",
        "With a wrong or missing key the answer (status, headers, body, response time) does not depend on "
        "whether the user exists or whom it belongs to; with the right key a refusal names nothing of "
        "another tenant",
        G_SECURITY,
        _S.BLOCKER,
        12,
        "api_key: the key decides access to the resource (OWASP ASVS V2.2.1 and V3.2: no account "
        "enumeration; CWE-203 observable discrepancy, CWE-208 timing discrepancy)",
        ambiguities=("AMB-TENANT-DISCLOSURE", "AMB-RESPONSE-TIMING"),
    ),
    Requirement(
        "LT-SEC-QRCODE-THIRD-PARTY",
        "A <qrcode> on a host other than the vendor's own carries no token, api_key or user id, in any "
        "spelling",
        G_SECURITY,
        _S.BLOCKER,
        7,
        "Token Security: handled securely (OWASP ASVS V8.3.1: sensitive data not sent to third parties)",
        ambiguities=("AMB-QRCODE-HOST",),
    ),
    Requirement(
        "LT-SEC-NO-STORE",
        "A token response says Cache-Control: no-store",
        G_SECURITY,
        _S.MINOR,
        7,
        "Token Security: handled securely (RFC 9111 no-store)",
        level=Level.SHOULD,
        ambiguities=("AMB-CACHE",),
    ),
    # -- HTTP message (RFC 9110 / 9112 / 9111) ---------------------------------------------------------
    # Stock servers differ on most of these: a warning by default, a failure under http_strict; the rules
    # that protect the endpoint's secrets (framing, shared caches) are failures whatever the profile.
    Requirement(
        "LT-HTTP-MSG-DATE",
        "Every 2xx, 3xx and 4xx answer carries one Date in IMF-fixdate (GMT)",
        G_MESSAGE,
        _S.MINOR,
        None,
        "project assumption (HTTP/1.1): RFC 9110 section 6.6.1 (Date), section 5.6.7 (IMF-fixdate)",
        level=Level.SHOULD,
        strict=True,
    ),
    Requirement(
        "LT-HTTP-MSG-ALLOW",
        "A 405 answer carries Allow",
        G_MESSAGE,
        _S.MINOR,
        None,
        "project assumption (HTTP/1.1): RFC 9110 section 15.5.6 (405 Method Not Allowed)",
        level=Level.SHOULD,
        strict=True,
    ),
    Requirement(
        "LT-HTTP-MSG-HEAD",
        "An answer to HEAD carries no content",
        G_MESSAGE,
        _S.MINOR,
        None,
        "project assumption (HTTP/1.1): RFC 9110 section 9.3.2 (HEAD), RFC 9112 section 6.3",
        level=Level.SHOULD,
        strict=True,
    ),
    Requirement(
        "LT-HTTP-MSG-HOST",
        "An HTTP/1.1 request without Host, or with two, is answered 400",
        G_MESSAGE,
        _S.NORMAL,
        None,
        "project assumption (HTTP/1.1): RFC 9112 section 3.2 (Host)",
        level=Level.SHOULD,
        strict=True,
    ),
    Requirement(
        "LT-HTTP-MSG-FRAMING",
        "Conflicting Content-Length values are refused; Content-Length with Transfer-Encoding never "
        "desynchronises the connection",
        G_MESSAGE,
        _S.BLOCKER,
        7,
        "Token Security (request smuggling): RFC 9112 sections 6.1 and 6.3, RFC 9110 section 8.6",
    ),
    Requirement(
        "LT-HTTP-MSG-CONNECTION",
        "Connection: close, HTTP/1.0, absolute-form targets and pipelined requests are served as HTTP/1.1 "
        "says",
        G_MESSAGE,
        _S.NORMAL,
        None,
        "project assumption (HTTP/1.1): RFC 9112 sections 9.6 (close), 9.3.2 (pipelining), "
        "3.2.2 (absolute-form), 2.5 (HTTP/1.0)",
        level=Level.SHOULD,
        strict=True,
    ),
    Requirement(
        "LT-HTTP-MSG-BODY",
        "A chunked request body and Expect: 100-continue are handled",
        G_MESSAGE,
        _S.NORMAL,
        None,
        "project assumption (HTTP/1.1): RFC 9112 section 7.1 (chunked), RFC 9110 section 10.1.1 (Expect)",
        level=Level.SHOULD,
        strict=True,
    ),
    Requirement(
        "LT-HTTP-MSG-CACHE",
        "A token response is never storable by a shared cache (no public or s-maxage without "
        "no-store or private)",
        G_MESSAGE,
        _S.BLOCKER,
        7,
        "Token Security: handled securely (RFC 9111 section 5.2.2)",
    ),
)

AMBIGUITIES: tuple[Ambiguity, ...] = (
    Ambiguity(
        "AMB-EXPIRE-REQUIRED",
        31,
        "The sample request omits token_expire although line 14 calls it required.",
        "token_expire is required: a request without it must be rejected.",
        "token_expire_required",
    ),
    Ambiguity(
        "AMB-EXPIRE-SAMPLE",
        42,
        "The sample <expire> 9090 is neither a Unix timestamp nor a 60..86400 second count.",
        "<expire> is an absolute Unix timestamp: issue time by the suite clock (send to receive) + "
        "token_expire, within expire_tolerance seconds.",
        "expire_reading",
    ),
    Ambiguity(
        "AMB-ERROR-FORMAT",
        19,
        "The error format is undocumented.",
        "A rejection is <user_response> with <status> and <message> only (schemas/error_response.xsd).",
        "rejection_schema",
    ),
    Ambiguity(
        "AMB-CONFIDENCE-TYPE",
        50,
        "The XSD declares ConfidenceType but no element uses it.",
        "Kept verbatim in schemas/user_response.xsd; it constrains nothing.",
        None,
    ),
    Ambiguity(
        "AMB-ANYURI",
        72,
        "xs:anyURI admits relative and empty URIs for <qrcode>.",
        "<qrcode> must be an absolute URL with a host and an allowed scheme (https).",
        "qrcode_schemes",
    ),
    Ambiguity(
        "AMB-QRCODE-PAYLOAD",
        23,
        "What the QR code image encodes is undocumented.",
        "Fetched in live runs (a spread of the grants; every grant with --fetch-qrcode), never recorded: a "
        "recording or replay lists LT-QRCODE-IMAGE as not exercised unless the user declares it not "
        "applicable. The image must decode as a QR code and its payload must differ per grant; it need not "
        "contain the token.",
        "qrcode_carries_token",
    ),
    Ambiguity(
        "AMB-QRCODE-HOST",
        41,
        "Which host serves the vendor's QR images is undocumented: the sample <qrcode> elides it "
        "(https://....ee5de.png).",
        "The vendor's own QR hosts are the target's host and the hosts of its parent domain "
        "(api-app.example.com: *.example.com; an IP address: only itself) plus the profile's qrcode_hosts; "
        "a <qrcode> on any other host must not carry the token, the api_key or the user id, as is, "
        "percent-encoded or base64, in its path, query or fragment.",
        "qrcode_hosts",
    ),
    Ambiguity(
        "AMB-REJECT-STATUS",
        19,
        "Which HTTP status each rejection uses is undocumented.",
        "Any 4xx is a rejection; no particular 4xx is required.",
        "rejection_statuses",
    ),
    Ambiguity(
        "AMB-STATUS-ELEMENT",
        19,
        "<status> is 'a status code' without saying which.",
        "<status> equals the HTTP status of the same response.",
        None,
    ),
    Ambiguity(
        "AMB-CONTENT-TYPE",
        35,
        "The response media type is undocumented.",
        "application/xml or text/xml (any charset parameter).",
        "content_types",
    ),
    Ambiguity(
        "AMB-NUMBER-SYNTAX",
        13,
        "{integer} does not say which spellings are integers.",
        "Plain ASCII decimal digits. Leading zeros are lenient (either outcome, but an accepted value "
        "is honoured exactly); signs, fractions, exponents, whitespace and non-ASCII digits are invalid.",
        None,
    ),
    Ambiguity(
        "AMB-REPEATED-PARAMETER",
        11,
        "The document does not say what a repeated form parameter means.",
        "Two different values must be rejected; the same value twice is lenient.",
        None,
    ),
    Ambiguity(
        "AMB-SCOPE",
        12,
        "How a key's scope over users is defined is undocumented.",
        "The run is told one in-scope user (--user-id) and optionally one existing out-of-scope user "
        "(--foreign-user-id); other well-formed user IDs are lenient.",
        None,
    ),
    Ambiguity(
        "AMB-TOKEN-FORMAT",
        22,
        "The token's format and length are undocumented; the sample token is 10 digits.",
        "At least 64 bits judged from length and alphabet, varying positions across tokens, and no "
        "small arithmetic steps between consecutive tokens.",
        "token_min_bits",
    ),
    Ambiguity(
        "AMB-KEY-COMPARISON",
        12,
        "How the api_key is compared is undocumented.",
        "Exactly: every character, its case and the full length; the key with whitespace or NUL added is "
        "a different key. Probes derived from the configured key (case flips, one character changed, "
        "prefixes, suffixes) must all be refused.",
        None,
    ),
    Ambiguity(
        "AMB-USER-ID-BOUND",
        13,
        "{integer} has no stated range, so no id is known not to exist.",
        "User ids are at most 2^63-1 (a signed 64-bit column): a larger id names no user and is refused; "
        "below the bound, ids other than the configured ones are lenient.",
        "user_id_max",
    ),
    Ambiguity(
        "AMB-METHODS",
        30,
        "Only POST is shown; what other methods do is undocumented.",
        "Another method is refused with a 4xx (404, 405, ...) and no token, the form in the body or in "
        "the query; a 2xx or 3xx is a failure whatever its body or Location, except an empty 2xx to "
        "OPTIONS (RFC 9110 section 9.3.7, Flask's automatic OPTIONS). The valid key goes in a query "
        "string only to a loopback target or with --send-key-in-query; otherwise the query carries a "
        "fixed wrong key.",
        None,
    ),
    Ambiguity(
        "AMB-PATH-VARIANT",
        30,
        "Whether /v1/user/login_token/ and other spellings of the path are the endpoint is undocumented.",
        "A variant (trailing or doubled slash, case change, dot segment, percent-encoding, added query) "
        "may refuse (4xx) or redirect to the endpoint's own path on the same origin with no query or "
        "fragment (Starlette's redirect_slashes); a 3xx anywhere else is a failure. A variant that "
        "answers 2xx is the endpoint: judged like it, schema, key and scope checks included, so a 2xx to "
        "a request the endpoint must refuse fails whatever its body.",
        None,
    ),
    Ambiguity(
        "AMB-TOKEN-SAMPLE",
        7,
        "How random a token must be is undocumented.",
        "A sample of token_sample tokens across the run (default 776) has no position or character "
        "frequency off at p < 1e-9 (chi-square) and a min-entropy estimate (the least of the per-position "
        "one and the NIST SP 800-90B estimators over the token's characters in sequence) of at least half "
        "token_min_bits; every token of the run is checked for collisions: 776 is the fewest tokens with "
        "which a space of 2^16 repeats one with probability >= 99% (a default loopback run judges 784, in "
        "about 1,600 requests: 2^16 caught with 99.1%, 2^17 with 90.4%; token_sample = 1098 for 99% at "
        "2^17). The summary states the bounds and that probability.",
        "token_sample",
    ),
    Ambiguity(
        "AMB-CLIENT-IDENTITY",
        12,
        "The document names no client headers; a gateway may require a User-Agent.",
        "The suite sends a stock httpx client's User-Agent and Accept (--user-agent sets another); a "
        "sample of the security probes goes again as curl asking for XML without compression, and must "
        "get the same kind of answer (a token, or the same status class).",
        None,
    ),
    Ambiguity(
        "AMB-SPELLING-REFUSAL",
        11,
        "The seed shows a urlencoded body; it does not say which other ways of writing it a server must "
        "read.",
        "Content-Type parameters and case, percent-encoding (unreserved characters and lower-case hex "
        "included), + or %20, parameter order, unknown extra parameters, Expect: 100-continue, a fresh, "
        "reused or closing connection: all must be honoured like the plain request. A chunked body may be "
        "refused only with 411 Length Required (RFC 9110 section 15.5.12); 1,500 unknown fields only with "
        "400 or 413, whose message names no field of the form as missing; a JSON or multipart/form-data "
        "body with any 4xx. Whatever is granted must be honoured exactly. Requests the RFCs let servers "
        "treat differently (no Content-Type, text/plain, HTTP/1.0, absolute-form) are not sent as "
        "equivalents.",
        None,
    ),
    Ambiguity(
        "AMB-CONNECTION-SPREAD",
        12,
        "The document says nothing of connections or workers; a deployment may run several builds "
        "behind one address.",
        "Each security probe (the foreign user, an unknown user, a wrong key) goes over 24 fresh "
        "connections in a row: a worker serving one connection in k (k <= 24) is certainly hit under "
        "round-robin assignment, and with independent assignment missed with probability (1 - 1/k)^24 "
        "(k = 2: 6e-8, 3: 6e-5, 4: 1e-3, 8: 4.0%). A client Date far off, cookies the target set, "
        "X-Forwarded-For/Forwarded/X-Real-IP naming loopback or an internal address, and an earlier "
        "malformed request on the same connection change no decision and no <expire>.",
        None,
    ),
    Ambiguity(
        "AMB-TENANT-DISCLOSURE",
        12,
        "The document does not say what a refusal may tell about a user the key does not own.",
        "With the right key, the foreign and an unknown user may be refused differently (a 403 and a "
        "404 with their own messages); the refusal's text carries no credential-like value and no "
        "identifier (a word with digits, or letters joined by - _ . : @ /, an e-mail address, a number) "
        "that the request did not carry, besides its own status code; both refusals have the same "
        "headers. A tenant named by an ordinary word is beyond a generic oracle.",
        None,
    ),
    Ambiguity(
        "AMB-RESPONSE-TIMING",
        12,
        "Response times are not mentioned; networks are noisy.",
        "With a wrong key, timing_samples (16) interleaved requests each for the own and an unknown user: a "
        "Mann-Whitney U test at p < 1e-4 (two-sided) with a median difference of at least "
        "timing_min_difference_ms (50) fails; a smaller or less certain effect passes. The false-alarm "
        "rate on the conforming reference is measured by `python -m benchmarks timing`. timing_test = "
        "false turns the test off on noisy networks (the summary lists the setting).",
        "timing_test",
    ),
    Ambiguity(
        "AMB-CACHE",
        7,
        "Caching of token responses is not mentioned.",
        "A token response without Cache-Control: no-store is a warning, not a failure; one a shared cache "
        "may store (public or s-maxage, without no-store or private) fails LT-HTTP-MSG-CACHE.",
        None,
    ),
)

REQUIREMENTS_BY_ID: dict[str, Requirement] = {r.id: r for r in REQUIREMENTS}
AMBIGUITIES_BY_ID: dict[str, Ambiguity] = {a.id: a for a in AMBIGUITIES}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(r.group for r in REQUIREMENTS))


def requirement(requirement_id: str) -> Requirement:
    """The requirement with this ID; KeyError names the unknown ID."""
    try:
        return REQUIREMENTS_BY_ID[requirement_id]
    except KeyError:
        raise KeyError(f"unknown requirement ID {requirement_id!r}") from None


def catalogue_markdown(checks_of: Callable[[str], tuple[str, ...]]) -> str:
    """The requirement catalogue as a Markdown table, each requirement with ``checks_of(its ID)``."""
    lines = [
        "| ID | Requirement | Group | Severity | Level | Source | Checks |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in REQUIREMENTS:
        source = f"seed line {r.seed_line}" if r.seed_line is not None else r.source
        checks = ", ".join(f"`{c}`" for c in checks_of(r.id))
        level = f"{r.level.value} (must when http_strict)" if r.strict else r.level.value
        lines.append(
            f"| {r.id} | {r.title} | {r.group} | {r.severity.value} | {level} | {source} | {checks} |"
        )
    return "\n".join(lines)


def ambiguities_markdown() -> str:
    """The ambiguity register as a Markdown table."""
    lines = [
        "| ID | Seed line | Where the seed is silent or contradicts itself | Default reading "
        "| Profile setting |",
        "|---|---|---|---|---|",
    ]
    for a in AMBIGUITIES:
        setting = f"`{a.profile_setting}`" if a.profile_setting else "-"
        lines.append(f"| {a.id} | {a.seed_line or '-'} | {a.issue} | {a.default_reading} | {setting} |")
    return "\n".join(lines)
