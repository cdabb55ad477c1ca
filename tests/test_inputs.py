"""The input classifier and the strategies: the expected outcome follows from the input's class."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.inputs import (
    DIGITS,
    INVALID_API_KEY,
    MISSING,
    TOKEN_EXPIRE_BOUNDARIES,
    CaseBuilder,
    Param,
    Users,
    api_key_variants,
    classify_token_expire,
    classify_user_id,
    malformed_spellings,
    token_expire_cases,
    user_id_cases,
)
from conformance.model import API_KEY_PLACEHOLDER, Expect
from conformance.profile import Profile

USERS = Users(user_id=12345, unknown_user_id=999, foreign_user_id=54321)
BUILDER = CaseBuilder(users=USERS, profile=Profile())


@pytest.mark.parametrize(
    ("value", "expect", "requirement"),
    [
        ("60", Expect.ACCEPT, "LT-INPUT-EXPIRE-VALID"),
        ("86400", Expect.ACCEPT, "LT-INPUT-EXPIRE-VALID"),
        ("59", Expect.REJECT, "LT-INPUT-EXPIRE-RANGE"),
        ("86401", Expect.REJECT, "LT-INPUT-EXPIRE-RANGE"),
        ("0", Expect.REJECT, "LT-INPUT-EXPIRE-RANGE"),
        (str(2**32 + 3600), Expect.REJECT, "LT-INPUT-EXPIRE-RANGE"),
        ("0060", Expect.EITHER, "LT-INPUT-LENIENT-HONOURED"),
        ("0059", Expect.REJECT, "LT-INPUT-EXPIRE-RANGE"),
        ("+60", Expect.REJECT, "LT-INPUT-EXPIRE-MALFORMED"),
        ("-1", Expect.REJECT, "LT-INPUT-EXPIRE-MALFORMED"),
        ("60.0", Expect.REJECT, "LT-INPUT-EXPIRE-MALFORMED"),
        ("6e1", Expect.REJECT, "LT-INPUT-EXPIRE-MALFORMED"),
        (" 60", Expect.REJECT, "LT-INPUT-EXPIRE-MALFORMED"),
        ("٦٠", Expect.REJECT, "LT-INPUT-EXPIRE-MALFORMED"),
        ("", Expect.REJECT, "LT-INPUT-EXPIRE-MALFORMED"),
    ],
)
def test_token_expire_classes(value: str, expect: Expect, requirement: str) -> None:
    classified = classify_token_expire(Param.of(value), profile=Profile())
    assert (classified.expect, classified.requirement) == (expect, requirement)


def test_token_expire_missing_and_repeated() -> None:
    assert classify_token_expire(MISSING, profile=Profile()).expect is Expect.REJECT
    lenient_profile = Profile(token_expire_required=False)
    assert classify_token_expire(MISSING, profile=lenient_profile).expect is Expect.EITHER
    assert classify_token_expire(Param(("60", "60")), profile=Profile()).expect is Expect.EITHER
    different = classify_token_expire(Param(("60", "61")), profile=Profile())
    assert (different.expect, different.requirement) == (Expect.REJECT, "LT-INPUT-REPEATED")


@pytest.mark.parametrize(
    ("value", "expect", "requirement"),
    [
        ("12345", Expect.ACCEPT, "LT-INPUT-USER-VALID"),
        ("012345", Expect.EITHER, "LT-INPUT-LENIENT-HONOURED"),
        ("999", Expect.REJECT, "LT-AUTH-USER-UNKNOWN"),
        ("00999", Expect.REJECT, "LT-AUTH-USER-UNKNOWN"),
        ("54321", Expect.REJECT, "LT-AUTH-USER-SCOPE"),
        ("7", Expect.EITHER, "LT-INPUT-LENIENT-HONOURED"),
        ("+12345", Expect.REJECT, "LT-INPUT-USER-MALFORMED"),
        ("１２３４５", Expect.REJECT, "LT-INPUT-USER-MALFORMED"),
    ],
)
def test_user_id_classes(value: str, expect: Expect, requirement: str) -> None:
    classified = classify_user_id(Param.of(value), users=USERS)
    assert (classified.expect, classified.requirement) == (expect, requirement)


def test_case_names_the_varied_parameter_and_keeps_the_key_out() -> None:
    case = BUILDER.case(token_expire=Param.of("100"))
    assert case.expect is Expect.ACCEPT and case.requirement == "LT-INPUT-EXPIRE-VALID"
    assert case.form == (("api_key", API_KEY_PLACEHOLDER), ("user_id", "12345"), ("token_expire", "100"))
    assert case.body(api_key="s3cret-key") == b"api_key=s3cret-key&user_id=12345&token_expire=100"
    assert "s3cret" not in repr(case)


def test_first_refusal_decides() -> None:
    case = BUILDER.case(api_key=MISSING, token_expire=Param.of("0060"))
    assert (case.expect, case.requirement) == (Expect.REJECT, "LT-AUTH-KEY-MISSING")


def test_api_key_variants_are_all_refused() -> None:
    for param in api_key_variants():
        assert BUILDER.case(api_key=param).expect is Expect.REJECT, param
    suffixed = BUILDER.case(api_key=Param.of(f"{API_KEY_PLACEHOLDER}x"))
    assert suffixed.body(api_key="k3y").startswith(b"api_key=k3yx&")
    assert BUILDER.case(api_key=Param.of(INVALID_API_KEY)).requirement == "LT-AUTH-KEY-INVALID"


def test_boundaries_always_include_the_issue_list() -> None:
    assert {"59", "60", "61", "86399", "86400", "86401", "0", "-1"} <= set(TOKEN_EXPIRE_BOUNDARIES)


def test_malformed_spellings_are_all_malformed() -> None:
    spellings = malformed_spellings(3600)
    assert len(set(spellings)) == len(spellings) >= 25
    assert not any(DIGITS.fullmatch(s) for s in spellings)


@settings(max_examples=300, database=None, deadline=None)
@given(st.data())
def test_generated_cases_are_classified_consistently(data: st.DataObject) -> None:
    case = data.draw(st.one_of(token_expire_cases(BUILDER), user_id_cases(BUILDER)))
    values = dict(case.form)
    if case.expect is Expect.ACCEPT:  # a valid case is spelt in plain digits, once each
        assert all(DIGITS.fullmatch(values[k]) for k in ("user_id", "token_expire"))
        assert len(case.form) == 3
    if case.token_expire is not None and case.expect is not Expect.REJECT:
        assert 60 <= case.token_expire <= 86400
