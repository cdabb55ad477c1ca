"""The config file: every run option in ``conformance.toml`` (or ``[tool.conformance]`` in pyproject.toml).

Precedence, resolved here and nowhere else: command line > ``[env.NAME]`` section (``--env NAME``) >
``[recording]`` section (only for a run that records or replays cassettes) > the file's top level > the
defaults in conformance.core.options. Each option keeps where it came from (``RunOptions.provenance``): every
report lists the options and settings that differ from the defaults, and the config file used.
Keys are the command line's option names without the dashes (``user-id``; ``user_id`` is the same
key). String values may use ``${VAR}`` (``$$`` is a literal ``$``). The API key can never be in a config
file: a key-like name, a value equal to the key, or ``${...}`` of the key's variable is refused. Relative
paths are relative to the config file's directory.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.core.errors import ConfigError
from conformance.core.files import InputUnreadable, read_input_text
from conformance.core.options import (
    COMMAND_LINE,
    DEFAULT_KEY_VARIABLE,
    OPTION_SPECS,
    OptionSpec,
    Provenance,
    RunOptions,
    options_from,
)

CONFIG_FILE = "conformance.toml"
PYPROJECT_FILE = "pyproject.toml"
ENV_TABLE = "env"
# Options only for runs through cassettes (record, replay): what a recording cannot exercise, declared.
RECORDING_TABLE = "recording"
# Names a config author might give the key itself: refused, whatever the value.
SECRET_NAMES = frozenset({"api-key", "apikey", "key", "api-token", "secret", "password"})
_SPECS = {spec.field.replace("_", "-"): spec for spec in OPTION_SPECS}
_VARIABLE = re.compile(r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)\})")

CONFIG_SPECS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "config",
        f"Config file with run options [default: ./{CONFIG_FILE}, else [tool.conformance] in "
        f"./{PYPROJECT_FILE}]; the command line wins.",
        kind=Path,
        metavar="FILE",
    ),
    OptionSpec("env", "Use the [env.NAME] section of the config file over its top level.", metavar="NAME"),
)


class ConfigFileError(ConfigError):
    """A config file that cannot be used (exit 2); one line naming the file, the key and the fix."""


@dataclass(frozen=True)
class ConfigFile:
    """A parsed config file: its top-level options and its named environments (raw TOML values)."""

    path: Path
    options: Mapping[str, Any]
    environments: Mapping[str, Mapping[str, Any]]
    recording: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # the [recording] table


def find_config(explicit: Path | None, *, cwd: Path) -> ConfigFile | None:
    """The config file named by --config, else ./conformance.toml, else ./pyproject.toml's table, or None."""
    if explicit is not None:
        return _load(explicit, required=True)
    for name in (CONFIG_FILE, PYPROJECT_FILE):
        path = cwd / name
        if os.path.lexists(path):  # whatever it is: a FIFO or a directory there is refused, not skipped
            found = _load(path, required=name == CONFIG_FILE)
            if found is not None:
                return found
    return None


def _load(path: Path, *, required: bool) -> ConfigFile | None:
    try:
        data = tomllib.loads(read_input_text(path, what="--config" if required else "config"))
    except InputUnreadable as exc:
        raise ConfigFileError(str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"config {path} is not valid TOML: {exc}") from None
    if path.name == PYPROJECT_FILE:
        table = data.get("tool", {}).get("conformance")
        if table is None:
            if required:
                raise ConfigFileError(f"{path} has no [tool.conformance] table")
            return None
        data, where = table, "[tool.conformance]"
    else:
        where = ""
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: {where or 'the file'} must be a table")
    options = {k: v for k, v in data.items() if k not in (ENV_TABLE, RECORDING_TABLE)}
    environments = data.get(ENV_TABLE, {})
    if not isinstance(environments, dict) or not all(isinstance(v, dict) for v in environments.values()):
        raise ConfigFileError(f"{path}: {ENV_TABLE} must hold tables, e.g. [{ENV_TABLE}.staging]")
    recording = data.get(RECORDING_TABLE, {})
    if not isinstance(recording, dict) or any(isinstance(v, dict) for v in recording.values()):
        raise ConfigFileError(f"{path}: [{RECORDING_TABLE}] must be one table of options")
    _check_keys(path, options, where or "top level")
    _check_keys(path, recording, f"[{RECORDING_TABLE}]")
    for name, section in environments.items():
        if ENV_TABLE in section:
            raise ConfigFileError(f"{path}: [{ENV_TABLE}.{name}] cannot hold another {ENV_TABLE} table")
        _check_keys(path, section, f"[{ENV_TABLE}.{name}]")
    return ConfigFile(path=path, options=options, environments=environments, recording=recording)


def _check_keys(path: Path, table: Mapping[str, Any], where: str) -> None:
    for key in table:
        name = key.replace("_", "-")
        if name in SECRET_NAMES:
            raise ConfigFileError(
                f"{path}: {where}: '{key}' refused: the API key is never kept in a config file; "
                "set api-key-env to the name of the environment variable that holds it"
            )
        if name not in _SPECS:
            close = difflib.get_close_matches(name, [*_SPECS, ENV_TABLE], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(_SPECS)}"
            raise ConfigFileError(f"{path}: {where}: unknown option '{key}'{hint}")


def config_values(
    config: ConfigFile,
    env: str | None,
    *,
    environ: Mapping[str, str],
    key_variable: str | None = None,
    given: Mapping[str, Any] | None = None,
) -> dict[str, tuple[Any, str]]:
    """field -> (typed value, where in the file it was set): [env.NAME] over [recording] over the top level.

    ``given``: the command line's values, which decide (with the file's) whether the run records or
    replays, and so whether the [recording] table applies.
    """
    file = f"config file {config.path}"
    raw = {k.replace("_", "-"): (v, file) for k, v in config.options.items()}
    section: dict[str, tuple[Any, str]] = {}
    if env is not None:
        if env not in config.environments:
            known = ", ".join(sorted(config.environments)) or "none"
            raise ConfigFileError(
                f"--env {env}: no [{ENV_TABLE}.{env}] in {config.path} (environments: {known})"
            )
        where = f"{file} [{ENV_TABLE}.{env}]"
        section = {k.replace("_", "-"): (v, where) for k, v in config.environments[env].items()}
    if config.recording and _through_cassettes({**raw, **section}, given or {}):
        raw |= {k.replace("_", "-"): (v, f"{file} [{RECORDING_TABLE}]") for k, v in config.recording.items()}
    raw |= section
    key_variable = key_variable or str(raw.get("api-key-env", (DEFAULT_KEY_VARIABLE, ""))[0])
    secrets = {key_variable, DEFAULT_KEY_VARIABLE}
    keys = [environ[variable] for variable in secrets if environ.get(variable)]
    values: dict[str, tuple[Any, str]] = {}
    for name, (value, source) in raw.items():
        spec = _SPECS[name]
        where = f"{config.path}: {name}"
        if isinstance(value, str):
            raw_text = value
            variables = [m.group(2) for m in _VARIABLE.finditer(value) if m.group(2)]
            if variables:  # the value came from the environment, through the file
                source += " from " + ", ".join(f"${{{name}}}" for name in variables)
            value = _substitute(value, where=where, environ=environ, secrets=secrets)
            if any(key in value for key in keys):  # the message never shows the value
                raise ConfigFileError(f"{where} holds the API key: the key is never kept in a config file")
            if not value.strip() and _VARIABLE.search(raw_text):
                continue  # an empty CI variable (an optional one not defined) leaves the option unset
        values[spec.field] = (_typed(spec, value, where=where, base=config.path.parent), source)
    return values


def _through_cassettes(raw: Mapping[str, tuple[Any, str]], given: Mapping[str, Any]) -> bool:
    """The run records or replays: no target (replay), or --record / --record-missing, wherever set."""

    def setting(name: str) -> Any:
        field = name.replace("-", "_")
        if given.get(field) not in (None, ()):
            return given[field]
        return raw.get(name, (None, ""))[0]

    return setting("target") is None or bool(setting("record")) or bool(setting("record-missing"))


def _substitute(text: str, *, where: str, environ: Mapping[str, str], secrets: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        variable = match.group(2)
        if variable is None:
            return "$"
        if variable in secrets:
            raise ConfigFileError(
                f"{where}: ${{{variable}}} is the API key's variable: the key is never kept in a config file"
            )
        if variable not in environ:
            raise ConfigFileError(f"{where}: ${{{variable}}} is not set in the environment")
        return environ[variable]

    return _VARIABLE.sub(replace, text)


def _typed(spec: OptionSpec, value: Any, *, where: str, base: Path) -> Any:
    if spec.multiple:  # a repeatable option: one value or a list of them
        items = value if isinstance(value, list) else [value]
        single = dataclasses.replace(spec, multiple=False)
        return tuple(_typed(single, item, where=where, base=base) for item in items)
    if spec.flag:
        if not isinstance(value, bool):
            raise ConfigFileError(f"{where} must be true or false, not {value!r}")
        return value
    if spec.kind in (int, float) and not isinstance(value, bool):
        if isinstance(value, int | float) and (spec.kind is float or isinstance(value, int)):
            return spec.kind(value)
        if isinstance(value, str):
            try:
                return spec.kind(value.strip())
            except ValueError:
                pass
        wanted = "an integer" if spec.kind is int else "a number"
        raise ConfigFileError(f"{where} must be {wanted}, not {value!r}")
    if not isinstance(value, str):
        raise ConfigFileError(f"{where} must be a string, not {value!r}")
    if spec.kind is Path:
        return base / value
    return value


def resolve_options(
    values: Mapping[str, Any], *, cwd: Path | None = None, environ: Mapping[str, str] | None = None
) -> RunOptions:
    """RunOptions from a front end's values (None: not given) over the config file they name or imply."""
    environ = os.environ if environ is None else environ
    given = dict(values)
    explicit, env = given.pop("config", None), given.pop("env", None)
    # A flag not given is None on the CLI and False in pytest: neither overrides the file.
    flags = {spec.field for spec in OPTION_SPECS if spec.flag}
    given = {k: v for k, v in given.items() if not (k in flags and v is False)}
    config = find_config(explicit, cwd=cwd or Path())
    from_command_line = {k: v for k, v in given.items() if v is not None and v != ()}
    sources = dict.fromkeys(from_command_line, COMMAND_LINE)
    if config is None:
        if env is not None:
            raise ConfigFileError(f"--env {env} needs a config file: no ./{CONFIG_FILE} or --config FILE")
        return _with_provenance(options_from(given), None, sources)
    key_variable = given.get("api_key_env")
    from_file = config_values(config, env, environ=environ, key_variable=key_variable, given=given)
    options = options_from({k: v for k, (v, _) in from_file.items()} | from_command_line)
    return _with_provenance(options, config.path, {k: s for k, (_, s) in from_file.items()} | sources)


def _with_provenance(options: RunOptions, config: Path | None, sources: Mapping[str, str]) -> RunOptions:
    known = {spec.field for spec in OPTION_SPECS}
    kept = tuple((name, source) for name, source in sources.items() if name in known)
    return dataclasses.replace(options, provenance=Provenance(config_file=config, sources=kept))
