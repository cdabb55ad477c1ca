"""--unknown-user-id given several times: options, config file, cassette header, replay agreement, summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cassettes.agreement import adding_problems, option_mismatches
from conformance.cassettes.errors import CassetteCorrupt
from conformance.cassettes.format import CassetteHeader, dump_cassette, load_cassette
from conformance.core.errors import ConfigError
from conformance.core.options import RunOptions, options_from
from conformance.inputs import Users
from conformance.session.config import ConfigFileError, resolve_options
from conformance.session.plan import _users

HEADER = CassetteHeader(
    "reference", "0.1.0", "default", "2026-01-01T00:00:00+00:00", 7, 25, 12345, 987, 777, (988, 989)
)


def write_config(tmp_path: Path, text: str) -> RunOptions:
    (tmp_path / "conformance.toml").write_text(text, encoding="utf-8")
    return resolve_options({}, cwd=tmp_path, environ={})


def test_the_config_file_takes_one_unknown_user_or_a_list(tmp_path: Path) -> None:
    assert write_config(tmp_path, "unknown-user-id = 5\n").unknown_user_id == (5,)
    assert write_config(tmp_path, 'unknown-user-id = [5, "6"]\n').unknown_user_id == (5, 6)
    with pytest.raises(ConfigFileError, match="unknown-user-id must be an integer"):
        write_config(tmp_path, 'unknown-user-id = [5, "x"]\n')


def test_the_command_line_list_wins_over_the_file_and_an_empty_one_does_not(tmp_path: Path) -> None:
    (tmp_path / "conformance.toml").write_text("unknown-user-id = [5, 6]\n", encoding="utf-8")
    given = resolve_options({"unknown_user_id": (7,)}, cwd=tmp_path, environ={})
    assert given.unknown_user_id == (7,)
    assert resolve_options({"unknown_user_id": ()}, cwd=tmp_path, environ={}).unknown_user_id == (5, 6)


def test_every_unknown_user_becomes_a_user_of_the_run() -> None:
    users = _users(RunOptions(user_id=1, unknown_user_id=(10, 11, 12)), None)
    assert users.unknown_user_ids == (10, 11, 12)
    assert users.not_owned == {10, 11, 12}
    recorded = Users(1, 20, None, (21,))
    assert _users(RunOptions(), recorded, recorded=True).unknown_user_ids == (20, 21)


def test_an_unknown_user_repeated_or_equal_to_another_user_is_refused() -> None:
    for unknown in ((10, 10), (10, 1)):
        with pytest.raises(ConfigError, match="each --unknown-user-id must be different users"):
            _users(RunOptions(user_id=1, unknown_user_id=unknown), None)


def test_the_header_keeps_the_list_and_a_single_user_is_written_as_before(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_bytes(dump_cassette("t", HEADER, []))
    assert "more_unknown_user_ids:\n  - 988\n  - 989\n" in path.read_text(encoding="utf-8")
    assert load_cassette(path).header.unknown_user_ids == (987, 988, 989)
    single = CassetteHeader("reference", "0.1.0", "default", "2026-01-01T00:00:00+00:00", 7, 25, 1, 2, None)
    path.write_bytes(dump_cassette("t", single, []))
    assert "more_unknown_user_ids" not in path.read_text(encoding="utf-8")
    assert load_cassette(path).header == single


def test_a_header_with_a_malformed_list_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    text = dump_cassette("t", HEADER, []).decode("utf-8").replace("  - 989\n", "  - true\n")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CassetteCorrupt, match="more_unknown_user_ids must be a non-empty list of user ids"):
        load_cassette(path)


def test_replay_compares_the_whole_list_with_the_recording() -> None:
    def found(unknown: tuple[int, ...]) -> list[str]:
        options = RunOptions(unknown_user_id=unknown)
        return option_mismatches(HEADER, options=options, profile="default", suite_version="0.1.0")

    assert found(()) == []
    assert found((987, 988, 989)) == []
    assert found((987,)) == ["--unknown-user-id 987 but the recording used 987 988 989"]
    assert found((989, 988, 987)) == ["--unknown-user-id 989 988 987 but the recording used 987 988 989"]


def test_record_missing_refuses_a_set_recorded_with_other_unknown_users() -> None:
    users = Users(12345, 987, 777)
    problems = adding_problems(
        HEADER, options=RunOptions(), users=users, profile="default", target="reference"
    )
    assert "unknown-user-id 987 but the set used 987 988 989" in problems


def test_the_pytest_plugin_list_becomes_the_same_tuple() -> None:
    # argparse's "append" (the plugin's --unknown-user-id) gives a list; click's multiple a tuple.
    assert options_from({"unknown_user_id": [5, 6]}).unknown_user_id == (5, 6)
    assert options_from({"unknown_user_id": (5, 6)}) == options_from({"unknown_user_id": [5, 6]})
