"""The end-of-run facts: what summary.json says about a run beside its results (RunFacts), and the
summary of a run that has no verdict (yet).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

from conformance.cassettes.book import BookReport
from conformance.core.entropy import token_entropy_summary
from conformance.core.options import RunOptions
from conformance.core.version import __version__
from conformance.exchange.transport import client_identities
from conformance.results.summary import RunFacts, Setting, Summary
from conformance.run.engine import Run

IN_PROGRESS = "run in progress, or it did not finish (interrupted or killed)"


def run_facts(
    run: Run,
    *,
    options: RunOptions,
    target: str,
    target_version: str | None,
    profile: str,
    seed: int,
    started: dt.datetime,
    finished: dt.datetime,
    files: BookReport | None,
    stopped_early: str | None,
    preflight_notes: tuple[str, ...],
    recording: dict[str, Any] | None,
    settings: tuple[Setting, ...],
) -> RunFacts:
    """The facts of a run that ended: what ran where and when, its cassettes (``files``), the run's own
    counts; ``target_version`` is the one shown (given, or announced by the target)."""
    cassettes = [] if files is None else [{"path": str(c.path), "sha256": c.sha256} for c in files.cassettes]
    stale = (
        []
        if files is None
        else [{"cassette": str(c.path), "request": r} for c in files.cassettes for r in c.stale]
    )
    unused = [] if files is None else [str(p) for p in files.unused]
    return RunFacts(
        target=target,
        target_version=options.target_version or target_version,
        user_id=run.builder.users.user_id,
        foreign_user_id=run.builder.users.foreign_user_id,
        unknown_user_ids=run.builder.users.unknown_user_ids,
        mode=options.mode,
        profile=profile,
        seed=seed,
        max_examples=run.max_examples,
        suite_version=__version__,
        suite_commit=suite_commit(),
        started=started.isoformat(timespec="seconds"),
        finished=finished.isoformat(timespec="seconds"),
        duration_s=round((finished - started).total_seconds(), 3),
        cassettes=tuple(cassettes),
        stale_interactions=tuple(stale),
        unused_cassettes=tuple(unused),
        throttled=run.throttled,
        throttle_waited_s=round(run.throttle_waited, 3),
        user_agent=client_identities(options.user_agent)[0].user_agent,
        valid_key_in_query=run.builder.valid_key_in_query,
        token_entropy=token_entropy_summary(run.context.tokens.ordered),
        stopped_early=stopped_early,
        preflight_notes=preflight_notes,
        recording=recording,
        config_file=_shown_path(options.provenance.config_file),
        settings=settings,
    )


def started_facts(options: RunOptions, *, target: str, seed: int, started: dt.datetime) -> RunFacts:
    """The facts known as a run starts (its "in progress" summary)."""
    return RunFacts(
        target=target,
        mode=options.mode,
        seed=seed,
        suite_version=__version__,
        started=started.isoformat(timespec="seconds"),
    )


def stub_summary(options: RunOptions, *, error: str, exit_code: int) -> Summary:
    """A summary.json that holds no verdict: a run in progress, or one that ended before it had one."""
    facts = RunFacts(
        target=options.target or f"replay:{options.cassettes}",
        mode=options.mode,
        suite_version=__version__,
        started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    return Summary.stub_of(facts, error=error, exit_code=exit_code)


def suite_commit() -> str | None:
    """The git commit of the suite's checkout, when it runs from one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _shown_path(path: Path | None) -> str | None:
    return None if path is None else str(path)
