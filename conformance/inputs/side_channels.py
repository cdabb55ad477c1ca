"""The side-channel probes (issue 20 items 3, 4, 7): what the client should not control, and what a
refusal may tell.

Every variant goes after the same request sent plainly, so ``client_blind`` compares the two answers;
the non-interference probes send one wrong-key (and no-key) request per user, and the timing sample
interleaves the own and an unknown user under one wrong key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from http.cookies import CookieError, SimpleCookie

from conformance.core.model import TIMING_LABEL, Case, key_probe
from conformance.inputs.cases import CaseBuilder
from conformance.inputs.classify import MISSING, Param, Users
from conformance.inputs.fixed import INVALID_API_KEY

# AMB-CONNECTION-SPREAD: fresh connections in a row per security probe. Under round-robin assignment a
# worker serving one connection in k <= 24 is certainly hit; under independent assignment it is missed
# with probability (1 - 1/k)^24: 4.0% for k = 8, 1e-3 for k = 4, 6e-5 for k = 3.
FRESH_CONNECTIONS_PER_PROBE = 24
# A client Date far in the past and far in the future (RFC 9110 section 6.6.1: the sender's clock).
CLIENT_DATES = ("Sat, 01 Jan 2000 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT")
# What a client (or a proxy it passes) may claim about where the request comes from: loopback, an
# internal address, IPv6 loopback; in each of the three headers servers read.
CLAIMED_ADDRESSES = ("127.0.0.1", "10.0.0.1", "::1")
MALFORMED_EXPIRE = "abc"  # a 400 that leaves the connection open
MAX_COOKIE_CHARS = 4096  # of the Cookie header built from what the target set (RFC 6265 section 6.1)


def forwarded_headers(address: str) -> tuple[tuple[str, str], ...]:
    """X-Forwarded-For, Forwarded (RFC 7239, an IPv6 address quoted in brackets) and X-Real-IP naming
    ``address``."""
    node = f'"[{address}]"' if ":" in address else address
    return (("X-Forwarded-For", address), ("Forwarded", f"for={node}"), ("X-Real-IP", address))


def wrong_key_case(builder: CaseBuilder, *, user_id: int | None = None, label: str = "") -> Case:
    """The key with its last character changed, for the own user or ``user_id``."""
    user = None if user_id is None else Param.of(str(user_id))
    text = "api_key: key with the last character changed" + (f", user_id={user_id}" if user_id else "")
    return builder.case(api_key=Param.of(key_probe("last")), user_id=user, label=label or text)


def not_owned_sample(users: Users) -> tuple[int, ...]:
    """The foreign user (when known) and the first unknown user."""
    return tuple(dict.fromkeys((*users.others[:1], users.unknown_user_id)))


def refused_probes(builder: CaseBuilder) -> list[Case]:
    """A wrong key, no key, the foreign user (when known) and the first unknown user: all refused."""
    not_owned = [builder.case(user_id=Param.of(str(u))) for u in not_owned_sample(builder.users)]
    return [wrong_key_case(builder), builder.case(api_key=MISSING), *not_owned]


def varied(cases: Iterable[Case], headers: tuple[tuple[str, str], ...], what: str) -> list[Case]:
    """The cases again with ``headers`` added, labelled ``what``."""
    return [dataclasses.replace(c, label=f"{c.label} ({what})", headers=headers) for c in cases]


def header_cases(builder: CaseBuilder) -> list[Case]:
    """The valid request and the refused probes sent plainly; then the valid request and a wrong key with a
    far-off client Date; then every refused probe claiming each address in the forwarding headers."""
    valid = builder.case()
    refused = refused_probes(builder)
    cases = [valid, *refused]
    for date in CLIENT_DATES:
        cases += varied((valid, refused[0]), (("Date", date),), f"client Date {date}")
    for address in CLAIMED_ADDRESSES:
        cases += varied(refused, forwarded_headers(address), f"forwarded for {address}")
    return cases


def cookie_header(set_cookies: Sequence[str]) -> str:
    """The Cookie header a browser would send back for these Set-Cookie values ('' when none parses)."""
    jar: SimpleCookie = SimpleCookie()
    for value in set_cookies:
        try:
            jar.load(value)
        except CookieError:
            continue
    return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())[:MAX_COOKIE_CHARS]


def cookie_cases(builder: CaseBuilder, cookie: str) -> list[Case]:
    """The refused probes sent plainly, then each with the cookies a grant set, then the valid request
    with them; none when the target set no cookie."""
    if not cookie:
        return []
    refused = refused_probes(builder)
    with_cookies = varied([*refused, builder.case()], (("Cookie", cookie),), "with the cookies a grant set")
    return [*refused, *with_cookies]


def after_error_cases(builder: CaseBuilder) -> list[Case]:
    """For the valid request, a wrong key and a user the key does not own: the request, a malformed one
    (a 400 that keeps the connection open), the request again on the same connection."""
    malformed = builder.case(token_expire=Param.of(MALFORMED_EXPIRE), label="malformed token_expire")
    cases = []
    for probe in (
        builder.case(),
        wrong_key_case(builder),
        builder.case(user_id=Param.of(str(builder.users.others[0]))),
    ):
        again = dataclasses.replace(probe, label=f"{probe.label} (after an error on the same connection)")
        cases += [probe, malformed, again]
    return cases


def fresh_connection_cases(builder: CaseBuilder) -> list[Case]:
    """Each security probe (the foreign user, an unknown user, a wrong key) once on the pooled connection,
    then on FRESH_CONNECTIONS_PER_PROBE fresh connections in a row (AMB-CONNECTION-SPREAD)."""
    probes = [builder.case(user_id=Param.of(str(u))) for u in not_owned_sample(builder.users)]
    probes.append(wrong_key_case(builder))
    cases = []
    for probe in probes:
        cases.append(probe)
        cases += [
            dataclasses.replace(
                probe,
                label=f"{probe.label} (fresh connection {n} of {FRESH_CONNECTIONS_PER_PROBE})",
                fresh_connection=True,
            )
            for n in range(1, FRESH_CONNECTIONS_PER_PROBE + 1)
        ]
    return cases


def non_interference_cases(builder: CaseBuilder) -> list[Case]:
    """A wrong key and no key for the own user, the foreign one (when known) and every unknown user; then
    the right key for the users it does not own."""
    users = (builder.users.user_id, *builder.users.others)
    cases = []
    for key, what in ((Param.of(INVALID_API_KEY), "a wrong api_key"), (MISSING, "api_key missing")):
        cases += [
            builder.case(api_key=key, user_id=Param.of(str(u)), label=f"{what}, user_id={u}") for u in users
        ]
    cases += [builder.case(user_id=Param.of(str(u))) for u in builder.users.others]
    return cases


def timing_cases(builder: CaseBuilder) -> list[Case]:
    """The timing sample: a wrong key for the own user and for the first unknown user, interleaved,
    profile timing_samples of each."""
    own, unknown = builder.users.user_id, builder.users.unknown_user_id
    return [
        wrong_key_case(builder, user_id=user, label=f"{TIMING_LABEL} #{n}: wrong api_key, user_id={user}")
        for n in range(1, builder.profile.timing_samples + 1)
        for user in (own, unknown)
    ]
