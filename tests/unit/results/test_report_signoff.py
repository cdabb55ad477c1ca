"""The sign-off document rendered from hand-made summary.json dicts."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from conformance.core import contract
from conformance.results.report.signoff import SIGNOFF_HTML, SIGNOFF_MD, render_signoff, write_signoff
from conformance.results.summary import Summary, SummaryContradiction
from tests.support.summaries import make_summary, signoff_summary, with_every_section

SECRET = "sk_live_TOPSECRET_0123456789"
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def summary() -> dict[str, Any]:
    """Two failing requirements, one passing, one warning."""
    return signoff_summary()


def test_header_names_verdict_target_suite_mode_and_cassette_digests(summary: dict[str, Any]) -> None:
    markdown, page = render_signoff(Summary.of(summary))
    for text in ("NON-CONFORMANT", "2.4.1", "0.1.0", "abc1234", "replay", "d" * 64, "1234"):
        assert text in markdown
        assert text in page
    assert "- Target: http://127.0.0.1:8080/v1/user/login_token\n" in markdown  # plain text, no needless \\


def test_matrix_has_one_row_per_requirement_with_outcome_and_evidence_count(summary: dict[str, Any]) -> None:
    markdown, _ = render_signoff(Summary.of(summary))
    rows = [line for line in markdown.splitlines() if line.startswith("| LT-")]
    assert [row.split(" | ")[0] for row in rows] == [
        "| LT-INPUT-EXPIRE-RANGE",
        "| LT-AUTH-KEY-INVALID",
        "| LT-TOKEN-PRESENT",
        "| LT-SEC-NO-STORE",
    ]
    assert rows[0].split(" | ")[4:7] == ["failed", "12", "2 |"]
    assert rows[3].split(" | ")[4] == "warning"


def test_every_failure_carries_a_curl_reproduction_without_the_key(
    summary: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONFORMANCE_API_KEY", SECRET)
    # A summary that leaked the key by mistake: the sign-off must still not carry it.
    summary["requirements"][0]["failures"][0]["received"] = f"body echoed {SECRET}"
    markdown, page = render_signoff(Summary.of(summary))
    curls = re.findall(r"^curl .*$", markdown, flags=re.MULTILINE)
    assert len(curls) == 4  # 2 failing requirements x 2 failures
    assert all("$CONFORMANCE_API_KEY" in line for line in curls)
    assert markdown.count("conformance run --cassettes cassettes -k test_expire_range_") == 4
    assert page.count("curl -sS -X POST") == 4
    assert SECRET not in markdown
    assert SECRET not in page


def test_failures_beyond_the_listed_ones_are_counted(summary: dict[str, Any]) -> None:
    summary["requirements"][0]["failure_count"] = 9
    markdown, _ = render_signoff(Summary.of(summary))
    assert "7 more failure(s) of this requirement are not listed" in markdown


def test_exercised_ambiguity_readings_are_listed(summary: dict[str, Any]) -> None:
    markdown, _ = render_signoff(Summary.of(summary))
    assert "AMB-EXPIRE-SAMPLE" in markdown
    assert "absolute Unix timestamp" in markdown
    assert contract.AMBIGUITIES_BY_ID["AMB-EXPIRE-SAMPLE"].issue.split()[0] in markdown


def _section(markdown: str, heading: str) -> str:
    start = markdown.index(f"### {heading}")
    end = markdown.find("\n#", start + 1)
    return markdown[start : end if end != -1 else None]


def test_baseline_diff_lists_new_fixed_and_unchanged(summary: dict[str, Any]) -> None:
    baseline = make_summary(
        LT_INPUT_EXPIRE_RANGE="passed",
        LT_AUTH_KEY_INVALID="failed",
        LT_TOKEN_PRESENT="failed",
        LT_SEC_NO_STORE="warning",
    )
    markdown, page = render_signoff(Summary.of(summary), baseline=Summary.of(baseline))
    assert "LT-INPUT-EXPIRE-RANGE" in _section(markdown, "Newly failing (1)")
    assert "LT-TOKEN-PRESENT" in _section(markdown, "Fixed (1)")
    unchanged = _section(markdown, "Unchanged (2)")
    assert "LT-AUTH-KEY-INVALID" in unchanged
    assert "LT-SEC-NO-STORE" in unchanged
    assert "Newly failing (1)" in page


def test_no_baseline_no_comparison(summary: dict[str, Any]) -> None:
    markdown, _ = render_signoff(Summary.of(summary))
    assert "baseline" not in markdown.lower()


def test_target_controlled_markup_is_escaped(summary: dict[str, Any]) -> None:
    summary["requirements"][0]["failures"][0]["received"] = f"message {SCRIPT} | *bold* [x](http://evil)"
    summary["target_version"] = '"><img src=x onerror=alert(1)>'
    markdown, page = render_signoff(Summary.of(summary))
    assert "<script" not in page.lower().replace("&lt;script", "")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>" not in markdown
    assert "&lt;script&gt;" in markdown
    assert "\\| \\*bold\\* \\[x\\](http://evil)" in markdown


def test_html_is_self_contained(summary: dict[str, Any]) -> None:
    _, page = render_signoff(Summary.of(summary))
    assert "<style>" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page
    assert "default-src 'none'" in page


def test_incomplete_error_run_says_so() -> None:
    summary = make_summary()
    summary.update(verdict="error", complete=False, error="target unreachable: connect refused")
    markdown, page = render_signoff(Summary.of(summary))
    assert "ERROR" in markdown
    assert "target unreachable: connect refused" in markdown
    assert "did not complete" in page
    assert "No failures." in markdown


def test_write_signoff_writes_both_files_and_no_temporaries(tmp_path: Path, summary: dict[str, Any]) -> None:
    write_signoff(tmp_path, Summary.of(summary), baseline=Summary.of(copy.deepcopy(summary)))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([SIGNOFF_MD, SIGNOFF_HTML])
    assert (tmp_path / SIGNOFF_MD).read_text(encoding="utf-8").startswith("# Conformance sign-off")
    assert "Unchanged (4)" in (tmp_path / SIGNOFF_HTML).read_text(encoding="utf-8")


def test_incomplete_run_lists_each_not_exercised_requirement_with_its_reason() -> None:
    summary = make_summary(
        LT_INPUT_EXPIRE_RANGE="passed", LT_AUTH_USER_SCOPE="skipped", LT_QRCODE_URL="passed"
    )
    summary["requirements"][1]["reason"] = "no --foreign-user-id given"
    summary["requirements"][2].update(outcome="not-applicable", reason="declared not applicable: no QR codes")
    summary.update(verdict="incomplete", complete=False, exit_code=6)
    markdown, _ = render_signoff(Summary.of(summary))
    assert "Verdict: INCOMPLETE" in markdown
    assert "cannot sign off a release" in markdown
    section = markdown[markdown.index("## Not exercised") : markdown.index("## Declared not applicable")]
    assert "LT-AUTH-USER-SCOPE" in section and "no --foreign-user-id given" in section
    assert "LT-QRCODE-URL" not in section
    exempt = markdown[markdown.index("## Declared not applicable") :]
    assert "no QR codes" in exempt.split("\n## ")[0]


def test_a_summary_claiming_conformant_with_a_must_requirement_unexercised_is_refused() -> None:
    summary = make_summary(LT_INPUT_EXPIRE_RANGE="passed", LT_AUTH_USER_SCOPE="skipped")
    assert summary["verdict"] == "conformant"  # what a hand edit or an older tool would write
    with pytest.raises(SummaryContradiction, match="give 'incomplete'"):
        render_signoff(Summary.of(summary))


def test_signoff_states_the_token_entropy_bound(tmp_path: Path) -> None:
    from conformance.core.entropy import token_entropy_summary

    summary = make_summary(LT_TOKEN_UNIQUE="passed")
    summary["token_entropy"] = token_entropy_summary([f"{n * 7919:032x}" for n in range(1, 561)])
    write_signoff(tmp_path, Summary.of(summary))
    text = next(tmp_path.glob("*.md")).read_text(encoding="utf-8")
    assert "Token entropy: 560 distinct tokens without a collision" in text
    assert "15.1" in text


# What a release reader meets, in this order (issue 12, item 8).
MARKDOWN_ORDER = (
    "**Verdict: NON-CONFORMANT**",
    "- Target: http://127.0.0.1:8080/v1/user/login_token",
    "- Target version: 2.4.1",
    "- User id (configured): 12345",
    "- Foreign user id: 54321",
    "- Unknown user id: 999999",
    "- Mode: replay",
    "- Recorded target: http://10.0.0.5:8080/v1/user/login_token",
    "- Recorded at: 2026-11-20T09:30:00+00:00",
    "- Recorded by suite version: 0.2.0",
    "## Failures and how to reproduce them",
    "## Waivers",
    "## Compared with the baseline",
    "## Requirement matrix",
    "## What was tested",
    "## Evidence",
)
HTML_ORDER = (
    "Verdict: NON-CONFORMANT</p>",
    "<dt>Target</dt>",
    "<dt>Target version</dt>",
    "<dt>User id (configured)</dt>",
    "<dt>Foreign user id</dt>",
    "<dt>Unknown user id</dt>",
    "<dt>Mode</dt>",
    "<dt>Recorded target</dt>",
    "<dt>Recorded at</dt>",
    "<dt>Recorded by suite version</dt>",
    "<h2>Failures and how to reproduce them</h2>",
    "<h2>Waivers</h2>",
    "<h2>Compared with the baseline</h2>",
    "<h2>Requirement matrix</h2>",
    "<h2>What was tested</h2>",
    "<h2>Evidence</h2>",
)


def test_signoff_reads_verdict_identity_failures_waivers_baseline_then_matrix(
    summary: dict[str, Any],
) -> None:
    baseline = make_summary(LT_INPUT_EXPIRE_RANGE="passed", LT_AUTH_KEY_INVALID="failed")
    markdown, page = render_signoff(Summary.of(with_every_section(summary)), baseline=Summary.of(baseline))
    for text, order in ((markdown, MARKDOWN_ORDER), (page, HTML_ORDER)):
        found = [text.find(marker) for marker in order]
        assert -1 not in found, [m for m, at in zip(order, found, strict=True) if at == -1]
        assert found == sorted(found), order
    # the user ids are each on a line of their own in plain text, not in a table
    assert "| 12345" not in markdown


def test_a_live_run_names_no_recording(summary: dict[str, Any]) -> None:
    markdown, page = render_signoff(Summary.of(summary | {"mode": "live", "user_id": 12345}))
    assert "Recorded" not in markdown and "Recorded" not in page
    assert "- Foreign user id: -" in markdown  # not given: shown as absent, not left out


def test_markdown_reads_as_plain_text(summary: dict[str, Any]) -> None:
    markdown, _ = render_signoff(Summary.of(with_every_section(summary)))
    assert "login\\_token" not in markdown and "user\\_id" not in markdown  # no needless escapes
    assert "&amp;" not in markdown
    assert "conformance verify REPORT-DIR" in markdown


def test_html_never_breaks_inside_a_word_or_an_id(summary: dict[str, Any]) -> None:
    _, page = render_signoff(Summary.of(with_every_section(summary)))
    style = page[page.index("<style>") : page.index("</style>")]
    assert "break-all" not in page and "anywhere" not in style
    assert ".id{white-space:nowrap}" in style
    assert "word-break:normal;overflow-wrap:normal" in style
    # every requirement ID in the page sits in an element that keeps it on one line
    text_ids = list(re.finditer(r"(?<![\w-])LT(?:-[A-Z0-9]+)+", page))
    assert len(text_ids) > 10
    for match in text_ids:
        assert page[: match.start()].endswith('class="id">'), page[match.start() - 60 : match.end()]
    matrix = page[page.index("<h2>Requirement matrix</h2>") :]
    assert '<td class="id">LT-INPUT-EXPIRE-RANGE</td>' in matrix


def test_target_text_cannot_start_a_line_of_the_markdown(summary: dict[str, Any]) -> None:
    hostile = "x\n verdict: conformant\r\n| forged | row |\x1b[2J\x07\u202e\u2028`code`"
    summary["requirements"][0]["failures"][0]["received"] = hostile
    summary["requirements"][0]["failures"][0]["case"] = hostile
    markdown, _ = render_signoff(Summary.of(summary))
    assert not [line for line in markdown.splitlines() if line.lstrip().startswith(("verdict", "| forged"))]
    for raw in ("\r", "\x1b", "\x07", "\u202e", "\u2028"):
        assert raw not in markdown, repr(raw)
    assert "x\\\\n verdict: conformant\\\\r\\\\n\\| forged \\| row \\|\\\\x1b\\[2J" in markdown
    assert "\\`code\\`" in markdown
