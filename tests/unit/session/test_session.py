"""The session's pure half: RunOptions resolved into a SessionPlan with no I/O (files, env, sockets)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import inspect
import math
import time
from pathlib import Path

import pytest

from conformance import __version__
from conformance.cassettes import CassetteHeader
from conformance.core.errors import ConfigError
from conformance.core.model import API_KEY_PLACEHOLDER
from conformance.core.options import DEFAULT_MAX_EXAMPLES, REFERENCE_TARGET, RunOptions
from conformance.core.profile import Profile
from conformance.exchange.transport import TargetRefused
from conformance.inputs import Users
from conformance.results.waivers import WaiverSet, load_waivers
from conformance.session.live import Session
from conformance.session.open import run_budget
from conformance.session.plan import (
    REFERENCE_REPLAY_URL,
    Found,
    LocalTarget,
    SessionPlan,
    resolve,
)
from tests.support import ROOT

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
KEY = "unit-test-key-0123456789"


def no_waivers() -> WaiverSet:
    return load_waivers(None)


def found(**overrides: object) -> Found:
    values: dict[str, object] = {
        "profile": Profile(),
        "waivers": no_waivers(),
        "api_key": KEY,
        "now": NOW,
        "fresh_seed": 777,
    }
    return Found(**{**values, **overrides})  # type: ignore[arg-type]


def header(**overrides: object) -> CassetteHeader:
    values: dict[str, object] = {
        "target": REFERENCE_TARGET,
        "suite_version": __version__,
        "profile": Profile().name,
        "recorded_at": "2026-11-30T00:00:00+00:00",
        "seed": 42,
        "max_examples": 7,
        "user_id": 12345,
        "unknown_user_id": 999,
        "foreign_user_id": 54321,
    }
    return CassetteHeader(**{**values, **overrides})  # type: ignore[arg-type]


def never_served(fault: str | None, serve_qrcodes: bool) -> contextlib.AbstractContextManager[str]:
    raise AssertionError("resolve must not start anything")


LOCAL = LocalTarget(api_key="local-key", users=Users(1, 2, 3), serve=never_served)


def test_a_plan_is_frozen() -> None:
    plan = resolve(RunOptions(target="http://127.0.0.1:9", user_id=5), found())
    assert dataclasses.is_dataclass(plan)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.seed = 1  # type: ignore[misc]


def test_live_url_takes_the_key_from_the_given_environment_and_a_fresh_seed() -> None:
    plan = resolve(RunOptions(target="http://127.0.0.1:9", user_id=5), found())
    assert (plan.target, plan.api_key, plan.seed) == ("http://127.0.0.1:9", KEY, 777)
    assert plan.max_examples == DEFAULT_MAX_EXAMPLES
    assert plan.users.user_id == 5 and plan.users.foreign_user_id is None
    assert plan.label is None and plan.local is None and not plan.replay
    assert plan.recorded_as == "http://127.0.0.1:9/v1/user/login_token"


def test_the_key_is_never_in_a_plan_s_or_found_s_repr() -> None:
    plan = resolve(RunOptions(target="http://127.0.0.1:9", user_id=5), found())
    assert KEY not in repr(plan) and KEY not in repr(found())


def test_a_missing_key_in_the_given_environment_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="CONFORMANCE_API_KEY is not set"):
        resolve(RunOptions(target="http://127.0.0.1:9", user_id=5), found(api_key=""))


def test_an_invalid_target_url_is_refused_before_anything_starts() -> None:
    with pytest.raises(TargetRefused, match="ftp://x"):
        resolve(RunOptions(target="ftp://x", user_id=5), found())


def test_the_reference_needs_a_local_target_from_the_front_end() -> None:
    with pytest.raises(ConfigError, match="--target reference is not available"):
        resolve(RunOptions(target=REFERENCE_TARGET), found())
    plan = resolve(RunOptions(target=REFERENCE_TARGET, seed=3), found(), local=LOCAL)
    assert plan.target is None and plan.local is LOCAL and plan.api_key == "local-key"
    assert plan.users == Users(1, 2, 3) and plan.seed == 3 and plan.recorded_as == REFERENCE_TARGET


def test_a_local_target_is_not_kept_for_another_target() -> None:
    plan = resolve(RunOptions(target="http://127.0.0.1:9", user_id=5), found(), local=LOCAL)
    assert plan.local is None


def test_replay_takes_seed_examples_and_users_from_the_recording() -> None:
    plan = resolve(RunOptions(), found(replay_header=header()))
    assert plan.replay and plan.target == REFERENCE_REPLAY_URL and plan.api_key == API_KEY_PLACEHOLDER
    assert (plan.seed, plan.max_examples) == (42, 7)
    assert plan.users == Users(12345, 999, 54321)
    assert plan.label == "replay:cassettes" and plan.recording is not None
    assert plan.settings.rate == math.inf  # replay talks to no server


def test_replay_of_an_old_recording_is_judged_by_the_given_clock() -> None:
    old = found(replay_header=header(recorded_at="2020-01-01T00:00:00+00:00"))
    plan = resolve(RunOptions(), old)
    assert plan.recording is not None and plan.recording["too_old"] is True
    with pytest.raises(ConfigError):
        resolve(RunOptions(strict_cassette_age=True), old)


def test_replay_options_that_contradict_the_recording_are_refused() -> None:
    with pytest.raises(ConfigError, match="--seed 1 but the recording used 42"):
        resolve(RunOptions(seed=1), found(replay_header=header()))


def test_record_missing_records_with_the_set_s_seed() -> None:
    options = RunOptions(target=REFERENCE_TARGET, record_missing=True)
    same_users = LocalTarget(api_key="local-key", users=Users(12345, 999, 54321), serve=never_served)
    plan = resolve(options, found(adding_to=header()), local=same_users)
    assert plan.options.record and (plan.seed, plan.max_examples) == (42, 7)


def test_record_missing_refuses_a_set_recorded_differently() -> None:
    options = RunOptions(target=REFERENCE_TARGET, record_missing=True)
    with pytest.raises(ConfigError, match="--record-missing cannot add to"):
        resolve(options, found(adding_to=header(target="http://elsewhere/v1/user/login_token")), local=LOCAL)


def test_keyword_and_recorded_inputs_are_part_of_the_plan() -> None:
    plan = resolve(RunOptions(target=REFERENCE_TARGET), found(), local=LOCAL, keyword="grant")
    assert plan.keyword == "grant"


def test_option_values_are_validated() -> None:
    with pytest.raises(ConfigError, match="--timeout"):
        resolve(RunOptions(target=REFERENCE_TARGET, timeout=0), found(), local=LOCAL)


def test_the_session_s_run_state_is_not_assignable_afterwards() -> None:
    # full_run follows from the keyword given when the session opened; it is no longer set afterwards.
    assert isinstance(inspect.getattr_static(Session, "full_run"), property)
    assert isinstance(inspect.getattr_static(Session, "target_version"), property)
    assert "full_run" not in {f.name for f in dataclasses.fields(SessionPlan)}


def test_start_builds_the_run_complete_from_the_plan(tmp_path: Path) -> None:
    from conformance.cassettes import CassetteError
    from conformance.frontends.local import reference_target
    from conformance.run.sentinels import Sentinels
    from conformance.session.live import VersionWatch
    from conformance.session.open import start

    options = RunOptions(target=REFERENCE_TARGET, report_dir=tmp_path, max_throttle_wait=7.0, seed=9)
    plan = resolve(options, found(), local=reference_target(slow_delay=0.5))
    with start(plan) as session:
        run = session.run
        assert run.parallel and run.throttle_budget == 7.0 and run.seed == 9
        assert run.sleep is time.sleep
        assert isinstance(run.after_exchange, Sentinels)
        assert CassetteError in run.abort_codes
        assert any(isinstance(o, VersionWatch) for o in run.observers)
        assert session.full_run and session.keyword is None


def test_a_replay_run_never_waits_and_sends_one_at_a_time(tmp_path: Path) -> None:
    from conformance.session.found import find
    from conformance.session.open import start

    options = RunOptions(cassettes=ROOT / "cassettes", report_dir=tmp_path)
    plan = resolve(options, find(options), keyword="grant")
    with start(plan) as session:
        assert not session.run.parallel and session.run.sleep is not time.sleep
        assert not session.full_run and session.keyword == "grant"


def test_an_option_mistake_is_named_before_any_file_is_read(tmp_path: Path) -> None:
    from conformance.session.open import open_session

    options = RunOptions(record=True, cassettes=tmp_path / "none", report_dir=tmp_path / "r")
    with pytest.raises(ConfigError, match="--record needs --target"), open_session(options):
        pass


@pytest.mark.parametrize(
    ("max_duration", "host", "budget"),
    [
        (None, "127.0.0.1", 600.0),
        (None, "::1", 600.0),
        (None, "93.184.215.14", 1800.0),
        (5.0, "127.0.0.1", 5.0),
    ],
)
def test_the_run_budget_defaults_by_target_host_unless_given(
    max_duration: float | None, host: str, budget: float
) -> None:
    assert run_budget(RunOptions(max_duration=max_duration), host) == budget
