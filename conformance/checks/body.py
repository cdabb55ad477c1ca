"""Body checks: schema validity and the elements that echo the request and the HTTP status."""

from __future__ import annotations

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject
from conformance.core import schema
from conformance.core.model import CheckFailure, Expect, plain_integer

_TITLE_OVER_LIMIT = "body exceeds the structural limits (not parsed or validated)"


@check(serves=("LT-SCHEMA-SUCCESS", "LT-SCHEMA-ERROR"))
def schema_conformance(subject: Subject, ctx: CheckContext) -> str | None:
    """A 2xx body validates against the success XSD, a 4xx body against the rejection XSD."""
    if not subject.decided:
        return None
    success = 200 <= subject.status < 300
    requirement = "LT-SCHEMA-SUCCESS" if success else "LT-SCHEMA-ERROR"
    schema_name = ctx.profile.success_schema if success else ctx.profile.rejection_schema
    document = subject.document
    if document.root is None:
        raise CheckFailure(
            requirement,
            _TITLE_OVER_LIMIT if document.over_limit else "body is not a well-formed XML document",
            f"XML valid against {schema_name}",
            document.error or "no document",
        )
    errors = schema.body_validation_errors(schema_name, subject.exchange.body, document.root)
    if errors:
        raise CheckFailure(
            requirement,
            f"body invalid against {schema_name}",
            f"valid against {schema_name} for xmlschema and libxml2 alike",
            " | ".join(errors),
        )
    return requirement


def _integer(text: str | None) -> int | None:
    return plain_integer((text or "").strip())


@check(serves=("LT-HTTP-STATUS-ECHO",))
def status_element_echo(subject: Subject, ctx: CheckContext) -> str | None:
    """<status> equals the HTTP status of the same response."""
    if not subject.decided:
        return None
    text = subject.document.field("status")
    if text is None:
        return None  # the schema check reports the missing element
    if _integer(text) != subject.status:
        raise CheckFailure(
            "LT-HTTP-STATUS-ECHO",
            "<status> differs from the HTTP status",
            f"<status>{subject.status}</status>",
            f"<status>{text.strip()[:50]}</status>",
        )
    return "LT-HTTP-STATUS-ECHO"


def user_id_mismatch(subject: Subject) -> tuple[str, str] | None:
    """(expected, received) when the echoed <user_id> differs from the requested user, else None."""
    wanted = subject.case.user_id
    text = subject.document.field("user_id")
    if wanted is None or text is None or _integer(text) == wanted:
        return None
    return f"<user_id>{wanted}</user_id>", f"<user_id>{text.strip()[:50]}</user_id>"


@check(serves=("LT-ECHO-USER",))
def user_id_echo(subject: Subject, ctx: CheckContext) -> str | None:
    """<user_id> of a grant equals the requested user, compared as integers."""
    if not subject.issued or subject.case.expect is Expect.EITHER or subject.case.user_id is None:
        return None
    mismatch = user_id_mismatch(subject)
    if mismatch:
        raise CheckFailure("LT-ECHO-USER", "token issued for a different user", *mismatch)
    return "LT-ECHO-USER" if subject.document.field("user_id") is not None else None


@check(serves=("LT-AUTH-TOKEN-OWNER",))
def token_user_owned(subject: Subject, ctx: CheckContext) -> str | None:
    """A token never names a user the key does not own (the foreign or an unknown user)."""
    if not subject.issued or not subject.token:
        return None
    echoed = _integer(subject.document.field("user_id"))
    if echoed is not None and echoed in ctx.not_owned:
        raise CheckFailure(
            "LT-AUTH-TOKEN-OWNER",
            "token issued for a user the key does not own",
            "a token only for a user in the key's scope",
            f"<user_id>{echoed}</user_id> (the foreign or an unknown user) for {subject.case.label[:80]}",
        )
    return "LT-AUTH-TOKEN-OWNER"
