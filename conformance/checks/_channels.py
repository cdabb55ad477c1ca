"""What the side-channel checks compare: how a request travelled beyond its form, and answers as fingerprints.

A request is *stock* when it went as the contract describes it (no extra header, the stock identity and
spelling, the pooled connection); a variant of it must be decided alike (LT-SEC-CLIENT-BLIND). With a
wrong or missing key, requests that differ only in their user_id belong to one *interference group*:
their answers, as fingerprints (status, headers, body with the echoed user id and per-response values
masked), must be equal (LT-SEC-NON-INTERFERENCE).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conformance.core.model import API_KEY_PLACEHOLDER, TIMING_LABEL, Case, Exchange

# Headers whose value differs from one response to the next whatever the request: compared by presence.
PER_RESPONSE_HEADERS = frozenset(
    {
        "date",
        "content-length",  # follows the body, which is compared
        "etag",
        "age",
        "expires",
        "last-modified",
        "set-cookie",  # compared by cookie name
        "x-request-id",
        "request-id",
        "x-correlation-id",
        "x-trace-id",
        "traceparent",
        "tracestate",
        "x-amzn-requestid",
        "x-amzn-trace-id",
        "cf-ray",
        "x-runtime",
        "x-response-time",
        "server-timing",
    }
)
# Connection management, not the answer: whether the connection stays open is the server's affair.
CONNECTION_HEADERS = frozenset({"connection", "keep-alive"})
# The requirements of a refusal for the user's sake, with the right key.
USER_REFUSALS = frozenset({"LT-AUTH-USER-SCOPE", "LT-AUTH-USER-UNKNOWN"})
# Decisions about the key or the user, never "an error": the next request is an ordinary one.
DECISION_STATUSES = frozenset({401, 403, 404, 429})
# What a body may carry that differs per response, masked in one pass, leftmost first, so that a user id
# inside a time or a UUID (user 12 in 2026-12-06) stays part of it, and a user id of ten digits is no time.
_UUID = rb"(?P<uuid>\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b)"
_STAMP = (
    rb"(?P<time>\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?"  # ISO 8601
    rb"|[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT)"  # an HTTP-date
)
_UNIX = rb"(?P<unix>\b\d{10}(?:\d{3}|\.\d+)?\b)"  # a Unix time, in seconds or milliseconds
_MASKS = {"uuid": b"{uuid}", "time": b"{time}", "unix": b"{time}", "user": b"{user_id}"}


@dataclass(frozen=True)
class Fingerprint:
    """An answer as non-interference compares it."""

    status: int
    headers: tuple[tuple[str, str], ...]  # sorted; per-response values replaced by "*"
    body: bytes  # as received: times, UUIDs and the echoed user ids are masked when two answers compare
    user_id: int | None  # the user the request named

    def difference(self, other: Fingerprint) -> str:
        """Where ``other`` differs from this one ('' when it does not): the status, header names, the body
        with times, UUIDs and both answers' user ids masked in both (masking each answer's own id only
        would mask a short id inside other text, the ``0`` of ``version="1.0"``, in one answer alone)."""
        if self.status != other.status:
            return f"status {self.status} vs {other.status}"
        if self.headers != other.headers:
            mine, theirs = set(self.headers), set(other.headers)
            changed = sorted({name for name, _ in mine ^ theirs})
            return f"header(s) {', '.join(changed)[:120]}"
        users = {user for user in (self.user_id, other.user_id) if user is not None}
        body, others = _masked(self.body, users), _masked(other.body, users)
        if body != others:
            at = next((i for i, (a, b) in enumerate(zip(body, others, strict=False)) if a != b), None)
            at = min(len(body), len(others)) if at is None else at
            return (
                f"body from byte {at}: {body[at : at + 60]!r} vs {others[at : at + 60]!r}"
                f" ({len(body)} vs {len(others)} bytes)"
            )
        return ""


def _masked(body: bytes, users: set[int]) -> bytes:
    """``body`` with its UUIDs, times and each of ``users`` (a whole number: no digit beside it) masked."""
    ids = b"|".join(str(user).encode() for user in sorted(users, key=lambda u: -len(str(u))))
    user = [rb"(?P<user>(?<![0-9])(?:" + ids + rb")(?![0-9]))"] if ids else []
    pattern = re.compile(b"|".join([_UUID, _STAMP, *user, _UNIX]))
    return pattern.sub(lambda match: _MASKS[match.lastgroup or "time"], body)


@dataclass(frozen=True)
class SeenAnswer:
    """The first answer of an interference group: the request number, its user and its fingerprint."""

    sequence: int
    user_id: int
    fingerprint: Fingerprint


def channel_varied(case: Case) -> str:
    """How ``case`` travelled unlike the stock request ('' when it did not): its extra headers, a fresh
    connection, another client identity or another spelling of the form."""
    if case.headers:
        return "with " + ", ".join(dict.fromkeys(name for name, _ in case.headers))
    if case.fresh_connection:
        return "on a fresh connection"
    if case.alternate_identity:
        return "under the second client identity"
    return f"spelt {case.spelling}" if case.spelling else ""


def error_left_open(exchange: Exchange) -> bool:
    """The answer is an error (a 4xx that decides nothing about the key or the user, a 5xx) after which
    the connection stays open for the next request."""
    status = exchange.status or 0
    if not exchange.answered or status < 400 or status in DECISION_STATUSES:
        return False
    closing = {t.strip().lower() for v in exchange.header_values("connection") for t in v.split(",")}
    return "close" not in closing


def _user_pairs(case: Case) -> tuple[tuple[str, str], ...]:
    return tuple(pair for pair in case.form if pair[0] == "user_id")


def interference_group(case: Case) -> tuple[object, ...] | None:
    """The group of requests whose answers must not depend on the user: this request but its user_id,
    ("wrong key", ...) with a wrong or missing key, ("right key", ...) with the key; None for a request
    that names no user in plain digits once, or travelled unlike the stock request (a fresh connection
    aside: the connection decides nothing)."""
    if not case.on_endpoint or case.headers or case.alternate_identity or case.spelling:
        return None
    if case.user_id is None or _user_pairs(case) != (("user_id", str(case.user_id)),):
        return None
    keys = tuple(value for name, value in case.form if name == "api_key")
    rest = tuple(pair for pair in case.form if pair[0] != "user_id")
    if keys != (API_KEY_PLACEHOLDER,):
        return ("wrong key", rest)
    # With the key, only refusals for the user's sake compare (an invalid token_expire may be refused
    # otherwise, before the user is looked at).
    return ("right key", rest) if case.requirement in USER_REFUSALS else None


def timing_sample(case: Case) -> bool:
    """The case is one of the timing sample's: a wrong-key request labelled so, on the pooled connection."""
    group = interference_group(case)
    return (
        case.label.startswith(TIMING_LABEL)
        and group is not None
        and group[0] == "wrong key"
        and not case.fresh_connection
    )


def fingerprint(exchange: Exchange) -> Fingerprint:
    """The answer with per-response header values and connection headers masked; the body's times (ISO
    8601, HTTP-date, Unix), UUIDs and echoed user id are masked when two fingerprints compare."""
    headers = []
    for name, value in exchange.headers:
        if name in CONNECTION_HEADERS:
            continue
        if name == "set-cookie":
            value = value.split("=", 1)[0].strip() + "=*"
        elif name in PER_RESPONSE_HEADERS:
            value = "*"
        headers.append((name, value))
    return Fingerprint(exchange.status or 0, tuple(sorted(headers)), exchange.body, exchange.case.user_id)
