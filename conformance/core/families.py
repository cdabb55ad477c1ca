"""What a default run sends, by probe family (one conformance test each), and what a run will cost.

The figures are those of the bundled recording (`make record`: the reference, the default profile, max
examples 100, token_sample 776); tests/unit/core/test_families.py replays it and keeps them true. The README's
table of probe families is ``families_markdown(RECORDED_FAMILIES)`` (`conformance catalogue --write`); the
run header's estimate is ``estimated_requests``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

# The two generated tests grow with --max-examples; the token sample tops the run's tokens up to
# token_sample; everything else is a fixed list.
GENERATED_TESTS = (
    "test_token_expire.py::test_token_expire_generated",
    "test_user_id.py::test_user_id_generated",
)
SAMPLE_TEST = "test_vigilance.py::test_token_sample_is_uniformly_random"
RECORDED_MAX_EXAMPLES = 100
# Each conformance test of the bundled recording, in run order, and the requests it sent.
RECORDED_FAMILIES: tuple[tuple[str, int], ...] = (
    ("test_authorization.py::test_api_key_required_and_checked", 6),
    ("test_authorization.py::test_api_key_probes_refused", 46),
    ("test_authorization.py::test_unknown_user_refused", 1),
    ("test_authorization.py::test_user_outside_scope_refused", 1),
    ("test_authorization.py::test_every_spelling_of_users_the_key_does_not_own", 27),
    ("test_authorization.py::test_refusals_do_not_depend_on_the_client_identity", 26),
    ("test_grant.py::test_valid_request_is_granted", 3),
    ("test_grant.py::test_tokens_are_unique_and_unpredictable", 14),
    ("test_http_messages.py::test_raw_http_messages", 13),
    ("test_routes.py::test_other_methods_and_paths_issue_no_token", 42),
    ("test_side_channels.py::test_client_headers_decide_nothing", 23),
    ("test_side_channels.py::test_cookies_never_stand_in_for_the_key", 3),
    ("test_side_channels.py::test_an_error_changes_no_later_decision", 11),
    ("test_side_channels.py::test_security_probes_on_many_connections", 75),
    ("test_side_channels.py::test_grant_on_an_idle_connection", 4),
    ("test_side_channels.py::test_refusals_do_not_tell_users_apart", 8),
    ("test_side_channels.py::test_response_time_does_not_tell_users_apart", 32),
    ("test_spellings.py::test_equivalent_spellings_honoured_alike", 22),
    ("test_spellings.py::test_forbidden_requests_refused_in_every_spelling", 35),
    ("test_stateful.py::test_decisions_do_not_depend_on_earlier_requests", 313),
    ("test_token_expire.py::test_token_expire_boundaries", 14),
    ("test_token_expire.py::test_token_expire_across_the_range", 10),
    ("test_token_expire.py::test_token_expire_missing_empty_repeated_padded", 8),
    ("test_token_expire.py::test_token_expire_generated", 87),
    ("test_token_expire.py::test_token_expire_malformed_spellings", 35),
    ("test_token_expire.py::test_token_expire_long_digit_runs", 12),
    ("test_user_id.py::test_user_id_boundaries", 9),
    ("test_user_id.py::test_user_id_missing_empty_repeated_padded", 6),
    ("test_user_id.py::test_user_id_malformed_spellings", 35),
    ("test_user_id.py::test_user_id_generated", 84),
    ("test_user_id.py::test_user_id_long_digit_runs", 12),
    ("test_vigilance.py::test_parallel_identical_requests_get_distinct_tokens", 10),
    ("test_vigilance.py::test_token_sample_is_uniformly_random", 563),
    ("test_vigilance.py::test_sentinels_near_the_end", 26),
)
_RECORDED = dict(RECORDED_FAMILIES)
GENERATED_REQUESTS = sum(_RECORDED[test] for test in GENERATED_TESTS)  # at RECORDED_MAX_EXAMPLES
FIXED_REQUESTS = sum(_RECORDED.values()) - GENERATED_REQUESTS - _RECORDED[SAMPLE_TEST]  # every other test
TOKENS_BEFORE_SAMPLE = 213  # tokens the run has seen when the token sample starts


def estimated_requests(*, max_examples: int, token_sample: int) -> int:
    """About how many requests a whole run sends against a conforming target."""
    generated = GENERATED_REQUESTS * max_examples / RECORDED_MAX_EXAMPLES
    return round(FIXED_REQUESTS + generated + max(0, token_sample - TOKENS_BEFORE_SAMPLE))


def estimate_line(*, requests: int, rate: float | None, idle: float) -> str:
    """The run header's estimate: the requests, and at a finite rate how long they take."""
    line = f"about {requests:,} requests"
    if rate is None or not math.isfinite(rate):
        return line + " (no rate limit)"
    seconds = requests / rate + idle
    return line + f" at {rate:g} requests/s: about {_duration(seconds)} (--rate sets the pace)"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def families_markdown(tests: Iterable[tuple[str, int]]) -> str:
    """The README's table: each conformance test (a probe family) and the requests it sends."""
    rows = list(tests)
    lines = ["| Probe family (conformance test) | Requests |", "|---|---:|"]
    lines += [f"| `{nodeid}` | {requests:,} |" for nodeid, requests in rows]
    lines.append(f"| **all** | **{sum(r for _, r in rows):,}** |")
    return "\n".join(lines) + "\n"
