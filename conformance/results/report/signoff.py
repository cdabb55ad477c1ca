"""The release sign-off document: verdict, what was tested, the requirement matrix and the evidence.

Rendered from a Summary (summary.json, docs/summary-format.md) alone, optionally against a baseline
summary, to ``signoff.md`` and a self-contained ``signoff.html``. It reads top down as a release decision
is made: the verdict, what was judged (target, version, users, mode; for a replay which recording, from
when, by which suite), then what failed and what was waived or not exercised, then what changed since the
baseline, then the matrix of every requirement, then the details of the run and the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.cassettes.agreement import recording_lines
from conformance.core import contract
from conformance.core.entropy import entropy_line
from conformance.core.files import write_atomic
from conformance.redaction.run_secrets import RunSecrets
from conformance.results.report._document import (
    Block,
    Code,
    Fields,
    Heading,
    Para,
    Table,
    to_html,
    to_markdown,
)
from conformance.results.report._text import scrub
from conformance.results.summary import Summary
from conformance.results.verdict import Outcome, Verdict

SIGNOFF_MD = "signoff.md"
SIGNOFF_HTML = "signoff.html"
DEFAULT_MANIFEST_NOTE = (
    "Every file of this report directory is listed with its SHA-256 in MANIFEST.sha256. Check it with "
    "conformance verify REPORT-DIR, or with sha256sum -c MANIFEST.sha256 inside the directory."
)
FAILING_OUTCOMES = frozenset({Outcome.FAILED})
FIXED_OUTCOMES = frozenset({Outcome.PASSED, Outcome.WARNING})
MISSING = "-"
WAIVER_KEYS = ("requirement", "ticket", "reason", "approver", "expires")
# The headings of the sign-off, in the order a reader meets them (tests/unit/results/test_report_signoff.py).
FAILURES_HEADING = "Failures and how to reproduce them"
WAIVERS_HEADING = "Waivers"
NOT_EXERCISED_HEADING = "Not exercised"
NOT_APPLICABLE_HEADING = "Declared not applicable"
SETTINGS_HEADING = "Settings that differ from the defaults"
BASELINE_HEADING = "Compared with the baseline"
MATRIX_HEADING = "Requirement matrix"
DETAILS_HEADING = "What was tested"
KEY_IN_URL: dict[bool | None, str] = {
    True: "sent (loopback target, or --send-key-in-query)",
    False: "not sent: a fixed wrong key only",
}


@dataclass(frozen=True)
class _Shown:
    """A value as the sign-off shows it: scrubbed of the run's secrets, ``MISSING`` when absent."""

    secrets: RunSecrets

    def __call__(self, value: object) -> str:
        return MISSING if value is None or value == "" else scrub(str(value), self.secrets)


def _verdict(summary: Summary, shown: _Shown) -> list[Block]:
    """The verdict and, when it is not a plain pass, the one thing to know about it."""
    verdict = summary.verdict.value
    blocks: list[Block] = [
        Heading(f"Conformance sign-off: {contract.ENDPOINT}", level=1),
        Para(f"Verdict: {verdict.upper()}", css=f"verdict v-{verdict.replace(' ', '-')}"),
    ]
    if summary.verdict is Verdict.CONFORMANT_WITH_WAIVERS:
        blocks.append(
            Para(
                "Every MUST requirement passed or failed only where a waiver (listed below, with its reason, "
                "ticket, approver and expiry) accepts the failure; the failures keep their evidence."
            )
        )
    if summary.verdict is Verdict.MODIFIED_CONTRACT:
        changed = ", ".join(f"{s.name} = {s.value}" for s in summary.facts.modified_contract)
        blocks.append(
            Para(
                f"Nothing failed, but the run held the target to a modified contract ({shown(changed)}): a "
                "setting changed a limit the vendor document fixes (listed below). This is not a sign-off "
                "of the vendor's contract."
            )
        )
    if summary.error:
        blocks.append(Para(f"Error: {shown(summary.error)}"))
    if summary.verdict is Verdict.INCOMPLETE:
        blocks.append(
            Para(
                "MUST requirements were not exercised (listed below with the reason): this document cannot "
                "sign off a release until they are exercised or declared not applicable."
            )
        )
    elif not summary.complete:
        blocks.append(Para("The run did not complete: this document cannot sign off a release."))
    return blocks


def _identity(summary: Summary, shown: _Shown) -> list[Block]:
    """What was judged: target, its version, the users, the mode; for a replay, which recording; what the
    preflight noted on the configuration."""
    facts = summary.facts
    unknown = ", ".join(str(u) for u in facts.unknown_user_ids)
    items = [
        ("Target", shown(facts.target)),
        ("Target version", shown(facts.target_version)),
        ("User id (configured)", shown(facts.user_id)),
        ("Foreign user id", shown(facts.foreign_user_id)),
        ("Unknown user id", shown(unknown)),
        ("Mode", shown(facts.mode)),
    ]
    recording = facts.recording or {}
    if recording:
        items += [
            ("Recorded target", shown(recording.get("target"))),
            ("Recorded at", shown(recording.get("recorded_at"))),
            ("Recorded by suite version", shown(recording.get("suite_version"))),
        ]
    blocks: list[Block] = [Fields(tuple(items))]
    recording_of = {"recording": facts.recording, "suite_version": facts.suite_version}
    blocks += [Para(shown(line)) for line in recording_lines(recording_of)]  # by which suites, how old
    blocks += [Para(f"Preflight note: {shown(note)}") for note in facts.preflight_notes]  # on the users above
    return blocks


def _settings(summary: Summary, shown: _Shown) -> list[Block]:
    """The config file used and every option or profile setting that differs from its default."""
    facts = summary.facts
    blocks: list[Block] = [Heading(SETTINGS_HEADING)]
    if facts.config_file:
        blocks.append(Para(f"Options were read from the config file {shown(facts.config_file)}."))
    if not facts.settings:
        return [*blocks, Para("None: every option and profile setting was its default.")]
    kinds = {"option": "run option", "reading": "profile reading", "contract": "modifies the contract"}
    rows = tuple(
        (
            shown(s.name),
            shown(s.default),
            shown(s.value),
            shown(s.source),
            kinds.get(s.kind, shown(s.kind)) + (f" ({shown(s.fixed_by)})" if s.fixed_by else ""),
        )
        for s in facts.settings
    )
    return [*blocks, Table(("Setting", "Default", "Value", "From", "Kind"), rows)]


def _details(summary: Summary, shown: _Shown) -> list[Block]:
    """The rest of the run's facts: suite, profile, seed, timing, cassettes."""
    facts = summary.facts
    rows = [
        ("Suite version", facts.suite_version),
        ("Suite commit", facts.suite_commit),
        ("Profile", facts.profile),
        ("Seed", facts.seed),
        ("Max examples", facts.max_examples),
        ("Started", facts.started),
        ("Finished", facts.finished),
        ("Duration (s)", facts.duration_s),
        ("Requests sent", summary.requests),
        ("Valid key in a URL (GET/HEAD/OPTIONS query)", KEY_IN_URL.get(facts.valid_key_in_query)),
        ("Exit code", summary.exit_code),
    ]
    blocks: list[Block] = [
        Heading(DETAILS_HEADING),
        Table(("Item", "Value"), tuple((k, shown(v)) for k, v in rows), id_column=None),
    ]
    if facts.token_entropy is not None:  # the bound the token sample supports (issue 11)
        blocks.append(Para(entropy_line(facts.token_entropy)))
    if facts.cassettes:
        blocks += [
            Heading("Cassettes used", level=3),
            Table(
                ("Cassette", "SHA-256"),
                tuple((shown(c.get("path")), shown(c.get("sha256"))) for c in facts.cassettes),
                id_column=None,
            ),
        ]
    if facts.stale_interactions:
        blocks.append(
            Para(
                f"{len(facts.stale_interactions)} recorded interaction(s) were never replayed "
                "(stale cassette entries)."
            )
        )
    return blocks


def _waivers(summary: Summary, shown: _Shown) -> list[Block]:
    """Waived requirements, then expired and unused waivers: near the top, so no one misses them."""
    block = summary.waivers
    if block is None:
        return []
    waived = [r for r in summary.requirements if r.waived]
    applied = {str(w.get("ticket")): w for w in block.get("applied") or [] if isinstance(w, dict)}
    blocks: list[Block] = []
    if waived or applied or block.get("expired") or block.get("unused"):
        blocks.append(Heading(WAIVERS_HEADING))
        if block.get("file"):
            blocks.append(
                Para(f"Waivers file {shown(block.get('file'))}, judged on {shown(block.get('today'))}.")
            )
    if waived:
        rows = []
        for req in waived:
            for ticket in sorted({str(f.waived_by) for f in req.failures}):
                w = applied.get(ticket, {})
                reason = "failed in the baseline (--fail-on new)" if ticket == "baseline" else w.get("reason")
                rows.append(
                    (
                        shown(req.id),
                        shown(req.failure_count),
                        shown(ticket),
                        shown(reason),
                        shown(w.get("approver")),
                        shown(w.get("expires")),
                    )
                )
        blocks += [
            Heading(f"Waived failures ({len(waived)})", level=3),
            Table(("Requirement", "Failures", "Ticket", "Reason", "Approver", "Expires"), tuple(rows)),
        ]
    for kind, says in (("expired", "Expired waivers (no longer applied)"), ("unused", "Unused waivers")):
        listed = [w for w in block.get(kind) or [] if isinstance(w, dict)]
        if listed:
            blocks += [
                Heading(f"{says} ({len(listed)})", level=3),
                Table(
                    ("Requirement", "Ticket", "Reason", "Approver", "Expires"),
                    tuple(tuple(shown(w.get(k)) for k in WAIVER_KEYS) for w in listed),
                ),
            ]
    return blocks


def _matrix(summary: Summary, shown: _Shown) -> list[Block]:
    rows = tuple(
        (
            shown(r.id),
            shown(r.title),
            shown(r.severity),
            shown(r.level),
            r.outcome.value,
            shown(r.checks_run),
            shown(r.failure_count),
        )
        for r in summary.requirements
    )
    counts: dict[str, int] = {}
    for r in summary.requirements:
        counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
    tally = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no requirements"
    headers = ("ID", "Requirement", "Severity", "Level", "Outcome", "Evidence (checks run)", "Failures")
    return [Heading(MATRIX_HEADING), Para(tally), Table(headers, rows, outcome_column=4)]


def _coverage(summary: Summary, shown: _Shown) -> list[Block]:
    blocks: list[Block] = [Heading(NOT_EXERCISED_HEADING)]
    missing = summary.not_exercised(level=None)
    levels = {r.id: shown(r.level) for r in summary.requirements}
    declared = summary.declared_not_applicable()
    if missing:
        rows = tuple((shown(rid), levels.get(rid, MISSING), shown(reason)) for rid, reason in missing)
        blocks.append(Table(("ID", "Level", "Why it was not exercised"), rows))
    elif declared:
        blocks.append(
            Para(
                f"Every requirement was exercised except the {len(declared)} declared not applicable "
                "(below), which were not judged."
            )
        )
    else:
        blocks.append(Para("Every requirement was exercised."))
    blocks.append(Heading(NOT_APPLICABLE_HEADING))
    if declared:
        given = {d.id: d for d in summary.not_applicable}
        rows = tuple(
            (shown(rid), shown(given[rid].by), shown(given[rid].reason))
            if rid in given
            else (shown(rid), MISSING, shown(why))
            for rid, why in declared
        )
        blocks.append(Table(("ID", "Declared by", "Reason given"), rows))
    else:
        blocks.append(Para("None: nothing was declared not applicable."))
    return blocks


def _failures(summary: Summary, shown: _Shown) -> list[Block]:
    blocks: list[Block] = [Heading(FAILURES_HEADING)]
    failing = [r for r in summary.requirements if r.failures or r.failure_count]
    if not failing:
        return [*blocks, Para("No failures.")]
    for req in failing:
        blocks.append(Heading(f"{shown(req.id)} {shown(req.title)}", level=3))
        for n, failure in enumerate(req.failures, start=1):
            rows = [
                ("Check", failure.check),
                ("Failure", failure.title),
                ("Expected", failure.expected),
                ("Received", failure.received),
                ("Case", failure.case),
                ("Test", failure.test),
                ("Request #", failure.sequence),
            ]
            blocks += [
                Para(f"Failure {n} of {req.failure_count}"),
                Table(("Field", "Value"), tuple((k, shown(v)) for k, v in rows), id_column=None),
            ]
            reproduce = failure.reproduce
            commands = [
                f"# {label}\n{shown(command)}"
                for command, label in (
                    (reproduce.curl if reproduce else "", "live (export CONFORMANCE_API_KEY first)"),
                    (reproduce.replay if reproduce else "", "replay from the cassettes"),
                )
                if command
            ]
            blocks.append(Code("\n\n".join(commands)) if commands else Para("No reproduction recorded."))
        hidden = req.failure_count - len(req.failures)
        if hidden > 0:
            blocks.append(Para(f"{hidden} more failure(s) of this requirement are not listed (see Allure)."))
    return blocks


def _ambiguities(summary: Summary, shown: _Shown) -> list[Block]:
    blocks: list[Block] = [Heading("Readings of the ambiguity register that were exercised")]
    if not summary.ambiguities_exercised:
        return [*blocks, Para("None.")]
    rows = []
    for item in summary.ambiguities_exercised:
        known = contract.AMBIGUITIES_BY_ID.get(item.id)
        issue = known.issue if known else MISSING
        rows.append((shown(item.id), issue, shown(item.reading), ", ".join(item.requirements)))
    return [*blocks, Table(("ID", "Where the seed is unclear", "Reading taken", "Requirements"), tuple(rows))]


def _baseline(summary: Summary, baseline: Summary, shown: _Shown) -> list[Block]:
    now = summary.outcomes()
    before = baseline.outcomes()
    new, fixed, unchanged, other = [], [], [], []
    for rid in sorted(now.keys() | before.keys()):
        a, b = before.get(rid), now.get(rid)
        row = (rid, a.value if a else "absent", b.value if b else "absent")
        if b in FAILING_OUTCOMES and a not in FAILING_OUTCOMES:
            new.append(row)
        elif a in FAILING_OUTCOMES and b in FIXED_OUTCOMES:
            fixed.append(row)
        elif a == b:
            unchanged.append(row)
        else:
            other.append(row)
    facts = baseline.facts
    blocks: list[Block] = [
        Heading(BASELINE_HEADING),
        Para(
            f"Baseline: suite {shown(facts.suite_version)} at {shown(facts.suite_commit)}, "
            f"target {shown(facts.target)} {shown(facts.target_version)}, "
            f"verdict {baseline.verdict.value}, finished {shown(facts.finished)}."
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


def signoff_blocks(
    summary: Summary,
    *,
    baseline: Summary | None = None,
    manifest_note: str = DEFAULT_MANIFEST_NOTE,
    secrets: RunSecrets | None = None,
) -> list[Block]:
    """The sign-off in reading order: verdict and identity, failures and waivers, baseline, matrix.

    ``secrets``: the run's, scrubbed from every value shown; None outside a run (``conformance report``).
    """
    shown = _Shown(secrets if secrets is not None else RunSecrets())
    blocks = (
        _verdict(summary, shown)
        + _identity(summary, shown)
        + _settings(summary, shown)
        + _failures(summary, shown)
        + _waivers(summary, shown)
        + _coverage(summary, shown)
        + (_baseline(summary, baseline, shown) if baseline is not None else [])
        + _matrix(summary, shown)
        + _details(summary, shown)
        + _ambiguities(summary, shown)
    )
    return [*blocks, Heading("Evidence"), Para(manifest_note)]


def render_signoff(
    summary: Summary,
    *,
    baseline: Summary | None = None,
    manifest_note: str = DEFAULT_MANIFEST_NOTE,
    secrets: RunSecrets | None = None,
) -> tuple[str, str]:
    """The sign-off document as (markdown, html)."""
    blocks = signoff_blocks(summary, baseline=baseline, manifest_note=manifest_note, secrets=secrets)
    title = f"Sign-off {contract.ENDPOINT}: {summary.verdict.value}"
    return to_markdown(blocks), to_html(blocks, title=title)


def write_signoff(
    report_dir: Path, summary: Summary, *, baseline: Summary | None = None, secrets: RunSecrets | None = None
) -> None:
    """Write signoff.md and signoff.html into ``report_dir`` atomically."""
    markdown, page = render_signoff(summary, baseline=baseline, secrets=secrets)
    write_atomic(report_dir / SIGNOFF_MD, markdown)
    write_atomic(report_dir / SIGNOFF_HTML, page)
