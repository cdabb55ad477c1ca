"""Side channels: what the client should not control decides nothing, and refusals tell nothing.

Headers a client sets (Date, cookies, forwarding claims), an earlier error, the connection a request
travels on and how long it idled change no decision and no <expire> (LT-SEC-CLIENT-BLIND,
LT-EXPIRE-CONSISTENT); with a wrong or missing key the answer and its timing do not depend on the user,
and a refusal names nothing of another tenant (LT-SEC-NON-INTERFERENCE).
"""

from __future__ import annotations

import pytest

from conformance.inputs.side_channels import (
    after_error_cases,
    cookie_cases,
    cookie_header,
    fresh_connection_cases,
    header_cases,
    non_interference_cases,
    timing_cases,
)
from conformance.run.engine import Run


@pytest.mark.requirements(
    "LT-SEC-CLIENT-BLIND",
    "LT-EXPIRE-CONSISTENT",
    "LT-AUTH-KEY-INVALID",
    "LT-AUTH-KEY-MISSING",
    "LT-AUTH-USER-SCOPE",
)
def test_client_headers_decide_nothing(conformance: Run) -> None:
    """A far-off client Date, and X-Forwarded-For/Forwarded/X-Real-IP naming loopback or an internal
    address: each request decided as when sent plainly, every <expire> from the server's clock."""
    conformance.expect_all(header_cases(conformance.builder))


@pytest.mark.requirements(
    "LT-SEC-CLIENT-BLIND", "LT-AUTH-KEY-INVALID", "LT-AUTH-KEY-MISSING", "LT-AUTH-USER-SCOPE"
)
def test_cookies_never_stand_in_for_the_key(conformance: Run) -> None:
    """The cookies a grant set, sent back with a wrong key, no key and users the key does not own: refused
    as without them (nothing to send when the target sets no cookie)."""
    grant = conformance.expect(conformance.case(label="a grant (its cookies are sent back)"))
    cookie = cookie_header(grant.header_values("set-cookie"))
    conformance.expect_all(cookie_cases(conformance.builder, cookie))


@pytest.mark.requirements("LT-SEC-CLIENT-BLIND", "LT-AUTH-KEY-INVALID", "LT-AUTH-USER-SCOPE")
def test_an_error_changes_no_later_decision(conformance: Run) -> None:
    """A grant, a wrong key and a user the key does not own, each again right after a malformed request on
    the same connection: decided alike."""
    conformance.expect_all(after_error_cases(conformance.builder))


@pytest.mark.requirements(
    "LT-SEC-CLIENT-BLIND", "LT-AUTH-KEY-INVALID", "LT-AUTH-USER-SCOPE", "LT-AUTH-USER-UNKNOWN"
)
def test_security_probes_on_many_connections(conformance: Run) -> None:
    """The foreign user, an unknown user and a wrong key, each on 24 fresh connections in a row: a worker
    serving one connection in k <= 8 is hit (AMB-CONNECTION-SPREAD states the probability)."""
    conformance.expect_all(fresh_connection_cases(conformance.builder))


@pytest.mark.requirements("LT-EXPIRE-CONSISTENT")
def test_grant_on_an_idle_connection(conformance: Run) -> None:
    """A grant, then another on the same connection after it idled (profile connection_idle): its <expire>
    is the issue time + token_expire, not the time the connection was accepted."""
    builder = conformance.builder
    conformance.expect_all(
        [
            conformance.case(label="a grant that opens the connection"),
            conformance.case(label="a grant after the connection idled"),
        ],
        pause=builder.profile.idle_seconds(loopback=builder.loopback),
    )


@pytest.mark.requirements("LT-SEC-NON-INTERFERENCE", "LT-AUTH-KEY-INVALID", "LT-AUTH-KEY-MISSING")
def test_refusals_do_not_tell_users_apart(conformance: Run) -> None:
    """A wrong key and no key for the own, the foreign and every unknown user: one answer for all; the
    right key for users it does not own: refusals naming nothing of their owner."""
    conformance.expect_all(non_interference_cases(conformance.builder))


@pytest.mark.requirements("LT-SEC-NON-INTERFERENCE", "LT-AUTH-KEY-INVALID")
def test_response_time_does_not_tell_users_apart(conformance: Run) -> None:
    """A wrong key for the own and an unknown user, interleaved: no large difference in response time."""
    if not conformance.builder.profile.timing_test:
        pytest.skip("the profile turns the timing test off (timing_test = false)")
    conformance.expect_all(timing_cases(conformance.builder))
