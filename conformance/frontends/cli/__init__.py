"""The `conformance` command. Every failure is one line on stderr and a documented exit code."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click

from conformance.core.errors import EXIT_INTERRUPTED, EXIT_SUITE_ERROR, EXIT_USAGE, ConformanceError
from conformance.core.printable import one_line
from conformance.core.version import __version__
from conformance.frontends.cli.catalogue import catalogue_command
from conformance.frontends.cli.diff import diff_command
from conformance.frontends.cli.report import report_command, verify_command
from conformance.frontends.cli.rerun import rerun_command
from conformance.frontends.cli.run import run_command
from conformance.frontends.cli.selftest import selftest_command
from conformance.frontends.cli.serve import faults_command, serve_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="conformance")
def cli() -> None:
    """Contract-testing and conformance suite for POST /v1/user/login_token."""


cli.add_command(run_command)
cli.add_command(diff_command)
cli.add_command(selftest_command)
cli.add_command(serve_command)
cli.add_command(faults_command)
cli.add_command(catalogue_command)
cli.add_command(report_command, "report")
cli.add_command(verify_command, "verify")
cli.add_command(rerun_command, "rerun")


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "login-token-conformance"


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the group without click's multi-line usage dumps."""
    # Hypothesis keeps caches in ./.hypothesis by default: not in the user's working directory.
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(_cache_dir() / "hypothesis"))
    # A shell that starts us in the background leaves SIGINT ignored; Ctrl-C/SIGINT must still end the run.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = cli.main(args=argv, prog_name="conformance", standalone_mode=False)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "conformance"
        click.echo(f"conformance: error: {exc.format_message()} (see `{command} --help`)", err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"conformance: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("conformance: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except ConformanceError as exc:  # bad input to the suite: its one line and its documented exit code
        click.echo(f"conformance: error: {exc}", err=True)
        return exc.exit_code
    except Exception as exc:  # a defect of the suite: one line, never a traceback unless asked for
        if os.environ.get("CONFORMANCE_DEBUG"):
            raise
        click.echo(
            f"conformance: internal error: {type(exc).__name__}: {one_line(str(exc)[:200])} "
            "(a suite defect: please report it; set CONFORMANCE_DEBUG=1 for the traceback)",
            err=True,
        )
        return EXIT_SUITE_ERROR
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
