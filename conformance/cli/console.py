"""Terminal output: progress during a run, the requirement matrix and the verdict after it.

Colours, the live progress bar and the table only on a terminal (rich decides its width from the terminal
or COLUMNS; NO_COLOR is honoured). CI logs get plain lines that are never cut or wrapped: one per finished
test, one at least every PROGRESS_EVERY_S seconds while a test runs, and one per requirement with its
full ID and counts. ``-q`` prints the verdict line only.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import time
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import pytest
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from conformance.cassettes.agreement import recording_lines
from conformance.session import Session
from conformance.summary import Summary, verdict_line, waiver_lines
from conformance.verdict import Verdict

OUTCOME_STYLE = {
    "passed": "green",
    "failed": "bold red",
    "warning": "yellow",
    "skipped": "dim",
    "not-applicable": "cyan",
    "waived": "magenta",
}
VERDICT_STYLE = {
    "conformant": "bold green",
    "conformant with waivers": "bold green",
    "non-conformant": "bold red",
    "incomplete": "bold yellow",
    "error": "bold magenta",
}
FAILURES_SHOWN = 3
TITLES_FROM_WIDTH = 130
TABLE_FROM_WIDTH = 80  # a narrower terminal gets the plain lines: a squeezed table would cut IDs
PROGRESS_EVERY_S = 10.0  # a CI log hears from a long test at least this often


class PipeSafe(io.TextIOBase):
    """Standard output that a reader going away (`conformance run | head`) cannot break: from then on what
    is printed goes to /dev/null, and the run, its summary and its exit code carry on as if read."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        """Write through; once the pipe is broken, drop the text."""
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._silence()
            return len(text)

    def flush(self) -> None:
        """Flush through; once the pipe is broken, there is nothing left to flush."""
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._silence()

    def isatty(self) -> bool:
        """Whether the stream is a terminal (rich decides colours and layout from it)."""
        return self.stream.isatty()

    def fileno(self) -> int:
        """The stream's file descriptor."""
        return self.stream.fileno()

    def _silence(self) -> None:
        # Python's advice for SIGPIPE: point the descriptor at /dev/null so no later flush (ours, or the
        # interpreter's at exit) raises again.
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)


def console() -> Console:
    """The console every command prints to; outside a terminal a line is never wrapped or cut."""
    file = typing.cast(TextIO, PipeSafe(sys.stdout))
    out = Console(file=file, highlight=False, soft_wrap=False)
    if not out.is_terminal:
        out = Console(file=file, highlight=False, soft_wrap=True)
    return out


class ProgressReporter:
    """A pytest plugin object: a progress bar on a terminal, one line per test elsewhere."""

    def __init__(self, session: Session, *, quiet: bool) -> None:
        self.session = session
        self.console = console()
        self.quiet = quiet
        self._progress: Progress | None = None
        self._task: Any = None
        self._running: tuple[str, float] | None = None  # the test running and when it started
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Start the bar (a terminal) or the periodic progress lines (a log) once the tests are known."""
        if self.quiet:
            return
        self._heartbeat = threading.Thread(target=self._beat, name="conformance-progress", daemon=True)
        self._heartbeat.start()
        if not self.console.is_terminal:
            return
        self._progress = Progress(
            TextColumn("[bold]conformance[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[requests]} requests"),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            transient=True,
        )
        self._task = self._progress.add_task("", total=len(session.items), requests=0)
        self._progress.start()

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        """Show which test runs."""
        self._running = (nodeid.rsplit("::", 1)[-1], time.monotonic())
        if self._progress is not None:
            self._progress.update(self._task, description=self._running[0])

    def _beat(self) -> None:
        """Every PROGRESS_EVERY_S: the running test, the requests so far and its time (or the bar's count)."""
        while not self._stop.wait(PROGRESS_EVERY_S):
            running, requests = self._running, self.session.run.requests
            if self._progress is not None:
                self._progress.update(self._task, requests=requests)
            elif running is not None:
                name, started = running
                self.console.print(
                    f"  ... {name} running: {requests} requests so far, {time.monotonic() - started:.0f}s",
                    markup=False,
                )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Advance the bar (or print a line) per finished test."""
        if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
            return
        if self._progress is not None:
            self._progress.update(self._task, advance=1, requests=self.session.run.requests)
        elif not self.quiet:
            word = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[report.outcome]
            self.console.print(
                f"  {word} {report.nodeid.rsplit('::', 1)[-1]} "
                f"({self.session.run.requests} requests so far, {report.duration:.1f}s)"
            )

    def close(self) -> None:
        """Stop the bar and the progress lines."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def print_header(session: Session) -> None:
    """What is about to run, with the seed that reproduces it."""
    out = console()
    options = session.options
    out.print(f"[bold]conformance[/] {options.mode} run against {session.target_url}")
    out.print(
        f"  seed {session.seed} · max examples {session.run.max_examples} · profile {session.profile.name} "
        f"· timeout {options.timeout:g}s · reports in {options.report_dir}/"
    )
    for line in recording_lines({"recording": session.recording}):
        out.print(f"  {line}", style="yellow" if line.startswith("Warning") else None, markup=False)


def requirement_table(summary: Summary, *, width: int) -> Table:
    """The requirement matrix; the titles only where the terminal has room for them."""
    with_titles = width >= TITLES_FROM_WIDTH
    table = Table(title="Requirements", title_justify="left")
    for column in (
        "ID",
        "Outcome",
        "Severity",
        "Checks",
        "Failures",
        *(("Requirement",) if with_titles else ()),
    ):
        table.add_column(
            column, no_wrap=True, justify="right" if column in ("Checks", "Failures") else "left"
        )
    for req in summary.requirements:
        style = OUTCOME_STYLE.get(req.outcome.value, "")
        failures = str(req.failure_count) if req.failure_count else ""
        row = [req.id, f"[{style}]{req.outcome.value}[/]", req.severity, str(req.checks_run), failures]
        table.add_row(*row, *((req.title,) if with_titles else ()))
    return table


def requirement_lines(summary: Summary) -> list[str]:
    """The matrix as plain lines, for logs: full IDs and counts, never cut."""
    wide = max(len(req.id) for req in summary.requirements)
    return [
        f"{req.id:<{wide}}  {req.outcome.value:<14}  {req.severity:<8}  checks {req.checks_run:>5}  "
        f"failures {req.failure_count}"
        for req in summary.requirements
    ]


def print_outcome(summary: Summary, *, report_dir: Path, quiet: bool, hints: Sequence[str] = ()) -> None:
    """The matrix, the first failures with their reproduction, ``hints`` and the verdict line (-q: that
    line only)."""
    out = console()
    if quiet:  # the verdict line alone on stdout; what would change how it is read, on stderr
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        for line in recording_lines({"recording": summary.facts.recording})[1:]:
            err.print(line, markup=False)
        if summary.facts.stopped_early:
            err.print(summary.facts.stopped_early, markup=False)
        for line in waiver_lines(summary):
            err.print(line, markup=False)
        out.print(f"[{VERDICT_STYLE[summary.verdict]}]{escape(verdict_line(summary))}[/]")
        return
    if out.is_terminal and out.width >= TABLE_FROM_WIDTH:
        out.print(requirement_table(summary, width=out.width))
    elif summary.requirements:
        out.print("Requirements", markup=False)
        for line in requirement_lines(summary):
            out.print(f"  {line}", markup=False)
    for req in summary.requirements:
        for failure in req.failures[:FAILURES_SHOWN]:
            mark = f"[magenta]~ waived ({failure.waived_by})" if failure.waived_by else "[red]✗"
            out.print(f"{mark} {req.id}[/] {failure.title} — {failure.case}")
            out.print(f"    expected: {failure.expected}", markup=False)
            out.print(f"    received: {failure.received}", markup=False)
            if failure.reproduce is not None:
                out.print(f"    reproduce: {failure.reproduce.curl}", markup=False, soft_wrap=True)
                if failure.reproduce.replay:
                    out.print(f"    replay: {failure.reproduce.replay}", markup=False, soft_wrap=True)
        if req.failure_count > FAILURES_SHOWN:
            out.print(f"    … {req.failure_count - FAILURES_SHOWN} more in {report_dir}/summary.json")
    for test in summary.tests:
        if test.message and "minimal failing input" in test.message:
            out.print(f"[red]✗ {test.nodeid}[/]")
            out.print("    " + test.message.replace("\n", "\n    "), markup=False)
    for hint in hints:
        out.print(hint, markup=False, soft_wrap=True)
    stale = summary.facts.stale_interactions
    if stale:
        out.print(
            f"[yellow]{len(stale)} recorded interaction(s) no longer sent (stale): re-record the cassettes[/]"
        )
    if summary.facts.stopped_early:
        out.print(f"[yellow]{escape(summary.facts.stopped_early)}[/]")
    verdict = summary.verdict
    for rid, reason in summary.not_exercised() if verdict is not Verdict.ERROR else []:
        out.print(f"[yellow]not exercised: {rid}[/] — {escape(reason)}")
    for rid, reason in summary.declared_not_applicable():
        out.print(f"[cyan]not applicable: {rid}[/] — {escape(reason)}")
    for line in waiver_lines(summary):
        out.print(line, style="cyan", markup=False)
    out.print(f"[{VERDICT_STYLE[verdict]}]{escape(verdict_line(summary))}[/]")
