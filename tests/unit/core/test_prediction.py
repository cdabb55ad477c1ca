"""prediction: the generators a few earlier tokens or the issue time give away, and none that they don't."""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
from collections.abc import Callable

import pytest

from conformance.checks import CheckContext, Subject, run_checks
from conformance.core.model import Case, Exchange, Expect
from conformance.core.prediction import (
    TIME_SEEDED_TOKENS,
    TokenPredictor,
    readings,
    time_seeded,
    untemper,
)
from conformance.core.profile import Profile

SENT_AT = 1_795_824_000.0
Generator = Callable[[int], str]


def first_prediction(generate: Generator, *, tokens: int, users: tuple[int, ...] = (1, 2)) -> str | None:
    """How the first token that was predicted before it was issued had been predicted; None if none was."""
    predictor = TokenPredictor()
    for n in range(tokens):
        user = users[n % len(users)]
        token = generate(user)
        if token in predictor.predicted:
            return predictor.predicted[token].how
        predictor.learn(token, user=user)
    return None


def mersenne(spell: Callable[[random.Random], str]) -> Generator:
    generator = random.Random(secrets.randbits(64))
    return lambda user: spell(generator)


def lcg_per_user(modulus: int, a: int, c: int, width: int) -> Generator:
    states: dict[int, int] = {}

    def generate(user: int) -> str:
        states[user] = (a * states.get(user, secrets.randbelow(modulus)) + c) % modulus
        return f"{states[user]:0{width}x}"

    return generate


def hash_chain(name: str) -> Generator:
    previous = [secrets.token_hex(16)]

    def generate(user: int) -> str:
        previous[0] = hashlib.new(name, previous[0].encode()).hexdigest()[:32]
        return previous[0]

    return generate


@pytest.mark.parametrize(
    ("generate", "tokens", "how"),
    [
        (mersenne(lambda r: f"{r.getrandbits(128):032x}"), 160, "getrandbits order"),
        (mersenne(lambda r: r.randbytes(16).hex()), 160, "randbytes order"),
        (mersenne(lambda r: r.randbytes(16).hex().upper()), 160, "randbytes order"),
        (mersenne(lambda r: base64.urlsafe_b64encode(r.randbytes(24)).decode()), 110, "Mersenne Twister"),
        (mersenne(lambda r: base64.b64encode(r.randbytes(32)).decode()), 90, "Mersenne Twister"),
        (mersenne(lambda r: str(r.getrandbits(64))), 320, "decimal, getrandbits order"),
        (lcg_per_user(2**64, 6364136223846793005, 1442695040888963407, 16), 10, "mod 2^64 (user"),
        (lcg_per_user(2**128, 0x2360ED051FC65DA44385DF649FCCF645, 1, 32), 10, "mod 2^128"),
        (lcg_per_user(2**31 - 1, 48271, 0, 8), 10, "mod 2^31-1"),
        (lcg_per_user(2**48, 0x5DEECE66D, 11, 12), 10, "mod 2^48"),
        (lcg_per_user(2**61 - 1, 0x1234567, 0x89ABCDEF, 16), 20, "linear congruential"),  # gcd modulus
        (lcg_per_user(2**128, 1, 0x1000000000000000000000001, 32), 10, "(0x1 x"),  # counter + constant
        (hash_chain("md5"), 4, "md5 of an earlier token's text"),
        (hash_chain("sha1"), 4, "sha1"),
        (hash_chain("sha256"), 4, "sha256"),
    ],
    ids=[
        "mt getrandbits hex",
        "mt randbytes hex",
        "mt randbytes HEX",
        "mt base64url",
        "mt base64",
        "mt decimal",
        "lcg 2^64 per user",
        "lcg 2^128",
        "minstd",
        "java lcg 2^48",
        "lcg unknown modulus",
        "counter plus constant",
        "md5 chain",
        "sha1 chain",
        "sha256 chain",
    ],
)
def test_a_predictable_generator_is_predicted(generate: Generator, tokens: int, how: str) -> None:
    found = first_prediction(generate, tokens=tokens)
    assert found is not None and how in found


def test_xorshift_is_predicted() -> None:
    state = [secrets.randbits(64) | 1]

    def xorshift64(user: int) -> str:
        x = state[0]
        x ^= (x << 13) & (2**64 - 1)
        x ^= x >> 7
        x ^= (x << 17) & (2**64 - 1)
        state[0] = x
        return f"{x:016x}"

    found = first_prediction(xorshift64, tokens=3)
    assert found is not None and "xorshift64" in found


def test_the_twister_is_found_again_after_tokens_answered_out_of_order() -> None:
    generator = random.Random(7)
    tokens = [f"{generator.getrandbits(128):032x}" for _ in range(200)]
    tokens[3], tokens[5] = tokens[5], tokens[3]  # a concurrent burst answered in another order
    predictor = TokenPredictor()
    hits = []
    for token in tokens:
        hits.append(token in predictor.predicted)
        predictor.learn(token, user=None)
    assert any(hits)


@pytest.mark.parametrize(
    "generate",
    [
        lambda user: secrets.token_hex(16),
        lambda user: secrets.token_hex(8),
        lambda user: secrets.token_urlsafe(32),
        lambda user: base64.b64encode(secrets.token_bytes(24)).decode(),
        lambda user: str(secrets.randbits(64)),
        lambda user: str(secrets.randbelow(10**10)).zfill(10),
    ],
    ids=["token_hex(16)", "token_hex(8)", "token_urlsafe", "base64", "decimal 64-bit", "10 digits"],
)
def test_a_csprng_is_never_predicted(generate: Generator) -> None:
    assert first_prediction(generate, tokens=800) is None


def test_untemper_inverts_the_tempering() -> None:
    generator = random.Random(3)
    state = generator.getstate()[1]
    outputs = [generator.getrandbits(32) for _ in range(624)]
    clone = random.Random()
    clone.setstate((3, (*(untemper(w) for w in outputs), 624), None))
    assert [clone.getrandbits(32) for _ in range(10)] == [generator.getrandbits(32) for _ in range(10)]
    assert state  # the original state is not what is recovered: the outputs are


def test_readings_read_each_spelling_once() -> None:
    assert [c.name for c, _ in readings("00ff")] == ["hex"]
    assert [c.name for c, _ in readings("1234")] == ["hex", "decimal"]  # digits only: both readings
    assert [c.name for c, _ in readings("AbC-_xyz")] == ["base64url"]  # unpadded: the same bytes
    assert [c.name for c, _ in readings("AbC-_xw")] == ["base64url unpadded"]
    assert [c.name for c, _ in readings("1A2B3C")] == ["hex upper-case"]  # letters at odd places only
    assert [c.name for c, _ in readings("not a token!")] == []


@pytest.mark.parametrize("seed_unit", [1, 1000])
@pytest.mark.parametrize("draw", ["getrandbits", "randbytes"])
def test_a_time_seeded_token_is_found_from_the_issue_time(seed_unit: int, draw: str) -> None:
    issued = SENT_AT + 0.4321
    generator = random.Random(int(issued * seed_unit))
    token = f"{generator.getrandbits(128):032x}" if draw == "getrandbits" else generator.randbytes(16).hex()
    found = time_seeded(token, [SENT_AT, SENT_AT + 0.8])
    assert found is not None and draw in found


def test_a_random_token_is_not_time_seeded() -> None:
    assert time_seeded(secrets.token_hex(16), [SENT_AT, SENT_AT + 0.8]) is None


def grant(token: str, *, sequence: int, date: str = "Sat, 28 Nov 2026 00:00:00 GMT") -> Exchange:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<user_response><status>200</status><message>ok</message>'
        f"<user_id>12345</user_id><token>{token}</token><qrcode>https://qr.example/{sequence}.png</qrcode>"
        f"<expire>{int(SENT_AT) + 3600}</expire></user_response>"
    )
    case = Case(
        "valid request",
        (("api_key", "x"), ("user_id", "12345")),
        Expect.ACCEPT,
        "LT-INPUT-USER-VALID",
        user_id=12345,
        token_expire=3600,
    )
    headers = (("content-type", "application/xml"), ("cache-control", "no-store"), ("date", date))
    return Exchange(
        case, SENT_AT, 0.05, 200, headers, body.encode(), "OK", None, "", "http://127.0.0.1:9/", sequence
    )


def judge_in_order(tokens: list[str]) -> list[str]:
    """The LT-TOKEN-UNPREDICTABLE failures of a run issuing ``tokens`` in order (received values)."""
    ctx = CheckContext(profile=Profile(), api_key="CANARY-KEY-0123456789")
    received = []
    for sequence, token in enumerate(tokens, start=1):
        subject = Subject(grant(token, sequence=sequence))
        for result in run_checks(subject, ctx):
            if result.requirement == "LT-TOKEN-UNPREDICTABLE" and result.failure:
                received.append(result.failure.received)
        ctx.state.observe(subject)
    return received


def test_the_check_fails_a_token_that_was_predicted_and_shows_how() -> None:
    chain = hash_chain("sha256")
    received = judge_in_order([chain(1) for _ in range(3)])
    assert len(received) == 2
    assert "was predicted after 1 earlier token(s): sha256 of an earlier token's text" in received[0]


def test_the_check_fails_a_token_seeded_with_the_issue_second() -> None:
    token = f"{random.Random(int(SENT_AT)).getrandbits(128):032x}"
    (received,) = judge_in_order([token])
    assert "random.seed(1795824000) (the issue second), then getrandbits(128)" in received


def test_the_check_passes_a_run_of_csprng_tokens() -> None:
    assert judge_in_order([secrets.token_hex(16) for _ in range(TIME_SEEDED_TOKENS + 200)]) == []


def test_a_lying_date_does_not_widen_the_seed_window() -> None:
    from conformance.checks.tokens import issue_moments

    subject = Subject(grant("ab" * 16, sequence=1, date="Thu, 01 Jan 1970 00:00:00 GMT"))
    assert issue_moments(subject) == [SENT_AT, SENT_AT + 0.05, SENT_AT, SENT_AT + 1]  # <expire> only


def test_a_huge_token_is_not_learnt_and_costs_nothing() -> None:
    predictor = TokenPredictor()
    huge = secrets.token_hex(32768)
    predictor.learn(huge, user=1)
    assert predictor.predicted == {} and predictor.learnt == 1
    assert time_seeded(huge, [SENT_AT]) is None
