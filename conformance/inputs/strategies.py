"""Hypothesis strategies: generated parameters and cases (valid, out of range, lenient, malformed)."""

from __future__ import annotations

from typing import Literal, TypeVar

from hypothesis import strategies as st

from conformance.core.model import DIGITS, KEY_PROBES, Case, key_probe
from conformance.core.profile import Profile
from conformance.inputs.cases import CaseBuilder
from conformance.inputs.classify import MISSING, Param, Users
from conformance.inputs.malformed import MALFORMED_CLASSES, NOT_A_NUMBER, MalformedClass

T = TypeVar("T")
# Every code point UTF-8 can encode. (codec="utf-8" would say the same but makes Hypothesis build a
# ~240 MiB table on a first run.)
NO_SURROGATES: list[Literal["Cs"]] = ["Cs"]


def _variant(valid: st.SearchStrategy[int], cls: MalformedClass) -> st.SearchStrategy[str]:
    spell = cls.spell
    if cls.any_non_ascii:
        extras: st.SearchStrategy[str] = st.characters(min_codepoint=0x80, exclude_categories=NO_SURROGATES)
    elif cls.drawn:
        extras = st.sampled_from(cls.drawn)
    else:
        return valid.map(lambda v: spell(v, ""))
    return st.tuples(valid, extras).map(lambda p: spell(p[0], p[1]))


def malformed_variants(valid: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    """Malformed spellings of valid numbers, one branch per generated malformed class."""
    return st.one_of(
        *(_variant(valid, cls) for cls in MALFORMED_CLASSES if cls.drawn is not None or cls.any_non_ascii)
    )


def garbage() -> st.SearchStrategy[str]:
    """Values that are not numbers at all: empty, words, any text with a non-digit character."""
    return st.one_of(
        st.sampled_from(NOT_A_NUMBER),
        st.text(min_size=1, max_size=12).filter(lambda s: not DIGITS.fullmatch(s)),
    )


def weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """Draw from the strategies in proportion to their weights.

    st.one_of would flatten nested one_ofs (a 13-way malformed_variants would outweigh everything);
    shrinking moves towards the first choice, so list the simplest first.
    """
    indices = [index for index, (weight, _) in enumerate(choices) for _ in range(weight)]
    return st.sampled_from(indices).flatmap(lambda index: choices[index][1])


def _sent(single: st.SearchStrategy[str], *, repeat_same: bool) -> st.SearchStrategy[Param]:
    # Sent once most of the time: missing and repeated parameters have explicit tests too.
    return weighted(
        (6, single.map(Param.of)),
        (1, st.just(MISSING)),
        (1, st.tuples(single, single).map(Param)),
        (1 if repeat_same else 0, single.map(lambda v: Param((v, v)))),
    )


def token_expire_params(profile: Profile) -> st.SearchStrategy[Param]:
    """Valid, out-of-range, lenient and malformed token_expire parameters, missing and repeated too."""
    valid = st.integers(profile.token_expire_min, profile.token_expire_max)
    below = st.integers(0, profile.token_expire_min - 1) if profile.token_expire_min > 0 else st.nothing()
    above = st.integers(profile.token_expire_max + 1, 10**20)
    # Valid values weigh most: grants are where the expire, echo and token checks have work to do.
    single = weighted(
        (4, valid.map(str)),
        (1, below.map(str)),
        (1, above.map(str)),
        (1, st.tuples(valid, st.integers(1, 4)).map(lambda p: "0" * p[1] + str(p[0]))),
        (2, malformed_variants(valid)),
        (1, garbage()),
    )
    return _sent(single, repeat_same=True)


def user_id_params(users: Users) -> st.SearchStrategy[Param]:
    """The configured user, other well-formed IDs (lenient), malformed spellings, missing and repeated."""
    known = [users.user_id, users.unknown_user_id] + (
        [users.foreign_user_id] if users.foreign_user_id else []
    )
    valid = st.just(users.user_id)
    single = weighted(
        (2, st.sampled_from(known).map(str)),
        (2, st.integers(0, 2**64).map(str)),
        (1, st.tuples(valid, st.integers(1, 4)).map(lambda p: "0" * p[1] + str(p[0]))),
        (2, malformed_variants(valid)),
        (1, malformed_variants(st.integers(0, 2**40))),
        (1, garbage()),
    )
    return _sent(single, repeat_same=False)


def api_key_params() -> st.SearchStrategy[Param | None]:
    """Mostly the configured key (None: the builder's default), sometimes a key probe derived from it."""
    probes = st.sampled_from([name for name, _ in KEY_PROBES]).map(lambda name: Param.of(key_probe(name)))
    return weighted((9, st.just(None)), (1, probes))


def token_expire_cases(builder: CaseBuilder) -> st.SearchStrategy[Case]:
    """Cases that vary token_expire (and now and then the key: exploration probes authentication too)."""
    return st.tuples(token_expire_params(builder.profile), api_key_params()).map(
        lambda p: builder.case(token_expire=p[0], api_key=p[1])
    )


def user_id_cases(builder: CaseBuilder) -> st.SearchStrategy[Case]:
    """Cases that vary user_id (and now and then the key: exploration probes authentication too)."""
    return st.tuples(user_id_params(builder.users), api_key_params()).map(
        lambda p: builder.case(user_id=p[0], api_key=p[1])
    )
