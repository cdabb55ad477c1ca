"""Replay re-derives each generated case from its recorded form: the same classification, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cassettes.format import Interaction
from conformance.core.model import API_KEY_PLACEHOLDER, Case, Expect
from conformance.core.profile import Profile
from conformance.inputs import CaseBuilder, Param, Users, token_expire_cases, user_id_cases
from conformance.run.rejudge import RecordedInputs, case_from_form

BUILDER = CaseBuilder(users=Users(12345, 987654, 777), profile=Profile())


@settings(max_examples=300, database=None, deadline=None)
@given(data=st.data())
def test_every_generated_case_is_re_derived_exactly(data: st.DataObject) -> None:
    vary = data.draw(st.sampled_from(["token_expire", "user_id"]))
    strategy = token_expire_cases(BUILDER) if vary == "token_expire" else user_id_cases(BUILDER)
    case: Case = data.draw(strategy)
    assert case_from_form(BUILDER, case.body(api_key=API_KEY_PLACEHOLDER), vary=vary) == case


def test_the_varied_parameter_counts_as_given_even_at_its_valid_value() -> None:
    generated = BUILDER.case(token_expire=Param.of("3600"))
    rebuilt = case_from_form(BUILDER, generated.body(api_key=API_KEY_PLACEHOLDER), vary="token_expire")
    assert rebuilt == generated
    assert rebuilt.requirement == "LT-INPUT-EXPIRE-VALID" and rebuilt.expect is Expect.ACCEPT


@pytest.mark.parametrize(
    "body",
    [
        b"api_key=__API_KEY_REDACTED__&user_id=1&token_expire=60&debug=1",
        b"token_expire=60&api_key=x&user_id=1",
    ],
)
def test_a_form_the_suite_cannot_have_sent_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"parameter 'debug'|rebuilds it differently"):
        case_from_form(BUILDER, body, vary="token_expire")


def interaction(body: bytes, status: int) -> Interaction:
    return Interaction("POST", "/v1/user/login_token", body, 0.0, 0.0, status)


def test_recorded_inputs_start_after_the_explicit_ones_and_skip_what_the_engine_sent_itself() -> None:
    recorded = [
        interaction(b"a=1", 200),
        interaction(b"b=1", 429),
        interaction(b"b=1", 200),
        interaction(b"sentinel=1", 401),
        interaction(b"c=1", 200),
    ]
    sent = [1]
    # Sending b=1 also sends its throttled retry and a sentinel: three requests for one input.
    advance = {b"b=1": 3, b"c=1": 1}
    seen = []
    for number, recorded_interaction in RecordedInputs(
        Path("x.yaml"), recorded, target=None, sent=lambda: sent[0]
    ):
        seen.append((number, recorded_interaction.body))
        sent[0] += advance[recorded_interaction.body]
    assert seen == [(2, b"b=1"), (5, b"c=1")]


def test_recorded_inputs_always_move_on_even_when_nothing_was_sent() -> None:
    recorded = [interaction(b"a=1", 200), interaction(b"b=1", 200)]
    inputs = RecordedInputs(Path("x.yaml"), recorded, target=None, sent=lambda: 0)
    assert [n for n, _ in inputs] == [1, 2]
