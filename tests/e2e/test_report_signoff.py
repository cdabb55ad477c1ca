"""The sign-off in headless Chromium at 360 px: no requirement ID is wrapped over two lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.results.report.signoff import render_signoff
from conformance.results.summary import Summary
from tests.support.summaries import signoff_summary, with_every_section

pytestmark = pytest.mark.e2e

# Reports, per element of class "id", whether its text was laid out on more than one line.
WRAP_PROBE = """<script>addEventListener("load", () => {
  const wrapped = [...document.querySelectorAll(".id")].filter((element) => {
    const range = document.createRange();
    range.selectNodeContents(element);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
  }).map((element) => element.textContent);
  document.body.dataset.ids = document.querySelectorAll(".id").length;
  document.body.dataset.wrapped = wrapped.join(" ");
});</script>"""


@pytest.mark.browser
def test_a_narrow_browser_window_wraps_no_id(tmp_path: Path) -> None:
    """Chromium at 360 px: every ID element of the sign-off is laid out on a single line."""
    import html
    import subprocess

    _, page = render_signoff(Summary.of(with_every_section(signoff_summary())))
    # The probe is a script: the page's own CSP (no script at all) is left out of this test copy only.
    probed = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    (tmp_path / "signoff.html").write_text(
        probed.replace("</body>", WRAP_PROBE + "</body>"), encoding="utf-8"
    )
    done = subprocess.run(
        ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--window-size=360,800", "--virtual-time-budget=3000",
         "--dump-dom", (tmp_path / "signoff.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    body = re.search(r'<body data-ids="(\d+)" data-wrapped="([^"]*)"', done.stdout)
    assert body is not None, done.stderr[-2000:]
    assert int(body.group(1)) > 10
    assert html.unescape(body.group(2)) == ""
