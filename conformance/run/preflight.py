"""Preflight: before a live run explores, a few ordinary requests establish that its configuration is right.

The key and --user-id must get a grant and every --unknown-user-id must be refused; otherwise the run
would judge the target by the user's own mistake (1,000 requests ending "valid input rejected: HTTP 401").
Only what the user configured is concluded on, and only from the most ordinary valid request (the default
token_expire, the plain user ID): a target that refuses anything less ordinary is judged by the run. A
refusal that is not about the key or the user (400, 5xx, no answer) is left to the run's checks too.

--foreign-user-id is looked at where the target lets it be seen: refused unlike the unknown user, it exists.
Refused exactly like it (the same status and message, numbers aside), it may not exist, or the target hides
the users of other keys as the contract allows (AMB-TENANT-DISCLOSURE): a note, never an error. A grant for
it is left to the run (an LT-AUTH-USER-SCOPE failure with the hint that the ID may be wrong).

During the run, ``AnswerWatch`` tells a target that went away (connections refused after it had answered)
from a finding: the run stops early, incomplete, naming the last answer.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from conformance.core import xmldoc
from conformance.core.errors import EXIT_UNREACHABLE, EXIT_USAGE, ConformanceError
from conformance.core.model import Case, Exchange, TransportError
from conformance.core.printable import printable
from conformance.inputs import CaseBuilder
from conformance.inputs.classify import Param
from conformance.redaction.redact import Redactor
from conformance.run.engine import Sender
from conformance.run.misconfig import REFUSED_MARKERS

# With the grant and then a control (an unknown user granted) or the foreign user (all refused): never
# more than 7 requests.
MAX_UNKNOWN_USERS_CHECKED = 5
MESSAGE_CHARS = 80
HTTP_UNAUTHORIZED = 401
HTTP_NOT_FOUND = 404
USER_REFUSALS = (403, HTTP_NOT_FOUND)
NOT_ABOUT_THE_USER = (408, 429)  # a timeout or throttling: a 4xx that tells nothing of the user
# A word that carries a digit (an ID, a number, a time), possibly joined by - _ . : @ / +: masked when two
# refusals are compared, so that "user 2002 not found" and "user 999 not found" are the same refusal.
_NUMBERED_WORD = re.compile(r"[A-Za-z0-9]+(?:[-_.:@/+][A-Za-z0-9]+)*")
RECONNECT_WAIT = 1.0  # a refused connection is tried once more after this long before the target is gone


class ConfigurationRefused(ConformanceError):
    """The target's answers show the run's configuration is wrong; the message is one line with the fix."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Configured:
    """What of the run's configuration came from the user (only that can be the user's mistake)."""

    key_variable: str | None  # the environment variable the key came from; None: the suite's own key
    user_id: bool  # --user-id given
    unknown_user_ids: bool  # --unknown-user-id given
    foreign_user_id: bool = False  # --foreign-user-id given


@dataclass(frozen=True)
class Preflighted:
    """A preflight that found no error: the requests it sent, and notes on the configuration (one line
    each, secret-free) that the run's reports carry."""

    requests: int
    notes: tuple[str, ...] = ()


class _Counted:
    """The preflight's sender: counts the requests, and learns every token a grant carries so that it is
    hidden in every message after it."""

    def __init__(self, send: Callable[[Case], Exchange], redactor: Redactor) -> None:
        self._send = send
        self._redactor = redactor
        self.sent = 0

    def __call__(self, case: Case) -> Exchange:
        self.sent += 1
        exchange = self._send(case)
        self._redactor.learn(exchange)
        return exchange


def check_configuration(
    send: Callable[[Case], Exchange],
    *,
    builder: CaseBuilder,
    configured: Configured,
    redactor: Redactor,
) -> Preflighted:
    """Check the configured key and users with a few ordinary requests.

    Raises ConfigurationRefused when the key or a user is wrong.
    """
    if configured.key_variable is None and not (
        configured.user_id or configured.unknown_user_ids or configured.foreign_user_id
    ):
        # the suite's own key and users (the embedded reference): a refusal is a finding
        return Preflighted(0)
    users = builder.users
    send_seen = _Counted(send, redactor)
    grant = send_seen(builder.case())
    if not grant.answered:
        # no answer at all: configuration errors are raised by the sender, the rest is judged
        return Preflighted(send_seen.sent)
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
        # another refusal (400, 5xx ...) is not about the key or the user: the run judges it
        return Preflighted(send_seen.sent)
    if configured.unknown_user_ids:
        unknown = _check_unknown_users(send_seen, builder=builder, redactor=redactor)
    elif configured.foreign_user_id:
        refusal = send_seen(_case_for(builder, users.unknown_user_id))
        unknown = (users.unknown_user_id, refusal) if _user_refusal(refusal) else None
    else:
        unknown = None
    foreign = users.foreign_user_id
    if unknown is None or not configured.foreign_user_id or foreign is None:
        return Preflighted(send_seen.sent)
    answer = send_seen(_case_for(builder, foreign))
    note = _foreign_user_note(foreign, answer, unknown, redactor=redactor)
    return Preflighted(send_seen.sent, () if note is None else (note,))


def _check_unknown_users(
    send_seen: _Counted, *, builder: CaseBuilder, redactor: Redactor
) -> tuple[int, Exchange] | None:
    """Raise when an --unknown-user-id exists; the first unknown user refused as a user (a 4xx) and that
    refusal; None when there is none, or one was granted (the target grants any user: the run judges it)."""
    first: tuple[int, Exchange] | None = None
    for unknown in builder.users.unknown_user_ids[:MAX_UNKNOWN_USERS_CHECKED]:
        answer = send_seen(_case_for(builder, unknown))
        if not _granted(answer):
            if first is None and _user_refusal(answer):
                first = (unknown, answer)
            continue
        # Granted: the user exists, or the target grants any user. A user no one can have chosen tells the
        # two apart.
        control = send_seen(_case_for(builder, _control_user(builder)))
        if control.answered and not _granted(control):
            raise ConfigurationRefused(
                f"the target granted a token for --unknown-user-id {unknown} ({_said(answer, redactor)}) but "
                f"refuses a made-up user ({_said(control, redactor)}): user {unknown} exists; "
                "name an ID no user has"
            )
        return None
    return first


def _foreign_user_note(
    foreign: int, answer: Exchange, unknown: tuple[int, Exchange], *, redactor: Redactor
) -> str | None:
    """The note when the foreign user is refused exactly like the unknown one (``unknown``: its ID and its
    refusal about the user): the same status, the same message once every numbered word is masked. None
    when the target shows the user exists, or grants it (the run judges that)."""
    unknown_id, refusal = unknown
    if answer.status != refusal.status or _masked_message(answer) != _masked_message(refusal):
        return None
    said = _said(answer, redactor)
    like = f"as the unknown user {unknown_id} ({said})"
    if answer.status == HTTP_NOT_FOUND:  # the status that says the user is unknown
        seen = f'the same "not found" {like}: the target says no such user exists, or hides other keys\' '
        seen += "users as unknown ones"
    else:
        seen = f"the same refusal {like}: the target does not show whether user {foreign} exists"
    return (
        f"--foreign-user-id {foreign} gets {seen}; if it is not another key's user, name one "
        "(LT-AUTH-USER-SCOPE is otherwise judged on a user that does not exist)"
    )


def _user_refusal(exchange: Exchange) -> bool:
    """A 4xx answer that can be about the user (not a timeout or throttling)."""
    status = exchange.status
    return (
        exchange.answered and status is not None and 400 <= status < 500 and status not in NOT_ABOUT_THE_USER
    )


def _masked_message(exchange: Exchange) -> str:
    """The target's message on one line, every word carrying a digit masked."""
    message = " ".join((xmldoc.parse(exchange.body).field("message") or "").split())
    return _NUMBERED_WORD.sub(lambda word: "#" if any(c.isdigit() for c in word[0]) else word[0], message)


def _case_for(builder: CaseBuilder, user_id: int) -> Case:
    """The most ordinary valid request, for ``user_id``."""
    return builder.case(user_id=Param.of(str(user_id)))


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


class TargetWentAway(ConformanceError):
    """The target answered earlier and now refuses connections: the run cannot go on (not a finding)."""

    exit_code = EXIT_UNREACHABLE


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
