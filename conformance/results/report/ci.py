"""CI integration: the run's verdict and failing requirements appended to the GitHub Actions job summary.

GitHub sets ``GITHUB_STEP_SUMMARY`` to a Markdown file per step; whatever is appended shows on the run's
page. Outside GitHub Actions (the variable unset) nothing is written. Only the suite's own words and the
requirement catalogue go there, never a target's response body (an error or a preflight note quotes at most
a refusal's message, redacted and cut short, on one line).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from conformance.redaction.run_secrets import RunSecrets
from conformance.results.report._document import md_escape
from conformance.results.report._text import run_or_none, scrub, scrub_line
from conformance.results.summary import Summary, waiver_lines
from conformance.results.verdict import Outcome

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
SHOWN_OUTCOMES = (Outcome.FAILED, Outcome.WAIVED, Outcome.WARNING)
MAX_LISTED = 50


def _plain(value: object, secrets: RunSecrets) -> str:
    # Markdown-inert one-liner: no backticks, pipes, line breaks or control characters from a URL or version.
    text = scrub_line(str(value), secrets)
    return text.replace("`", "'").replace("|", "/").replace("<", "&lt;")


def step_summary(summary: Summary, *, secrets: RunSecrets | None = None) -> str:
    """The Markdown block for the job summary: verdict, target, mode, then each failing requirement
    (``secrets``: the run's, scrubbed from every value; None: outside a run)."""
    secrets = run_or_none(secrets)
    facts = summary.facts
    lines = [
        f"### Conformance: {summary.verdict.value.upper()}",
        "",
        f"target `{_plain(facts.target, secrets)}` · version `{_plain(facts.target_version or '-', secrets)}`"
        f" · mode {_plain(facts.mode, secrets)} · seed {_plain(facts.seed, secrets)}"
        f" · exit {summary.exit_code}",
        "",
    ]
    if summary.error:
        lines += [f"Error: {_plain(summary.error, secrets)}", ""]
    listed = [r for r in summary.requirements if r.outcome in SHOWN_OUTCOMES]
    if listed:
        lines.append("| Requirement | Outcome | Failures | Title |")
        lines.append("|---|---|---:|---|")
        for entry in listed[:MAX_LISTED]:
            lines.append(
                f"| {_plain(entry.id, secrets)} | {entry.outcome.value} "
                f"| {entry.failure_count} | {_plain(entry.title, secrets)} |"
            )
        if len(listed) > MAX_LISTED:
            lines.append(f"| … | {len(listed) - MAX_LISTED} more | | |")
    else:
        lines.append("No failing requirement.")
    # a preflight note quotes a refusal's message: escaped so that no markup of the target's renders
    notes = [f"- note: {md_escape(scrub(note, secrets))}" for note in facts.preflight_notes]
    notes += [f"- {_plain(note, secrets)}" for note in waiver_lines(summary)]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n\n"


def append_step_summary(
    summary: Summary, *, environ: Mapping[str, str] = os.environ, secrets: RunSecrets | None = None
) -> Path | None:
    """Append ``step_summary`` to $GITHUB_STEP_SUMMARY when it is set; returns the file written, or None."""
    target = environ.get(STEP_SUMMARY_ENV)
    if not target:
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(step_summary(summary, secrets=secrets))
    except OSError:
        return None  # the job summary is a courtesy: it must never change the run's verdict or exit code
    return path
