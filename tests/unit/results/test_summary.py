"""The typed Summary: built once, a JSON round trip that loses nothing, a verdict derived, never stated."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conformance.core.errors import ConfigError
from conformance.frontends.cli.console import print_outcome
from conformance.frontends.cli.report import report_command
from conformance.frontends.cli.rerun import _load as load_rerun_summary
from conformance.results.report.allure import environment_of
from conformance.results.report.ci import step_summary
from conformance.results.report.junit import junit_properties
from conformance.results.report.signoff import render_signoff
from conformance.results.summary import (
    Failure,
    Reproduce,
    RequirementResult,
    RunFacts,
    Setting,
    Summary,
    SummaryContradiction,
    SummaryError,
    build_summary,
    read_summary,
    verdict_line,
)
from conformance.results.verdict import Coverage, Outcome, Verdict
from conformance.results.waivers import WaiverSet, parse_waivers
from conformance.session.publish import load_baseline
from tests.support.runs import failing_run
from tests.support.summaries import FACTS, TODAY, waiver

# summary.json's top-level keys in their order (docs/summary-format.md): readers and diffs rely on it.
DOCUMENT_KEYS = [
    "schema_version", "verdict", "complete", "exit_code", "error", "target", "target_version", "user_id",
    "foreign_user_id", "unknown_user_ids", "mode", "profile", "seed", "max_examples", "suite_version",
    "suite_commit", "started", "finished", "duration_s", "cassettes", "stale_interactions",
    "unused_cassettes", "throttled", "throttle_waited_s", "user_agent", "valid_key_in_query", "token_entropy",
    "stopped_early", "preflight_notes", "recording", "config_file", "settings", "requests",
    "not_exercised", "not_applicable", "waivers", "requirements", "ambiguities_exercised", "tests",
]  # fmt: skip


def _built(**kwargs: object) -> Summary:
    return build_summary(failing_run("59", "86401"), facts=FACTS, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"error": "target unreachable", "error_code": 3},
        {"waivers": WaiverSet(parse_waivers(waiver()), today=TODAY)},
        {"coverage": Coverage(not_applicable={"LT-QRCODE-URL": "no QR codes"}, stopped="3 transport errors")},
    ],
    ids=["failing", "error", "waived", "not-applicable-and-stopped"],
)
def test_a_summary_equals_its_json_round_trip(kwargs: dict[str, object]) -> None:
    summary = _built(**kwargs)
    text = summary.to_json()
    assert Summary.from_json(text) == summary
    assert Summary.from_json(text).to_json() == text  # byte for byte
    assert list(json.loads(text)) == DOCUMENT_KEYS


def test_a_stub_round_trips_with_only_its_identity() -> None:
    stub = Summary.stub_of(
        RunFacts(target="replay:cassettes", mode="replay"), error="in progress", exit_code=130
    )
    document = json.loads(stub.to_json())
    assert document == {
        "schema_version": 1, "verdict": "error", "complete": False, "exit_code": 130, "error": "in progress",
        "target": "replay:cassettes", "mode": "replay", "requirements": [],
    }  # fmt: skip
    assert Summary.from_json(stub.to_json()) == stub


def test_failure_evidence_and_reproduction_survive_the_round_trip() -> None:
    summary = _built()
    failed = next(r for r in summary.requirements if r.outcome is Outcome.FAILED)
    first = failed.failures[0]
    assert first.evidence["response"]["status"] == 200 and "request" in first.evidence
    assert first.reproduce is not None and first.reproduce.curl.startswith("curl ")
    again = Summary.from_json(summary.to_json())
    assert next(r for r in again.requirements if r.id == failed.id).failures[0] == first


def _requirement(rid: str, outcome: Outcome, **extra: object) -> RequirementResult:
    return RequirementResult(rid, outcome, level="must", **extra)  # type: ignore[arg-type]


WAIVED = _requirement(
    "LT-QRCODE-URL",
    Outcome.WAIVED,
    failure_count=1,
    failures=(
        Failure("qrcode_url", "t", "https", "ftp", "c", waived_by="PAY-1", reproduce=Reproduce("curl", "r")),
    ),
)


@pytest.mark.parametrize(
    ("requirements", "changes", "verdict", "exit_code", "complete"),
    [
        ((_requirement("LT-QRCODE-URL", Outcome.PASSED),), {}, Verdict.CONFORMANT, 0, True),
        ((_requirement("LT-QRCODE-URL", Outcome.FAILED),), {}, Verdict.NON_CONFORMANT, 1, True),
        ((_requirement("LT-AUTH-USER-SCOPE", Outcome.SKIPPED),), {}, Verdict.INCOMPLETE, 6, False),
        ((_requirement("LT-SEC-NO-STORE", Outcome.WARNING),), {}, Verdict.CONFORMANT, 0, True),
        ((WAIVED,), {}, Verdict.CONFORMANT_WITH_WAIVERS, 0, True),
        ((_requirement("LT-QRCODE-URL", Outcome.PASSED),), {"facts": RunFacts(stopped_early="x")},
         Verdict.INCOMPLETE, 6, False),
        ((_requirement("LT-QRCODE-URL", Outcome.PASSED),), {"error": "boom", "error_code": 4},
         Verdict.ERROR, 4, False),
        ((_requirement("LT-QRCODE-URL", Outcome.PASSED),), {"error": "boom"}, Verdict.ERROR, 5, False),
        ((), {}, Verdict.ERROR, 5, False),  # nothing judged at all: never a pass
    ],
)  # fmt: skip
def test_the_verdict_is_derived_from_the_outcomes(
    requirements: tuple[RequirementResult, ...],
    changes: dict[str, object],
    verdict: Verdict,
    exit_code: int,
    complete: bool,
) -> None:
    summary = dataclasses.replace(Summary(requirements=requirements), **changes)  # type: ignore[arg-type]
    assert (summary.verdict, summary.exit_code, summary.complete) == (verdict, exit_code, complete)


def test_a_typed_summary_has_no_verdict_of_its_own_to_contradict() -> None:
    names = {f.name for f in dataclasses.fields(Summary)}
    assert not names & {"verdict", "exit_code", "complete"}
    summary = Summary(requirements=(_requirement("LT-QRCODE-URL", Outcome.PASSED),), error_code=1)
    assert summary.error_code is None and summary.exit_code == 0  # an exit code only an error may choose


# ---- Every reader refuses a summary.json whose stated verdict contradicts its outcomes -----------------


def _edited(tmp_path: Path) -> Path:
    """A failing run's summary.json, hand-edited to say conformant (exit 0)."""
    document = json.loads(_built().to_json())
    document.update(verdict="conformant", exit_code=0)
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _report(path: Path) -> object:
    result = CliRunner().invoke(report_command, ["--report-dir", str(path.parent)], standalone_mode=False)
    raise result.exception if result.exception else AssertionError("report accepted the summary")


READERS: dict[str, tuple[Callable[[Path], object], type[Exception]]] = {
    "read_summary (sign-off, JUnit, Allure, console via the typed Summary)": (
        read_summary,
        SummaryContradiction,
    ),
    "publish --baseline": (load_baseline, ConfigError),
    "conformance rerun": (load_rerun_summary, SummaryContradiction),
    "conformance report": (_report, click.ClickException),
}


@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
def test_every_reader_refuses_a_contradicting_summary(
    tmp_path: Path, reader: tuple[Callable[[Path], object], type[Exception]]
) -> None:
    read, error = reader
    with pytest.raises(
        error, match="states verdict 'conformant' but its requirement outcomes give 'non-conformant'"
    ):
        read(_edited(tmp_path))


def test_an_edited_exit_code_is_refused_too(tmp_path: Path) -> None:
    document = json.loads(_built().to_json())
    document["exit_code"] = 0
    with pytest.raises(
        SummaryContradiction, match="states exit code 0 but verdict 'non-conformant' means exit 1"
    ):
        Summary.from_json(json.dumps(document))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "not a summary.json object"),
        ("{", "not JSON"),
        ('{"verdict": "error", "exit_code": 5, "seed": "7"}', "field seed: expected an integer"),
        ('{"verdict": "error", "exit_code": 5, "requirements": {}}', "field requirements: expected a list"),
    ],
)
def test_a_document_that_is_not_a_summary_is_refused(text: str, message: str) -> None:
    with pytest.raises(SummaryError, match=message):
        Summary.from_json(text)


def _consumers(summary: Summary) -> dict[str, str]:
    markdown, page = render_signoff(summary)
    return {
        "sign-off": markdown + page,
        "junit": dict(junit_properties(summary))["verdict"],
        "allure environment": environment_of(summary)["verdict"],
        "console": verdict_line(summary),
        "ci step summary": step_summary(summary),
    }


def test_every_consumer_shows_the_derived_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    summary = _built()
    assert summary.verdict is Verdict.NON_CONFORMANT
    shown = _consumers(summary)
    assert shown["junit"] == shown["allure environment"] == "non-conformant"
    assert shown["console"].startswith("verdict: non-conformant")
    assert "Verdict: NON-CONFORMANT" in shown["sign-off"]
    assert shown["ci step summary"].startswith("### Conformance: NON-CONFORMANT")
    print_outcome(summary, report_dir=Path("reports"), quiet=True)
    assert "verdict: non-conformant" in capsys.readouterr().out


NOTE = (
    '--foreign-user-id 54321 gets the same refusal as the unknown user 999999 (HTTP 403 "no [access](x)"): '
    "the target does not show whether user 54321 exists"
)


def test_a_preflight_note_round_trips_changes_no_verdict_and_every_report_shows_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The note on --foreign-user-id: in summary.json, the console (-q: on stderr), the sign-off beside the
    users it is about and the CI summary (the target's text in it inert); the verdict is the same."""
    plain = _built()
    summary = dataclasses.replace(plain, facts=dataclasses.replace(plain.facts, preflight_notes=(NOTE,)))
    assert Summary.from_json(summary.to_json()) == summary
    assert json.loads(summary.to_json())["preflight_notes"] == [NOTE]
    assert (summary.verdict, summary.exit_code) == (plain.verdict, plain.exit_code)
    markdown, _ = render_signoff(summary)
    identity, failures = markdown.split("## Failures and how to reproduce them")
    assert "Preflight note: --foreign-user-id 54321 gets the same refusal" in identity
    assert "Preflight note" not in failures
    assert "- note: --foreign-user-id 54321 gets the same refusal as the unknown user 999999 (HTTP 403 " \
        '"no \\[access\\](x)"): the target does not show' in step_summary(summary)  # fmt: skip
    print_outcome(summary, report_dir=Path("reports"), quiet=True)
    quiet = capsys.readouterr()
    assert f"note: {NOTE}" in quiet.err and "note:" not in quiet.out
    print_outcome(summary, report_dir=Path("reports"), quiet=False)
    assert f"note: {NOTE}" in " ".join(capsys.readouterr().out.split())


LOOSENED = Setting(
    "expire_tolerance", "5", "3700", "profile file lenient.toml", "contract", "seed line 24: <expire> ..."
)


def test_a_modified_contract_round_trips_and_gives_its_own_verdict() -> None:
    facts = dataclasses.replace(FACTS, config_file="conformance.toml", settings=(LOOSENED,))
    summary = Summary(facts=facts, requirements=(_requirement("LT-QRCODE-URL", Outcome.PASSED),))
    assert (summary.verdict, summary.exit_code) == (Verdict.MODIFIED_CONTRACT, 7)
    assert Summary.from_json(summary.to_json()) == summary
    assert "conformant under a modified contract (a setting changes what the vendor document fixes: " \
        "expire_tolerance = 3700)" in verdict_line(summary)  # fmt: skip
    document = json.loads(summary.to_json())
    assert document["settings"][0]["kind"] == "contract"
    document["settings"][0]["kind"] = "reading"  # hand-edited to hide the change
    with pytest.raises(SummaryContradiction, match="give 'conformant'"):
        Summary.of(document)
    document["settings"][0]["kind"] = "lenient"
    with pytest.raises(SummaryError, match=r"settings\[0\]\.kind"):
        Summary.of(document)


def test_the_signoff_says_the_contract_was_modified_and_lists_every_setting() -> None:
    option = Setting("--seed", "-", "3", "config file conformance.toml")
    facts = dataclasses.replace(FACTS, config_file="conformance.toml", settings=(option, LOOSENED))
    summary = Summary(facts=facts, requirements=(_requirement("LT-QRCODE-URL", Outcome.PASSED),))
    markdown, page = render_signoff(summary)
    assert "**Verdict: CONFORMANT UNDER A MODIFIED CONTRACT**" in markdown
    assert "This is not a sign-off of the vendor's contract." in markdown
    assert "| --seed | - | 3 | config file conformance.toml | run option |" in markdown
    assert "| expire_tolerance | 5 | 3700 | profile file lenient.toml | modifies the contract" in markdown
    assert "Options were read from the config file conformance.toml." in markdown
    assert "v-conformant-under-a-modified-contract" in page


def test_the_signoff_says_when_every_setting_was_its_default() -> None:
    markdown, _ = render_signoff(
        Summary(facts=FACTS, requirements=(_requirement("LT-QRCODE-URL", Outcome.PASSED),))
    )
    assert "None: every option and profile setting was its default." in markdown
