"""The selftest: run the suite against the conforming reference and every fault, live and replayed.

A fault is detected when every requirement it declares failed (outcome failed or warning) in a run that
completed; the conforming reference must fail nothing. The score is ``detected D/T, false alarms F``.
Runs are in-process and sequential, so a test can take a check out of the registry and watch the score
drop.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.core.options import REFERENCE_TARGET, RunOptions
from conformance.reference import DEFAULT_SLOW_DELAY, FAULTS, get_fault

SELFTEST_MAX_EXAMPLES = 25  # enough for every generated-input fault; the whole selftest stays ~1-2 minutes
# The slow fault costs one timeout per stalled request; 2 s is still ~1000x a loopback answer.
SELFTEST_TIMEOUT = 2.0
# Tokens judged together in a selftest run (the profile default is 776): every token fault shows in
# fewer, and the sample is what makes a run long (one grant per sampled token).
DEFAULT_TOKEN_SAMPLE = 100
SLOW_DELAY_FACTOR = 5  # the slow fault stalls this many timeouts (stopping the server wakes it at once)
FAILED_OUTCOMES = frozenset({"failed", "warning"})
REFERENCE_NAME = "(conforming)"
EXIT_PASSED = 0
EXIT_FAILED = 1


@dataclass(frozen=True)
class SelftestOptions:
    """What the selftest runs: which faults, replay or not, and the run settings shared by every run."""

    faults: tuple[str, ...] | None = None  # None: every registered fault
    replay: bool = True
    reference: bool = True  # also run the conforming reference (the false-alarm baseline)
    max_examples: int = SELFTEST_MAX_EXAMPLES
    seed: int | None = None
    timeout: float = SELFTEST_TIMEOUT
    work_dir: Path | None = None  # kept: each selftest makes a fresh subdirectory; None: a temp dir, removed
    # Each fault's runs send only the suite tests that declare one of its requirements (a fault none of
    # them declares runs them all). The conforming reference always runs every test: a false alarm can be
    # anywhere. `conformance selftest --focused`; the CI gate runs so.
    focused: bool = False
    token_sample: int = DEFAULT_TOKEN_SAMPLE


@dataclass(frozen=True)
class RunOutcome:
    """One suite run as the selftest saw it."""

    mode: str  # live | record | replay
    verdict: str
    failed: tuple[str, ...]  # requirement IDs whose outcome was failed or warning
    error: str | None
    duration_s: float

    @property
    def complete(self) -> bool:
        """True when the run finished (an errored run proves nothing either way)."""
        return self.error is None


@dataclass(frozen=True)
class FaultResult:
    """The reference with one fault (or none), run live and, where recordable, replayed."""

    name: str | None  # None: the conforming reference
    expected: tuple[str, ...]
    recordable: bool
    live: RunOutcome
    replay: RunOutcome | None  # None: not replayed (not recordable, or --no-replay)

    @property
    def label(self) -> str:
        """The fault name, or "(conforming)"."""
        return self.name or REFERENCE_NAME

    @property
    def detected_live(self) -> bool:
        """Every expected requirement failed in the live run, and the run completed."""
        return _detects(self.live, self.expected)

    @property
    def detected_replay(self) -> bool | None:
        """The same for the replay; None when there was none."""
        return None if self.replay is None else _detects(self.replay, self.expected)

    @property
    def detected(self) -> bool:
        """Detected live, and in replay when replayed."""
        return self.detected_live and self.detected_replay is not False

    @property
    def runs(self) -> tuple[RunOutcome, ...]:
        """The live run and the replay, if any."""
        return (self.live,) if self.replay is None else (self.live, self.replay)

    @property
    def duration_s(self) -> float:
        """Live plus replay time."""
        return sum(run.duration_s for run in self.runs)


@dataclass
class SelftestReport:
    """Every result, and the score."""

    seed: int
    max_examples: int
    reference: FaultResult | None = None
    faults: list[FaultResult] = field(default_factory=list)
    duration_s: float = 0.0
    work_dir: Path | None = None  # where the reports and cassettes were kept (--work-dir)

    @property
    def total(self) -> int:
        """T: the number of faults run."""
        return len(self.faults)

    @property
    def detected(self) -> int:
        """D: faults detected live (and in replay when recordable)."""
        return sum(1 for result in self.faults if result.detected)

    @property
    def false_alarms(self) -> int:
        """F: requirements the conforming reference failed, live plus replay."""
        return 0 if self.reference is None else sum(len(run.failed) for run in self.reference.runs)

    @property
    def errors(self) -> list[str]:
        """One line per run that did not complete."""
        results = [self.reference] if self.reference else []
        return [
            f"{result.label} ({run.mode}): {run.error}"
            for result in [*results, *self.faults]
            for run in result.runs
            if run.error is not None
        ]

    @property
    def undetected(self) -> list[str]:
        """The names of the faults the suite missed."""
        return [result.label for result in self.faults if not result.detected]

    @property
    def score(self) -> str:
        """The score line: ``detected D/T, false alarms F``."""
        return f"detected {self.detected}/{self.total}, false alarms {self.false_alarms}"

    @property
    def exit_code(self) -> int:
        """0 only when every fault was detected, nothing was a false alarm and every run completed."""
        passed = self.detected == self.total and self.false_alarms == 0 and not self.errors
        return EXIT_PASSED if passed else EXIT_FAILED


def selected_faults(names: tuple[str, ...] | None) -> tuple[str, ...]:
    """The fault names to run, in catalogue order; ValueError names an unknown fault."""
    if names is None:
        return tuple(FAULTS)
    for name in names:
        get_fault(name)
    wanted = set(names)
    return tuple(name for name in FAULTS if name in wanted)


def run_selftest(
    options: SelftestOptions, *, on_result: Callable[[FaultResult], None] | None = None
) -> SelftestReport:
    """Run the reference (unless disabled) and each fault, sequentially; ``on_result`` sees each result."""
    names = selected_faults(options.faults)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**32)
    report = SelftestReport(seed=seed, max_examples=options.max_examples)
    started = time.monotonic()
    with _work_dir(options.work_dir) as work:
        report.work_dir = work if options.work_dir is not None else None
        targets: list[str | None] = [None] if options.reference else []
        for name in [*targets, *names]:
            result = run_fault(name, options=options, seed=seed, work_dir=work / (name or "conforming"))
            if name is None:
                report.reference = result
            else:
                report.faults.append(result)
            if on_result is not None:
                on_result(result)
    report.duration_s = time.monotonic() - started
    return report


def run_fault(name: str | None, *, options: SelftestOptions, seed: int, work_dir: Path) -> FaultResult:
    """The reference with fault ``name`` (None: conforming) live, then replayed when recordable."""
    fault = None if name is None else get_fault(name)
    recordable = fault is None or fault.recordable
    replay = options.replay and recordable
    cassettes = work_dir / "cassettes"
    common: dict[str, Any] = {
        "max_examples": options.max_examples,
        "seed": seed,
        "timeout": options.timeout,
        "cassettes": cassettes,
        "profile": _profile(work_dir, options, extra=fault.profile if fault else ""),
    }
    keyword = None
    if options.focused and fault is not None and not fault.whole_run:
        keyword = focus_keyword(fault.requirements)
    live = run_suite(
        RunOptions(
            target=REFERENCE_TARGET,
            fault=name,
            record=replay,
            report_dir=work_dir / "live",
            fetch_qrcode=fault is not None and fault.fetch_qrcode,  # such faults are never recordable
            **common,
        ),
        slow_delay=options.timeout * SLOW_DELAY_FACTOR,
        keyword=keyword,
    )
    replayed = None
    if replay:
        replayed = run_suite(RunOptions(report_dir=work_dir / "replay", **common), keyword=keyword)
    expected = () if fault is None else fault.requirements
    return FaultResult(name, expected, recordable, live, replayed)


def _profile(work_dir: Path, options: SelftestOptions, *, extra: str = "") -> Path:
    """The selftest's profile: the default one with a smaller token sample (each fault's own rule shows
    in far fewer tokens; the full sample is what the flakiness benchmark runs)."""
    path = work_dir / "selftest-profile.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"token_sample = {options.token_sample}\n{extra}", encoding="utf-8")  # + the fault's
    return path


def run_suite(
    options: RunOptions, *, slow_delay: float = DEFAULT_SLOW_DELAY, keyword: str | None = None
) -> RunOutcome:
    """One in-process, quiet conformance run; a configuration error becomes an errored outcome.

    ``slow_delay``: how long the reference's slow faults stall, in seconds; ``keyword``: a -k expression.
    """
    from conformance.core.errors import EXIT_INTERRUPTED, ConformanceError
    from conformance.frontends.local import open_session, reference_target
    from conformance.frontends.runner import execute  # imports pytest: loaded when a run starts

    started = time.monotonic()
    try:
        local = reference_target(slow_delay=slow_delay)
        with open_session(options, local=local, keyword=keyword) as session:
            summary = execute(session)
    except ConformanceError as exc:
        return RunOutcome(options.mode, "error", (), str(exc), time.monotonic() - started)
    if summary.exit_code == EXIT_INTERRUPTED:  # execute() swallows Ctrl-C; the selftest must stop too
        raise KeyboardInterrupt
    failed = tuple(r.id for r in summary.requirements if r.outcome in FAILED_OUTCOMES)
    duration = time.monotonic() - started
    return RunOutcome(options.mode, summary.verdict.value, failed, summary.error, duration)


def suite_targets() -> dict[str, tuple[str, ...]]:
    """Each conformance test of the suite (by function name) and the requirements it declares."""
    import importlib
    import pkgutil

    import conformance.suite

    targets: dict[str, tuple[str, ...]] = {}
    for module_info in pkgutil.iter_modules(conformance.suite.__path__):
        if not module_info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"conformance.suite.{module_info.name}")
        for name, function in vars(module).items():
            if name.startswith("test_") and callable(function):
                marks = getattr(function, "pytestmark", [])
                targets[name] = tuple(a for m in marks if m.name == "requirements" for a in m.args)
    return targets


def focus_keyword(requirements: tuple[str, ...]) -> str | None:
    """A -k expression for the suite tests declaring any of ``requirements``; None (every test) if none."""
    wanted = set(requirements)
    names = sorted(name for name, declared in suite_targets().items() if wanted & set(declared))
    return " or ".join(names) or None


def _detects(run: RunOutcome, expected: tuple[str, ...]) -> bool:
    return run.complete and set(expected) <= set(run.failed)


@contextlib.contextmanager
def _work_dir(given: Path | None) -> Iterator[Path]:
    if (
        given is not None
    ):  # a fresh subdirectory, so nothing of an earlier selftest is overwritten or replayed
        given.mkdir(parents=True, exist_ok=True)
        yield Path(tempfile.mkdtemp(prefix="selftest-", dir=given))
        return
    temp = Path(tempfile.mkdtemp(prefix="conformance-selftest-"))
    try:
        yield temp
    finally:
        shutil.rmtree(temp, ignore_errors=True)
