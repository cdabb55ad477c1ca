"""Last in the run: a concurrency burst, the token sample topped up across connections, final sentinels.

Kept in the module that runs last (pytest collects modules by name) so the sentinels come near the end
of the run however many requests came before.
"""

from __future__ import annotations

import dataclasses

import pytest

from conformance.inputs import sentinel_cases
from conformance.run.engine import Run

FRESH_EVERY = 10  # every tenth sampled request goes over a new connection


@pytest.mark.requirements("LT-TOKEN-UNIQUE", "LT-TOKEN-STRENGTH", "LT-EXPIRE-CONSISTENT")
def test_parallel_identical_requests_get_distinct_tokens(conformance: Run) -> None:
    """A burst of identical requests at once (profile burst_size): distinct strong tokens, right expiry."""
    size = conformance.builder.profile.burst_size
    cases = [conformance.case(label=f"burst request #{n}") for n in range(1, size + 1)]
    conformance.burst(cases)


@pytest.mark.requirements("LT-TOKEN-ENTROPY", "LT-TOKEN-UNIQUE", "LT-TOKEN-UNPREDICTABLE")
def test_token_sample_is_uniformly_random(conformance: Run) -> None:
    """Grants up to the profile's token_sample, over pooled and fresh connections; the sample is judged."""
    missing = conformance.builder.profile.token_sample - len(conformance.context.tokens.ordered)
    cases = [
        dataclasses.replace(
            conformance.case(label=f"token sample #{n}"), fresh_connection=n % FRESH_EVERY == 0
        )
        for n in range(1, missing + 1)
    ]
    conformance.grants(cases)


@pytest.mark.requirements("LT-AUTH-KEY-INVALID", "LT-AUTH-USER-SCOPE", "LT-AUTH-USER-UNKNOWN")
def test_sentinels_near_the_end(conformance: Run) -> None:
    """After a grant, every sentinel again: on the connection that carried the good key, then a fresh one."""
    # Every round is sent whatever an earlier answer broke: one ContractViolation lists all failures.
    conformance.expect_all(
        case
        for sentinel in sentinel_cases(conformance.builder)
        for case in (
            conformance.case(label="grant before a sentinel"),
            sentinel,
            dataclasses.replace(sentinel, fresh_connection=True),
        )
    )
