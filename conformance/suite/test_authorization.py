"""Authorization: the key must be present and valid, and the user must exist within the key's scope."""

from __future__ import annotations

import pytest

from conformance.inputs import (
    MISSING,
    Param,
    api_key_variants,
    identity_cases,
    key_probe_cases,
    user_spelling_cases,
)
from conformance.run.engine import Run


@pytest.mark.requirements(
    "LT-AUTH-KEY-MISSING",
    "LT-AUTH-KEY-INVALID",
    "LT-REJECT-NO-TOKEN",
    "LT-SCHEMA-ERROR",
    "LT-HTTP-REJECT-4XX",
)
def test_api_key_required_and_checked(conformance: Run) -> None:
    """No key, an empty key, a wrong key, the key with a character added, an empty form: all refused."""
    cases = [conformance.case(api_key=p) for p in api_key_variants()]
    cases.append(conformance.case(api_key=MISSING, user_id=MISSING, token_expire=MISSING, label="empty form"))
    conformance.expect_all(cases)


@pytest.mark.requirements("LT-AUTH-KEY-INVALID", "LT-REJECT-NO-TOKEN", "LT-HTTP-NO-5XX")
def test_api_key_probes_refused(conformance: Run) -> None:
    """Keys derived from the configured one (case, one character, prefixes, whitespace/NUL) and the
    patterns of LIKE, glob and regex matchers, empty, blank, non-ASCII and 4 KiB keys: all refused, no 5xx."""
    conformance.expect_all(key_probe_cases(conformance.builder))


@pytest.mark.requirements("LT-AUTH-USER-UNKNOWN")
def test_unknown_user_refused(conformance: Run) -> None:
    """A token for a user that does not exist is refused."""
    conformance.expect(conformance.case(user_id=Param.of(str(conformance.builder.users.unknown_user_id))))


@pytest.mark.requirements("LT-AUTH-USER-SCOPE")
def test_user_outside_scope_refused(conformance: Run) -> None:
    """A token for an existing user outside the key's scope is refused (needs --foreign-user-id)."""
    foreign = conformance.builder.users.foreign_user_id
    if foreign is None:
        pytest.skip("no --foreign-user-id given: LT-AUTH-USER-SCOPE not exercised")
    conformance.expect(conformance.case(user_id=Param.of(str(foreign))))


@pytest.mark.requirements(
    "LT-AUTH-USER-SCOPE",
    "LT-AUTH-USER-UNKNOWN",
    "LT-AUTH-TOKEN-OWNER",
    "LT-INPUT-USER-RANGE",
    "LT-INPUT-REPEATED",
    "LT-INPUT-LENIENT-HONOURED",
)
def test_every_spelling_of_users_the_key_does_not_own(conformance: Run) -> None:
    """The foreign and unknown users zero-padded, wrapped (+2^32, +2^64), repeated, signed; huge ids."""
    conformance.expect_all(user_spelling_cases(conformance.builder))


@pytest.mark.requirements(
    "LT-SEC-IDENTITY-BLIND",
    "LT-AUTH-KEY-INVALID",
    "LT-AUTH-USER-SCOPE",
    "LT-AUTH-USER-UNKNOWN",
    "LT-HTTP-POST-ONLY",
    "LT-HTTP-PATH-VARIANT",
)
def test_refusals_do_not_depend_on_the_client_identity(conformance: Run) -> None:
    """Wrong keys, users the key does not own, GET and a path variant, each sent again at once as another
    client (User-Agent, Accept, Accept-Encoding): refused alike."""
    conformance.expect_all(identity_cases(conformance.builder))
