"""The Allure report of a real failing run, opened in headless Chromium, shows the sign-off matrix's counts.

A screenshot is kept. Allure shows one result per requirement; its status comes from the requirement's
outcome through ``ALLURE_STATUS`` (not applicable is skipped, like not exercised).
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance.results.report.allure import ALLURE_STATUS
from conformance.results.report.html import SINGLE_FILE_NAME, ReportError, build_html_report, find_allure
from tests.support.cli import conformance, small_run, summary

# One xdist worker runs the whole module: its tests share the module's runs.
pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.xdist_group("browser")]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,1000",
    "--virtual-time-budget=15000",
)
CHROMIUM_TIMEOUT_S = 120
FAULT = "token_expire_60_rejected"
NOT_APPLICABLE = "LT-SEC-NO-STORE=served behind a caching proxy that sets its own headers"


class _Counts(HTMLParser):
    """Collects the text inside elements with a data-testid, and how often each data-testid occurs."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.seen: dict[str, int] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        testid = dict(attrs).get("data-testid")
        if testid:
            self.seen[testid] = self.seen.get(testid, 0) + 1
            self.text.setdefault(testid, "")
        if tag not in {"br", "img", "input", "meta", "link", "hr", "path", "circle", "rect", "use"}:
            self._open.append((tag, testid))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, testid in self._open:
            if testid and self.seen.get(testid) == 1:
                self.text[testid] += f" {data}"


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-report-tools.sh (apt-get install chromium)")
    return subprocess.run(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=CHROMIUM_TIMEOUT_S,
        check=False,
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def run_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report directory of a real failing run (one fault, one requirement declared not applicable)."""
    try:
        find_allure()
    except ReportError as exc:
        pytest.fail(str(exc))
    reports = tmp_path_factory.mktemp("run") / "reports"
    done = conformance(
        "run", "--target", "reference", "--fault", FAULT, "--not-applicable", NOT_APPLICABLE,
        *small_run(reports.parent), "--seed", "7", "--report-dir", str(reports), "-q",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    return reports


@pytest.fixture(scope="module")
def matrix(run_reports: Path) -> dict[str, int]:
    """The sign-off matrix's requirement counts, by the Allure status each outcome is shown with."""
    counts = {"passed": 0, "failed": 0, "broken": 0, "skipped": 0, "unknown": 0}
    tally = (run_reports / "signoff.md").read_text(encoding="utf-8")
    for requirement in summary(run_reports)["requirements"]:
        counts[ALLURE_STATUS[requirement["outcome"]]] += 1
    assert counts["failed"] >= 1 and counts["skipped"] >= 1 and counts["passed"] >= 1
    assert f"{counts['failed']} failed" in tally and f"{counts['passed']} passed" in tally
    return counts


@pytest.fixture(scope="module")
def report(run_reports: Path) -> Path:
    """The Allure HTML report built from the run's results."""
    return build_html_report(run_reports / "allure-results", run_reports / "allure-report")


@pytest.fixture
def served(report: Path) -> Iterator[str]:
    """The report served over HTTP on loopback (the multi-file report fetches its data)."""
    handler = functools.partial(_QuietHandler, directory=str(report))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _assert_counts(dom: str, matrix: dict[str, int]) -> None:
    counts = _Counts()
    counts.feed(dom)
    assert "tab-failed" in counts.text, f"report did not render; DOM starts: {dom[:300]!r}"
    assert counts.text["tab-all"].split() == ["Total", str(sum(matrix.values()))]
    for status in ("failed", "passed", "skipped"):
        assert counts.text[f"tab-{status}"].split() == [status.title(), str(matrix[status])], status
    assert counts.text["metadata-item-failed"].split() == ["Failed", str(matrix["failed"])]
    assert counts.text["metadata-item-passed"].split() == ["Passed", str(matrix["passed"])]
    # The tree is grouped epic > feature > story: failed leaves are shown, passed ones stay folded away.
    assert counts.seen.get("tree-leaf-status-failed") == matrix["failed"]


def test_served_report_shows_the_matrix_counts(
    served: str, report: Path, matrix: dict[str, int], tmp_path: Path
) -> None:
    done = _chromium("--dump-dom", served, profile=tmp_path / "profile-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    _assert_counts(done.stdout, matrix)
    screenshot = report.parent / "allure-report.png"
    shot = _chromium(f"--screenshot={screenshot}", served, profile=tmp_path / "profile-shot")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_single_file_report_renders_from_disk(report: Path, matrix: dict[str, int], tmp_path: Path) -> None:
    done = _chromium("--dump-dom", (report / SINGLE_FILE_NAME).as_uri(), profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    _assert_counts(done.stdout, matrix)
