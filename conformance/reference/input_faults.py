"""Built-in faults in how requests are parsed, validated and authorized."""

from __future__ import annotations

import contextlib
import re
import unicodedata

from conformance.reference.behaviour import (
    REFERENCE_API_KEY,
    REFERENCE_USER_ID,
    SCOPES,
    USERS,
    Behaviour,
    Form,
    Rejection,
)
from conformance.reference.faults import fault

DEFAULT_TOKEN_EXPIRE = 3600
DECIMAL = re.compile(r"[0-9]+\.[0-9]*", re.ASCII)
EXPONENT = re.compile(r"[0-9]+(\.[0-9]*)?[eE][+-]?[0-9]+", re.ASCII)
OCTAL = re.compile(r"0[0-7]+", re.ASCII)

# -- token_expire bounds ---------------------------------------------------------------------------


@fault(name="token_expire_59_accepted", kind="off-by-one bound", requirements=("LT-INPUT-EXPIRE-RANGE",))
class TokenExpire59Accepted(Behaviour):
    """The lower bound is checked with `>= 59`: token_expire=59 is accepted."""

    EXPIRE_MIN = 59


@fault(name="token_expire_86401_accepted", kind="off-by-one bound", requirements=("LT-INPUT-EXPIRE-RANGE",))
class TokenExpire86401Accepted(Behaviour):
    """The upper bound is checked with `<= 86401`: token_expire=86401 is accepted."""

    EXPIRE_MAX = 86401


@fault(name="token_expire_60_rejected", kind="off-by-one bound", requirements=("LT-INPUT-EXPIRE-VALID",))
class TokenExpire60Rejected(Behaviour):
    """The lower bound is exclusive: token_expire=60 is rejected."""

    EXPIRE_MIN = 61


@fault(name="token_expire_86400_rejected", kind="off-by-one bound", requirements=("LT-INPUT-EXPIRE-VALID",))
class TokenExpire86400Rejected(Behaviour):
    """The upper bound is exclusive: token_expire=86400 is rejected."""

    EXPIRE_MAX = 86399


@fault(name="token_expire_clamped", kind="silent clamping", requirements=("LT-INPUT-EXPIRE-RANGE",))
class TokenExpireClamped(Behaviour):
    """An out-of-range token_expire is clamped into 60..86400 and accepted instead of rejected."""

    def expire_range(self, token_expire: int) -> int:
        return min(max(token_expire, self.EXPIRE_MIN), self.EXPIRE_MAX)


# The values a fixed list of boundary tests sends; a target tuned to pass that list accepts only these.
FIXED_TEST_VALUES = frozenset({60, 61, 3600, 86399, 86400})


@fault(
    name="token_expire_fixed_list_only",
    kind="overfitted to a fixed test list",
    requirements=("LT-INPUT-EXPIRE-VALID",),
)
class TokenExpireFixedListOnly(Behaviour):
    """Only the boundary and default values (60, 61, 3600, 86399, 86400) are accepted; 600 is refused.

    Every fixed boundary case passes: only generated inputs across the range can show this fault.
    """

    def expire_range(self, token_expire: int) -> int:
        token_expire = super().expire_range(token_expire)
        if token_expire not in FIXED_TEST_VALUES:
            raise Rejection(400, "token_expire is not a supported lifetime")
        return token_expire


# -- lenient number parsing ------------------------------------------------------------------------


@fault(
    name="token_expire_signed_accepted",
    kind="lenient parser: sign",
    requirements=("LT-INPUT-EXPIRE-MALFORMED",),
)
class TokenExpireSignedAccepted(Behaviour):
    """A token_expire with a leading sign is accepted: "+3600" reads as 3600."""

    def number(self, name: str, raw: str) -> int:
        if name == "token_expire" and raw[:1] in ("+", "-"):
            sign = -1 if raw[0] == "-" else 1
            return sign * super().number(name, raw[1:])
        return super().number(name, raw)


@fault(
    name="token_expire_decimal_accepted",
    kind="lenient parser: decimal point",
    requirements=("LT-INPUT-EXPIRE-MALFORMED",),
)
class TokenExpireDecimalAccepted(Behaviour):
    """A token_expire with a decimal point is truncated and accepted: "3600.0" reads as 3600."""

    def number(self, name: str, raw: str) -> int:
        if name == "token_expire" and DECIMAL.fullmatch(raw):
            with contextlib.suppress(OverflowError):  # "1e999" is inf: left to the strict parser
                return int(float(raw))
        return super().number(name, raw)


@fault(
    name="token_expire_exponent_accepted",
    kind="lenient parser: exponent",
    requirements=("LT-INPUT-EXPIRE-MALFORMED",),
)
class TokenExpireExponentAccepted(Behaviour):
    """A token_expire in exponent notation is accepted: "3.6e3" reads as 3600."""

    def number(self, name: str, raw: str) -> int:
        if name == "token_expire" and EXPONENT.fullmatch(raw):
            with contextlib.suppress(OverflowError):  # "1e999" is inf: left to the strict parser
                return int(float(raw))
        return super().number(name, raw)


@fault(
    name="token_expire_whitespace_accepted",
    kind="lenient parser: whitespace",
    requirements=("LT-INPUT-EXPIRE-MALFORMED",),
)
class TokenExpireWhitespaceAccepted(Behaviour):
    """A whitespace-padded token_expire is stripped and accepted: " 3600 " reads as 3600."""

    def number(self, name: str, raw: str) -> int:
        return super().number(name, raw.strip() if name == "token_expire" else raw)


@fault(
    name="token_expire_unicode_digits_accepted",
    kind="lenient parser: non-ASCII digits",
    requirements=("LT-INPUT-EXPIRE-MALFORMED",),
)
class TokenExpireUnicodeDigitsAccepted(Behaviour):
    """token_expire is checked with str.isdecimal(): any Unicode digits count, "٣٦٠٠" reads as 3600."""

    def number(self, name: str, raw: str) -> int:
        if name == "token_expire" and raw.isdecimal():
            return super().number(name, "".join(str(unicodedata.decimal(c)) for c in raw))
        return super().number(name, raw)


@fault(
    name="user_id_parsed_with_int", kind="lenient parser: user_id", requirements=("LT-INPUT-USER-MALFORMED",)
)
class UserIdParsedWithInt(Behaviour):
    """user_id is read with Python int(): " 12345", "+12345", "12_345" and "١٢٣٤٥" all mean 12345."""

    def number(self, name: str, raw: str) -> int:
        if name == "user_id":
            try:
                return int(raw)
            except ValueError:
                pass
        return super().number(name, raw)


@fault(
    name="leading_zeros_octal", kind="lenient value not honoured", requirements=("LT-INPUT-LENIENT-HONOURED",)
)
class LeadingZerosOctal(Behaviour):
    """A number with a leading zero and only digits 0-7 is read as octal: "0600" means 384."""

    def number(self, name: str, raw: str) -> int:
        if OCTAL.fullmatch(raw):
            return int(raw, 8)
        return super().number(name, raw)


@fault(
    name="leading_zeros_expire_defaulted",
    kind="lenient value not honoured",
    requirements=("LT-INPUT-LENIENT-HONOURED",),
)
class LeadingZerosExpireDefaulted(Behaviour):
    """A token_expire with leading zeros is accepted but replaced by the 3600 s default."""

    def number(self, name: str, raw: str) -> int:
        value = super().number(name, raw)
        if name == "token_expire" and len(raw) > 1 and raw.startswith("0"):
            return DEFAULT_TOKEN_EXPIRE
        return value


# -- repeated and missing parameters ---------------------------------------------------------------


@fault(
    name="repeated_parameter_last_wins",
    kind="repeated parameter accepted",
    requirements=("LT-INPUT-REPEATED",),
)
class RepeatedParameterLastWins(Behaviour):
    """A parameter repeated with different values is accepted; the last value wins."""

    def pick(self, form: Form, name: str) -> str | None:
        values = [value for key, value in form if key == name]
        return values[-1] if values else None


@fault(
    name="repeated_parameter_first_wins",
    kind="repeated parameter accepted",
    requirements=("LT-INPUT-REPEATED",),
)
class RepeatedParameterFirstWins(Behaviour):
    """A parameter repeated with different values is accepted; the first value wins."""

    def pick(self, form: Form, name: str) -> str | None:
        return next((value for key, value in form if key == name), None)


@fault(
    name="token_expire_missing_defaulted",
    kind="missing parameter defaulted",
    requirements=("LT-INPUT-EXPIRE-MISSING",),
)
class TokenExpireMissingDefaulted(Behaviour):
    """A request without token_expire is accepted with a 3600 s default (as in the vendor's sample)."""

    def pick(self, form: Form, name: str) -> str | None:
        value = super().pick(form, name)
        if value is None and name == "token_expire":
            return str(DEFAULT_TOKEN_EXPIRE)
        return value


@fault(
    name="user_id_missing_defaulted",
    kind="missing parameter defaulted",
    requirements=("LT-INPUT-USER-MISSING",),
)
class UserIdMissingDefaulted(Behaviour):
    """A request without user_id is accepted for the key's primary user 12345."""

    def pick(self, form: Form, name: str) -> str | None:
        value = super().pick(form, name)
        if value is None and name == "user_id":
            return str(REFERENCE_USER_ID)
        return value


@fault(name="plain_user_id_rejected", kind="valid user refused", requirements=("LT-INPUT-USER-VALID",))
class PlainUserIdRejected(Behaviour):
    """user_id is looked up as a zero-padded string: the plain "12345" is refused with 404."""

    def number(self, name: str, raw: str) -> int:
        if name == "user_id" and not raw.startswith("0"):
            raise Rejection(404, "the user does not exist")
        return super().number(name, raw)


# -- authorization ---------------------------------------------------------------------------------


@fault(name="missing_api_key_accepted", kind="authentication skipped", requirements=("LT-AUTH-KEY-MISSING",))
class MissingApiKeyAccepted(Behaviour):
    """A request without api_key is served as the default account (the reference key's scope)."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        return SCOPES[REFERENCE_API_KEY] if api_key is None else super().authenticate(api_key)


@fault(name="invalid_api_key_accepted", kind="authentication skipped", requirements=("LT-AUTH-KEY-INVALID",))
class InvalidApiKeyAccepted(Behaviour):
    """An unknown api_key is served as the default account instead of being refused."""

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        if api_key is not None and api_key not in SCOPES:
            return SCOPES[REFERENCE_API_KEY]
        return super().authenticate(api_key)


@fault(name="unknown_user_issued", kind="authorization skipped", requirements=("LT-AUTH-USER-UNKNOWN",))
class UnknownUserIssued(Behaviour):
    """A token is issued for a user_id that does not exist."""

    def authorize(self, user_id: int, scope: frozenset[int]) -> None:
        if user_id not in USERS:
            return
        super().authorize(user_id, scope)


@fault(name="foreign_user_issued", kind="authorization skipped", requirements=("LT-AUTH-USER-SCOPE",))
class ForeignUserIssued(Behaviour):
    """A token is issued for an existing user outside the api_key's scope."""

    def authorize(self, user_id: int, scope: frozenset[int]) -> None:
        if user_id in USERS:
            return
        super().authorize(user_id, scope)
