"""Case building: classified Cases with one parameter varied, and the fixed case lists every run sends."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from conformance.core.model import API_KEY_PLACEHOLDER, KEY_PROBES, PATH_VARIANTS, Case, Expect, key_probe
from conformance.core.profile import Profile
from conformance.exchange.raw import PROBES
from conformance.inputs.classify import (
    MISSING,
    VALID_TOKEN_EXPIRE,
    Param,
    Users,
    classify_api_key,
    classify_token_expire,
    classify_user_id,
)
from conformance.inputs.fixed import (
    DIGIT_RUN_SPELLINGS,
    INVALID_API_KEY,
    OTHER_METHODS,
    QUERY_METHODS,
    TOKEN_EXPIRE_BOUNDARIES,
    USER_ID_BOUNDARIES,
)


@dataclass(frozen=True)
class CaseBuilder:
    """Builds classified Cases: one parameter varied, the others valid."""

    users: Users
    profile: Profile
    # The valid key may travel in a query string (loopback, or --send-key-in-query): only then do the
    # method probes include GET/HEAD/OPTIONS with the valid form in the URL.
    valid_key_in_query: bool = False
    loopback: bool = False  # the target is on loopback: a shorter idle connection (Profile.idle_seconds)

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


def key_probe_cases(builder: CaseBuilder) -> list[Case]:
    """One case per key probe, labelled with its redacted description; each must be refused."""
    return [
        builder.case(api_key=Param.of(key_probe(name)), label=f"api_key: {text}") for name, text in KEY_PROBES
    ]


def boundary_cases(builder: CaseBuilder) -> list[Case]:
    """The boundaries every run sends, whatever Hypothesis generates."""
    cases = [builder.case(token_expire=Param.of(v)) for v in TOKEN_EXPIRE_BOUNDARIES]
    cases += [builder.case(user_id=Param.of(v)) for v in USER_ID_BOUNDARIES]
    return cases


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
    """Zero-padded, wrapped (+2^32, +2^64), repeated (with the own user, both orders), signed and
    whitespace-wrapped spellings of the foreign and every unknown user, and ids around the profile's bound."""
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
            Param.of(" " + text),
            Param.of(text + "\t"),
            Param.of("+00" + text),
        ]
    params += [Param.of(str(v)) for v in (bound, bound + 1, 2**64 - 1, 2**64 + own, 2**32 + own)]
    return [builder.case(user_id=p) for p in params]


def method_cases(builder: CaseBuilder) -> list[Case]:
    """The valid form by every other method, in the body; GET/HEAD/OPTIONS with a wrong key in the query
    string, and with the valid form there only when the key may travel in a URL (loopback or opted in)."""
    valid = builder.case()
    wrong_key = builder.case(api_key=Param.of(INVALID_API_KEY), label="a wrong api_key")
    probes = [(valid, method, False) for method in (*QUERY_METHODS, *OTHER_METHODS)]
    probes += [(wrong_key, method, True) for method in QUERY_METHODS]
    if builder.valid_key_in_query:
        probes += [(valid, method, True) for method in QUERY_METHODS]
    return [
        dataclasses.replace(
            case,
            label=f"{method} with {'the valid form' if case is valid else 'a wrong api_key'} in the "
            f"{'query' if in_query else 'body'}",
            method=method,
            form_in_query=in_query,
            expect=Expect.REJECT,  # a 4xx (OPTIONS: also an empty 2xx), never a token: see checks.routes
            requirement="LT-HTTP-POST-ONLY",
        )
        for case, method, in_query in probes
    ]


def variant_cases(builder: CaseBuilder) -> list[Case]:
    """To every path variant: the valid request, and requests the endpoint must refuse (a wrong or no key,
    a user the key does not own, an out-of-range token_expire)."""
    valid = builder.case()
    refused = [
        builder.case(
            api_key=Param.of(key_probe("last")), label="api_key: key with the last character changed"
        ),
        builder.case(api_key=MISSING),
        builder.case(user_id=Param.of(str(builder.users.others[0]))),
        builder.case(token_expire=Param.of(str(builder.profile.token_expire_max + 1))),
    ]
    cases = []
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
        cases += [
            dataclasses.replace(case, label=f"{case.label} to path variant {variant}", path_variant=variant)
            for case in refused
        ]
    return cases


def raw_probe_cases(builder: CaseBuilder) -> list[Case]:
    """The valid request as every raw-message probe (conformance.exchange.raw), each on a connection of its
    own."""
    valid = builder.case()
    return [
        dataclasses.replace(
            valid,
            label=f"raw probe {probe.name}: {probe.description}",
            raw=probe.name,
            expect=Expect.EITHER,  # judged by the HTTP message rules only (checks.message)
            requirement=probe.requirement,
        )
        for probe in PROBES.values()
    ]


def route_cases(builder: CaseBuilder) -> list[Case]:
    """Every method probe, then every path variant probe."""
    return [*method_cases(builder), *variant_cases(builder)]


def identity_cases(builder: CaseBuilder) -> list[Case]:
    """A sample of the security probes, each followed by the same request under the second client
    identity (other User-Agent, Accept and Accept-Encoding): both must be refused alike."""
    sample = [
        builder.case(api_key=Param.of(INVALID_API_KEY), label="a wrong api_key"),
        builder.case(
            api_key=Param.of(key_probe("last")), label="api_key: key with the last character changed"
        ),
        builder.case(api_key=Param.of(key_probe("upper")), label="api_key: key upper-cased"),
        builder.case(api_key=MISSING),
        *(builder.case(user_id=Param.of(str(other))) for other in builder.users.others),
        *(c for c in method_cases(builder) if c.method == "GET"),
        *(
            c
            for c in variant_cases(builder)
            if c.path_variant == "trailing-slash" and c.expect is Expect.REJECT
        ),
    ]
    pairs = []
    for case in sample:
        pairs += [
            case,
            dataclasses.replace(
                case, label=f"{case.label} (second client identity)", alternate_identity=True
            ),
        ]
    return pairs


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
