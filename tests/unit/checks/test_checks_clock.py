"""Time comes from the suite's own clock (issue 9, item 6): expire and the Date header cross-check."""

from __future__ import annotations

import email.utils

import pytest

from conformance.checks import CheckContext, Subject, run_checks
from conformance.core.model import Exchange
from conformance.core.profile import Profile
from conformance.inputs import CaseBuilder, Users

API_KEY = "CANARY-KEY-clock-01"


def _grant_at(*, expire: float, date: float | None, sent_at: float = 1_795_824_000.0) -> Subject:
    case = CaseBuilder(users=Users(12345), profile=Profile()).case()
    body = (
        "<user_response><status>200</status><message>ok</message><user_id>12345</user_id>"
        "<token>9f86d081884c7d659a2feaa0c55ad015</token><qrcode>https://q.example.com/x.png</qrcode>"
        f"<expire>{int(expire)}</expire></user_response>"
    )
    headers = [("content-type", "application/xml"), ("cache-control", "no-store")]
    if date is not None:
        headers.append(("date", email.utils.formatdate(date, usegmt=True)))
    exchange = Exchange(
        case=case, sent_at=sent_at, elapsed=0.5, status=200, headers=tuple(headers), body=body.encode()
    )
    return Subject(exchange)


def _expire_failures(subject: Subject) -> list[str]:
    results = run_checks(subject, CheckContext(profile=Profile(), api_key=API_KEY))
    return [r.failure.title for r in results if r.failure is not None and r.check == "expire_consistency"]


NOW = 1_795_824_000.0
HOURS_13 = 13 * 3600


@pytest.mark.parametrize(
    ("expire", "date", "failed"),
    [
        (NOW + 3600, NOW, []),  # on time by both clocks
        (NOW + 3600, None, []),
        (NOW + 3600.4, NOW + 30, []),  # a Date within date_tolerance
        (
            NOW + HOURS_13 + 3600,
            NOW + HOURS_13,
            ["expire is not issue time + token_expire"],
        ),  # its clock: 13 h
        (NOW - HOURS_13 + 3600, NOW - HOURS_13, ["expire is not issue time + token_expire"]),
        (NOW + 3600, NOW + 600, ["the server's clock (Date) is off"]),  # expire right, Date 10 min off
        (NOW + 3600 + 7, NOW, ["expire is not issue time + token_expire"]),  # beyond the 5 s tolerance
    ],
)
def test_expire_is_judged_by_the_suite_clock_and_date_cross_checked(
    expire: float, date: float | None, failed: list[str]
) -> None:
    assert _expire_failures(_grant_at(expire=expire, date=date)) == failed
