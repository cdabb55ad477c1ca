"""Preflight: before a live run explores, a few ordinary requests establish that its configuration is right.

The key and --user-id must get a grant and every --unknown-user-id must be refused; otherwise the run
would judge the target by the user's own mistake (1,000 requests ending "valid input rejected: HTTP 401").
Only what the user configured is concluded on, and only from the most ordinary valid request (the default
token_expire, the plain user ID): a target that refuses anything less ordinary is judged by the run. A
refusal that is not about the key or the user (400, 5xx, no answer) is left to the run's checks too.

During the run, ``AnswerWatch`` tells a target that went away (connections refused after it had answered)
from a finding: the run stops early, incomplete, naming the last answer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from conformance import xmldoc
from conformance.engine import Sender
from conformance.inputs import CaseBuilder
from conformance.inputs.classify import Param
from conformance.misconfig import REFUSED_MARKERS
from conformance.model import Case, Exchange, TransportError
from conformance.printable import printable
from conformance.redact import Redactor

MAX_UNKNOWN_USERS_CHECKED = 5  # with the grant and one control: never more than 7 requests
MESSAGE_CHARS = 80
HTTP_UNAUTHORIZED = 401
HTTP_NOT_FOUND = 404
USER_REFUSALS = (403, HTTP_NOT_FOUND)
RECONNECT_WAIT = 1.0  # a refused connection is tried once more after this long before the target is gone


class ConfigurationRefused(Exception):
    """The target's answers show the run's configuration is wrong; the message is one line with the fix."""


@dataclass(frozen=True)
class Configured:
    """What of the run's configuration came from the user (only that can be the user's mistake)."""

    key_variable: str | None  # the environment variable the key came from; None: the suite's own key
    user_id: bool  # --user-id given
    unknown_user_ids: bool  # --unknown-user-id given


def check_configuration(
    send: Callable[[Case], Exchange],
    *,
    builder: CaseBuilder,
    configured: Configured,
    redactor: Redactor,
) -> int:
    """Check the configured key and users with a few ordinary requests; the number of requests sent.

    Raises ConfigurationRefused when the key or a user is wrong.
    """
    if configured.key_variable is None and not configured.user_id and not configured.unknown_user_ids:
        return 0  # the suite's own key and users (the embedded reference): a refusal is a finding
    users = builder.users

    def send_seen(case: Case) -> Exchange:  # a token a grant carries is hidden in every message after it
        exchange = send(case)
        redactor.learn(exchange)
        return exchange

    sent = 1
    grant = send_seen(builder.case())
    if not grant.answered:
        return sent  # no answer at all: configuration errors are raised by the sender, the rest is judged
    said = _said(grant, redactor)
    if grant.status == HTTP_UNAUTHORIZED and configured.key_variable is not None:
        raise ConfigurationRefused(
            f"the target refused the key for user {users.user_id}: {said}; check {configured.key_variable} "
            "(the API key; --api-key-env names another variable)"
        )
    if grant.status in USER_REFUSALS and (configured.user_id or configured.key_variable is not None):
        where = " (a 404 may also mean no endpoint at --target)" if grant.status == HTTP_NOT_FOUND else ""
        raise ConfigurationRefused(
            f"the target refused user {users.user_id} for this key: {said}; check --user-id (a user the key "
            f"may issue tokens for){_and_key(configured)}{where}"
        )
    if not _granted(grant):
        return sent  # another refusal (400, 5xx ...) is not about the key or the user: the run judges it
    if not configured.unknown_user_ids:
        return sent
    for unknown in users.unknown_user_ids[:MAX_UNKNOWN_USERS_CHECKED]:
        sent += 1
        answer = send_seen(builder.case(user_id=Param.of(str(unknown))))
        if not _granted(answer):
            continue
        # Granted: the user exists, or the target grants any user (a finding the run reports). A user no
        # one can have chosen tells the two apart.
        sent += 1
        control = send_seen(builder.case(user_id=Param.of(str(_control_user(builder)))))
        if control.answered and not _granted(control):
            raise ConfigurationRefused(
                f"the target granted a token for --unknown-user-id {unknown} ({_said(answer, redactor)}) but "
                f"refuses a made-up user ({_said(control, redactor)}): user {unknown} exists; "
                "name an ID no user has"
            )
        return sent
    return sent


def _granted(exchange: Exchange) -> bool:
    """A 2xx carrying a token (a refusal some servers answer with 200 carries none)."""
    if not exchange.answered or exchange.status is None or not 200 <= exchange.status < 300:
        return False
    return bool((xmldoc.parse(exchange.body).field("token") or "").strip())


def _and_key(configured: Configured) -> str:
    return "" if configured.key_variable is None else f" and {configured.key_variable} (the key)"


def _said(exchange: Exchange, redactor: Redactor) -> str:
    """'HTTP 401 "api_key is not valid"': the status and the target's own message, made safe to show."""
    message = xmldoc.parse(exchange.body).field("message")
    if not message:
        return f"HTTP {exchange.status}"
    text = printable(redactor.text(" ".join(message.split())))
    if len(text) > MESSAGE_CHARS:
        text = text[: MESSAGE_CHARS - 1] + "…"
    return f'HTTP {exchange.status} "{text}"'


def _control_user(builder: CaseBuilder) -> int:
    """A user ID no deployment has chosen: random, 18 digits, none of the run's users."""
    users = builder.users
    taken = {users.user_id, *users.unknown_user_ids, users.foreign_user_id}
    while True:
        candidate = random.SystemRandom().randrange(10**17, 10**18)
        if candidate not in taken:
            return candidate


class TargetWentAway(Exception):
    """The target answered earlier and now refuses connections: the run cannot go on (not a finding)."""


class AnswerWatch:
    """A Sender: remembers the last answer; a refused connection after answers means the target is gone.

    A refused connection is a fact about the host (nothing listens), never about the request: it is tried
    once more after RECONNECT_WAIT, then the run stops early (incomplete) naming the last answer.
    """

    def __init__(self, sender: Sender, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.sender = sender
        self.sleep = sleep
        self.last: Exchange | None = None
        self.answers = 0

    def send(self, case: Case) -> Exchange:
        """Send; raise TargetWentAway when the target, which answered before, refuses connections."""
        exchange = self.sender.send(case)
        if self.last is not None and _refused(exchange):
            self.sleep(RECONNECT_WAIT)
            exchange = self.sender.send(case)
            if _refused(exchange):
                raise TargetWentAway(self._gone_message(exchange))
        if exchange.answered:
            self.last = exchange
            self.answers += 1
        return exchange

    def _gone_message(self, exchange: Exchange) -> str:
        last = self.last
        assert last is not None
        when = time.strftime("%H:%M:%S", time.gmtime(last.sent_at))
        why = exchange.error_detail[:60] or "nothing listens"
        return (
            f"stopped early: the target went away (connection refused: {why}) after {self.answers} "
            f"answers; the last was HTTP {last.status} at {when} UTC for "
            f"{last.case.label!r}; check that the service is up and run again"
        )


def _refused(exchange: Exchange) -> bool:
    return exchange.error is TransportError.CONNECT and any(
        m in exchange.error_detail for m in REFUSED_MARKERS
    )
