"""Built-in faults in the HTTP/1.1 server layer (issue 21): what RFC 9110 / 9111 / 9112 require of every
answer and every connection, broken one rule at a time.

Most turn off one of Behaviour's HTTP knobs, which reference/server.py reads; the others override the
stage that writes Date or the headers of a grant.
"""

from __future__ import annotations

from email.utils import formatdate

from conformance.reference.behaviour import CONTENT_TYPE, Behaviour
from conformance.reference.faults import fault

# A fault overrides a stage with the stage's full signature, used or not.
# ruff: noqa: ARG002


@fault(name="no_allow_on_405", kind="HTTP message: 405 without Allow", requirements=("LT-HTTP-MSG-ALLOW",))
class NoAllowOn405(Behaviour):
    """A 405 to another method says nothing of the methods allowed (no `Allow`)."""

    ALLOW_ON_405 = False


@fault(name="no_date_header", kind="HTTP message: no Date", requirements=("LT-HTTP-MSG-DATE",))
class NoDateHeader(Behaviour):
    """No answer carries a `Date` header."""

    def http_date(self, now: float) -> tuple[tuple[str, str], ...]:
        return ()


@fault(name="date_not_gmt", kind="HTTP message: Date not GMT", requirements=("LT-HTTP-MSG-DATE",))
class DateNotGmt(Behaviour):
    """`Date` is an RFC 2822 date with a numeric zone (`... 21:10:13 -0000`), not an IMF-fixdate in GMT."""

    def http_date(self, now: float) -> tuple[tuple[str, str], ...]:
        return (("Date", formatdate(now)),)


@fault(
    name="host_missing_served",
    kind="HTTP message: Host not required",
    requirements=("LT-HTTP-MSG-HOST",),
)
class HostMissingServed(Behaviour):
    """An HTTP/1.1 request without `Host`, or with two, is served like any other (a warning by default, a
    failure under the strict HTTP profile)."""

    HTTP_REQUIRE_HOST = False


@fault(
    name="connection_close_ignored",
    kind="HTTP message: Connection: close ignored",
    requirements=("LT-HTTP-MSG-CONNECTION",),
)
class ConnectionCloseIgnored(Behaviour):
    """`Connection: close` is ignored: the connection stays open after the answer."""

    HTTP_HONOUR_CLOSE = False


@fault(
    name="pipelined_second_unanswered",
    kind="HTTP message: pipelining",
    requirements=("LT-HTTP-MSG-CONNECTION",),
)
class PipelinedSecondUnanswered(Behaviour):
    """A request already waiting behind the one answered (pipelined) is never answered: the connection is
    closed."""

    HTTP_PIPELINING = False


@fault(
    name="absolute_form_not_found",
    kind="HTTP message: absolute-form refused",
    requirements=("LT-HTTP-MSG-CONNECTION",),
)
class AbsoluteFormNotFound(Behaviour):
    """A request to the endpoint's absolute URL (`POST http://host/v1/user/login_token`) is a 404, as if
    the URL were a path."""

    HTTP_ABSOLUTE_FORM = False


@fault(
    name="conflicting_lengths_first_wins",
    kind="HTTP message: request smuggling",
    requirements=("LT-HTTP-MSG-FRAMING",),
)
class ConflictingLengthsFirstWins(Behaviour):
    """Two different `Content-Length` values are accepted: the first wins (the request-smuggling
    pattern)."""

    HTTP_REFUSE_CONFLICTING_LENGTHS = False


@fault(
    name="length_with_chunked_read_by_length",
    kind="HTTP message: request smuggling",
    requirements=("LT-HTTP-MSG-FRAMING",),
)
class LengthWithChunkedReadByLength(Behaviour):
    """`Content-Length` with `Transfer-Encoding: chunked`: the body is read by `Content-Length` and the
    connection kept open, so the chunked rest is read as the next request."""

    HTTP_REFUSE_LENGTH_WITH_CHUNKED = False


@fault(name="chunked_body_ignored", kind="HTTP message: chunked body", requirements=("LT-HTTP-MSG-BODY",))
class ChunkedBodyIgnored(Behaviour):
    """A chunked request body is ignored: the form is read as empty (a 401, api_key missing)."""

    HTTP_READ_CHUNKED = False


@fault(name="head_with_content", kind="HTTP message: HEAD", requirements=("LT-HTTP-MSG-HEAD",))
class HeadWithContent(Behaviour):
    """An answer to HEAD sends its body after the header section."""

    HTTP_HEAD_WITHOUT_CONTENT = False


@fault(
    name="grant_cacheable_public",
    kind="HTTP message: shared cache",
    requirements=("LT-HTTP-MSG-CACHE",),
)
class GrantCacheablePublic(Behaviour):
    """A grant says `Cache-Control: public, max-age=300`: any shared cache on the way may store the token."""

    def headers(self, *, success: bool) -> tuple[tuple[str, str], ...]:
        if not success:
            return super().headers(success=success)
        return (("Content-Type", CONTENT_TYPE), ("Cache-Control", "public, max-age=300"))
