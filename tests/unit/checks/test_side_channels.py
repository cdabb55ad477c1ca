"""Side channels: the timing statistics, the probes, the fingerprints and the checks on hand-made answers."""

from __future__ import annotations

import dataclasses
import random

import pytest

from conformance.checks import CheckContext, Subject, run_checks
from conformance.checks._channels import channel_varied, error_left_open, fingerprint, interference_group
from conformance.checks.side_channels import disclosed_words
from conformance.core.model import Case, Exchange, Expect
from conformance.core.profile import Profile, ProfileError
from conformance.core.timing import compare, mann_whitney_p
from conformance.inputs import CaseBuilder, Param, Users
from conformance.inputs.side_channels import (
    FRESH_CONNECTIONS_PER_PROBE,
    cookie_cases,
    cookie_header,
    forwarded_headers,
    fresh_connection_cases,
    header_cases,
    non_interference_cases,
    timing_cases,
)
from conformance.redaction.redact import Redactor
from conformance.run.evidence import request_channel

OWN, FOREIGN, UNKNOWN = 12345, 54321, 9223372036854775806
USERS = Users(user_id=OWN, unknown_user_id=UNKNOWN, foreign_user_id=FOREIGN)
BUILDER = CaseBuilder(users=USERS, profile=Profile())
NOW = 1_795_824_000.0
DATE = "Thu, 26 Nov 2026 08:00:00 GMT"


def answer(
    case: Case,
    status: int,
    message: str = "",
    *,
    elapsed: float = 0.01,
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes | None = None,
    sequence: int = 1,
) -> Exchange:
    """An XML answer to ``case``: a grant (2xx) or a refusal with ``message``."""
    if body is None:
        inner = (
            f"<status>{status}</status><message>{message}</message><user_id>{case.user_id}</user_id>"
            f"<token>{'ab' * 16}</token><qrcode>https://qr.example/{sequence}.png</qrcode>"
            f"<expire>{int(NOW) + 3600}</expire>"
            if status == 200
            else f"<status>{status}</status><message>{message}</message>"
        )
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<user_response>{inner}</user_response>\n'.encode()
    stock = (
        ("content-type", "application/xml; charset=utf-8"),
        ("cache-control", "no-store"),
        ("date", DATE),
    )
    return Exchange(
        case=case,
        sent_at=NOW,
        elapsed=elapsed,
        status=status,
        headers=stock + headers,
        body=body,
        url="http://127.0.0.1:9/v1/user/login_token",
        sequence=sequence,
    )


def context(profile: Profile | None = None) -> CheckContext:
    return CheckContext(
        profile=profile or Profile(),
        api_key="CANARY-KEY-0123456789",
        not_owned=USERS.not_owned,
        unknown_users=frozenset(USERS.unknown_user_ids),
    )


def failures(exchanges: list[Exchange], ctx: CheckContext) -> dict[str, list[str]]:
    """Every failure of the checks over the exchanges in order: requirement -> titles."""
    found: dict[str, list[str]] = {}
    for exchange in exchanges:
        subject = Subject(exchange)
        for result in run_checks(subject, ctx):
            if result.failure is not None:
                found.setdefault(result.failure.requirement, []).append(result.failure.title)
        ctx.state.observe(subject)
    return found


# -- the statistics ------------------------------------------------------------------------------------------
def test_identical_samples_give_p_one() -> None:
    assert mann_whitney_p([0.01] * 16, [0.01] * 16) == 1.0
    assert mann_whitney_p([], [0.1]) == 1.0


def test_separated_samples_reach_the_threshold_and_the_floor_decides() -> None:
    fast, slow = [0.010 + i * 1e-4 for i in range(16)], [0.310 + i * 1e-4 for i in range(16)]
    result = compare(slow, fast)
    assert result.p_value < 1e-5  # the least p of 16 against 16: 1.5e-6
    assert result.median_difference == pytest.approx(0.3)
    assert result.separates(min_difference=0.05)
    close = compare([t + 0.02 for t in fast], fast)
    assert close.p_value < 1e-4 and not close.separates(min_difference=0.05)  # certain, but small


def test_p_value_matches_the_textbook_normal_approximation() -> None:
    # U = 0 for 3 vs 3 fully separated: z = (4.5 - 0.5) / sqrt(3*3*7/12) = 1.746, two-sided p = 0.0809
    assert mann_whitney_p([1, 2, 3], [4, 5, 6]) == pytest.approx(0.0809, abs=1e-3)


def test_noise_alone_rarely_separates() -> None:
    rng = random.Random(20)
    separated = sum(
        compare(
            [rng.lognormvariate(-4, 0.5) for _ in range(16)], [rng.lognormvariate(-4, 0.5) for _ in range(16)]
        ).separates(min_difference=0.0)
        for _ in range(500)
    )
    assert separated <= 2  # p < 1e-4: about 0.05 expected in 500


def test_a_few_slow_outliers_do_not_separate() -> None:
    base = [0.01 + i * 1e-4 for i in range(16)]
    assert not compare([*base[:13], 2.0, 2.5, 3.0], base).separates(min_difference=0.05)


# -- the profile ---------------------------------------------------------------------------------------------
def test_idle_follows_the_tolerance_remotely_and_is_short_on_loopback() -> None:
    assert Profile().idle_seconds(loopback=False) == 11.0
    assert Profile().idle_seconds(loopback=True) == 3.0
    assert Profile(connection_idle=7).idle_seconds(loopback=True) == 7


@pytest.mark.parametrize(
    "settings",
    [{"timing_samples": 11}, {"timing_min_difference_ms": -1.0}, {"connection_idle": float("inf")}],
)
def test_timing_and_idle_settings_are_validated(settings: dict[str, float]) -> None:
    with pytest.raises(ProfileError):
        Profile(**settings)  # type: ignore[arg-type]


# -- the probes ----------------------------------------------------------------------------------------------
def test_header_cases_follow_each_plain_request() -> None:
    cases = header_cases(BUILDER)
    plain = [c for c in cases if not c.headers]
    assert len(plain) == 5 and len(cases) == 5 + 4 + 3 * 4
    assert {c.form for c in cases} == {c.form for c in plain}
    assert ("X-Forwarded-For", "::1") in forwarded_headers("::1")
    assert ("Forwarded", 'for="[::1]"') in forwarded_headers("::1")


def test_fresh_connection_cases_run_in_blocks_after_a_pooled_twin() -> None:
    cases = fresh_connection_cases(BUILDER)
    assert len(cases) == 3 * (FRESH_CONNECTIONS_PER_PROBE + 1)
    for start in range(0, len(cases), FRESH_CONNECTIONS_PER_PROBE + 1):
        block = cases[start : start + FRESH_CONNECTIONS_PER_PROBE + 1]
        assert not block[0].fresh_connection and all(c.fresh_connection for c in block[1:])
        assert len({c.form for c in block}) == 1


def test_cookies_are_sent_back_as_a_browser_would() -> None:
    assert (
        cookie_header(["sid=abc123; Path=/; Secure; HttpOnly", "lang=en", "garbage\x00"])
        == "sid=abc123; lang=en"
    )
    assert cookie_cases(BUILDER, "") == []
    cases = cookie_cases(BUILDER, "sid=abc123")
    assert [c.headers for c in cases].count((("Cookie", "sid=abc123"),)) == 5


def test_non_interference_covers_every_user_with_each_wrong_key() -> None:
    cases = non_interference_cases(BUILDER)
    groups = {interference_group(c) for c in cases}
    assert len(cases) == 8 and len(groups) == 3  # wrong key, no key, right key


def test_timing_cases_interleave_the_two_users() -> None:
    cases = timing_cases(BUILDER)
    assert [c.user_id for c in cases[:4]] == [OWN, UNKNOWN, OWN, UNKNOWN]
    assert len(cases) == 2 * Profile().timing_samples


# -- fingerprints and channels -------------------------------------------------------------------------------
def test_fingerprint_masks_what_differs_per_response() -> None:
    own = BUILDER.case(user_id=None)
    unknown = dataclasses.replace(
        own, form=(*own.form[:1], ("user_id", str(UNKNOWN)), own.form[2]), user_id=UNKNOWN
    )
    body = b"<m>user %d at 2026-11-26T08:00:00Z id 123e4567-e89b-12d3-a456-426614174000 t 1795824000</m>"
    a = answer(own, 401, body=body % OWN, headers=(("x-request-id", "1"),))
    b = answer(unknown, 401, body=body % UNKNOWN, headers=(("x-request-id", "2"), ("connection", "close")))
    assert fingerprint(a).difference(fingerprint(b)) == ""
    assert "header" in fingerprint(a).difference(fingerprint(answer(own, 401, body=body % OWN)))


def with_user(case: Case, user_id: int) -> Case:
    """``case`` naming ``user_id`` instead."""
    form = tuple(("user_id", str(user_id)) if name == "user_id" else (name, v) for name, v in case.form)
    return dataclasses.replace(case, form=form, user_id=user_id)


@pytest.mark.parametrize(
    ("body", "first", "then"),
    [
        # a short id is also part of other numbers: the XML declaration, a status, a decimal
        (b'<?xml version="1.0"?><r><s>401</s><u>%d</u><v>0.5</v></r>', OWN, 0),
        (b'<?xml version="1.0"?><r><s>401</s><u>%d</u></r>', 1, OWN),
        # an id inside a time or a UUID stays part of it; an id of ten digits is no time
        (b"<u>%d</u><t>2026-12-06T08:00:00Z</t>", OWN, 12),
        (b"<u>%d</u><i>12345678-e89b-12d3-a456-426614174000</i>", 9, 12345678),
        (b"<u>%d</u><t>1795824000</t>", OWN, 1_795_824_123),
    ],
)
def test_the_echoed_user_id_is_masked_alike_in_both_answers(body: bytes, first: int, then: int) -> None:
    a = answer(with_user(BUILDER.case(), first), 401, body=body % first)
    b = answer(with_user(BUILDER.case(), then), 401, body=body % then)
    assert fingerprint(a).difference(fingerprint(b)) == ""
    assert fingerprint(b).difference(fingerprint(a)) == ""


def test_a_short_user_id_does_not_hide_a_difference() -> None:
    body = b'<?xml version="1.0"?><r><u>%d</u><n>%d</n></r>'
    a = answer(with_user(BUILDER.case(), OWN), 401, body=body % (OWN, 3))
    b = answer(with_user(BUILDER.case(), 0), 401, body=body % (0, 4))
    assert "body from byte" in fingerprint(a).difference(fingerprint(b))
    assert "body from byte" in fingerprint(b).difference(fingerprint(a))


def test_channels_and_errors() -> None:
    case = BUILDER.case()
    assert channel_varied(case) == ""
    assert channel_varied(dataclasses.replace(case, headers=(("Date", DATE),))) == "with Date"
    assert channel_varied(dataclasses.replace(case, fresh_connection=True)) == "on a fresh connection"
    assert error_left_open(answer(case, 400)) and error_left_open(answer(case, 500))
    assert not error_left_open(answer(case, 401)) and not error_left_open(answer(case, 200))
    assert not error_left_open(answer(case, 400, headers=(("connection", "close"),)))


# -- the checks ----------------------------------------------------------------------------------------------
def test_a_header_that_turns_a_refusal_into_a_grant_fails_client_blind() -> None:
    wrong = header_cases(BUILDER)[1]
    forwarded = dataclasses.replace(wrong, headers=forwarded_headers("127.0.0.1"))
    ctx = context()
    found = failures([answer(wrong, 401, "bad key"), answer(forwarded, 200, sequence=2)], ctx)
    assert "LT-SEC-CLIENT-BLIND" in found and "LT-AUTH-KEY-INVALID" in found
    assert failures([answer(wrong, 401, "bad key"), answer(forwarded, 401, "bad key")], context()) == {}


def test_an_expire_from_the_client_date_fails_client_blind() -> None:
    valid = BUILDER.case()
    dated = dataclasses.replace(valid, headers=(("Date", "Sat, 01 Jan 2000 00:00:00 GMT"),))
    grant = answer(dated, 200)
    grant.body = grant.body.replace(str(int(NOW) + 3600).encode(), b"946688400")
    found = failures([answer(valid, 200), grant], context())
    assert "<expire> is not the server's issue time" in found["LT-SEC-CLIENT-BLIND"]


def test_after_an_error_the_next_request_is_compared() -> None:
    foreign = next(c for c in header_cases(BUILDER) if c.user_id == FOREIGN)
    malformed = BUILDER.case()
    exchanges = [
        answer(foreign, 403, "no"),
        answer(malformed, 400, "bad", sequence=2),
        answer(foreign, 200, sequence=3),
    ]
    found = failures(exchanges, context())
    assert "LT-SEC-CLIENT-BLIND" in found and "LT-AUTH-USER-SCOPE" in found


def test_a_wrong_key_answered_differently_for_unknown_users_fails() -> None:
    own, foreign, unknown = non_interference_cases(BUILDER)[:3]
    same = [answer(own, 401, "bad key"), answer(foreign, 401, "bad key"), answer(unknown, 401, "bad key")]
    assert failures(same, context()) == {}
    told = [answer(own, 401, "bad key"), answer(unknown, 404, "no such user", sequence=2)]
    assert failures(told, context())["LT-SEC-NON-INTERFERENCE"] == ["the answer tells users apart"]


def test_a_wrong_key_refusal_echoing_a_short_user_id_passes() -> None:
    """The reference's refusal echoes the user: for user 0 the XML declaration's 1.0 holds it too."""
    own = non_interference_cases(BUILDER)[0]
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n<user_response><status>401</status><message>%d</message>'
    body += b"</user_response>\n"
    echoed = [answer(own, 401, body=body % OWN), answer(with_user(own, 0), 401, body=body % 0, sequence=2)]
    assert "LT-SEC-NON-INTERFERENCE" not in failures(echoed, context())


def test_a_refusal_naming_the_tenant_fails_and_the_reference_messages_pass() -> None:
    foreign, unknown = non_interference_cases(BUILDER)[-2:]
    plain = [
        answer(foreign, 403, "the api_key has no access to this user"),
        answer(unknown, 404, "the user does not exist"),
    ]
    assert failures(plain, context()) == {}
    named = answer(foreign, 403, f"user {FOREIGN} belongs to tenant globex-0002")
    assert disclosed_words(Subject(named)) == ["globex-0002"]
    assert "LT-SEC-NON-INTERFERENCE" in failures([named], context())
    tagged = [
        answer(unknown, 404, "no"),
        answer(foreign, 403, "no", headers=(("x-tenant", "globex"),), sequence=2),
    ]
    assert failures(tagged, context())["LT-SEC-NON-INTERFERENCE"] == [
        "the refusal's headers tell users apart"
    ]


@pytest.mark.parametrize(("slower", "fails"), [(0.3, True), (0.02, False)])
def test_timing_judged_once_the_sample_is_complete(slower: float, fails: bool) -> None:
    rng = random.Random(1)
    exchanges = [
        answer(c, 401, "bad key", elapsed=0.01 + rng.random() * 0.005 + (slower if c.user_id == OWN else 0.0))
        for c in timing_cases(BUILDER)
    ]
    found = failures(exchanges, context())
    assert ("LT-SEC-NON-INTERFERENCE" in found) is fails
    assert failures(exchanges, context(Profile(timing_test=False))) == {}


def test_only_refusals_for_the_users_sake_compare_with_the_right_key() -> None:
    out_of_range = BUILDER.case(token_expire=Param.of("59"))
    assert interference_group(out_of_range) is None
    assert interference_group(BUILDER.case(user_id=Param.of(str(FOREIGN)))) is not None


def test_a_cookie_the_case_carried_is_redacted_in_evidence() -> None:
    secret = "sid-value-0123456789abcdef"
    case = dataclasses.replace(BUILDER.case(), headers=(("Cookie", f"sid={secret}"),))
    shown = request_channel(case, Redactor(secrets=[secret]))
    assert secret not in str(shown) and shown["headers"][0][0] == "Cookie"


def test_a_refusal_naming_the_parameter_the_request_spelt_otherwise_discloses_nothing() -> None:
    """`USER_ID=54321` refused with "user_id is missing": the seed's own parameter name, in any case, is
    no identifier of another tenant (found when the spellings and this oracle first met)."""

    form = (("api_key", "__API_KEY_REDACTED__"), ("USER_ID", "54321"), ("token_expire", "3600"))
    case = Case("USER_ID", form, Expect.REJECT, "LT-AUTH-USER-SCOPE", user_id=54321)
    body = b"<user_response><status>400</status><message>user_id is missing</message></user_response>"
    exchange = Exchange(
        case, sent_at=1.0, elapsed=0.1, url="http://127.0.0.1:1/v1/user/login_token", sequence=1
    )
    exchange.status, exchange.body = 400, body
    assert disclosed_words(Subject(exchange)) == []
    exchange.body = body.replace(b"user_id is missing", b"user_id owned by tenant_acme")
    assert disclosed_words(Subject(exchange)) == ["tenant_acme"]
