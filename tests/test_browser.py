"""The built Allure report opened in headless Chromium shows the right numbers; a screenshot is kept."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance.report.html import SINGLE_FILE_NAME, ReportError, build_html_report, find_allure
from tests.test_report_html import make_allure_results

pytest_plugins = ["pytester"]
pytestmark = [pytest.mark.browser, pytest.mark.e2e]

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
PASSED, FAILED = 3, 2


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


@pytest.fixture
def report(pytester: pytest.Pytester) -> Path:
    """An Allure HTML report of a session with PASSED passing and FAILED failing tests."""
    try:
        find_allure()
    except ReportError as exc:
        pytest.fail(str(exc))
    results = make_allure_results(pytester, passed=PASSED, failed=FAILED)
    return build_html_report(results, results.parent / "allure-report")


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


def _assert_counts(dom: str) -> None:
    counts = _Counts()
    counts.feed(dom)
    assert "tab-failed" in counts.text, f"report did not render; DOM starts: {dom[:300]!r}"
    assert counts.text["tab-all"].split() == ["Total", str(PASSED + FAILED)]
    assert counts.text["tab-failed"].split() == ["Failed", str(FAILED)]
    assert counts.text["tab-passed"].split() == ["Passed", str(PASSED)]
    assert counts.text["metadata-item-failed"].split() == ["Failed", str(FAILED)]
    # The tree is grouped epic > feature > story: failed leaves are shown, passed ones stay folded away.
    assert counts.seen.get("tree-leaf-status-failed") == FAILED


def test_served_report_shows_passed_and_failed_counts(served: str, report: Path, tmp_path: Path) -> None:
    done = _chromium("--dump-dom", served, profile=tmp_path / "profile-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    _assert_counts(done.stdout)
    screenshot = report.parent / "allure-report.png"
    shot = _chromium(f"--screenshot={screenshot}", served, profile=tmp_path / "profile-shot")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_single_file_report_renders_from_disk(report: Path, tmp_path: Path) -> None:
    done = _chromium("--dump-dom", (report / SINGLE_FILE_NAME).as_uri(), profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    _assert_counts(done.stdout)
