"""The CI templates in examples/ci/: valid against the published schemas (offline), commands the CLI takes."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from conformance.frontends.cli import cli
from conformance.session.config import ConfigFileError, resolve_options
from tests.support import ROOT

EXAMPLES = ROOT / "examples" / "ci"
SCHEMAS = EXAMPLES / "schemas"
TEMPLATES = {"github-actions.yml": "github-workflows.json", "gitlab-ci.yml": "gitlab-ci.json"}
# check-jsonschema with every socket refused: the validation must not need the network.
OFFLINE_CHECK = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network disabled by the test")
socket.socket.connect = refuse
socket.create_connection = refuse
from check_jsonschema import main
main(sys.argv[1:])
"""
STAGING_VARIABLES = {
    "STAGING_URL": "https://staging.example.com",
    "STAGING_USER_ID": "12345",
    "STAGING_FOREIGN_USER_ID": "54321",
    "TARGET_VERSION": "abc123",
}


def check_jsonschema(schema: Path, document: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", OFFLINE_CHECK, "--schemafile", str(schema), str(document)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize(("template", "schema"), sorted(TEMPLATES.items()))
def test_template_validates_against_its_published_schema(template: str, schema: str) -> None:
    done = check_jsonschema(SCHEMAS / schema, EXAMPLES / template)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


@pytest.mark.parametrize(
    ("template", "good", "bad"),
    [
        ("github-actions.yml", "    steps:\n", "    stepz:\n"),
        ("github-actions.yml", "runs-on: ubuntu-latest", "runs-on: [1, {a: b}]"),
        ("gitlab-ci.yml", "    when: always\n", "    when: sometimes\n"),
        ("gitlab-ci.yml", "  resource_group: staging", "  resource_groop: staging"),
    ],
)
def test_the_schema_check_catches_a_broken_template(
    tmp_path: Path, template: str, good: str, bad: str
) -> None:
    text = (EXAMPLES / template).read_text(encoding="utf-8")
    assert good in text
    broken = tmp_path / template
    broken.write_text(text.replace(good, bad, 1), encoding="utf-8")
    done = check_jsonschema(SCHEMAS / TEMPLATES[template], broken)
    assert done.returncode == 1, done.stdout + done.stderr


def _shell_lines(template: str) -> list[str]:
    document = load(template)
    lines: list[str] = []
    for job in document["jobs"].values() if "jobs" in document else [document["conformance:staging"]]:
        for step in job.get("steps", []):
            lines += str(step.get("run", "")).splitlines()
        for part in ("before_script", "script", "after_script"):
            lines += job.get(part, [])
    return lines


def _commands(template: str) -> list[list[str]]:
    """Every `conformance` command of a template's shell lines, without the shell's own words."""
    commands = []
    for line in _shell_lines(template):
        for part in line.split(";"):
            part = part.split("||", 1)[0].strip()
            if part.startswith("conformance "):
                words = [w for w in shlex.split(part)[1:] if not w.startswith("$")]
                commands.append(words)
    return commands


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_conformance_command_in_a_template_parses_with_the_real_cli(template: str) -> None:
    commands = _commands(template)
    assert [c[0] for c in commands] == ["run", "report"]
    for name, *args in commands:
        command = cli.commands[name]
        with command.make_context(name, list(args)) as context:
            assert isinstance(context, click.Context)
    run, report = commands
    assert run[run.index("--env") + 1] == "staging"
    assert "--install-allure" in report  # no make, no checkout of the suite
    assert "--sign-key-env CONFORMANCE_SIGNING_KEY" in (EXAMPLES / template).read_text(encoding="utf-8")


def test_the_example_config_resolves_for_staging_and_holds_no_key() -> None:
    config = EXAMPLES / "conformance.toml"
    options = resolve_options({"config": config, "env": "staging"}, cwd=ROOT, environ=STAGING_VARIABLES)
    assert options.target == STAGING_VARIABLES["STAGING_URL"]
    assert (options.user_id, options.foreign_user_id) == (12345, 54321)
    assert (options.seed, options.target_version) == (1, "abc123")
    assert options.report_dir == Path("reports")  # the job's own ./reports, never outside its checkout
    unset = resolve_options(
        {"config": config, "env": "staging"},
        cwd=ROOT,
        environ={**STAGING_VARIABLES, "STAGING_FOREIGN_USER_ID": ""},
    )
    assert unset.foreign_user_id is None  # an empty optional variable: the option is unset, not an error
    with pytest.raises(ConfigFileError, match=r"\$\{STAGING_URL\} is not set"):
        resolve_options({"config": config, "env": "staging"}, cwd=ROOT, environ={})


def test_github_workflow_takes_the_keys_from_secrets_and_publishes_junit_report_and_signoff() -> None:
    job = load("github-actions.yml")["jobs"]["staging"]
    steps = {step.get("name", step.get("uses")): step for step in job["steps"]}
    run = steps["Conformance run against staging"]
    assert run["env"]["CONFORMANCE_API_KEY"] == "${{ secrets.CONFORMANCE_API_KEY }}"
    report = steps["Report, sign-off and evidence (signed when the key is set)"]
    assert report["env"]["CONFORMANCE_SIGNING_KEY"] == "${{ secrets.CONFORMANCE_SIGNING_KEY }}"
    assert steps["JUnit results"]["with"]["report_paths"] == "reports/junit.xml"
    assert steps["Report artifact"]["with"]["path"] == "reports/"
    after_the_run = [s for s in job["steps"] if job["steps"].index(s) > job["steps"].index(run)]
    assert all(step["if"] == "${{ !cancelled() }}" for step in after_the_run)  # a failing run still reports
    # The run writes the verdict to the job summary itself: the template never writes it a second time.
    assert "GITHUB_STEP_SUMMARY" not in "\n".join(_shell_lines("github-actions.yml"))
    install = steps["Install the suite (its wheel, dependencies pinned by its lock)"]["run"]
    assert '--require-hashes --no-deps -r "$CONFORMANCE_LOCK"' in install and "pip install ." not in install


def test_gitlab_job_takes_the_keys_from_ci_variables_and_publishes_junit_report_and_signoff() -> None:
    job = load("gitlab-ci.yml")["conformance:staging"]
    text = (EXAMPLES / "gitlab-ci.yml").read_text(encoding="utf-8")
    assert "CONFORMANCE_API_KEY" not in job.get("variables", {})  # a masked CI/CD variable, not in the file
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "reports/junit.xml"
    assert job["artifacts"]["paths"] == ["reports/"]
    assert "after_script" not in job  # its failures would not fail the job: the report is in the script
    assert "cat reports/signoff.md" in job["script"] and job["script"][-1] == "exit $status"
    assert "api_key" not in text.lower().replace("conformance_api_key", "")
