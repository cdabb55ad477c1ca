"""The config file: every run option, named environments, ${VAR}, never the key, precedence, typos."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.core.options import OPTION_SPECS, RunOptions
from conformance.session.config import ConfigFileError, resolve_options

KEY = "canary-key-0f9e8d7c6b5a"
STAGING = """
max-examples = 7
timeout = 3.5
report-dir = "out"

[env.staging]
target = "https://staging.example.com"
user-id = "${STAGING_USER}"
max-examples = 9
"""


def resolve(
    tmp_path: Path, text: str, cli: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> RunOptions:
    (tmp_path / "conformance.toml").write_text(text, encoding="utf-8")
    return resolve_options(cli or {}, cwd=tmp_path, environ=environ or {})


def test_no_config_file_gives_the_defaults(tmp_path: Path) -> None:
    assert resolve_options({}, cwd=tmp_path, environ={}) == RunOptions()


def test_precedence_command_line_over_env_section_over_file_over_defaults(tmp_path: Path) -> None:
    environ = {"STAGING_USER": "4242"}
    top = resolve(tmp_path, STAGING, environ=environ)
    assert (top.max_examples, top.timeout, top.target, top.seed) == (7, 3.5, None, None)  # file, defaults
    staging = resolve(tmp_path, STAGING, {"env": "staging"}, environ)
    assert (staging.max_examples, staging.timeout, staging.user_id) == (9, 3.5, 4242)  # env section wins
    assert staging.target == "https://staging.example.com"
    cli = resolve(tmp_path, STAGING, {"env": "staging", "max_examples": 11, "timeout": None}, environ)
    assert (cli.max_examples, cli.timeout) == (11, 3.5)  # command line wins; None means not given


def test_every_run_option_can_be_set_in_the_file(tmp_path: Path) -> None:
    samples = {Path: "some/dir", int: 3, float: 1.5, str: "text"}
    lines = [
        f"{spec.name[2:]} = {'true' if spec.flag else json.dumps(samples[spec.kind])}"
        for spec in OPTION_SPECS
    ]
    options = resolve(tmp_path, "\n".join(lines))
    for spec in OPTION_SPECS:
        default = getattr(RunOptions(), spec.field)
        assert getattr(options, spec.field) != default, spec.field


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "c.toml").write_text('cassettes = "tapes"\n', encoding="utf-8")
    options = resolve_options({"config": tmp_path / "ci" / "c.toml"}, cwd=tmp_path, environ={})
    assert options.cassettes == tmp_path / "ci" / "tapes"


def test_snake_case_keys_are_the_same_options(tmp_path: Path) -> None:
    assert resolve(tmp_path, "user_id = 5\nallow_http = true\n") == RunOptions(user_id=5, allow_http=True)


def test_a_flag_pytest_leaves_false_does_not_override_the_file(tmp_path: Path) -> None:
    assert resolve(tmp_path, "allow-http = true\n", {"allow_http": False}).allow_http is True


def test_variables_are_substituted_and_dollar_dollar_is_literal(tmp_path: Path) -> None:
    text = 'target-version = "v${RELEASE}-$${X}"\nseed = "${SEED}"\n'
    options = resolve(tmp_path, text, environ={"RELEASE": "2.4", "SEED": "9"})
    assert (options.target_version, options.seed) == ("v2.4-${X}", 9)


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ('target = "${NOPE}"\n', {}, r"conformance\.toml: target: \$\{NOPE\} is not set in the environment"),
        ("user-idd = 3\n", {}, r"unknown option 'user-idd'; did you mean 'user-id'\?"),
        (
            "[env.staging]\nmax_exampels = 3\n",
            {},
            r"\[env\.staging\]: unknown option 'max_exampels'; did you mean 'max-examples'",
        ),
        ("colour = 3\n", {}, r"unknown option 'colour'; known: target, fault"),
        ("seed = 1.5\n", {}, r"conformance\.toml: seed must be an integer, not 1\.5"),
        ('seed = "${S}"\n', {"S": "x1"}, r"seed must be an integer, not 'x1'"),
        ('record = "yes"\n', {}, r"record must be true or false"),
        ("target = 3\n", {}, r"target must be a string"),
        ("env = 3\n", {}, r"env must hold tables"),
        ("[env.a]\n[env.a.env.b]\n", {}, r"cannot hold another env table"),
        ("target = \n", {}, r"is not valid TOML"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigFileError, match=message) as caught:
        resolve(tmp_path, text, environ=environ)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "environ"),
    [
        (f'api-key = "{KEY}"\n', {}),
        (f'api_key = "{KEY}"\n', {}),
        (f'[env.staging]\nkey = "{KEY}"\n', {}),
        (f'target-version = "{KEY}"\n', {"CONFORMANCE_API_KEY": KEY}),
        ('target-version = "${CONFORMANCE_API_KEY}"\n', {"CONFORMANCE_API_KEY": KEY}),
        ('api-key-env = "STAGING_KEY"\nuser-id = "${STAGING_KEY}"\n', {"STAGING_KEY": KEY}),
        ('fault = "${OTHER}"\n', {"OTHER": f"x{KEY}x", "CONFORMANCE_API_KEY": KEY}),
    ],
)
def test_the_key_is_never_taken_from_a_config_file(
    tmp_path: Path, text: str, environ: dict[str, str]
) -> None:
    with pytest.raises(ConfigFileError, match=r"the (API )?key is never kept in a config file") as caught:
        resolve(tmp_path, text, environ=environ)
    assert KEY not in str(caught.value)


def test_unknown_env_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"--env prod: no \[env\.prod\] in .*\(environments: staging\)"):
        resolve(tmp_path, STAGING, {"env": "prod"}, {"STAGING_USER": "1"})


def test_env_without_a_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"--env staging needs a config file"):
        resolve_options({"env": "staging"}, cwd=tmp_path, environ={})


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"--config .*nope\.toml: No such file"):
        resolve_options({"config": tmp_path / "nope.toml"}, cwd=tmp_path, environ={})


def test_pyproject_table_is_used_when_there_is_no_conformance_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.conformance]\nseed = 5\n[tool.conformance.env.ci]\nseed = 6\n',
        encoding="utf-8",
    )
    assert resolve_options({}, cwd=tmp_path, environ={}).seed == 5
    assert resolve_options({"env": "ci"}, cwd=tmp_path, environ={}).seed == 6
    (tmp_path / "conformance.toml").write_text("seed = 7\n", encoding="utf-8")
    assert resolve_options({}, cwd=tmp_path, environ={}).seed == 7


def test_pyproject_without_the_table_is_no_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    assert resolve_options({}, cwd=tmp_path, environ={}) == RunOptions()
    with pytest.raises(ConfigFileError, match=r"has no \[tool\.conformance\] table"):
        resolve_options({"config": tmp_path / "pyproject.toml"}, cwd=tmp_path, environ={})


def test_each_option_remembers_where_it_came_from(tmp_path: Path) -> None:
    environ = {"STAGING_USER": "4242"}
    options = resolve(tmp_path, STAGING, {"env": "staging", "seed": 3}, environ)
    file = f"config file {tmp_path / 'conformance.toml'}"
    assert options.provenance.config_file == tmp_path / "conformance.toml"
    sources = dict(options.provenance.sources)
    assert sources["timeout"] == file
    assert sources["max_examples"] == sources["target"] == f"{file} [env.staging]"
    assert sources["user_id"] == f"{file} [env.staging] from ${{STAGING_USER}}"
    assert sources["seed"] == "command line"
    assert resolve_options({"seed": 3}, cwd=tmp_path / "none", environ={}).provenance.config_file is None


RECORDING = """
seed = 4
[recording]
not-applicable = ["LT-QRCODE-IMAGE=a recording holds no image"]
seed = 5
"""


@pytest.mark.parametrize(
    ("cli", "applies"),
    [
        ({}, True),  # replay
        ({"target": "reference", "record": True}, True),
        ({"target": "reference", "record_missing": True}, True),
        ({"target": "reference"}, False),  # live: the table is not read
    ],
)
def test_the_recording_table_applies_only_to_runs_through_cassettes(
    tmp_path: Path, cli: dict[str, Any], applies: bool
) -> None:
    options = resolve(tmp_path, RECORDING, cli)
    if applies:
        assert options.not_applicable == ("LT-QRCODE-IMAGE=a recording holds no image",)
        assert options.seed == 5
        assert dict(options.provenance.sources)["not_applicable"].endswith("conformance.toml [recording]")
    else:
        assert (options.not_applicable, options.seed) == ((), 4)


def test_the_recording_table_is_checked_like_the_rest(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"\[recording\]: unknown option 'sed'; did you mean 'seed'"):
        resolve(tmp_path, "[recording]\nsed = 1\n")
    with pytest.raises(ConfigFileError, match="one table of options"):
        resolve(tmp_path, "[recording.x]\nseed = 1\n")
