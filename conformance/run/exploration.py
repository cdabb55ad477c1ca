"""Hypothesis exploration for a Run: deterministic per seed, no example database, shrunk failures."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import FlakyFailure, HypothesisException

from conformance.checks import Subject
from conformance.core._thirdparty import hypothesis_local_constants
from conformance.core.model import Case, Exchange
from conformance.core.violations import ContractViolation, RunAborted


class Explored(Protocol):
    """What exploration needs of a run (the engine's Run); no import of the engine, which drives this."""

    seed: int
    max_examples: int
    aborted: RunAborted | None

    def expect(self, case: Case) -> Exchange: ...


@contextlib.contextmanager
def seed_only_generation() -> Iterator[None]:
    """Generation that depends on the seed alone, not on which of our modules happen to be imported.

    Hypothesis (>= 6.131) mixes constants found in "local" modules into generation: every imported
    module outside site-packages, which includes this package when installed editable. A recording run
    imports the reference target and a plain live run does not, so the same seed generated different
    requests. Private API, behind conformance.core._thirdparty (checked at start-up; no fallback).
    """
    seam = hypothesis_local_constants()
    providers = seam.providers
    saved = providers._get_local_constants, providers.CONSTANTS_CACHE
    providers._get_local_constants = lambda: seam.empty
    providers.CONSTANTS_CACHE = seam.new_cache()
    try:
        yield
    finally:
        providers._get_local_constants, providers.CONSTANTS_CACHE = saved


def exploration_settings(*, max_examples: int, **extra: Any) -> settings:
    """The settings every exploration runs under (``extra``: e.g. a state machine's step count)."""
    # No database and a fixed seed: the same seed generates the same requests, which is what lets a
    # replay find every request in its cassette. Deadlines and health checks judge the target's speed,
    # which is not what this exploration is about.
    return settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        print_blob=False,
        report_multiple_bugs=False,
        **extra,
    )


def explore(run: Explored, strategy: Any, *, label: str) -> None:
    """Send ``run.max_examples`` generated cases; re-raise the minimal failure with the seed attached.

    A generated case this test has already sent and seen refused as it should be is not sent again:
    the strategies' small branches (a known user, a missing parameter, a key probe) repeat requests
    byte for byte, and a second identical refusal tells nothing the first did not (the sentinels probe
    refusals again later in the run on purpose). Repeats of grants are sent: each issues a token.
    """
    refused: set[tuple[object, ...]] = set()

    @hypothesis_seed(run.seed)
    @exploration_settings(max_examples=run.max_examples)
    @given(case=strategy)
    def explore_inputs(case: Case) -> None:
        request = case.wire
        if request in refused:
            return
        if _refused(run.expect(case)):
            refused.add(request)

    hypothesised(run, explore_inputs, label=label)


def hypothesised(run: Explored, test: Callable[[], None], *, label: str) -> None:
    """Run the Hypothesis ``test`` of ``run`` (seed-only generation); the minimal failure with the seed."""
    try:
        with seed_only_generation():
            test()
    except RunAborted:
        raise
    except ContractViolation as violation:
        notes = "\n".join(getattr(violation, "__notes__", []))
        raise ContractViolation(
            f"{label}: minimal failing input (seed {run.seed}; rerun with --seed {run.seed}):\n{violation}"
            + (f"\n{notes}" if notes else "")
        ) from None
    except FlakyFailure as flaky:
        if run.aborted is not None:
            raise run.aborted from None
        # The target answered the same input differently (e.g. a repeated token): still a violation.
        inner = "\n".join(str(e) for e in flaky.exceptions)
        raise ContractViolation(f"{label}: inconsistent answers (seed {run.seed}):\n{inner}") from None
    except HypothesisException as exc:
        raise ContractViolation(f"{label}: exploration stopped (seed {run.seed}): {exc}") from None


def _refused(exchange: Exchange) -> bool:
    """The target answered and issued nothing (``expect`` has already judged that this was right)."""
    subject = Subject(exchange)
    return exchange.error is None and subject.decided and not subject.issued
