"""Runs on a scripted sender, no server: answers made by hand, a Run built complete, a failing run."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from typing import Any

from conformance.checks import CheckContext
from conformance.core.model import Case, Exchange
from conformance.core.profile import Profile
from conformance.inputs import CaseBuilder, Param, Users
from conformance.redaction.redact import Redactor
from conformance.run.engine import Run, Sender

KEY = "CANARY-KEY-77aa55"
NOW = 1_795_824_000.0
TOKEN = "9f86d081884c7d659a2feaa0c55ad015"


def grant(case: Case, *, token: str = TOKEN, message: str = "ok") -> Exchange:
    body = (
        f"<user_response><status>200</status><message>{message}</message><user_id>{case.user_id}</user_id>"
        f"<token>{token}</token><qrcode>https://q.example.com/x.png</qrcode>"
        f"<expire>{int(NOW) + (case.token_expire or 0)}</expire></user_response>"
    )
    headers = (
        ("content-type", "application/xml"),
        ("cache-control", "no-store"),
        ("date", email.utils.formatdate(NOW, usegmt=True)),
    )
    return Exchange(case=case, sent_at=NOW, elapsed=0.01, status=200, headers=headers, body=body.encode())


def refusal(case: Case, status: int = 400, headers: tuple[tuple[str, str], ...] = ()) -> Exchange:
    body = f"<user_response><status>{status}</status><message>no</message></user_response>".encode()
    return Exchange(
        case=case,
        sent_at=NOW,
        elapsed=0.01,
        status=status,
        headers=(("content-type", "application/xml"), *headers),
        body=body,
    )


class Scripted:
    """A sender answering from a script of functions, one per request."""

    def __init__(self, *answers: Callable[[Case], Exchange]) -> None:
        self.answers = list(answers)
        self.sent: list[Case] = []

    def send(self, case: Case) -> Exchange:
        self.sent.append(case)
        return self.answers.pop(0)(case)


BUILDER = CaseBuilder(users=Users(12345), profile=Profile())


def make_run(sender: Sender, **settings: Any) -> Run:
    """A Run built complete: ``settings`` are Run's keyword arguments (no waiting unless one is given)."""
    return Run(
        sender=sender,
        context=CheckContext(profile=Profile(), api_key=KEY),
        builder=BUILDER,
        redactor=Redactor(secrets=[KEY]),
        **{"max_examples": 5, "seed": 1, "sleep": lambda _seconds: None, **settings},
    )


def failing_run(*values: str) -> Run:
    """A run in which the target grants every out-of-range token_expire in ``values``."""
    run = make_run(Scripted(*(grant for _ in values)))
    for value in values:
        run.exchange(run.case(token_expire=Param.of(value)))
    return run
