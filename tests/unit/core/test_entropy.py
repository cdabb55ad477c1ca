"""The birthday arithmetic the token sample is sized by, what the summary states of it, and the
conservative min-entropy (NIST SP 800-90B estimators)."""

from __future__ import annotations

import math
import random
import secrets
import uuid
from collections.abc import Callable

import pytest

from conformance.core.entropy import (
    analyse,
    collision_probability,
    entropy_line,
    token_entropy_summary,
    tokens_to_catch,
)
from conformance.core.profile import Profile
from conformance.core.sp800_90b import min_entropy_per_symbol


@pytest.mark.parametrize(
    ("tokens", "space", "probability"),
    [
        (2, 2, 0.5),
        (3, 2, 1.0),
        (1, 2**16, 0.0),
        (560, 2**15, 0.9918),
        (568, 2**16, 0.9149),
        (776, 2**16, 0.9900),
    ],
)
def test_collision_probability_is_the_exact_birthday_product(
    tokens: int, space: int, probability: float
) -> None:
    assert collision_probability(tokens, space) == pytest.approx(probability, abs=1e-4)
    product = math.prod(1 - i / space for i in range(tokens))
    assert collision_probability(tokens, space) == pytest.approx(1 - product, abs=1e-12)


def test_the_tokens_needed_for_99_percent() -> None:
    # The numbers AMB-TOKEN-SAMPLE and the README state.
    assert tokens_to_catch(2**16) == 776
    assert tokens_to_catch(2**15) == 549
    assert collision_probability(775, 2**16) < 0.99 <= collision_probability(776, 2**16)


def test_the_default_sample_alone_catches_a_2_16_space_at_99_percent() -> None:
    # Issue 11: the default is sized for 2^16 (the run's other grants only add to it).
    sample = Profile().token_sample
    assert sample == tokens_to_catch(2**16)
    assert collision_probability(sample, 2**16) >= 0.99


def test_the_summary_and_sign_off_state_how_surely_a_2_16_space_would_have_shown() -> None:
    summary = token_entropy_summary([f"{n * 7919:032x}" for n in range(1, 785)])
    assert summary is not None
    assert summary["tokens_judged"] == 784
    assert summary["small_space_caught_probability"] == pytest.approx(0.9909, abs=1e-4)
    line = entropy_line(summary)
    assert line.endswith(
        "A token space of 2^16 would have shown a collision among the run's 784 tokens "
        "with probability 99.1%."
    )


# -- conservative min-entropy: NIST SP 800-90B over the token's characters (issue 21) ------------------


def _repeated_24_bit() -> str:
    return (secrets.randbits(24).to_bytes(3, "big") * 6)[:16].hex()


def _stretched_24_bit() -> str:
    return "".join(c * 2 for c in secrets.token_hex(3)) * 2 + secrets.token_hex(3)[:4] + "0" * 8


@pytest.mark.parametrize("make", [_repeated_24_bit, _stretched_24_bit], ids=["repeated", "stretched"])
@pytest.mark.parametrize("sample", [100, 776])
def test_a_24_bit_secret_over_a_128_bit_token_never_reports_more_than_64_bits(
    make: Callable[[], str], sample: int
) -> None:
    report = analyse([make() for _ in range(sample)])
    assert report is not None
    assert report.min_entropy_bits <= 64
    assert report.weakest.startswith("SP 800-90B")


@pytest.mark.parametrize(
    "make",
    [lambda: secrets.token_hex(16), lambda: secrets.token_urlsafe(32), lambda: str(uuid.uuid4())],
    ids=["token_hex", "token_urlsafe", "uuid4"],
)
def test_a_csprng_sample_keeps_enough_min_entropy(make: Callable[[], str]) -> None:
    report = analyse([make() for _ in range(100)])
    assert report is not None
    assert report.min_entropy_bits >= 64  # the failure floor is token_min_bits / 2 = 32


def test_each_estimator_sees_a_sequence_that_defeats_it() -> None:
    # A fixed uniform draw: the estimators are conservative and vary from draw to draw (compression most,
    # between about 2.3 and 2.8 bits of the 4 over 30 fresh draws), so a fresh draw would make this flaky.
    rng = random.Random(20261205)
    uniform = [rng.randrange(16) for _ in range(4000)]
    assert all(bits > 2.4 for bits in min_entropy_per_symbol(uniform, bits_per_symbol=4).values())
    constant_runs = [n // 50 % 16 for n in range(4000)]  # uniform counts, long runs
    found = min_entropy_per_symbol(constant_runs, bits_per_symbol=4)
    assert found["most common value"] > 3.5  # what the per-position view sees: nothing wrong
    assert found["t-tuple"] < 1.0 and found["longest repeated substring"] < 1.0
    period = [n % 16 for n in range(4000)]  # every symbol and pair equally often, perfectly predictable
    assert min(min_entropy_per_symbol(period, bits_per_symbol=4).values()) < 0.5


@pytest.mark.parametrize("sample", [100, 776])
def test_a_64_bit_csprng_token_stays_above_the_failure_floor(sample: int) -> None:
    # The compression and collision estimators are left out below about 6,000 bits of test data, where
    # their bound is noise (a 100-token sample of 64-bit tokens once read as 20 bits).
    report = analyse([secrets.token_hex(8) for _ in range(sample)])
    assert report is not None
    assert report.min_entropy_bits >= Profile().token_min_bits / 2
