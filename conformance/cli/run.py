"""`conformance run`: one command that says whether a deployment honours the contract."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from conformance.options import OPTION_SPECS, options_from
from conformance.session import ConfigError, open_session


def run_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a click command with every run option (the same ones the pytest plugin offers)."""
    for spec in reversed(OPTION_SPECS):
        if spec.flag:
            function = click.option(spec.name, spec.field, is_flag=True, default=None, help=spec.help)(
                function
            )
        else:
            kind = click.Path(path_type=Path) if spec.kind is Path else spec.kind
            function = click.option(
                spec.name, spec.field, type=kind, default=None, metavar=spec.metavar, help=spec.help
            )(function)
    return function


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
    raise KeyboardInterrupt


@click.command("run")
@run_options
@click.option("-k", "keyword", default=None, metavar="EXPR", help="Only the conformance tests matching EXPR.")
@click.option("-q", "--quiet", is_flag=True, help="Only the verdict line.")
def run_command(keyword: str | None, quiet: bool, **values: Any) -> int:
    """Run the conformance suite against --target, or replay --cassettes offline."""
    from conformance.cli.console import ProgressReporter, print_header, print_outcome
    from conformance.runner import execute

    options = options_from(values)
    # SIGTERM (CI cancelling a job) ends the run like Ctrl-C: an incomplete summary.json, exit 130.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        with open_session(options) as session:
            session.full_run = keyword is None
            session.check_partial_recording()
            if not quiet:
                print_header(session)
            progress = ProgressReporter(session, quiet=quiet)
            try:
                summary = execute(session, keyword=keyword, plugins=[progress])
            finally:
                progress.close()
    except ConfigError as exc:
        click.echo(f"conformance: error: {exc}", err=True)
        return exc.exit_code
    print_outcome(summary, report_dir=options.report_dir, quiet=quiet)
    return int(summary["exit_code"])
