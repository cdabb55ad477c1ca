"""The classifier: what the contract expects of each parameter value (valid, invalid or lenient).

The contract for numbers is plain ASCII decimal digits. Every value is classified as valid (must be
accepted), invalid (must be rejected) or lenient (either, but an accepted value must be honoured exactly);
the expected outcome of a Case follows from the class, never from what a target happens to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.core.model import API_KEY_PLACEHOLDER, DIGITS, Expect, plain_integer
from conformance.core.profile import Profile

VALID_TOKEN_EXPIRE = 3600
DEFAULT_UNKNOWN_USER_ID = 9223372036854775806  # 2**63 - 2: a well-formed ID no real deployment hands out


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
