"""Preflight: a wrong key or user is the user's mistake (exit 2, one line), found in a few requests; a target
that went away mid-run ends the run incomplete, not a finding (issue 22, item 1)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.core.model import API_KEY_PLACEHOLDER, Case, Exchange, TransportError
from conformance.core.options import RunOptions
from conformance.core.profile import Profile
from conformance.frontends.cli import main
from conformance.frontends.local import open_session
from conformance.frontends.runner import execute
from conformance.inputs import CaseBuilder, Users
from conformance.redaction.redact import Redactor
from conformance.reference import (
    REFERENCE_API_KEY,
    REFERENCE_UNKNOWN_USER_ID,
    Accepted,
    Behaviour,
    ReferenceServer,
    Rejection,
)
from conformance.results.summary import read_summary
from conformance.run.preflight import (
    HTTP_NOT_FOUND,
    AnswerWatch,
    ConfigurationRefused,
    Configured,
    Preflighted,
    TargetWentAway,
    check_configuration,
)

KEY_VARIABLE = "CONFORMANCE_TEST_PREFLIGHT_KEY"
CANARY_KEY = "CANARY-KEY-preflight-7f3a"
USER, OTHER_OWNED_USER, FOREIGN_USER, ABSENT_USER = 12345, 12346, 54321, 777
MAX_PREFLIGHT_REQUESTS = 9
URL_TARGET = Configured(key_variable=KEY_VARIABLE, user_id=True, unknown_user_ids=True, foreign_user_id=True)


@pytest.fixture
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(serve_qrcodes=True) as running:
        yield running


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.err


def run_args(server: ReferenceServer, tmp_path: Path, *extra: str) -> list[str]:
    return ["run", "--target", server.url, "--api-key-env", KEY_VARIABLE, "--report-dir", str(tmp_path / "r"),
            "--max-examples", "5", "--seed", "1", *extra]  # fmt: skip


def only_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# -- the user's command and what it gets ------------------------------------------------------------------
def test_a_wrong_key_is_exit_2_naming_the_variable(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: ReferenceServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CONFORMANCE_API_KEY=wrong conformance run --target URL --user-id 12345 → exit 2 in one line."""
    monkeypatch.setenv(KEY_VARIABLE, CANARY_KEY)
    started = time.monotonic()
    code, err = cli(capsys, *run_args(server, tmp_path, "--user-id", str(USER)))
    line = only_line(err)
    assert code == 2
    assert f'the target refused the key for user {USER}: HTTP 401 "api_key is not valid"' in line
    assert f"check {KEY_VARIABLE}" in line
    assert CANARY_KEY not in line
    assert time.monotonic() - started < 10
    assert "refused the key" in (tmp_path / "r" / "summary.json").read_text(encoding="utf-8")


def test_an_unknown_user_id_is_exit_2_naming_the_option(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: ReferenceServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """conformance run --target URL --user-id 777 (no such user) → exit 2: check --user-id."""
    monkeypatch.setenv(KEY_VARIABLE, REFERENCE_API_KEY)
    code, err = cli(capsys, *run_args(server, tmp_path, "--user-id", str(ABSENT_USER)))
    line = only_line(err)
    assert code == 2
    assert f'the target refused user {ABSENT_USER} for this key: HTTP 404 "the user does not exist"' in line
    assert "check --user-id" in line


def test_an_unknown_user_that_exists_is_exit_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: ReferenceServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """conformance run ... --unknown-user-id 12346 (a user the key owns) → exit 2: name an ID no user has."""
    monkeypatch.setenv(KEY_VARIABLE, REFERENCE_API_KEY)
    code, err = cli(
        capsys,
        *run_args(server, tmp_path, "--user-id", str(USER), "--unknown-user-id", str(OTHER_OWNED_USER)),
    )
    line = only_line(err)
    assert code == 2
    assert f"the target granted a token for --unknown-user-id {OTHER_OWNED_USER}" in line
    assert "name an ID no user has" in line


def test_a_foreign_user_the_key_owns_stays_a_scope_failure_with_a_hint(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: ReferenceServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """conformance run ... --foreign-user-id 12346 (in the key's scope) → exit 1, LT-AUTH-USER-SCOPE, hint."""
    monkeypatch.setenv(KEY_VARIABLE, REFERENCE_API_KEY)
    args = run_args(server, tmp_path, "--user-id", str(USER), "--foreign-user-id", str(OTHER_OWNED_USER))
    code, _ = cli(capsys, *args, "-k", "test_user_outside_scope_refused")
    assert code == 1
    summary = (tmp_path / "r" / "summary.json").read_text(encoding="utf-8")
    assert "LT-AUTH-USER-SCOPE" in summary
    assert f"if user {OTHER_OWNED_USER} is in the key's scope, --foreign-user-id is wrong" in summary


def test_the_right_configuration_passes_preflight(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: ReferenceServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """conformance run --target URL with the right key and users → the run goes on (conformant for -k)."""
    monkeypatch.setenv(KEY_VARIABLE, REFERENCE_API_KEY)
    args = run_args(server, tmp_path, "--user-id", str(USER), "--foreign-user-id", str(FOREIGN_USER))
    code, err = cli(capsys, *args, "-k", "test_valid_request_is_granted")
    assert code == 6, err  # the rest of the suite was not run: incomplete, not an error
    assert "refused" not in err
    assert read_summary(tmp_path / "r" / "summary.json").facts.preflight_notes == ()


def test_a_foreign_user_that_does_not_exist_gets_a_note_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: ReferenceServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """conformance run ... --foreign-user-id 777 (no such user: a 404 like the unknown user's) → a note in
    the console, summary.json and the sign-off; the run is judged as before (LT-AUTH-USER-SCOPE passes;
    -k leaves the rest unexercised: exit 6)."""
    monkeypatch.setenv(KEY_VARIABLE, REFERENCE_API_KEY)
    args = run_args(server, tmp_path, "--user-id", str(USER), "--foreign-user-id", str(ABSENT_USER))
    code = main([*args, "-k", "test_user_outside_scope_refused"])
    out = capsys.readouterr().out
    assert code == 6, out
    summary = read_summary(tmp_path / "r" / "summary.json")
    (note,) = summary.facts.preflight_notes
    assert note == (
        f'--foreign-user-id {ABSENT_USER} gets the same "not found" as the unknown user '
        f"{REFERENCE_UNKNOWN_USER_ID} "
        '(HTTP 404 "the user does not exist"): the target says no such user exists, or hides other keys\' '
        "users as unknown ones; if it is not another key's user, name one (LT-AUTH-USER-SCOPE is otherwise "
        "judged on a user that does not exist)"
    )
    assert f"note: {note}" in " ".join(out.split())
    assert not [r.id for r in summary.requirements if r.failure_count]
    assert "LT-AUTH-USER-SCOPE" not in {rid for rid, _ in summary.not_exercised()}
    assert "Preflight note: --foreign-user-id 777" in (tmp_path / "r" / "signoff.md").read_text("utf-8")


class HidesOtherKeysUsers(Behaviour):
    """A deployment that refuses another key's user exactly as a user that does not exist (conforming:
    AMB-TENANT-DISCLOSURE lets a target hide that a user exists); its key is the canary."""

    ECHO_KEY = False  # the refusal names the key it was sent with (to show no note carries it)

    def authenticate(self, api_key: str | None) -> frozenset[int]:
        if api_key != CANARY_KEY:
            raise Rejection(401, "api_key is not valid")
        return frozenset({USER})

    def authorize(self, user_id: int, scope: frozenset[int]) -> None:
        if user_id not in scope:
            raise Rejection(404, "the user does not exist")

    def validate(self, form: list[tuple[str, str]]) -> Accepted:
        try:
            return super().validate(form)
        except Rejection as refused:
            if self.ECHO_KEY and refused.status == HTTP_NOT_FOUND:
                raise Rejection(404, f"{refused.message} for api_key {self.pick(form, 'api_key')}") from None
            raise


class EchoesTheKey(HidesOtherKeysUsers):
    """As HidesOtherKeysUsers, and the refusal names the key (a finding of its own: no note may carry it)."""

    ECHO_KEY = True


@pytest.mark.parametrize("behaviour", [HidesOtherKeysUsers, EchoesTheKey])
def test_a_target_hiding_other_keys_users_gets_a_note_and_no_failure(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    behaviour: type[HidesOtherKeysUsers],
) -> None:
    """conformance run ... --foreign-user-id 54321 against a target answering it as it answers an unknown
    user (HTTP 404 for both): a note, never a failure of its own (hiding existence is allowed); the key
    the target echoes in its refusals is in no note and no file."""
    monkeypatch.setenv(KEY_VARIABLE, CANARY_KEY)
    with ReferenceServer(behaviour=behaviour, serve_qrcodes=True) as server:
        args = run_args(server, tmp_path, "--user-id", str(USER), "--foreign-user-id", str(FOREIGN_USER))
        code = main([*args, "-k", "test_authorization or test_side_channels", "-q"])
    captured = capsys.readouterr()
    summary = read_summary(tmp_path / "r" / "summary.json")
    (note,) = summary.facts.preflight_notes
    assert note.startswith(f'--foreign-user-id {FOREIGN_USER} gets the same "not found" as the unknown user')
    assert f"note: {note}" in captured.err  # -q: on stderr, beside the verdict line alone on stdout
    assert CANARY_KEY not in captured.out + captured.err + note
    if behaviour is HidesOtherKeysUsers:
        assert code == 6, captured.out  # incomplete under -k: nothing failed
        assert not [r.id for r in summary.requirements if r.failure_count]
        assert "LT-AUTH-USER-SCOPE" not in {rid for rid, _ in summary.not_exercised()}
    else:
        failed = {r.id for r in summary.requirements if r.failure_count}
        assert "LT-SEC-KEY-NOT-ECHOED" in failed, captured.out  # the echoed key is the run's finding
        assert f'"the user does not exist for api_key {API_KEY_PLACEHOLDER}"' in note
        assert summary.leaked_files is None  # the leak scan of every file written found no key


def test_a_seeded_fault_refusing_the_plain_user_stays_a_finding(tmp_path: Path) -> None:
    """conformance run --target reference --fault plain_user_id_rejected → exit 1: the suite's own users
    are right, so the refusal is the target's fault, not a configuration error."""
    options = RunOptions(target="reference", fault="plain_user_id_rejected", report_dir=tmp_path / "r",
                         max_examples=5, seed=1)  # fmt: skip
    with open_session(options, keyword="test_valid_request_is_granted") as session:
        summary = execute(session)
    assert summary.exit_code == 1
    assert "LT-INPUT-USER-VALID" in {r.id for r in summary.requirements if r.failure_count}


def test_a_target_that_went_away_mid_run_is_incomplete_naming_the_last_answer(
    tmp_path: Path, server: ReferenceServer
) -> None:
    """The service dies during `conformance run --target URL`: exit 6 naming the last answer, no
    LT-HTTP-TIMELY failure."""
    options = RunOptions(target=server.url, report_dir=tmp_path / "r", max_examples=5, seed=1, user_id=USER,
                         foreign_user_id=FOREIGN_USER, api_key_env=KEY_VARIABLE)  # fmt: skip
    stop_after = 20

    class Killer:
        seen = 0

        def on_exchange(self, exchange: Exchange, results: object, *, evidence: object) -> None:
            self.seen += 1
            if self.seen == stop_after:
                server.stop()

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_VARIABLE, REFERENCE_API_KEY)
        with open_session(options) as session:
            session.run.observers.append(Killer())
            summary = execute(session)
    assert summary.exit_code == 6, summary.error
    assert summary.facts.stopped_early is not None
    assert "the target went away" in summary.facts.stopped_early
    assert "the last was HTTP" in summary.facts.stopped_early
    failed = {r.id for r in summary.requirements if r.failure_count}
    assert not failed


# -- the decisions, request by request (pure logic: a scripted target) --------------------------------------
def reply(status: int | None, message: str = "", *, token: bool = False) -> Exchange:
    body = f"<user_response><status>{status}</status><message>{message}</message>"
    body += "<token>0123456789abcdef0123456789abcdef</token>" if token else ""
    body += "</user_response>"
    if status is None:
        return Exchange(case=CaseBuilder(users=Users(USER), profile=Profile()).case(), sent_at=0, elapsed=0,
                        error=TransportError.TIMEOUT)  # fmt: skip
    return Exchange(case=CaseBuilder(users=Users(USER), profile=Profile()).case(), sent_at=0, elapsed=0,
                    status=status, body=body.encode())  # fmt: skip


class Scripted:
    """A target that answers by user ID; everything it was sent is kept."""

    def __init__(self, answers: dict[int | None, Exchange]) -> None:
        self.answers = answers
        self.sent: list[Case] = []

    def send(self, case: Case) -> Exchange:
        self.sent.append(case)
        return self.answers.get(case.user_id, self.answers[None])


def decide(
    target: Scripted,
    *,
    configured: Configured = URL_TARGET,
    unknown: tuple[int, ...] = (9,),
    redactor: Redactor | None = None,
) -> Preflighted:
    builder = CaseBuilder(users=Users(USER, unknown[0], FOREIGN_USER, unknown[1:]), profile=Profile())
    return check_configuration(
        target.send, builder=builder, configured=configured, redactor=redactor or Redactor()
    )


GRANT = reply(200, "ok", token=True)
UNKNOWN = reply(404, "the user does not exist")
NO_ACCESS = reply(403, "the api_key has no access to this user")


def test_a_right_configuration_costs_three_requests_and_notes_nothing() -> None:
    target = Scripted({USER: GRANT, FOREIGN_USER: NO_ACCESS, None: UNKNOWN})
    assert decide(target) == Preflighted(3)
    assert [c.user_id for c in target.sent] == [USER, 9, FOREIGN_USER]


def test_without_a_foreign_user_two_requests() -> None:
    target = Scripted({USER: GRANT, None: UNKNOWN})
    configured = Configured(key_variable=KEY_VARIABLE, user_id=True, unknown_user_ids=True)
    assert decide(target, configured=configured) == Preflighted(2)
    assert [c.user_id for c in target.sent] == [USER, 9]


@pytest.mark.parametrize("foreign", [FOREIGN_USER, None])
def test_every_unknown_user_is_checked_within_the_budget(foreign: int | None) -> None:
    target = Scripted({USER: GRANT, None: UNKNOWN})
    configured = Configured(KEY_VARIABLE, user_id=True, unknown_user_ids=True, foreign_user_id=bool(foreign))
    sent = decide(target, configured=configured, unknown=tuple(range(100, 120))).requests
    assert sent == len(target.sent) <= MAX_PREFLIGHT_REQUESTS


def test_a_target_granting_every_user_is_left_to_the_run_as_a_finding() -> None:
    target = Scripted({None: GRANT})
    # the grant, the unknown user, a made-up user: granted too, not a mistake; the foreign user is moot
    assert decide(target) == Preflighted(3)


@pytest.mark.parametrize("status", [400, 500, 302])
def test_a_refusal_not_about_key_or_user_is_judged_by_the_run(status: int) -> None:
    assert decide(Scripted({None: reply(status, "no")})) == Preflighted(1)


def test_no_answer_is_judged_by_the_run() -> None:
    assert decide(Scripted({None: reply(None)})) == Preflighted(1)


def test_the_suites_own_key_and_users_are_not_checked() -> None:
    target = Scripted({None: reply(401, "no")})
    configured = Configured(key_variable=None, user_id=False, unknown_user_ids=False)
    assert decide(target, configured=configured) == Preflighted(0)
    assert target.sent == []


# -- the foreign user: seen to exist, or refused exactly like the unknown user (a note, never an error) ----
def test_a_foreign_user_refused_like_the_unknown_user_gets_a_note_numbers_aside() -> None:
    target = Scripted({
        USER: GRANT, FOREIGN_USER: reply(404, f"user {FOREIGN_USER} not found (req-7f3a2)"),
        None: reply(404, "user 9 not found (req-00b91)"),
    })  # fmt: skip
    (note,) = decide(target).notes
    assert note.startswith(
        f'--foreign-user-id {FOREIGN_USER} gets the same "not found" as the unknown user 9 '
        f'(HTTP 404 "user {FOREIGN_USER} not found (req-7f3a2)"): the target says no such user exists'
    )


def test_a_403_alike_says_the_target_does_not_show_whether_the_user_exists() -> None:
    refusal = reply(403, "forbidden")
    (note,) = decide(Scripted({USER: GRANT, None: refusal})).notes
    assert note.startswith(
        f"--foreign-user-id {FOREIGN_USER} gets the same refusal as the unknown user 9 (HTTP 403 "
        f'"forbidden"): the target does not show whether user {FOREIGN_USER} exists; if it is not another '
        "key's user, name one"
    )


@pytest.mark.parametrize(
    "foreign",
    [
        NO_ACCESS,  # another status: the target shows the user exists
        reply(404, "the user is not yours"),  # the same status, another message
        reply(200, "ok", token=True),  # granted: LT-AUTH-USER-SCOPE fails in the run, with its hint
        reply(500, "the user does not exist"),  # no refusal about the user: the run judges it
    ],
    ids=["403", "other-message", "granted", "5xx"],
)
def test_a_foreign_user_answered_unlike_the_unknown_user_gets_no_note(foreign: Exchange) -> None:
    target = Scripted({USER: GRANT, FOREIGN_USER: foreign, None: UNKNOWN})
    assert decide(target) == Preflighted(3)


@pytest.mark.parametrize("status", [408, 429])
def test_a_timeout_or_throttling_for_both_is_no_refusal_about_the_user(status: int) -> None:
    target = Scripted({USER: GRANT, None: reply(status, "slow down")})
    assert decide(target).notes == ()


def test_the_foreign_user_is_checked_when_it_is_all_that_was_configured() -> None:
    """conformance run --target reference --foreign-user-id 777: the suite's own key and user, the
    default unknown user asked once to compare with."""
    target = Scripted({USER: GRANT, None: UNKNOWN})
    configured = Configured(key_variable=None, user_id=False, unknown_user_ids=False, foreign_user_id=True)
    checked = decide(target, configured=configured)
    assert [c.user_id for c in target.sent] == [USER, 9, FOREIGN_USER]
    assert checked.requests == 3 and len(checked.notes) == 1


def test_a_key_echoed_in_the_foreign_users_refusal_is_not_in_the_note() -> None:
    secret = "CANARY-KEY-echoed-in-note"
    target = Scripted({USER: GRANT, None: reply(404, f"no such user for {secret}")})
    (note,) = decide(target, redactor=Redactor(secrets=[secret])).notes
    assert secret not in note
    assert "no such user for" in note


def test_a_key_echoed_in_the_refusal_is_not_shown() -> None:
    secret = "CANARY-KEY-echoed-in-message"
    target = Scripted({None: reply(401, f"bad key {secret}")})
    builder = CaseBuilder(users=Users(USER), profile=Profile())
    with pytest.raises(ConfigurationRefused) as refused:
        check_configuration(
            target.send, builder=builder, configured=URL_TARGET, redactor=Redactor(secrets=[secret])
        )
    assert secret not in str(refused.value)


def test_a_refused_connection_after_answers_is_tried_again_then_the_target_is_gone() -> None:
    refused = Exchange(case=GRANT.case, sent_at=0, elapsed=0, error=TransportError.CONNECT,
                       error_detail="[Errno 111] Connection refused")  # fmt: skip
    answers = iter([GRANT, refused, GRANT, refused, refused])
    waits: list[float] = []

    class Sender:
        def send(self, case: Case) -> Exchange:
            return next(answers)

    watch = AnswerWatch(Sender(), sleep=waits.append)
    watch.send(GRANT.case)
    assert watch.send(GRANT.case) is GRANT  # a restart: the second attempt is answered
    with pytest.raises(TargetWentAway, match="the last was HTTP 200"):
        watch.send(GRANT.case)
    assert len(waits) == 2
