"""The commands a run suggests, built from what the user stands on: this run's options and its files.

A live run that did not record has no cassettes to replay: its failures are sent again with
`conformance rerun` (and each one's curl line); a run that recorded or replayed names its own cassettes.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from conformance.core.options import DEFAULT_KEY_VARIABLE, RunOptions
from conformance.inputs import Users
from conformance.results.summary import Summary


def rerun_command(options: RunOptions, users: Users, *, report_dir: Path) -> str:
    """`conformance rerun` of this run's summary.json with every option the live side needs."""
    assert options.target is not None
    parts = ["conformance", "rerun", str(report_dir / "summary.json"), "--target", options.target]
    if options.fault:
        parts += ["--fault", options.fault]
    parts += ["--user-id", str(users.user_id)]
    if users.foreign_user_id is not None:
        parts += ["--foreign-user-id", str(users.foreign_user_id)]
    for unknown in options.unknown_user_id:
        parts += ["--unknown-user-id", str(unknown)]
    if options.api_key_env != DEFAULT_KEY_VARIABLE:
        parts += ["--api-key-env", options.api_key_env]
    for option, value in (("--profile", options.profile), ("--ca-bundle", options.ca_bundle)):
        if value is not None:
            parts += [option, str(value)]
    if options.allow_http:
        parts.append("--allow-http")
    return shlex.join(parts)


def failure_hints(summary: Summary, options: RunOptions, users: Users) -> list[str]:
    """What to do with the failures a run found: a live run's rerun line (replays are in each failure)."""
    failed = any(req.failures for req in summary.requirements)
    if not failed or options.target is None:
        return []
    return [f"send the failures again: {rerun_command(options, users, report_dir=options.report_dir)}"]
