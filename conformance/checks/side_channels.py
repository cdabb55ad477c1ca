"""Side-channel checks: what the client should not control decides nothing, and refusals tell nothing.

``client_blind`` (LT-SEC-CLIENT-BLIND): a request sent with extra headers (a client Date, cookies,
X-Forwarded-For ...), on a fresh connection, or right after an error on the pooled connection is decided
as the same request sent plainly, and a grant's <expire> still comes from the server's clock.
The LT-SEC-NON-INTERFERENCE checks: with a wrong or missing key the answer does not depend on the user
(``refusal_non_interference``, ``timing_non_interference``); with the right key a refusal for a user the
key does not own carries nothing of its owner (``tenant_not_disclosed``, and the same headers for each
such user: AMB-TENANT-DISCLOSURE).
"""

from __future__ import annotations

import re

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject, against_stock
from conformance.checks._channels import channel_varied, fingerprint, interference_group, timing_sample
from conformance.checks.grant import expire_mismatch
from conformance.core.model import API_KEY_PLACEHOLDER, CheckFailure, Expect
from conformance.core.timing import P_THRESHOLD, compare
from conformance.redaction.redact import credentials

CLIENT_BLIND = "LT-SEC-CLIENT-BLIND"
# The form's parameter names as the seed spells them (lines 11-14): naming them tells nothing.
SEED_PARAMETERS = ("api_key", "user_id", "token_expire")
NON_INTERFERENCE = "LT-SEC-NON-INTERFERENCE"
AFTER_ERROR = "after an error on the same connection"
# A word of a refusal's text: letters and digits, possibly joined by - _ . : @ / +
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-_.:@/+][A-Za-z0-9]+)*")
_JOINED = re.compile(r"[A-Za-z0-9][_.:@/+][A-Za-z0-9]")
_SEPARATORS = re.compile(r"[-_.:@/+]")
SHOWN_WORDS = 3


@check(serves=(CLIENT_BLIND,))
def client_blind(subject: Subject, ctx: CheckContext) -> str | None:
    """A request with extra headers, on a fresh connection or after an error on the pooled one gets the
    same kind of answer as sent plainly, and a grant's <expire> honours token_expire by the suite's clock."""
    case = subject.case
    if case.alternate_identity or case.spelling:
        return None  # identity_blind, and the spelling checks, judge those
    channel = channel_varied(case) or (AFTER_ERROR if ctx.state.after_error else "")
    if not channel or not subject.exchange.answered:
        return None
    compared = against_stock(subject, ctx.state)
    if compared is not None and compared[0] != compared[1]:
        first, again = compared
        raise CheckFailure(
            CLIENT_BLIND,
            "the decision depends on what the client sent beside the form",
            f"{first}, as for the same request sent plainly",
            f"{again} {channel}",
        )
    mismatch = expire_mismatch(subject, ctx) if subject.issued and case.expect is Expect.ACCEPT else None
    if mismatch:
        expected, received = mismatch
        raise CheckFailure(
            CLIENT_BLIND, "<expire> is not the server's issue time", expected, f"{received} {channel}"
        )
    return CLIENT_BLIND if compared is not None or subject.issued else None


@check(serves=(NON_INTERFERENCE,))
def refusal_non_interference(subject: Subject, ctx: CheckContext) -> str | None:
    """With a wrong or missing key, the answer (status, headers, body but the echoed user id) is the same
    for every user; with the right key, the refusals for users the key does not own have the same headers."""
    case = subject.case
    group = interference_group(case)
    if group is None or not subject.exchange.answered:
        return None
    right_key = group[0] == "right key"
    if right_key and not (400 <= subject.status < 500 and case.user_id in ctx.not_owned):
        return None
    seen = ctx.state.refusals.get(group)
    if seen is None or seen.user_id == case.user_id:
        return None
    mine = fingerprint(subject.exchange)
    if right_key:
        difference = "" if mine.headers == seen.fingerprint.headers else seen.fingerprint.difference(mine)
    else:
        difference = seen.fingerprint.difference(mine)
    if difference:
        key = "the right key" if right_key else "a wrong or missing key"
        raise CheckFailure(
            NON_INTERFERENCE,
            "the answer tells users apart" if not right_key else "the refusal's headers tell users apart",
            f"the answer given for user {seen.user_id} with {key} (request #{seen.sequence})",
            f"for user {case.user_id}: {difference}",
        )
    return NON_INTERFERENCE


def _request_words(subject: Subject) -> set[str]:
    """Every word the request carried (URL, form names and values) and each part of it, and the names of
    the seed's own parameters (a refusal may say `user_id` to a request that spelt it `USER_ID`), case
    folded."""
    text = " ".join([subject.exchange.url, *(f"{name} {value}" for name, value in subject.case.form)])
    words = set(_WORD.findall(f"{text} {' '.join(SEED_PARAMETERS)}"))
    parts = words | {part for word in words for part in _SEPARATORS.split(word)} | {str(subject.status)}
    return {part.casefold() for part in parts}


def disclosed_words(subject: Subject) -> list[str]:
    """The identifiers in a refusal's XML text (words with a digit, or joined by _ . : @ / +) that the
    request did not carry, besides the status code (AMB-TENANT-DISCLOSURE)."""
    root = subject.document.root
    if root is None:
        return []
    texts = [
        text for element in root.iter() for text in (element.text, element.tail, *element.attrib.values())
    ]
    allowed = _request_words(subject)
    found = []
    for word in (w for text in texts if text for w in _WORD.findall(text)):
        identifier = any(c.isdigit() for c in word) or _JOINED.search(word)
        folded = word.casefold()
        if identifier and folded not in allowed and not set(_SEPARATORS.split(folded)) <= allowed:
            found.append(word)
    return list(dict.fromkeys(found))


@check(serves=(NON_INTERFERENCE,))
def tenant_not_disclosed(subject: Subject, ctx: CheckContext) -> str | None:
    """With the right key, the refusal for a user the key does not own names no identifier and carries no
    credential-like value that the request did not carry."""
    case = subject.case
    keys = tuple(value for name, value in case.form if name == "api_key")
    if keys != (API_KEY_PLACEHOLDER,) or case.user_id not in ctx.not_owned or not 400 <= subject.status < 500:
        return None
    sent = " ".join([subject.exchange.url, *(f"{name}={value}" for name, value in case.form)])
    secret_like = credentials(
        headers=(),
        reason=subject.exchange.reason,
        body=subject.exchange.body,
        document=subject.document,
        sent=sent,
    )
    words = disclosed_words(subject)
    if secret_like or words:
        shown = [f"{len(secret_like)} credential-like value(s)"] if secret_like else []
        shown += [f"identifier(s) {', '.join(repr(w[:40]) for w in words[:SHOWN_WORDS])}"] if words else []
        raise CheckFailure(
            NON_INTERFERENCE,
            "a refusal tells about a user the key does not own",
            f"a refusal for user {case.user_id} naming nothing the request did not carry",
            f"HTTP {subject.status} with {' and '.join(shown)}",
        )
    return NON_INTERFERENCE


@check(serves=(NON_INTERFERENCE,))
def timing_non_interference(subject: Subject, ctx: CheckContext) -> str | None:
    """Once the timing sample is complete: wrong-key answers for an unknown user and for users that exist
    are not separated by response time (a median difference of timing_min_difference_ms at p < 1e-4)."""
    profile = ctx.profile
    if not profile.timing_test or not timing_sample(subject.case) or subject.case.user_id is None:
        return None
    sample = [
        *ctx.state.timings,
        (subject.case.user_id, subject.exchange.elapsed if subject.exchange.answered else None),
    ]
    if len(sample) != 2 * profile.timing_samples:
        return None
    existing = [t for user, t in sample if t is not None and user not in ctx.unknown_users]
    unknown = [t for user, t in sample if t is not None and user in ctx.unknown_users]
    if min(len(existing), len(unknown)) < profile.timing_samples // 2:
        return None  # too few answers to judge: LT-HTTP-TIMELY reports what went wrong
    comparison = compare(existing, unknown)
    if comparison.separates(min_difference=profile.timing_min_difference_ms / 1000):
        raise CheckFailure(
            NON_INTERFERENCE,
            "response time tells existing users from unknown ones",
            f"no median difference of {profile.timing_min_difference_ms:g} ms or more at p < {P_THRESHOLD:g} "
            "between wrong-key requests for existing and unknown users",
            comparison.describe(),
        )
    return NON_INTERFERENCE
