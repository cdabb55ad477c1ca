"""Builds the Allure HTML report offline with the pinned Allure 3 in tools/ (scripts/install-report-tools.sh).

Two outputs from one results directory: the multi-file report (``<out>/index.html``, serve it over HTTP)
and a single self-contained file (``<out>/allure-report.html``) to attach to a release ticket.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from conformance.core import contract
from conformance.core.errors import EXIT_USAGE, ConformanceError

ALLURE_ENV = "CONFORMANCE_ALLURE_BIN"
TOOLS_BIN = Path("tools/node_modules/.bin/allure")
PROJECT_ROOT = Path(__file__).resolve().parents[3]
SINGLE_FILE_NAME = "allure-report.html"
REPORT_NAME = f"Conformance: {contract.ENDPOINT}"
TIMEOUT_S = 300
# Where `conformance report --install-allure` puts the pinned Allure for an installed suite (no checkout).
CACHE_TOOLS = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "login-token-conformance" / "tools"
)
PINNED_TOOLS = Path(__file__).resolve().parents[2] / "_tools"  # package.json + lock, in the wheel
INSTALL_HINT = (
    "Allure not installed: run `conformance report --install-allure` (npm ci of the pinned Allure into "
    f"{CACHE_TOOLS}), or `make report-tools` in a checkout, or set CONFORMANCE_ALLURE_BIN"
)

# Allure 3 (plugin-awesome generators.js) hard-codes a Google Analytics tag into index.html with no
# option to turn it off. An offline evidence report must not phone home when opened, so it is removed.
_ANALYTICS = re.compile(
    r"<script async src=\"https://www\.googletagmanager\.com/[^\"]*\"></script>\s*"
    r"<script>(?:(?!</script>)[\s\S])*?gtag\((?:(?!</script>)[\s\S])*</script>"
)
_EXTERNAL_TRACKERS = ("googletagmanager", "gtag(")


# The tree reads like the contract: endpoint, requirement group, requirement.
GROUP_BY = "epic,feature,story"


class ReportError(ConformanceError):
    """The HTML report could not be built; the message is one line for the user."""

    exit_code = EXIT_USAGE


def find_allure() -> Path:
    """The Allure executable: $CONFORMANCE_ALLURE_BIN, else tools/ of the project or of the cwd, else the
    one `--install-allure` put in the user's cache."""
    override = os.environ.get(ALLURE_ENV)
    cached = CACHE_TOOLS / "node_modules" / ".bin" / "allure"
    candidates = [Path(override)] if override else [PROJECT_ROOT / TOOLS_BIN, Path.cwd() / TOOLS_BIN, cached]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ReportError(INSTALL_HINT)


def install_allure() -> Path:
    """Install the pinned Allure into the user's cache (npm ci from the lock shipped with the suite)."""
    sources = [d for d in (PINNED_TOOLS, PROJECT_ROOT / "tools") if (d / "package-lock.json").is_file()]
    npm = shutil.which("npm")
    if not sources:
        raise ReportError("the pinned Allure lock (tools/package-lock.json) is not installed with this suite")
    if npm is None:
        raise ReportError("npm not found: install Node.js 20 (with npm), then run --install-allure again")
    CACHE_TOOLS.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(sources[0] / name, CACHE_TOOLS / name)
    try:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(CACHE_TOOLS)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReportError(f"npm ci of the pinned Allure failed: {exc}") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise ReportError(f"npm ci of the pinned Allure failed: {lines[-1] if lines else done.returncode}")
    return find_allure()


def _run_allure(
    allure: Path,
    results_dir: Path,
    output: Path,
    *,
    single_file: bool,
    name: str = REPORT_NAME,
    history: Path | None = None,
) -> None:
    args = [
        str(allure),
        "awesome",
        str(results_dir),
        "--output",
        str(output),
        "--name",
        name,
        "--group-by",
        GROUP_BY,
    ]
    if single_file:
        args.append("--single-file")
    if history is not None:
        args += ["--history-path", str(history)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    env["NO_COLOR"] = "1"
    # A scratch cwd so Allure picks up no stray allurerc.* config from wherever we were started.
    with tempfile.TemporaryDirectory(prefix="allure-cwd-") as cwd:
        try:
            done = subprocess.run(
                args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise ReportError(f"Allure did not finish within {TIMEOUT_S} s") from None
        except OSError as exc:
            raise ReportError(f"cannot run {allure}: {exc.strerror}") from None
    if done.returncode != 0 or not (output / "index.html").is_file():
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise ReportError(f"Allure failed (exit {done.returncode}): {lines[-1] if lines else 'no output'}")


def _strip_analytics(page: Path) -> None:
    text = _ANALYTICS.sub("", page.read_text(encoding="utf-8"))
    if any(marker in text for marker in _EXTERNAL_TRACKERS):
        raise ReportError(f"{page}: analytics tag left after stripping; check the pinned Allure version")
    page.write_text(text, encoding="utf-8")


def _copy_history(history: Path, copy: Path) -> Path:
    if history.is_dir():
        raise ReportError(f"--history {history} is a directory: give the history file (JSON lines)")
    history.parent.mkdir(parents=True, exist_ok=True)
    if history.is_file():
        shutil.copyfile(history, copy)
    return copy


def _check_replaceable(out_dir: Path) -> None:
    # Only a previous report (or an empty directory) is replaced: never wipe a directory given by mistake.
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / "index.html").is_file():
        raise ReportError(f"{out_dir} exists and is not an Allure report: refusing to replace it")


def build_html_report(
    results_dir: Path, out_dir: Path, *, history: Path | None = None, version: str | None = None
) -> Path:
    """Build the Allure HTML report into ``out_dir`` (plus a single-file copy there); returns ``out_dir``.

    ``history``: Allure's history file (JSON lines, one entry per report built), read for the trend and
    appended once; ``version`` (the target's) labels this report, and so its history entry.
    """
    if not results_dir.is_dir() or not any(results_dir.glob("*-result.json")):
        raise ReportError(f"no Allure results in {results_dir}: run `conformance run` first")
    allure = find_allure()
    out_dir = out_dir.resolve()  # Allure runs in a scratch cwd: a relative --output would land there
    history = history.resolve() if history is not None else None
    _check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}-", dir=out_dir.parent) as scratch:
        multi, single = Path(scratch) / "multi", Path(scratch) / "single"
        name = f"{REPORT_NAME} · {version}" if version else REPORT_NAME
        # Both reports show the same trend, but the history gains one entry per `conformance report`:
        # the single-file build reads (and appends to) a scratch copy of the history as it was.
        history_copy = _copy_history(history, Path(scratch) / "history.jsonl") if history else None
        _run_allure(allure, results_dir.resolve(), multi, single_file=False, name=name, history=history)
        _run_allure(allure, results_dir.resolve(), single, single_file=True, name=name, history=history_copy)
        _strip_analytics(multi / "index.html")
        _strip_analytics(single / "index.html")
        shutil.move(single / "index.html", multi / SINGLE_FILE_NAME)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        multi.rename(out_dir)
    return out_dir
