"""`conformance diff`: replay the cassettes, run the same inputs live, list what changed."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import click

from conformance.cli.run import run_options
from conformance.config import resolve_options
from conformance.session import ConfigError, open_session

EXIT_NO_DRIFT = 0
EXIT_DRIFT = 1


@click.command("diff")
@run_options
def diff_command(**values: Any) -> int:
    """Compare a live --target with the --cassettes: statuses, schema validity, checks passing or failing."""
    from conformance.cli.console import console
    from conformance.drift import exchange_changes, requirement_changes
    from conformance.runner import execute

    try:
        options = resolve_options(values)
    except ConfigError as exc:
        click.echo(f"conformance: error: {exc}", err=True)
        return exc.exit_code
    if options.target is None:
        raise click.UsageError("diff needs --target (the live deployment to compare with the cassettes)")
    out = console()
    with tempfile.TemporaryDirectory(prefix="conformance-diff-") as scratch:
        try:
            replay_options = dataclasses.replace(
                options, target=None, fault=None, record=False, report_dir=Path(scratch) / "r"
            )
            with open_session(replay_options) as replay:
                recorded = execute(replay)
                recorded_log = list(replay.run.log)
                users = replay.run.builder.users
            live_options = dataclasses.replace(
                options,
                record=False,
                report_dir=Path(scratch) / "l",
                seed=recorded["seed"],
                max_examples=recorded["max_examples"],
                user_id=options.user_id or users.user_id,
                foreign_user_id=options.foreign_user_id or users.foreign_user_id,
                unknown_user_id=options.unknown_user_id or users.unknown_user_id,
            )
            with open_session(live_options) as live:
                now = execute(live)
                live_log = list(live.run.log)
        except ConfigError as exc:
            click.echo(f"conformance: error: {exc}", err=True)
            return exc.exit_code
    changes = requirement_changes(recorded, now) + exchange_changes(recorded_log, live_log)
    out.print(
        f"recorded: {recorded['verdict']} ({recorded['requests']} requests) · live {now['target']}: "
        f"{now['verdict']} ({now['requests']} requests)"
    )
    for change in changes:
        out.print(f"  {change}", markup=False)
    out.print(f"{len(changes)} change(s)" if changes else "no drift: the live target answers as recorded")
    return EXIT_DRIFT if changes else EXIT_NO_DRIFT
