"""Inputs: what the suite sends and what the contract expects of it.

``classify`` says what the contract expects of a value; ``malformed`` lists the malformed classes once;
``fixed`` holds the lists every run sends; ``cases`` builds classified Cases; ``equivalent`` the spellings
of one request; ``strategies`` generates them with Hypothesis. The names below are the package's surface.
"""

from __future__ import annotations

from conformance.inputs.cases import (
    CaseBuilder,
    boundary_cases,
    digit_run_cases,
    identity_cases,
    key_probe_cases,
    method_cases,
    raw_probe_cases,
    route_cases,
    sentinel_cases,
    user_spelling_cases,
    variant_cases,
)
from conformance.inputs.classify import (
    DEFAULT_UNKNOWN_USER_ID,
    MISSING,
    VALID_TOKEN_EXPIRE,
    Classified,
    Param,
    Users,
    classify_api_key,
    classify_token_expire,
    classify_user_id,
)
from conformance.inputs.equivalent import equivalent_cases, forbidden_spelling_cases
from conformance.inputs.fixed import (
    DIGIT_RUN_SPELLINGS,
    HUGE,
    INVALID_API_KEY,
    OTHER_METHODS,
    QUERY_METHODS,
    TOKEN_EXPIRE_BOUNDARIES,
    USER_ID_BOUNDARIES,
    api_key_variants,
    malformed_spellings,
    spread_across,
)
from conformance.inputs.malformed import FOREIGN_DIGIT_SETS, MALFORMED_CLASSES, NOT_A_NUMBER, MalformedClass
from conformance.inputs.strategies import (
    NO_SURROGATES,
    api_key_params,
    garbage,
    malformed_variants,
    token_expire_cases,
    token_expire_params,
    user_id_cases,
    user_id_params,
    weighted,
)

# What a run sends, as a number a recording carries (cassette header ``inputs_version``): a replay re-judges
# a recording with the same inputs version whichever suite version recorded it, so a new or changed check
# judges old recordings. Bump it when a request sent changes: a case, a spelling, a probe, their order, a
# strategy, a fixed list, a header; never for a check, a requirement or a report (CONTRIBUTING.md).
INPUTS_VERSION = 1

__all__ = [
    "DEFAULT_UNKNOWN_USER_ID",
    "DIGIT_RUN_SPELLINGS",
    "FOREIGN_DIGIT_SETS",
    "HUGE",
    "INPUTS_VERSION",
    "INVALID_API_KEY",
    "MALFORMED_CLASSES",
    "MISSING",
    "NOT_A_NUMBER",
    "NO_SURROGATES",
    "OTHER_METHODS",
    "QUERY_METHODS",
    "TOKEN_EXPIRE_BOUNDARIES",
    "USER_ID_BOUNDARIES",
    "VALID_TOKEN_EXPIRE",
    "CaseBuilder",
    "Classified",
    "MalformedClass",
    "Param",
    "Users",
    "api_key_params",
    "api_key_variants",
    "boundary_cases",
    "classify_api_key",
    "classify_token_expire",
    "classify_user_id",
    "digit_run_cases",
    "equivalent_cases",
    "forbidden_spelling_cases",
    "garbage",
    "identity_cases",
    "key_probe_cases",
    "malformed_spellings",
    "malformed_variants",
    "method_cases",
    "raw_probe_cases",
    "route_cases",
    "sentinel_cases",
    "spread_across",
    "token_expire_cases",
    "token_expire_params",
    "user_id_cases",
    "user_id_params",
    "user_spelling_cases",
    "variant_cases",
    "weighted",
]
