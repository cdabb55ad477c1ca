"""An open session: the Run with everything it was opened with, its tests, and its ending."""

from __future__ import annotations

import contextlib
import datetime as dt
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.cassettes import CassetteBook
from conformance.cassettes.agreement import partial_recording_problem
from conformance.core.errors import (
    EXIT_CONFORMANT,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_NON_CONFORMANT,
    EXIT_SUITE_ERROR,
    EXIT_USAGE,
    ConfigError,
)
from conformance.core.model import CheckResult, Exchange
from conformance.core.options import DEFAULT_KEY_VARIABLE, RunOptions
from conformance.core.printable import printable
from conformance.core.profile import Profile
from conformance.redaction.run_secrets import RunSecrets
from conformance.results.summary import Setting, Summary, build_summary, write_summary
from conformance.results.verdict import Coverage
from conformance.results.waivers import WaiverSet
from conformance.run.engine import Observer, Run
from conformance.run.rejudge import recorded_inputs
from conformance.run.sentinels import Sentinels
from conformance.session.facts import IN_PROGRESS, run_facts, started_facts, stub_summary

# A recording replaces the old set only after a run that judged the target to the end (exit 6 included: a
# setup without a foreign user is incomplete every time); any other end leaves the old set as it was.
RECORDING_KEPT_EXITS = (EXIT_CONFORMANT, EXIT_NON_CONFORMANT, EXIT_INCOMPLETE)
VERSION_HEADERS = ("x-api-version", "x-app-version", "x-version", "api-version")


@dataclass
class Session:
    """A Run with everything it was opened with, and the bookkeeping to end it."""

    options: RunOptions
    run: Run
    profile: Profile
    target_url: str
    seed: int
    book: CassetteBook | None = None
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    summary: Summary | None = None  # the outcome: written by finish()
    key_variable: str = DEFAULT_KEY_VARIABLE
    keyword: str | None = None  # -k EXPR
    not_applicable: dict[str, str] = field(default_factory=dict)  # requirement ID -> the user's reason
    declared_by: dict[str, str] = field(default_factory=dict)  # requirement ID -> who declared it
    cannot_exercise: dict[str, str] = field(default_factory=dict)  # requirement ID -> why this run cannot
    settings: tuple[Setting, ...] = ()  # the options and profile settings that differ from the defaults
    # diff's live side: the recorded inputs of generated tests come from these cassettes (see rejudge).
    recorded_inputs: CassetteBook | None = None
    recording: dict[str, Any] | None = None  # replay: which recording this run judges (summary, sign-off)
    recording_complete: bool = False  # record: every test ran to its end (set by finish)
    waivers: WaiverSet | None = None  # --waivers / --fail-on new: accepted failures
    version: VersionWatch = field(default_factory=lambda: VersionWatch())
    preflight_notes: tuple[str, ...] = ()  # what the preflight noted on the configuration (no error)
    secrets: RunSecrets = field(default_factory=RunSecrets, repr=False)  # the run's (conformance.redaction)

    @property
    def full_run(self) -> bool:
        """False under -k: a record run then keeps the cassettes of the tests it did not run."""
        return self.keyword is None

    @property
    def target_version(self) -> str | None:
        """The version the target announced in a response header, if any."""
        return self.version.seen

    @contextlib.contextmanager
    def test(self, nodeid: str, *, observers: Sequence[Observer] = ()) -> Iterator[Run]:
        """Run one conformance test: its own cassette (record/replay), its attribution in the ledger, and
        ``observers`` (a reporter's, e.g. Allure's) watching its exchanges."""
        with contextlib.ExitStack() as stack:
            settle = None
            if self.book is not None:
                cassette = stack.enter_context(self.book.use(nodeid))
                settle = cassette.settle
                if self.book.mode == "record":  # an excerpted body keeps what the checks concluded of it
                    observers = [*observers, cassette]
            replaying = self.book is not None and self.book.mode == "replay"
            source = self.book if replaying else self.recorded_inputs
            recorded = None
            if source is not None:
                recorded = recorded_inputs(source, nodeid, self.run, map_users=not replaying)
            stack.enter_context(self.run.test(nodeid, settle=settle, recorded=recorded, observers=observers))
            if isinstance(self.run.after_exchange, Sentinels):
                self.run.after_exchange.begin(nodeid)
            yield self.run

    def check_partial_recording(self) -> None:
        """A recording of some tests (-k) into a directory holding a recorded set would mix two sets."""
        if self.book is None or not self.options.record or self.full_run or self.options.record_missing:
            return
        problem = partial_recording_problem(self.book.directory, self.book.existing_set())
        if problem:
            raise ConfigError(problem)

    def already_recorded(self, nodeid: str) -> bool:
        """--record-missing: this test's cassette is in the set already, so the test is not run."""
        return self.options.record_missing and self.book is not None and self.book.path_for(nodeid).exists()

    def finish(
        self,
        *,
        error: str | None = None,
        error_code: int | None = None,
        targets: Mapping[str, tuple[str, ...]] | None = None,
        deselected: Iterable[str] = (),
    ) -> Summary:
        """Build and write summary.json (atomically); returns it.

        ``targets`` (test nodeid -> requirement IDs) and ``deselected`` (nodeids -k left out) are what
        pytest collected; the front end passes them as the run ends.
        """
        error, error_code = self._ending_error(error, error_code)
        aborted = self.run.aborted
        finished = dt.datetime.now(dt.UTC)
        files = None
        if self.book is not None:
            # a recording that ended early replaces nothing (see keep_recording)
            self.recording_complete = error is None and aborted is None
            whole_set = self.full_run and self.options.record and not self.options.record_missing
            files = self.book.finish(prune_unused=whole_set)
        stopped_early = str(aborted) if aborted is not None and aborted.exit_code is None else None
        facts = run_facts(
            self.run,
            options=self.options,
            target=self.target_url,
            target_version=self._shown_target_version(),
            profile=self.profile.name,
            seed=self.seed,
            started=self.started,
            finished=finished,
            files=files,
            stopped_early=stopped_early,
            preflight_notes=self.preflight_notes,
            recording=self.recording,
            settings=self.settings,
        )
        self.summary = build_summary(
            self.run,
            facts=facts,
            error=error,
            error_code=error_code,
            replay_command=self.replay_command(),
            key_variable=self.key_variable,
            coverage=self._coverage(targets, deselected, stopped=stopped_early),
            waivers=self.waivers,
        )
        write_summary(self.options.report_dir / "summary.json", self.summary)
        return self.summary

    def _ending_error(self, error: str | None, error_code: int | None) -> tuple[str | None, int | None]:
        """The error the run ends with: the front end's, else an abort's exit code, else a check's crash."""
        aborted = self.run.aborted
        if error is None and aborted is not None and aborted.exit_code is not None:
            error, error_code = str(aborted), aborted.exit_code
        if error is None and self.run.check_crashes:  # the suite's defect decides: never the target's
            error, error_code = f"suite error: {self.run.check_crashes[0]}", EXIT_SUITE_ERROR
        return error, error_code

    def _coverage(
        self, targets: Mapping[str, tuple[str, ...]] | None, deselected: Iterable[str], *, stopped: str | None
    ) -> Coverage:
        """What the run set out to exercise, and why a part of it was not."""
        return Coverage(
            targets=dict(targets or {}),
            deselected=frozenset(deselected),
            keyword=self.keyword,
            stopped=stopped,
            not_applicable=dict(self.not_applicable),
            declared_by=dict(self.declared_by),
            cannot_exercise=dict(self.cannot_exercise),
        )

    def keep_recording(self, summary: Summary) -> None:
        """Swap a recording in only when the run completed and its files passed the leak scan."""
        if self.book is None or not self.options.record:
            return
        if self.recording_complete and summary.exit_code in RECORDING_KEPT_EXITS:
            self.book.commit()
        self.book.discard()

    def replay_command(self) -> str:
        """How to replay this run's failures from its cassettes; "" when it has none (a live run)."""
        if self.book is None:
            return ""
        profile = f" --profile {shlex.quote(str(self.options.profile))}" if self.options.profile else ""
        return f"conformance run --cassettes {shlex.quote(str(self.options.cassettes))}{profile}"

    def _shown_target_version(self) -> str | None:
        seen = self.target_version
        return None if seen is None else printable(self.run.redactor.text(seen))

    def fail_writing(self, reason: str) -> Summary:
        """The run could not write its reports: an error summary naming why (exit 2), written if possible."""
        self.summary = stub_summary(self.options, error=reason, exit_code=EXIT_USAGE)
        with contextlib.suppress(OSError):
            write_summary(self.options.report_dir / "summary.json", self.summary)
        return self.summary

    def mark_started(self) -> None:
        """Write an incomplete summary.json first, so a run killed outright still leaves one."""
        facts = started_facts(self.options, target=self.target_url, seed=self.seed, started=self.started)
        write_summary(
            self.options.report_dir / "summary.json",
            Summary.stub_of(facts, error=IN_PROGRESS, exit_code=EXIT_INTERRUPTED),
        )


class VersionWatch:
    """Observer: the target's version, from the first response header that carries one."""

    def __init__(self) -> None:
        self.seen: str | None = None  # raw: redacted and made printable where it is shown

    def on_exchange(
        self,
        exchange: Exchange,
        results: list[CheckResult],  # noqa: ARG002 - the Observer protocol
        *,
        evidence: Callable[[], dict[str, Any]],  # noqa: ARG002
    ) -> None:
        """Keep the first version header seen."""
        if self.seen is None:
            self.seen = next((v for h in VERSION_HEADERS if (v := exchange.header(h))), None)
