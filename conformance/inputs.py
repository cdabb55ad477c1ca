"""Inputs: the classifier that says what the contract expects of a request, and Hypothesis strategies.

The contract for numbers is plain ASCII decimal digits. Every generated value is classified as valid
(must be accepted), invalid (must be rejected) or lenient (either, but an accepted value must be honoured
exactly); the expected outcome of a Case follows from the class, never from what a target happens to do.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from dataclasses import dataclass
from typing import Literal, TypeVar

from hypothesis import strategies as st

from conformance.model import (
    API_KEY_PLACEHOLDER,
    DIGITS,
    KEY_PROBES,
    PATH_VARIANTS,
    Case,
    Expect,
    key_probe,
    plain_integer,
)
from conformance.profile import Profile

T = TypeVar("T")
VALID_TOKEN_EXPIRE = 3600
INVALID_API_KEY = "placeholder-invalid-key-0000"
DEFAULT_UNKNOWN_USER_ID = 9223372036854775806  # 2**63 - 2: a well-formed ID no real deployment hands out

# 2**32 + n and 2**64 + n wrap to n in a fixed-width parser: a target that overflows grants them.
# 10**5000 has more digits than Python's int() accepts by default (4300): a naive parser answers 500.
HUGE = "1" + "0" * 5000
TOKEN_EXPIRE_BOUNDARIES = (
    "59",
    "60",
    "61",
    "86399",
    "86400",
    "86401",
    "0",
    "-1",
    str(10**30),
    str(2**32 + 3600),
    str(2**64 + 3600),
    HUGE,
)
USER_ID_BOUNDARIES = ("0", "1", str(2**31 - 1), str(2**31), str(2**63), str(10**40), HUGE)

# Every code point UTF-8 can encode. (codec="utf-8" would say the same but makes Hypothesis build a
# ~240 MiB table on a first run.)
NO_SURROGATES: list[Literal["Cs"]] = ["Cs"]
# Decimal digits that are not ASCII: Python's int() and many other parsers accept these.
FOREIGN_DIGIT_SETS = ("٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९")


@dataclass(frozen=True)
class Users:
    """The users a run knows: one in the key's scope, an unknown one, optionally one outside the scope."""

    user_id: int
    unknown_user_id: int = DEFAULT_UNKNOWN_USER_ID
    foreign_user_id: int | None = None
    more_unknown_user_ids: tuple[int, ...] = ()  # further --unknown-user-id values

    @property
    def unknown_user_ids(self) -> tuple[int, ...]:
        """Every user known not to exist."""
        return (self.unknown_user_id, *self.more_unknown_user_ids)

    @property
    def not_owned(self) -> frozenset[int]:
        """Users the key does not own: no token may name one of them."""
        foreign = () if self.foreign_user_id is None else (self.foreign_user_id,)
        return frozenset((*self.unknown_user_ids, *foreign))

    @property
    def others(self) -> tuple[int, ...]:
        """The users the key must not get a token for: the foreign one (if known) and the unknown ones."""
        foreign = () if self.foreign_user_id is None else (self.foreign_user_id,)
        return (*foreign, *self.unknown_user_ids)


@dataclass(frozen=True)
class Param:
    """How one form parameter is sent: absent (no values), once, or repeated."""

    values: tuple[str, ...]

    @classmethod
    def of(cls, value: str) -> Param:
        """The parameter sent once."""
        return cls((value,))

    def label(self, name: str) -> str:
        """Human form, e.g. ``token_expire='+60'`` or ``token_expire missing``."""
        if not self.values:
            return f"{name} missing"
        return " & ".join(f"{name}={value!r}" for value in self.values)


MISSING = Param(())


@dataclass(frozen=True)
class Classified:
    """The contract's expectation for one parameter value."""

    expect: Expect
    requirement: str
    value: int | None  # the integer an accepted response must honour, when there is one


def _repeated(param: Param, single: Classified) -> Classified:
    if len(set(param.values)) > 1:
        return Classified(Expect.REJECT, "LT-INPUT-REPEATED", None)
    if single.expect is Expect.ACCEPT:  # the same value twice may be read as that value
        return Classified(Expect.EITHER, "LT-INPUT-LENIENT-HONOURED", single.value)
    return single


def classify_token_expire(param: Param, *, profile: Profile) -> Classified:
    """Classify a token_expire parameter against the profile's bounds."""
    if not param.values:
        if profile.token_expire_required:
            return Classified(Expect.REJECT, "LT-INPUT-EXPIRE-MISSING", None)
        return Classified(Expect.EITHER, "LT-INPUT-EXPIRE-MISSING", None)
    raw = param.values[0]
    value = plain_integer(raw)
    if not DIGITS.fullmatch(raw):
        single = Classified(Expect.REJECT, "LT-INPUT-EXPIRE-MALFORMED", None)
    elif value is None:  # more digits than any sane parser converts: far above the range
        single = Classified(Expect.REJECT, "LT-INPUT-EXPIRE-RANGE", None)
    else:
        if not profile.token_expire_min <= value <= profile.token_expire_max:
            single = Classified(Expect.REJECT, "LT-INPUT-EXPIRE-RANGE", value)
        elif raw != str(value):  # leading zeros
            single = Classified(Expect.EITHER, "LT-INPUT-LENIENT-HONOURED", value)
        else:
            single = Classified(Expect.ACCEPT, "LT-INPUT-EXPIRE-VALID", value)
    return _repeated(param, single) if len(param.values) > 1 else single


def classify_user_id(param: Param, *, users: Users, profile: Profile | None = None) -> Classified:
    """Classify a user_id parameter against the run's known users and the profile's id bound."""
    if not param.values:
        return Classified(Expect.REJECT, "LT-INPUT-USER-MISSING", None)
    raw = param.values[0]
    value = plain_integer(raw)
    bound = (profile or Profile()).user_id_max
    if not DIGITS.fullmatch(raw):
        single = Classified(Expect.REJECT, "LT-INPUT-USER-MALFORMED", None)
    elif value is None or value > bound:  # names no user (AMB-USER-ID-BOUND): a wrap would grant it
        single = Classified(Expect.REJECT, "LT-INPUT-USER-RANGE", value)
    else:
        if value in users.unknown_user_ids:
            single = Classified(Expect.REJECT, "LT-AUTH-USER-UNKNOWN", value)
        elif value == users.foreign_user_id:
            single = Classified(Expect.REJECT, "LT-AUTH-USER-SCOPE", value)
        elif value == users.user_id and raw == str(value):
            single = Classified(Expect.ACCEPT, "LT-INPUT-USER-VALID", value)
        else:  # leading zeros, or a well-formed ID that may or may not exist on the target
            single = Classified(Expect.EITHER, "LT-INPUT-LENIENT-HONOURED", value)
    return _repeated(param, single) if len(param.values) > 1 else single


def spread_across(low: int, high: int, *, seed: int, buckets: int = 8) -> list[int]:
    """One seeded value from each of ``buckets`` log-spaced slices of low..high (both ends excluded).

    Hypothesis favours small and boundary values early on; this guarantees values deep inside the range
    whatever the seed, so a target that only handles the boundaries still shows up.
    """
    rng = random.Random(seed)
    edges = sorted({round(low * (high / low) ** (i / buckets)) for i in range(buckets + 1)})
    return [rng.randint(a + 1, b - 1) for a, b in itertools.pairwise(edges) if b - a > 1]


def malformed_spellings(value: int) -> list[str]:
    """One spelling of ``value`` per malformed class, so every lenient-parser class is always exercised."""
    text = str(value)
    return [
        f"+{text}",
        f"-{text}",
        f"{text}.0",
        f"{text}.5",
        f"{text}e0",
        f"{value / 10}e1",
        f"{value:_}",
        f"{value:,}",
        hex(value),
        oct(value),
        bin(value),
        f" {text}",
        f"{text} ",
        f"\t{text}",
        f"{text}\n",
        f"\u00a0{text}",
        f"{text}\x00",
        f"{text};",
        f"{text}x",
        *(text.translate(str.maketrans("0123456789", digits)) for digits in FOREIGN_DIGIT_SETS),
        "",
        " ",
        "abc",
        "null",
        "NaN",
        "Infinity",
        "1e3",
        "--1",
        "0x10",
    ]


def api_key_variants() -> list[Param]:
    """Keys that must be refused: absent, empty, wrong, the valid key with a character added.

    A valid key given twice beside a wrong one is not sent: the contract does not say which one counts.
    """
    return [
        MISSING,
        Param.of(""),
        Param.of(INVALID_API_KEY),
        Param.of(f"{API_KEY_PLACEHOLDER}x"),
        Param.of(f"x{API_KEY_PLACEHOLDER}"),
    ]


def key_probe_cases(builder: CaseBuilder) -> list[Case]:
    """One case per key probe, labelled with its redacted description; each must be refused."""
    return [
        builder.case(api_key=Param.of(key_probe(name)), label=f"api_key: {text}") for name, text in KEY_PROBES
    ]


def classify_api_key(param: Param) -> Classified:
    """The configured key (the placeholder) is valid; anything else must be refused."""
    if not param.values:
        return Classified(Expect.REJECT, "LT-AUTH-KEY-MISSING", None)
    if set(param.values) == {API_KEY_PLACEHOLDER}:
        if len(param.values) > 1:
            return Classified(Expect.EITHER, "LT-INPUT-LENIENT-HONOURED", None)
        return Classified(Expect.ACCEPT, "LT-AUTH-KEY-INVALID", None)
    if API_KEY_PLACEHOLDER in param.values:
        return Classified(Expect.REJECT, "LT-INPUT-REPEATED", None)
    return Classified(Expect.REJECT, "LT-AUTH-KEY-INVALID", None)


@dataclass(frozen=True)
class CaseBuilder:
    """Builds classified Cases: one parameter varied, the others valid."""

    users: Users
    profile: Profile

    def case(
        self,
        *,
        user_id: Param | None = None,
        token_expire: Param | None = None,
        api_key: Param | None = None,
        label: str | None = None,
    ) -> Case:
        """A Case whose expectation follows from classifying every parameter."""
        user_param = user_id or Param.of(str(self.users.user_id))
        expire_param = token_expire or Param.of(str(VALID_TOKEN_EXPIRE))
        key_param = api_key or Param.of(API_KEY_PLACEHOLDER)
        parts = {
            "api_key": classify_api_key(key_param),
            "user_id": classify_user_id(user_param, users=self.users, profile=self.profile),
            "token_expire": classify_token_expire(expire_param, profile=self.profile),
        }
        given = {"api_key": api_key, "user_id": user_id, "token_expire": token_expire}
        # Any refusal decides, then any lenient part; when all are valid, the varied parameter names the
        # requirement (a valid token_expire refused is LT-INPUT-EXPIRE-VALID), else the user does.
        order = sorted(parts, key=lambda name: given[name] is None)
        decisive = (
            next((parts[n] for n in order if parts[n].expect is Expect.REJECT), None)
            or next((parts[n] for n in order if parts[n].expect is Expect.EITHER), None)
            or next((parts[n] for n in order if given[n] is not None and n != "api_key"), parts["user_id"])
        )
        form = tuple(
            (name, value)
            for name, param in (
                ("api_key", key_param),
                ("user_id", user_param),
                ("token_expire", expire_param),
            )
            for value in param.values
        )
        varied = [
            param.label(name)
            for name, param, given in (
                ("api_key", key_param, api_key),
                ("user_id", user_param, user_id),
                ("token_expire", expire_param, token_expire),
            )
            if given is not None
        ]
        return Case(
            label=label or (", ".join(varied) or "valid request"),
            form=form,
            expect=decisive.expect,
            requirement=decisive.requirement,
            user_id=parts["user_id"].value,
            token_expire=parts["token_expire"].value,
        )


# -- Hypothesis strategies -----------------------------------------------------------------------------


def malformed_variants(valid: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    """Malformed spellings of valid numbers: a sign, a fraction, an exponent, padding, foreign characters."""
    return st.one_of(
        valid.map(lambda v: f"+{v}"),
        valid.map(lambda v: f"-{v}"),
        valid.map(lambda v: f"{v}.0"),
        valid.map(lambda v: f"{v}.5"),
        valid.map(lambda v: f"{v}e0"),
        valid.map(lambda v: f"{v / 10}e1"),
        valid.map(lambda v: f"{v:_}" if v >= 1000 else f"{v}_0"),
        valid.map(hex),
        st.tuples(valid, st.sampled_from((" ", "\t", "\n", "\r\n", "\u00a0"))).map(lambda p: f"{p[1]}{p[0]}"),
        st.tuples(valid, st.sampled_from((" ", "\t", "\n", "\x00"))).map(lambda p: f"{p[0]}{p[1]}"),
        st.tuples(valid, st.sampled_from(FOREIGN_DIGIT_SETS)).map(
            lambda p: str(p[0]).translate(str.maketrans("0123456789", p[1]))
        ),
        st.tuples(valid, st.characters(min_codepoint=0x80, exclude_categories=NO_SURROGATES)).map(
            lambda p: f"{p[0]}{p[1]}"
        ),
        st.tuples(valid, st.sampled_from(("a", "x", "s", ",", ";", "%", "&"))).map(lambda p: f"{p[0]}{p[1]}"),
    )


def garbage() -> st.SearchStrategy[str]:
    """Values that are not numbers at all: empty, words, any text with a non-digit character."""
    return st.one_of(
        st.sampled_from(("", " ", "abc", "null", "NaN", "Infinity", "true", "[]", "0x10", "1e3", "--1")),
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


def boundary_cases(builder: CaseBuilder) -> list[Case]:
    """The boundaries every run sends, whatever Hypothesis generates."""
    cases = [builder.case(token_expire=Param.of(v)) for v in TOKEN_EXPIRE_BOUNDARIES]
    cases += [builder.case(user_id=Param.of(v)) for v in USER_ID_BOUNDARIES]
    return cases


# -- issue 11: every spelling for every user, long digit runs, methods and paths -------------------------

OTHER_METHODS = ("PUT", "DELETE", "PATCH")  # with the form in the body
QUERY_METHODS = ("GET", "HEAD", "OPTIONS")  # with the form in the query string
# Long digit runs followed or interrupted by junk, whitespace, separators and signs: a parser that scans
# digits greedily and then backtracks, or converts before it validates, stalls or fails on these.
DIGIT_RUN_SPELLINGS = (
    "9" * 15 + "x",
    "1" * 15 + " ",
    "-" + "9" * 25,
    "9" * 25 + ".5",
    "1" * 40 + ",000",
    "1" * 200 + "\t",
    "1" * 400 + "x" + "1" * 400,
    "9" * 1000 + "e9",
    "+" + "1" * 2000,
    "1" * 4000 + ";",
    "0" * 3000 + "3600x",
    " " + "9" * 3000,
)


def digit_run_cases(builder: CaseBuilder, name: str) -> list[Case]:
    """Every long-digit-run spelling of the parameter ``name``: each must be refused (quickly)."""
    cases = []
    for raw in DIGIT_RUN_SPELLINGS:
        label = f"{name}: {len(raw)} characters, {raw[:6]!r}...{raw[-4:]!r}"
        param = Param.of(raw)
        cases.append(
            builder.case(user_id=param, label=label)
            if name == "user_id"
            else builder.case(token_expire=param, label=label)
        )
    return cases


def user_spelling_cases(builder: CaseBuilder) -> list[Case]:
    """Zero-padded, wrapped (+2^32, +2^64), repeated (with the own user, both orders) and signed spellings
    of the foreign and every unknown user, and ids around the profile's bound."""
    own = builder.users.user_id
    bound = builder.profile.user_id_max
    params: list[Param] = []
    for other in builder.users.others:
        text = str(other)
        params += [
            Param.of("00" + text),
            Param.of(str(other + 2**32)),
            Param.of(str(other + 2**64)),
            Param((str(own), text)),
            Param((text, str(own))),
            Param((text, text)),
            Param.of("+" + text),
            Param.of(text + " "),
        ]
    params += [Param.of(str(v)) for v in (bound, bound + 1, 2**64 - 1, 2**64 + own, 2**32 + own)]
    return [builder.case(user_id=p) for p in params]


def route_cases(builder: CaseBuilder) -> list[Case]:
    """The valid request by other methods, and valid, wrong-key and not-owned requests to path variants."""
    valid = builder.case()
    cases = [
        dataclasses.replace(
            valid,
            label=f"{method} with the valid form in the {'query' if method in QUERY_METHODS else 'body'}",
            method=method,
            form_in_query=method in QUERY_METHODS,
            expect=Expect.EITHER,  # any answer but a token (an empty 204 to OPTIONS is fine): see routes
            requirement="LT-HTTP-POST-ONLY",
        )
        for method in (*QUERY_METHODS, *OTHER_METHODS)
    ]
    wrong_key = builder.case(
        api_key=Param.of(key_probe("last")), label="api_key: key with the last character changed"
    )
    not_owned = builder.case(user_id=Param.of(str(builder.users.others[0])))
    for variant in PATH_VARIANTS:
        cases.append(
            dataclasses.replace(
                valid,
                label=f"valid request to path variant {variant}",
                path_variant=variant,
                expect=Expect.EITHER,
                requirement="LT-HTTP-PATH-VARIANT",
            )
        )
        for refused in (wrong_key, not_owned):
            cases.append(
                dataclasses.replace(
                    refused, label=f"{refused.label} to path variant {variant}", path_variant=variant
                )
            )
    return cases


def sentinel_cases(builder: CaseBuilder) -> list[Case]:
    """The authentication and authorization sentinels the run repeats: wrong keys and not-owned users."""
    cases = [
        builder.case(api_key=Param.of(key_probe(name)), label=f"sentinel api_key: {text}")
        for name, text in KEY_PROBES
        if name in ("upper", "last", "prefix-half", "space", "chop")
    ]
    cases.append(builder.case(api_key=Param.of(INVALID_API_KEY), label="sentinel: wrong api_key"))
    cases += [
        builder.case(user_id=Param.of(str(other)), label=f"sentinel: not-owned user {other}")
        for other in builder.users.others
    ]
    return cases
