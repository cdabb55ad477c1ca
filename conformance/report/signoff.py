"""The release sign-off document: verdict, what was tested, the requirement matrix and the evidence.

Rendered from ``summary.json`` (docs/summary-format.md) alone, optionally against a baseline summary,
to ``signoff.md`` and a self-contained ``signoff.html``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance import contract
from conformance.cassettes.agreement import recording_lines
from conformance.entropy import entropy_line
from conformance.files import write_atomic
from conformance.report._document import Block, Code, Heading, Para, Table, to_html, to_markdown
from conformance.report._text import scrub
from conformance.summary import checked_verdict, declared_not_applicable, not_exercised

SIGNOFF_MD = "signoff.md"
SIGNOFF_HTML = "signoff.html"
DEFAULT_MANIFEST_NOTE = (
    "Every file of this report directory is listed with its SHA-256 in MANIFEST.sha256. "
    "Check it with `conformance verify <report-dir>` or `sha256sum -c MANIFEST.sha256` inside the directory."
)
FAILING_OUTCOMES = frozenset({"failed"})
MISSING = "-"
WAIVER_KEYS = ("requirement", "ticket", "reason", "approver", "expires")

Summary = Mapping[str, Any]


def _s(value: object) -> str:
    return MISSING if value is None or value == "" else scrub(str(value))


def _requirements(summary: Summary) -> list[Mapping[str, Any]]:
    return list(summary.get("requirements") or [])


def _header(summary: Summary) -> list[Block]:
    verdict = _s(checked_verdict(summary))
    blocks: list[Block] = [
        Heading(f"Conformance sign-off: {contract.ENDPOINT}", level=1),
        Para(f"Verdict: {verdict.upper()}", css=f"verdict v-{verdict.replace(' ', '-')}"),
    ]
    if verdict == "conformant with waivers":
        blocks.append(
            Para(
                "Every MUST requirement passed or failed only where a waiver (listed below, with its reason, "
                "ticket, approver and expiry) accepts the failure; the failures keep their evidence."
            )
        )
    if summary.get("error"):
        blocks.append(Para(f"Error: {_s(summary['error'])}"))
    if verdict == "incomplete":
        blocks.append(
            Para(
                "MUST requirements were not exercised (listed below with the reason): this document cannot "
                "sign off a release until they are exercised or declared not applicable."
            )
        )
    elif summary.get("complete") is False:
        blocks.append(Para("The run did not complete: this document cannot sign off a release."))
    blocks += [Para(line) for line in recording_lines(summary)]  # replay: which recording, how old
    rows = [
        ("Target", summary.get("target")),
        ("Target version", summary.get("target_version")),
        ("Suite version", summary.get("suite_version")),
        ("Suite commit", summary.get("suite_commit")),
        ("Mode", summary.get("mode")),
        ("Profile", summary.get("profile")),
        ("Seed", summary.get("seed")),
        ("Max examples", summary.get("max_examples")),
        ("Started", summary.get("started")),
        ("Finished", summary.get("finished")),
        ("Duration (s)", summary.get("duration_s")),
        ("Requests sent", summary.get("requests")),
        ("Exit code", summary.get("exit_code")),
    ]
    blocks += [Heading("What was tested"), Table(("Item", "Value"), tuple((k, _s(v)) for k, v in rows))]
    if "token_entropy" in summary:  # the bound the token sample supports (issue 11)
        blocks.append(Para(entropy_line(summary["token_entropy"])))
    cassettes = summary.get("cassettes") or []
    if cassettes:
        blocks += [
            Heading("Cassettes used", level=3),
            Table(
                ("Cassette", "SHA-256"), tuple((_s(c.get("path")), _s(c.get("sha256"))) for c in cassettes)
            ),
        ]
    stale = summary.get("stale_interactions") or []
    if stale:
        blocks.append(
            Para(f"{len(stale)} recorded interaction(s) were never replayed (stale cassette entries).")
        )
    return blocks


def _waivers(summary: Summary) -> list[Block]:
    """Waived requirements, then expired and unused waivers: near the top, so no one misses them."""
    block = summary.get("waivers")
    if not isinstance(block, Mapping):
        return []
    waived = [r for r in _requirements(summary) if r.get("outcome") == "waived"]
    applied = {str(w.get("ticket")): w for w in block.get("applied") or [] if isinstance(w, Mapping)}
    blocks: list[Block] = []
    if waived or applied or block.get("expired") or block.get("unused"):
        blocks.append(Heading("Waivers"))
        if block.get("file"):
            blocks.append(Para(f"Waivers file {_s(block.get('file'))}, judged on {_s(block.get('today'))}."))
    if waived:
        rows = []
        for req in waived:
            tickets = sorted({str(f.get("waived_by")) for f in req.get("failures") or []})
            for ticket in tickets:
                w = applied.get(ticket, {})
                reason = "failed in the baseline (--fail-on new)" if ticket == "baseline" else w.get("reason")
                rows.append(
                    (
                        _s(req.get("id")),
                        _s(req.get("failure_count")),
                        _s(ticket),
                        _s(reason),
                        _s(w.get("approver")),
                        _s(w.get("expires")),
                    )
                )
        blocks += [
            Heading(f"Waived failures ({len(waived)})", level=3),
            Table(("Requirement", "Failures", "Ticket", "Reason", "Approver", "Expires"), tuple(rows)),
        ]
    for kind, says in (("expired", "Expired waivers (no longer applied)"), ("unused", "Unused waivers")):
        listed = [w for w in block.get(kind) or [] if isinstance(w, Mapping)]
        if listed:
            blocks += [
                Heading(f"{says} ({len(listed)})", level=3),
                Table(
                    ("Requirement", "Ticket", "Reason", "Approver", "Expires"),  # WAIVER_KEYS
                    tuple(
                        tuple(
                            _s(w.get(k)) for k in ("requirement", "ticket", "reason", "approver", "expires")
                        )
                        for w in listed
                    ),
                ),
            ]
    return blocks


def _matrix(summary: Summary) -> list[Block]:
    rows = tuple(
        (
            _s(r.get("id")),
            _s(r.get("title")),
            _s(r.get("severity")),
            _s(r.get("level")),
            _s(r.get("outcome")),
            _s(r.get("checks_run", 0)),
            _s(r.get("failure_count", 0)),
        )
        for r in _requirements(summary)
    )
    counts: dict[str, int] = {}
    for r in _requirements(summary):
        outcome = str(r.get("outcome"))
        counts[outcome] = counts.get(outcome, 0) + 1
    tally = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no requirements"
    headers = ("ID", "Requirement", "Severity", "Level", "Outcome", "Evidence (checks run)", "Failures")
    return [Heading("Requirement matrix"), Para(tally), Table(headers, rows, outcome_column=4)]


def _coverage(summary: Summary) -> list[Block]:
    blocks: list[Block] = [Heading("Not exercised")]
    missing = not_exercised(summary, level=None)
    levels = {str(r.get("id")): _s(r.get("level")) for r in _requirements(summary)}
    if missing:
        rows = tuple((_s(rid), levels.get(rid, MISSING), _s(reason)) for rid, reason in missing)
        blocks.append(Table(("ID", "Level", "Why it was not exercised"), rows))
    else:
        blocks.append(Para("Every requirement was exercised."))
    exempt = declared_not_applicable(summary)
    blocks.append(Heading("Declared not applicable (--not-applicable)"))
    if exempt:
        blocks.append(Table(("ID", "Reason given"), tuple((_s(rid), _s(reason)) for rid, reason in exempt)))
    else:
        blocks.append(Para("None."))
    return blocks


def _failures(summary: Summary) -> list[Block]:
    blocks: list[Block] = [Heading("Failures and how to reproduce them")]
    failing = [r for r in _requirements(summary) if r.get("failures") or r.get("failure_count")]
    if not failing:
        return [*blocks, Para("No failures.")]
    for req in failing:
        blocks.append(Heading(f"{_s(req.get('id'))} {_s(req.get('title'))}", level=3))
        failures = list(req.get("failures") or [])
        for n, failure in enumerate(failures, start=1):
            rows = [
                ("Check", failure.get("check")),
                ("Failure", failure.get("title")),
                ("Expected", failure.get("expected")),
                ("Received", failure.get("received")),
                ("Case", failure.get("case")),
                ("Test", failure.get("test")),
                ("Request #", failure.get("sequence")),
            ]
            blocks += [
                Para(f"Failure {n} of {req.get('failure_count', len(failures))}"),
                Table(("Field", "Value"), tuple((k, _s(v)) for k, v in rows)),
            ]
            reproduce = failure.get("reproduce") or {}
            commands = [
                f"# {label}\n{_s(reproduce[key])}"
                for key, label in (
                    ("curl", "live (export CONFORMANCE_API_KEY first)"),
                    ("replay", "replay from the cassettes"),
                )
                if reproduce.get(key)
            ]
            blocks.append(Code("\n\n".join(commands)) if commands else Para("No reproduction recorded."))
        hidden = int(req.get("failure_count", len(failures))) - len(failures)
        if hidden > 0:
            blocks.append(Para(f"{hidden} more failure(s) of this requirement are not listed (see Allure)."))
    return blocks


def _ambiguities(summary: Summary) -> list[Block]:
    exercised = list(summary.get("ambiguities_exercised") or [])
    blocks: list[Block] = [Heading("Readings of the ambiguity register that were exercised")]
    if not exercised:
        return [*blocks, Para("None.")]
    rows = []
    for item in exercised:
        known = contract.AMBIGUITIES_BY_ID.get(str(item.get("id")))
        issue = known.issue if known else MISSING
        rows.append(
            (_s(item.get("id")), issue, _s(item.get("reading")), ", ".join(item.get("requirements") or []))
        )
    return [*blocks, Table(("ID", "Where the seed is unclear", "Reading taken", "Requirements"), tuple(rows))]


def _baseline(summary: Summary, baseline: Summary) -> list[Block]:
    now = {str(r.get("id")): str(r.get("outcome")) for r in _requirements(summary)}
    before = {str(r.get("id")): str(r.get("outcome")) for r in _requirements(baseline)}
    new, fixed, unchanged, other = [], [], [], []
    for rid in sorted(now.keys() | before.keys()):
        a, b = before.get(rid, "absent"), now.get(rid, "absent")
        row = (rid, a, b)
        if b in FAILING_OUTCOMES and a not in FAILING_OUTCOMES:
            new.append(row)
        elif a in FAILING_OUTCOMES and b in {"passed", "warning"}:
            fixed.append(row)
        elif a == b:
            unchanged.append(row)
        else:
            other.append(row)
    blocks: list[Block] = [
        Heading("Compared with the baseline"),
        Para(
            f"Baseline: suite {_s(baseline.get('suite_version'))} at {_s(baseline.get('suite_commit'))}, "
            f"target {_s(baseline.get('target'))} {_s(baseline.get('target_version'))}, "
            f"verdict {_s(baseline.get('verdict'))}, finished {_s(baseline.get('finished'))}."
        ),
    ]
    headers = ("ID", "Baseline", "This run")
    for title, rows in (
        ("Newly failing", new),
        ("Fixed", fixed),
        ("Other changes", other),
        ("Unchanged", unchanged),
    ):
        blocks.append(Heading(f"{title} ({len(rows)})", level=3))
        blocks.append(Table(headers, tuple(rows), outcome_column=2) if rows else Para("None."))
    return blocks


def render_signoff(
    summary: Summary, *, baseline: Summary | None = None, manifest_note: str = DEFAULT_MANIFEST_NOTE
) -> tuple[str, str]:
    """The sign-off document as (markdown, html)."""
    blocks = (
        _header(summary)
        + _waivers(summary)
        + _matrix(summary)
        + _coverage(summary)
        + _failures(summary)
        + _ambiguities(summary)
    )
    if baseline is not None:
        blocks += _baseline(summary, baseline)
    blocks += [Heading("Evidence"), Para(manifest_note)]
    title = f"Sign-off {contract.ENDPOINT}: {_s(checked_verdict(summary))}"
    return to_markdown(blocks), to_html(blocks, title=title)


def write_signoff(report_dir: Path, summary: Summary, *, baseline: Summary | None = None) -> None:
    """Write signoff.md and signoff.html into ``report_dir`` atomically."""
    markdown, page = render_signoff(summary, baseline=baseline)
    write_atomic(report_dir / SIGNOFF_MD, markdown)
    write_atomic(report_dir / SIGNOFF_HTML, page)
