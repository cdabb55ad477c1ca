"""The one door to third-party internals: every private API of vcrpy or Hypothesis the suite uses.

Each is named here with the version range it was checked against (the same ranges pyproject.toml
declares; a test keeps them equal). ``check_installed()`` runs when a session opens: a version outside
the range, or an internal that moved, ends the run with exit 2 naming the package and the range. There
is no fallback: a moved internal would otherwise mean a silently different recording or verdict.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from conformance.core.errors import EXIT_USAGE, ConformanceError

# package -> (lowest supported, first unsupported); pyproject.toml declares ">=low,<high".
SUPPORTED: dict[str, tuple[str, str]] = {
    "hypothesis": ("6.135", "7"),
    "vcrpy": ("9.4", "10"),
}


@dataclass(frozen=True)
class Internal:
    """One private attribute the suite relies on; ``parameters`` pins a callable's signature."""

    package: str
    module: str
    attribute: str
    parameters: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        """``module.attribute``."""
        return f"{self.module}.{self.attribute}"


INTERNALS: tuple[Internal, ...] = (
    # Recording and replay route httpx through vcrpy's stub (vcrpy has no public httpx hook that takes
    # a cassette object of our own format).
    Internal(
        "vcrpy", "vcr.stubs.httpx_stubs", "vcr_handle_request", ("cassette", "real_handle_request", "httpx")
    ),
    # Live generation independent of which of our modules are imported (see exploration.py).
    Internal("hypothesis", "hypothesis.internal.conjecture.providers", "_get_local_constants", ()),
    Internal("hypothesis", "hypothesis.internal.conjecture.providers", "CONSTANTS_CACHE"),
    Internal(
        "hypothesis",
        "hypothesis.internal.constants_ast",
        "Constants",
        ("integers", "floats", "bytes", "strings"),
    ),
    Internal("hypothesis", "hypothesis.internal.cache", "LRUCache"),
    Internal("hypothesis", "hypothesis.internal.floats", "float_to_int"),
    # The Allure adapter tells Hypothesis' final replay of a minimal example from the search
    # (report/allure.py; live runs only).
    Internal("hypothesis", "hypothesis.control", "current_build_context", ()),
)


class ThirdPartyMismatch(ConformanceError):
    """An installed package the suite cannot trust; one line naming the package, the range and the fix."""

    exit_code = EXIT_USAGE


def _numbers(version: str) -> tuple[int, ...]:
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def in_range(version: str, low: str, high: str) -> bool:
    """``low <= version < high``, comparing release numbers (6.135 is 6.135.0)."""
    mine = _numbers(version)

    def padded(other: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        width = max(len(mine), len(other))
        return mine + (0,) * (width - len(mine)), other + (0,) * (width - len(other))

    lo_mine, lo = padded(_numbers(low))
    hi_mine, hi = padded(_numbers(high))
    return lo <= lo_mine and hi_mine < hi


def requirement(package: str) -> str:
    """The pyproject-style range of a package, e.g. ``hypothesis>=6.135,<7``."""
    low, high = SUPPORTED[package]
    return f"{package}>={low},<{high}"


def _fix(package: str) -> str:
    return f"install a supported version: pip install '{requirement(package)}' (`make run` uses the lock)"


def check_installed(
    *,
    version_of: Callable[[str], str] = metadata.version,
    importer: Callable[[str], Any] = importlib.import_module,
) -> None:
    """Raise ThirdPartyMismatch unless every package is in range and every internal is where expected."""
    for package, (low, high) in SUPPORTED.items():
        try:
            version = version_of(package)
        except metadata.PackageNotFoundError:
            raise ThirdPartyMismatch(f"{package} is not installed; {_fix(package)}") from None
        if not in_range(version, low, high):
            raise ThirdPartyMismatch(
                f"{package} {version} is installed but this suite supports {requirement(package)}; "
                + _fix(package)
            )
    for internal in INTERNALS:
        problem = _problem(internal, importer)
        if problem:
            version = version_of(internal.package)
            raise ThirdPartyMismatch(
                f"{internal.package} {version}: {internal.name} {problem}, which this suite relies on "
                f"(supported: {requirement(internal.package)}); {_fix(internal.package)}"
            )


def _problem(internal: Internal, importer: Callable[[str], Any]) -> str:
    try:
        module = importer(internal.module)
    except ImportError:
        return "cannot be imported"
    if not hasattr(module, internal.attribute):
        return "is missing"
    if internal.parameters is None:
        return ""
    try:
        found = tuple(
            p.name
            for p in inspect.signature(getattr(module, internal.attribute)).parameters.values()
            if p.kind is not inspect.Parameter.VAR_KEYWORD
        )
    except (TypeError, ValueError):
        return "has no readable signature"
    if found == internal.parameters:
        return ""
    return f"takes ({', '.join(found)}), not ({', '.join(internal.parameters)})"


def _get(internal: Internal) -> Any:
    return getattr(importlib.import_module(internal.module), internal.attribute)


def vcr_handle_request() -> Any:
    """vcrpy's private sync httpx stub factory (checked by ``check_installed``)."""
    return _get(INTERNALS[0])


@dataclass(frozen=True)
class LocalConstants:
    """Hypothesis' private seam for constants collected from local modules (checked at start-up)."""

    providers: Any
    empty: Any
    new_cache: Callable[[], Any]


def hypothesis_local_constants() -> LocalConstants:
    """The providers module, an empty Constants and a cache factory, for seed-only generation."""
    from sortedcontainers import SortedSet  # type: ignore[import-untyped]

    providers = importlib.import_module("hypothesis.internal.conjecture.providers")
    constants = _get(INTERNALS[3])
    lru_cache = _get(INTERNALS[4])
    float_to_int = _get(INTERNALS[5])
    empty = constants(
        integers=SortedSet(), floats=SortedSet(key=float_to_int), bytes=SortedSet(), strings=SortedSet()
    )
    return LocalConstants(providers, empty, lambda: lru_cache(1024))
