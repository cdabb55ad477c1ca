"""The birthday arithmetic the token sample is sized by, and what the summary states of it."""

from __future__ import annotations

import math

import pytest

from conformance.entropy import collision_probability, entropy_line, token_entropy_summary, tokens_to_catch
from conformance.profile import Profile


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
