"""The input classifier and the strategies: the expected outcome follows from the input's class."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.core.model import (
    API_KEY_PLACEHOLDER,
    DIGITS,
    KEY_PROBE,
    KEY_PROBES,
    PATH_VARIANTS,
    Case,
    Expect,
    derive_key,
    key_probe_secrets,
    key_probe_values,
    path_variant,
)
from conformance.core.profile import Profile
from conformance.core.wire import MAY_REFUSE, SPELLINGS
from conformance.inputs import (
    HUGE,
    INVALID_API_KEY,
    MALFORMED_CLASSES,
    MISSING,
    NOT_A_NUMBER,
    TOKEN_EXPIRE_BOUNDARIES,
    CaseBuilder,
    Param,
    Users,
    api_key_variants,
    classify_token_expire,
    classify_user_id,
    digit_run_cases,
    equivalent_cases,
    forbidden_spelling_cases,
    identity_cases,
    key_probe_cases,
    malformed_spellings,
    malformed_variants,
    route_cases,
    sentinel_cases,
    token_expire_cases,
    user_id_cases,
    user_spelling_cases,
)

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


@pytest.mark.parametrize("value", [3600, 12345, 60, 7, 0])
def test_malformed_spellings_are_all_malformed(value: int) -> None:
    spellings = malformed_spellings(value)
    assert len(set(spellings)) == len(spellings) >= 25
    assert not any(DIGITS.fullmatch(s) for s in spellings), spellings  # f"{60:_}" was "60": a valid value


def test_every_malformed_class_is_in_the_fixed_list_and_the_generated_ones_in_the_strategy() -> None:
    spellings = set(malformed_spellings(3600))
    for cls in MALFORMED_CLASSES:
        assert cls.fixed, cls.name
        assert {cls.spell(3600, extra) for extra in cls.fixed} <= spellings, cls.name
    assert set(NOT_A_NUMBER) <= spellings


@settings(max_examples=200, database=None, deadline=None)
@given(malformed_variants(st.integers(0, 86400)))
def test_generated_malformed_variants_are_never_plain_digits(spelling: str) -> None:
    assert not DIGITS.fullmatch(spelling)


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


# -- issue 11 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["ref-test-key-0001-public-fixture", "0123456789012345", "ABCDEFGH", "aB3$", "x"]
)
def test_key_probes_are_never_the_key(key: str) -> None:
    assert key not in key_probe_values(key)


def test_key_probes_cover_case_position_prefix_and_suffix() -> None:
    key = "ref-test-key-0001-public-fixture"
    values = dict(zip((name for name, _ in KEY_PROBES), key_probe_values(key), strict=True))
    assert values["upper"] == key.upper()
    assert values["flip-0"] == "R" + key[1:] and values["flip-15"] == key[:-1] + "E"
    assert len({values[f"flip-{n}"] for n in range(16)}) == 16  # 16 different letters flipped
    for name in ("first", "middle", "last"):
        assert (
            len(values[name]) == len(key) and sum(a != b for a, b in zip(values[name], key, strict=True)) == 1
        )
    assert values["first"][0] != key[0] and values["last"][-1] != key[-1]
    assert [len(values[f"prefix-{n}"]) for n in ("half", "8", "4", "2")] == [16, 8, 4, 2]
    assert {values[n] for n in ("space", "tab", "newline", "nul")} == {key + c for c in " \t\n\x00"}
    assert derive_key(key, "middle") != "ref-test-key-0002-public-fixture"  # not the reference's other key


def test_key_probes_cover_the_matchers_real_servers_use() -> None:
    key = "ref-test-key-0001-public-fixture"
    values = dict(zip((name for name, _ in KEY_PROBES), key_probe_values(key), strict=True))
    assert [values[f"like-{n}"] for n in ("any", "prefix")] == ["%", key[:16] + "%"]
    assert values["like-all"] == "_" * len(key) and values["like-one"] == key[:16] + "_" + key[17:]
    assert [values[f"glob-{n}"] for n in ("any", "prefix", "one")] == [
        "*",
        key[:16] + "*",
        key[:16] + "?" + key[17:],
    ]
    assert [values[f"regex-{n}"] for n in ("any", "prefix", "one")] == [
        ".*",
        key[:16] + ".*",
        key[:16] + "." + key[17:],
    ]
    assert (values["empty"], values["blank"]) == ("", "   ")
    assert not values["nonascii"].isascii() and len(values["nonascii"]) == len(key)
    assert values["nulinside"].replace("\x00", "") == key and not values["nulinside"].endswith("\x00")
    assert len(values["long"]) > 4096 and values["long"] == key * (len(values["long"]) // len(key))
    # near-copies of the key are scrubbed like it; a run of wildcards tells only its length
    secrets = key_probe_secrets(key)
    assert (
        values["like-one"] in secrets and values["nonascii"] in secrets and values["like-all"] not in secrets
    )


def test_equivalent_cases_are_the_valid_request_in_every_spelling() -> None:
    cases = equivalent_cases(BUILDER)
    plain = [c for c in cases if c.requirement != "LT-INPUT-EQUIVALENT"]
    # token_expire=60 goes plain first: what its percent-encoded twin is compared with
    assert [(c.spelling, c.requirement, c.token_expire) for c in plain] == [("", "LT-INPUT-EXPIRE-VALID", 60)]
    cases = [c for c in cases if c not in plain]
    assert {c.requirement for c in cases} == {"LT-INPUT-EQUIVALENT"}
    either = {c.spelling for c in cases if c.expect is Expect.EITHER}
    assert either == set(MAY_REFUSE)
    assert {c.spelling for c in cases} == set(SPELLINGS)
    accepted = [c for c in cases if c.expect is Expect.ACCEPT]
    assert all(c.spelling not in MAY_REFUSE and c.user_id == USERS.user_id for c in accepted)
    assert any(c.fresh_connection for c in accepted) and any(
        ("Connection", "close") in c.headers for c in accepted
    )
    twice = [c for c in cases if c.expect is Expect.REJECT]
    assert [dict(c.form)[n] for c, n in zip(twice, ("user_id", "token_expire"), strict=True)] == [
        "%31%32%33%34%35",
        "%36%30",
    ]


def test_forbidden_spelling_cases_never_expect_a_grant_for_another_user() -> None:
    cases = forbidden_spelling_cases(BUILDER)
    assert all(c.expect is not Expect.ACCEPT for c in cases)
    # beside the valid user_id an unknown USER_ID may be ignored: a grant, but only for the own user
    assert all(c.user_id == USERS.user_id for c in cases if c.expect is Expect.EITHER)
    for other in USERS.others:
        named = {n for c in cases for n, v in c.form if v == str(other)}
        assert named == {"user_id", "USER_ID", "User_Id"}
        spelt = {c.spelling for c in cases if dict(c.form).get("user_id") == str(other)}
        assert spelt == {"json", "multipart", "percent-encoded", "chunked"}
    # the key may not travel in a URL to this target: only the fixed wrong key goes in the query
    assert [c.label for c in cases if c.form_in_query] == ["a wrong api_key in the query string of the POST"]
    in_query = forbidden_spelling_cases(dataclasses.replace(BUILDER, valid_key_in_query=True))
    assert len([c for c in in_query if c.form_in_query]) == len(USERS.others) + 1
    assert {"LT-AUTH-USER-SCOPE", "LT-AUTH-USER-UNKNOWN", "LT-AUTH-KEY-INVALID"} <= {
        c.requirement for c in cases
    }


def test_key_probe_cases_are_refused_and_hold_no_key() -> None:
    cases = key_probe_cases(BUILDER)
    assert len(cases) == len(KEY_PROBES)
    for case in cases:
        assert (case.expect, case.requirement) == (Expect.REJECT, "LT-AUTH-KEY-INVALID")
        assert case.label.startswith("api_key: ")
        assert API_KEY_PLACEHOLDER not in dict(case.form)["api_key"]
    sent = cases[0].body(api_key="secret-key-123456")
    assert b"SECRET-KEY-123456" in sent
    assert (
        cases[0].body(api_key=API_KEY_PLACEHOLDER)
        == b"api_key=__API_KEY_PROBE_upper__&user_id=12345&token_expire=3600"
    )


def test_every_spelling_of_a_user_not_owned_is_refused_or_lenient() -> None:
    cases = user_spelling_cases(BUILDER)
    by_label = {case.label: case for case in cases}
    assert by_label["user_id='0054321'"].requirement == "LT-AUTH-USER-SCOPE"
    assert by_label["user_id='00999'"].requirement == "LT-AUTH-USER-UNKNOWN"
    assert by_label[f"user_id='{2**64 + 54321}'"].requirement == "LT-INPUT-USER-RANGE"
    assert by_label[f"user_id='{2**32 + 54321}'"].expect is Expect.EITHER
    assert by_label["user_id='54321' & user_id='54321'"].requirement == "LT-AUTH-USER-SCOPE"
    assert by_label["user_id='12345' & user_id='54321'"].requirement == "LT-INPUT-REPEATED"
    assert by_label["user_id='54321' & user_id='12345'"].requirement == "LT-INPUT-REPEATED"
    assert by_label[f"user_id='{2**63}'"].requirement == "LT-INPUT-USER-RANGE"
    assert by_label[f"user_id='{2**63 - 1}'"].expect is Expect.EITHER
    assert all(c.expect is not Expect.ACCEPT for c in cases)


def test_several_unknown_users() -> None:
    users = Users(user_id=1, unknown_user_id=2, foreign_user_id=3, more_unknown_user_ids=(4, 5))
    assert users.not_owned == {2, 3, 4, 5}
    builder = CaseBuilder(users=users, profile=Profile())
    assert builder.case(user_id=Param.of("5")).requirement == "LT-AUTH-USER-UNKNOWN"
    assert len(user_spelling_cases(builder)) == 4 * 11 + 5


def test_user_id_bound_comes_from_the_profile() -> None:
    low = Profile(user_id_max=100_000)
    assert classify_user_id(Param.of("100001"), users=USERS, profile=low).requirement == "LT-INPUT-USER-RANGE"
    assert classify_user_id(Param.of("100000"), users=USERS, profile=low).expect is Expect.EITHER


@pytest.mark.parametrize("name", ["user_id", "token_expire"])
def test_long_digit_runs_are_all_malformed(name: str) -> None:
    cases = digit_run_cases(BUILDER, name)
    lengths = [len(dict(c.form)[name]) for c in cases]
    assert min(lengths) >= 16 and max(lengths) >= 4000
    assert {c.expect for c in cases} == {Expect.REJECT}
    assert {c.requirement for c in cases} == {
        f"LT-INPUT-{'USER' if name == 'user_id' else 'EXPIRE'}-MALFORMED"
    }


def test_route_cases_cover_methods_and_path_variants() -> None:
    cases = route_cases(BUILDER)
    methods = {c.method for c in cases if c.requirement == "LT-HTTP-POST-ONLY"}
    assert methods == {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"}
    assert all(c.expect is Expect.REJECT for c in cases if c.requirement == "LT-HTTP-POST-ONLY")
    in_body = {c.method for c in cases if c.method != "POST" and not c.form_in_query}
    assert in_body == methods  # every method with the valid form in the body
    variants = {c.path_variant for c in cases if c.path_variant}
    assert variants == set(PATH_VARIANTS)
    refused = [c for c in cases if c.path_variant and c.expect is Expect.REJECT]
    assert {c.requirement for c in refused} == {
        "LT-AUTH-KEY-INVALID",
        "LT-AUTH-KEY-MISSING",
        "LT-AUTH-USER-SCOPE",
        "LT-INPUT-EXPIRE-RANGE",
    }
    assert not any(c.on_endpoint for c in cases)


def _key_in_query(case: Case) -> bool:
    return case.form_in_query and any(
        API_KEY_PLACEHOLDER in value or KEY_PROBE.search(value) for _, value in case.form
    )


def test_the_key_goes_in_a_query_string_only_when_allowed() -> None:
    guarded = route_cases(BUILDER)
    in_query = [c for c in guarded if c.form_in_query]
    assert {c.method for c in in_query} == {"GET", "HEAD", "OPTIONS"}
    assert not any(_key_in_query(c) for c in guarded)  # a fixed wrong key, nothing derived from the key
    assert all(dict(c.form)["api_key"] == INVALID_API_KEY for c in in_query)
    allowed = route_cases(dataclasses.replace(BUILDER, valid_key_in_query=True))
    assert {c.method for c in allowed if _key_in_query(c)} == {"GET", "HEAD", "OPTIONS"}
    assert set(guarded) < set(allowed)


def test_identity_cases_pair_each_probe_with_the_second_identity() -> None:
    cases = identity_cases(BUILDER)
    stock, second = cases[0::2], cases[1::2]
    assert not any(c.alternate_identity for c in stock) and all(c.alternate_identity for c in second)
    assert [dataclasses.replace(c, label="", alternate_identity=False) for c in second] == [
        dataclasses.replace(c, label="") for c in stock
    ]
    assert all(c.expect is Expect.REJECT for c in cases)  # only requests every target must refuse
    assert {c.method for c in stock} == {"POST", "GET"} and any(c.path_variant for c in stock)
    assert {c.requirement for c in stock} >= {"LT-AUTH-KEY-INVALID", "LT-AUTH-USER-SCOPE"}


def test_path_variants_differ_from_the_path() -> None:
    path = "/base/v1/user/login_token"
    spelt = {name: path_variant(path, name) for name in PATH_VARIANTS}
    assert len(set(spelt.values())) == len(PATH_VARIANTS) and path not in spelt.values()
    assert spelt["trailing-slash"] == path + "/"
    assert spelt["double-slash"] == "/base/v1/user//login_token"


def test_sentinels_are_refusals() -> None:
    cases = sentinel_cases(BUILDER)
    assert {c.expect for c in cases} == {Expect.REJECT}
    assert {"LT-AUTH-KEY-INVALID", "LT-AUTH-USER-SCOPE", "LT-AUTH-USER-UNKNOWN"} <= {
        c.requirement for c in cases
    }


def test_exploration_varies_the_key_too() -> None:
    from hypothesis import find

    for strategy in (user_id_cases(BUILDER), token_expire_cases(BUILDER)):
        probed = find(strategy, lambda c: "__API_KEY_PROBE_" in dict(c.form)["api_key"])
        assert probed.expect is Expect.REJECT


def test_the_boundary_test_lists_every_value_it_sends() -> None:
    from conformance.suite.test_token_expire import test_token_expire_boundaries

    first = (test_token_expire_boundaries.__doc__ or "").splitlines()[0]
    listed = first.split(":", 1)[1].rstrip(".").split(",")
    assert all(re.fullmatch(r"[\d\s*+-]+", item) for item in listed), listed
    values = [eval(item, {"__builtins__": {}}) for item in listed]  # digits, +, - and ** only
    huge = 10**5000  # beyond int()'s default digit limit: compared as a number, not parsed
    assert values == [huge if v == HUGE else int(v) for v in TOKEN_EXPIRE_BOUNDARIES]
    assert HUGE == "1" + "0" * 5000


def test_a_spelling_is_part_of_the_case_class() -> None:
    # A baseline that accepts a failure in one spelling must not accept the same request failing in another.
    case = BUILDER.case()
    assert case.case_class == "LT-INPUT-USER-VALID:accept:POST"
    assert (
        dataclasses.replace(case, spelling="chunked").case_class == "LT-INPUT-USER-VALID:accept:POST+chunked"
    )


def test_a_raw_probe_is_part_of_the_case_class() -> None:
    # A baseline accepting uvicorn's kept connection after a length and chunked (one framing probe) must not
    # accept a desynchronisation on conflicting lengths (another probe of the same requirement and check).
    case = dataclasses.replace(BUILDER.case(), expect=Expect.EITHER, requirement="LT-HTTP-MSG-FRAMING")
    classes = {
        dataclasses.replace(case, raw=name).case_class
        for name in ("length-and-chunked", "conflicting-length")
    }
    assert classes == {
        "LT-HTTP-MSG-FRAMING:either:POST+raw:length-and-chunked",
        "LT-HTTP-MSG-FRAMING:either:POST+raw:conflicting-length",
    }
