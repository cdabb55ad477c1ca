"""`conformance selftest`: prove the suite catches every fault of the reference and no false alarm."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from conformance.frontends.selftest import SELFTEST_MAX_EXAMPLES, SELFTEST_TIMEOUT

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from conformance.frontends.selftest import FaultResult, RunOutcome, SelftestReport

NOT_RECORDABLE = "n/a"
NOT_RUN = "-"


def _fault_names(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise click.BadParameter("name at least one fault", param_hint="--faults")
    return names


def _detection(run: RunOutcome | None, detected: bool | None, *, reference: bool) -> str:
    if run is None:
        return NOT_RUN
    if not run.complete:
        return "error"
    if reference:
        return "clean" if not run.failed else "FALSE ALARM"
    return "yes" if detected else "NO"


def _row(result: FaultResult, *, replay_enabled: bool) -> tuple[str, ...]:
    reference = result.name is None
    replay = _detection(result.replay, result.detected_replay, reference=reference)
    if result.replay is None and replay_enabled and not result.recordable:
        replay = NOT_RECORDABLE
    failed = dict.fromkeys(r for run in result.runs for r in run.failed)  # catalogue order, no repeats
    return (
        result.label,
        ", ".join(result.expected) or NOT_RUN,
        ", ".join(failed) or NOT_RUN,
        _detection(result.live, result.detected_live, reference=reference),
        replay,
        f"{result.duration_s:.1f}s",
    )


def selftest_table(report: SelftestReport, *, replay_enabled: bool, plain: bool) -> Table:
    """The result table: one row per fault (and the conforming reference first)."""
    from rich import box
    from rich.table import Table

    table = Table(box=None if plain else box.SIMPLE_HEAD, show_edge=not plain, pad_edge=False)
    for column in ("Fault", "Must fail", "Failed", "Live", "Replay", "Time"):
        table.add_column(column, no_wrap=column not in ("Must fail", "Failed"))
    results = ([report.reference] if report.reference else []) + report.faults
    for result in results:
        row = _row(result, replay_enabled=replay_enabled)
        missed = result.name is not None and not result.detected
        alarm = result.name is None and (report.false_alarms or report.errors)
        table.add_row(*row, style="bold red" if (missed or alarm) and not plain else None)
    return table


def _ignore(result: FaultResult) -> None:  # noqa: ARG001 - the on_result signature
    return


@contextlib.contextmanager
def _progress(out: Console, *, total: int) -> Iterator[Callable[[FaultResult], None]]:
    """A transient progress bar on a terminal; nothing in CI logs (the table follows)."""
    if not out.is_terminal:
        yield _ignore
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[bold]selftest[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, TextColumn("{task.description}"), console=out, transient=True) as progress:
        task = progress.add_task("", total=total)

        def advance(result: FaultResult) -> None:
            progress.update(task, advance=1, description=result.label)

        yield advance


@click.command("selftest")
@click.option("--faults", default=None, metavar="A,B,...", help="Only these faults (default: every fault).")
@click.option("--no-replay", is_flag=True, help="Live runs only: no recording, no replay.")
@click.option(
    "--max-examples",
    type=click.IntRange(min=1),
    metavar="N",
    default=SELFTEST_MAX_EXAMPLES,
    show_default=True,
    help="Hypothesis examples per generated test, in every run.",
)
@click.option(
    "--seed", type=int, default=None, metavar="N", help="Seed for every run (default: random, printed)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="S",
    default=SELFTEST_TIMEOUT,
    show_default=True,
    help="Per-request timeout in seconds; the slow fault stalls 5 times as long.",
)
@click.option(
    "--focused",
    is_flag=True,
    help="Each fault's runs send only the suite tests that declare its requirements (faster; the "
    "conforming reference still runs every test).",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    default=None,
    help="Keep every run's reports and cassettes in a new subdirectory of DIR (default: a temp dir).",
)
def selftest_command(
    faults: str | None,
    no_replay: bool,
    max_examples: int,
    seed: int | None,
    timeout: float,
    focused: bool,
    work_dir: Path | None,
) -> int:
    """Run the suite against the conforming reference and every fault; exit 0 only on a full score."""
    from conformance.frontends.cli.console import console
    from conformance.frontends.selftest import SelftestOptions, run_selftest, selected_faults

    names = _fault_names(faults)
    try:
        total = len(selected_faults(names))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    options = SelftestOptions(
        faults=names,
        replay=not no_replay,
        max_examples=max_examples,
        seed=seed,
        timeout=timeout,
        work_dir=work_dir,
        focused=focused,
    )
    out = console()
    plain = not out.is_terminal
    with _progress(out, total=total + 1) as advance:
        report = run_selftest(options, on_result=advance)
    out.print(
        f"selftest: {report.total} faults and the conforming reference · seed {report.seed} · "
        f"max examples {report.max_examples} · timeout {timeout:g}s · "
        f"replay {'off' if no_replay else 'on'} · {report.duration_s:.1f}s",
        markup=False,
    )
    if report.work_dir is not None:
        out.print(f"reports and cassettes kept in {report.work_dir}", markup=False)
    out.print(selftest_table(report, replay_enabled=not no_replay, plain=plain))
    for line in report.errors:
        out.print(f"run did not complete: {line}", markup=False)
    if report.undetected:
        out.print(f"undetected: {', '.join(report.undetected)}", markup=False)
    style = "bold green" if report.exit_code == 0 else "bold red"
    out.print(report.score, style=None if plain else style, markup=False)
    return report.exit_code
