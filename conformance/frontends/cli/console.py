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
from conformance.core.families import estimate_line, estimated_requests
from conformance.core.printable import one_line
from conformance.core.version import __version__
from conformance.exchange.transport import client_identities
from conformance.results.summary import Summary, verdict_line, waiver_lines
from conformance.results.verdict import Verdict
from conformance.session.live import Session

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
    "conformant under a modified contract": "bold yellow",
    "non-conformant": "bold red",
    "incomplete": "bold yellow",
    "error": "bold magenta",
}
FAILURES_SHOWN = 3
INDENT = "    "
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
                f"  {word} {one_line(report.nodeid.rsplit('::', 1)[-1])} "
                f"({self.session.run.requests} requests so far, {report.duration:.1f}s)",
                markup=False,
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
    out.print(f"[bold]conformance[/] {options.mode} run against {_markup(session.target_url)}")
    out.print(
        f"  seed {session.seed} · max examples {session.run.max_examples} · profile "
        f"{one_line(session.profile.name)} · timeout {options.timeout:g}s · reports in {options.report_dir}/",
        markup=False,
    )
    for line in recording_lines({"recording": session.recording, "suite_version": __version__}):
        out.print(f"  {one_line(line)}", style="yellow" if line.startswith("Warning") else None, markup=False)
    for line, loud in settings_lines(session):
        out.print(f"  {one_line(line)}", style="bold yellow" if loud else None, markup=False)
    out.print(f"  {one_line(client_line(session))}", markup=False)
    if options.target is not None:  # a replay sends nothing: its cost is the recording's
        out.print(f"  {estimate(session)}", markup=False)


def estimate(session: Session) -> str:
    """About how many requests the run sends, and at the transport's rate how long that takes."""
    profile = session.profile
    requests = estimated_requests(max_examples=session.run.max_examples, token_sample=profile.token_sample)
    idle = profile.idle_seconds(loopback=session.run.builder.loopback)
    return estimate_line(requests=requests, rate=getattr(session.run.sender, "rate", None), idle=idle)


def _markup(text: object) -> str:
    """Text that is not the suite's own (the target's, a file's, the user's) inside rich markup: one line,
    every control character escaped, no markup of its own."""
    return escape(one_line(str(text)))


def settings_lines(session: Session) -> list[tuple[str, bool]]:
    """The config file used, every setting that differs from its default, each declaration and what this
    run cannot exercise; (line, loud): loud for what bears on the verdict."""
    lines: list[tuple[str, bool]] = []
    config = session.options.provenance.config_file
    if config is not None:
        table = " [tool.conformance]" if config.name == "pyproject.toml" else ""
        lines.append((f"config file: {config}{table}", False))
    for setting in session.settings:
        if setting.name == "--not-applicable":
            continue  # each declaration has its own line below
        where = f"{setting.name} = {setting.value} (default {setting.default}; from {setting.source})"
        if setting.modifies_contract:
            lines.append((f"modified contract: {where}: changes {setting.fixed_by}", True))
        else:
            lines.append((f"setting: {where}", False))
    for rid, reason in session.not_applicable.items():
        by = session.declared_by.get(rid)
        lines.append((f"declared not applicable{f' by {by}' if by else ''}: {rid}: {reason}", False))
    for rid, reason in session.cannot_exercise.items():
        lines.append((f"not exercised in this run: {rid}: {reason}", True))
    return lines


def client_line(session: Session) -> str:
    """Who the suite says it is, and whether the valid key travels in a URL (issue 19)."""
    key = (
        "the valid key also in GET/HEAD/OPTIONS query strings (loopback target, or --send-key-in-query)"
        if session.run.builder.valid_key_in_query
        else "no valid key in any URL (GET/HEAD/OPTIONS query strings carry a fixed wrong key)"
    )
    return f"User-Agent {client_identities(session.options.user_agent)[0].user_agent} · {key}"


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
        row = [
            _markup(req.id),
            f"[{style}]{req.outcome.value}[/]",
            _markup(req.severity),
            str(req.checks_run),
        ]
        table.add_row(*row, failures, *((_markup(req.title),) if with_titles else ()))
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
        for line in recording_lines(
            {"recording": summary.facts.recording, "suite_version": summary.facts.suite_version}
        )[1:]:
            err.print(one_line(line), markup=False)
        if summary.facts.stopped_early:
            err.print(one_line(summary.facts.stopped_early), markup=False)
        for note in summary.facts.preflight_notes:
            err.print(one_line(f"note: {note}"), markup=False)
        for line in waiver_lines(summary):
            err.print(one_line(line), markup=False)
        out.print(f"[{VERDICT_STYLE[summary.verdict]}]{_markup(verdict_line(summary))}[/]")
        return
    if out.is_terminal and out.width >= TABLE_FROM_WIDTH:
        out.print(requirement_table(summary, width=out.width))
    elif summary.requirements:
        out.print("Requirements", markup=False)
        for line in requirement_lines(summary):
            out.print(f"  {line}", markup=False)
    for req in summary.requirements:
        for failure in req.failures[:FAILURES_SHOWN]:
            waived = f"[magenta]~ waived ({_markup(failure.waived_by)})" if failure.waived_by else ""
            mark = waived or "[red]✗"
            out.print(f"{mark} {_markup(req.id)}[/] {_markup(failure.title)} — {_markup(failure.case)}")
            out.print(f"{INDENT}expected: {one_line(failure.expected)}", markup=False)
            out.print(f"{INDENT}received: {one_line(failure.received)}", markup=False)
            if failure.reproduce is not None:
                out.print(
                    f"{INDENT}reproduce: {one_line(failure.reproduce.curl)}", markup=False, soft_wrap=True
                )
                if failure.reproduce.replay:
                    replay = one_line(failure.reproduce.replay)
                    out.print(f"{INDENT}replay: {replay}", markup=False, soft_wrap=True)
        if req.failure_count > FAILURES_SHOWN:
            out.print(f"{INDENT}… {req.failure_count - FAILURES_SHOWN} more in {report_dir}/summary.json")
    for test in summary.tests:
        if test.message and "minimal failing input" in test.message:
            out.print(f"[red]✗ {_markup(test.nodeid)}[/]")
            # The suite's own lines, indented; whatever the target wrote inside one stays in it.
            lines = test.message.split("\n")
            out.print("\n".join(INDENT + one_line(line) for line in lines), markup=False)
    for hint in hints:
        out.print(one_line(hint), markup=False, soft_wrap=True)
    stale = summary.facts.stale_interactions
    if stale:
        out.print(
            f"[yellow]{len(stale)} recorded interaction(s) no longer sent (stale): re-record the cassettes[/]"
        )
    if summary.facts.stopped_early:
        out.print(f"[yellow]{_markup(summary.facts.stopped_early)}[/]")
    for note in summary.facts.preflight_notes:
        out.print(f"[yellow]note:[/] {_markup(note)}", soft_wrap=True)
    verdict = summary.verdict
    for rid, reason in summary.not_exercised() if verdict is not Verdict.ERROR else []:
        out.print(f"[yellow]not exercised: {_markup(rid)}[/] — {_markup(reason)}")
    for rid, reason in summary.declared_not_applicable():
        out.print(f"[cyan]not applicable: {_markup(rid)}[/] — {_markup(reason)}")
    for line in waiver_lines(summary):
        out.print(one_line(line), style="cyan", markup=False)
    out.print(f"[{VERDICT_STYLE[verdict]}]{_markup(verdict_line(summary))}[/]")
