"""Spellings of one request (issue 20): equivalent spellings of a valid request, honoured alike, and every
spelling of a forbidden request, refused alike.

A spelling is how the form goes on the wire (``conformance.core.wire``: Content-Type, percent-encoding, order,
chunks, Expect, JSON, multipart), which connection carries it, or how its names and values are written
(``USER_ID``, a value percent-encoded twice). The contract of a valid request does not change with its
spelling (LT-INPUT-EQUIVALENT); a forbidden one stays forbidden (LT-AUTH-*).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from conformance.core.model import API_KEY_PLACEHOLDER, Case, Expect, key_probe
from conformance.core.wire import MAY_REFUSE, percent_escaped  # sent as a value: %25XX on the wire
from conformance.inputs.cases import CaseBuilder
from conformance.inputs.classify import Param
from conformance.inputs.fixed import INVALID_API_KEY

EQUIVALENT = "LT-INPUT-EQUIVALENT"
# Spellings of a valid request that must be honoured like the plain one (MAY_REFUSE: the ones that may
# be refused, and how).
HONOURED_SPELLINGS = ("charset", "type-case", "percent-lowercase", "reversed", "expect-continue")
# Body formats a framework may also accept: a forbidden request in them must be refused all the same.
OTHER_FORMATS = ("json", "multipart")
EXTRA_FIELD = ("note", "two words")  # an unknown parameter with a space: + and %20 must read alike
NAME_CASES = ("USER_ID", "User_Id")


def _renamed(case: Case, name: str, new: str) -> tuple[tuple[str, str], ...]:
    return tuple((new if n == name else n, v) for n, v in case.form)


def _equivalent(case: Case, label: str, *, expect: Expect = Expect.ACCEPT, **changes: Any) -> Case:
    return dataclasses.replace(
        case, label=f"valid request {label}", expect=expect, requirement=EQUIVALENT, **changes
    )


def equivalent_cases(builder: CaseBuilder) -> list[Case]:
    """The valid request in every equivalent spelling (honoured like the plain one, or refused only as
    AMB-SPELLING-REFUSAL allows), and values percent-encoded twice (never read as the number)."""
    valid = builder.case()
    shortest = builder.case(token_expire=Param.of(str(builder.profile.token_expire_min)))
    noted = dataclasses.replace(valid, form=(*valid.form, EXTRA_FIELD))
    cases = [
        _equivalent(valid, "on the pooled connection"),
        _equivalent(valid, "on a fresh connection", fresh_connection=True),
        _equivalent(valid, "with Connection: close", headers=(("Connection", "close"),)),
        _equivalent(valid, "on the connection opened after Connection: close"),
        _equivalent(valid, "again on the reused connection"),
        shortest,  # in the plain spelling first: what its percent-encoded twin is compared with
        _equivalent(
            shortest, "with every byte percent-encoded (token_expire=%36%30)", spelling="percent-encoded"
        ),
        *(_equivalent(valid, f"spelt {name}", spelling=name) for name in HONOURED_SPELLINGS),
        _equivalent(noted, f"with an unknown {EXTRA_FIELD[0]}={EXTRA_FIELD[1]!r} (space as +)"),
        _equivalent(
            noted, f"with an unknown {EXTRA_FIELD[0]}={EXTRA_FIELD[1]!r} (space as %20)", spelling="space-%20"
        ),
        *(_equivalent(valid, f"spelt {name}", spelling=name, expect=Expect.EITHER) for name in MAY_REFUSE),
    ]
    user = str(builder.users.user_id)
    twice = (
        builder.case(user_id=Param.of(percent_escaped(user))),
        builder.case(token_expire=Param.of(percent_escaped(str(shortest.token_expire)))),
    )
    cases += [
        dataclasses.replace(
            case, label=f"{case.label} (percent-encoded twice on the wire)", requirement=EQUIVALENT
        )
        for case in twice
    ]
    return cases


def _spelt(case: Case, label: str, **changes: Any) -> Case:
    return dataclasses.replace(case, label=f"{case.label} {label}", **changes)


def _in_other_formats(case: Case, *, in_query: bool) -> list[Case]:
    cases = [_spelt(case, f"as {name}", spelling=name) for name in OTHER_FORMATS]
    cases += [
        _spelt(case, "percent-encoded", spelling="percent-encoded"),
        _spelt(case, "chunked", spelling="chunked"),
    ]
    if in_query:
        cases.append(_spelt(case, "in the query string of the POST", form_in_query=True))
    return cases


def forbidden_spelling_cases(builder: CaseBuilder) -> list[Case]:
    """The foreign and unknown users and wrong keys with names in other case, beside the valid names,
    percent-encoded twice, in other body formats and in the query string: never a grant for them."""
    own = builder.case()
    cases: list[Case] = []
    for other in builder.users.others:
        refused = builder.case(user_id=Param.of(str(other)))
        cases += [
            _spelt(refused, f"named {name}", form=_renamed(refused, "user_id", name)) for name in NAME_CASES
        ]
        beside = ("user_id", str(own.user_id)), ("USER_ID", str(other))
        for pairs in (beside, beside[::-1]):
            form = (*(p for p in own.form if p[0] != "user_id"), *pairs)
            shown = " & ".join(f"{n}={v}" for n, v in pairs)
            # A server that ignores the unknown USER_ID grants the own user: fine, but never the other one.
            cases.append(
                dataclasses.replace(
                    own, label=shown, form=form, expect=Expect.EITHER, requirement="LT-INPUT-LENIENT-HONOURED"
                )
            )
        cases.append(builder.case(user_id=Param.of(percent_escaped(str(other)))))
        cases += _in_other_formats(refused, in_query=builder.valid_key_in_query)
    for key, label in (
        (INVALID_API_KEY, "a wrong api_key"),
        (key_probe("last"), "api_key: key with the last character changed"),
    ):
        refused = builder.case(api_key=Param.of(key), label=label)
        cases += [
            _spelt(refused, "named API_KEY", form=_renamed(refused, "api_key", "API_KEY")),
            _spelt(
                refused, "beside API_KEY=<the key>", form=(*refused.form, ("API_KEY", API_KEY_PLACEHOLDER))
            ),
        ]
        cases += _in_other_formats(refused, in_query=key == INVALID_API_KEY)  # a derived key never in a URL
    return cases
