"""Each CI template copied into an empty repository runs its steps against the reference target: the suite
from its wheel, nothing from this repository's tree (issue 22, item 7).

The steps run with bash as the CI would (GitHub: `bash -e`; GitLab: one shell for before_script and script).
What only a CI machine has is stood in for: `apt-get` does nothing, `npm ci` links the pinned Allure this
test runs with, `pip install` writes into the job's own site directory, and the lock is empty (the locked
dependencies are the ones this test runs with).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conformance.reference import REFERENCE_API_KEY, ReferenceServer
from conformance.results.report.html import find_allure
from tests.support import ROOT

pytestmark = pytest.mark.e2e
EXAMPLES = ROOT / "examples" / "ci"
EXPRESSION = re.compile(r"\$\{\{\s*(?:secrets|vars)\.(\w+)\s*\}\}|\$\{\{\s*github\.sha\s*\}\}")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `make dist` builds."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dist), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (built,) = dist.glob("*.whl")
    return built


def _executable(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def empty_repository(tmp_path: Path, template: str, destination: str) -> Path:
    """A fresh git repository holding only the template and conformance.toml (tuned for a quick run)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / destination).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLES / template, repo / destination)
    config = (EXAMPLES / "conformance.toml").read_text(encoding="utf-8")
    # The reference on loopback: no need for the staging rate, and a few examples keep the test short.
    config = config.replace("max-examples = 100", "max-examples = 5").replace("rate = 5 ", "rate = 1000 ")
    (repo / "conformance.toml").write_text(config, encoding="utf-8")
    return repo


def job_environment(tmp_path: Path, wheel: Path, server: ReferenceServer, **variables: str) -> dict[str, str]:
    """The CI machine: PATH with the stand-ins, the job's site directory, and the CI variables."""
    shims, site = tmp_path / "shims", tmp_path / "site"
    shims.mkdir()
    site.mkdir()
    _executable(shims / "python", f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    _executable(shims / "apt-get", "#!/bin/sh\nexit 0\n")
    allure = find_allure()
    _executable(
        shims / "npm",
        '#!/bin/sh\nwhile [ "$1" != "--prefix" ]; do shift; done\n'
        f'mkdir -p "$2/node_modules/.bin" && ln -sf {allure} "$2/node_modules/.bin/allure"\n',
    )
    lock = tmp_path / "requirements.lock"
    lock.write_text("# the locked dependencies are the ones the test runs with\n", encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "GITHUB_"))}
    return (
        environment
        | {
            "PATH": f"{shims}:{site / 'bin'}:{environment['PATH']}",
            "PYTHONPATH": str(site),
            "PIP_TARGET": str(site),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "CONFORMANCE_WHEEL": str(wheel),
            "CONFORMANCE_LOCK": str(lock),
            "CONFORMANCE_API_KEY": REFERENCE_API_KEY,
            "STAGING_URL": server.url,
            "STAGING_USER_ID": "12345",
            "STAGING_FOREIGN_USER_ID": "54321",
        }
        | variables
    )


def signing_key(tmp_path: Path) -> tuple[str, Path]:
    """An Ed25519 private key (PEM text) and its public key file."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = tmp_path / "public.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pem, public


def bash(script: str, *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def run_github(repo: Path, env: dict[str, str]) -> list[tuple[str, int]]:
    """Every `run` step of the workflow in order, with its env (expressions from ``env``); (name, exit)."""
    job: dict[str, Any] = yaml.safe_load((repo / ".github/workflows/conformance.yml").read_text())["jobs"][
        "staging"
    ]
    env = env | {"GITHUB_STEP_SUMMARY": str(repo.parent / "step-summary.md")}
    done, failed = [], False
    for step in job["steps"]:
        if "run" not in step or (failed and "if" not in step):
            continue
        step_env = {
            name: EXPRESSION.sub(
                lambda m: env.get(m.group(1) or "", "") if m.group(1) else "abc123", str(value)
            )
            for name, value in step.get("env", {}).items()
        }
        result = bash(step["run"], cwd=repo, env=env | step_env)
        done.append((step["name"], result.returncode))
        failed = failed or result.returncode != 0
    return done


def run_gitlab(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """before_script and script in one shell, as a GitLab runner runs them; the job's exit."""
    job: dict[str, Any] = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())["conformance:staging"]
    variables = {
        name: str(value).replace("$CI_COMMIT_SHORT_SHA", "abc123") for name, value in job["variables"].items()
    }
    return bash("\n".join([*job["before_script"], *job["script"]]), cwd=repo, env=env | variables)


def test_the_github_template_runs_in_an_empty_repository(wheel: Path, tmp_path: Path) -> None:
    repo = empty_repository(tmp_path, "github-actions.yml", ".github/workflows/conformance.yml")
    pem, public = signing_key(tmp_path)
    with ReferenceServer(serve_qrcodes=True) as server:
        env = job_environment(tmp_path, wheel, server, CONFORMANCE_SIGNING_KEY=pem)
        steps = run_github(repo, env)
    assert [code for _, code in steps] == [0, 0, 0], steps
    reports = repo / "reports"
    assert (reports / "allure-report" / "allure-report.html").is_file() and (reports / "signoff.md").is_file()
    summary = (tmp_path / "step-summary.md").read_text(encoding="utf-8")
    assert summary.count("### Conformance:") == 1  # the verdict, written once
    verified = bash(f"conformance verify reports --public-key {public}", cwd=repo, env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert not (tmp_path / "reports").exists()  # nothing written outside the checkout


def test_the_gitlab_template_runs_in_an_empty_repository_with_a_file_key(wheel: Path, tmp_path: Path) -> None:
    repo = empty_repository(tmp_path, "gitlab-ci.yml", ".gitlab-ci.yml")
    pem, public = signing_key(tmp_path)
    key_file = tmp_path / "signing-key.pem"  # a GitLab "File" variable holds the path of such a file
    key_file.write_text(pem, encoding="utf-8")
    with ReferenceServer(serve_qrcodes=True) as server:
        env = job_environment(tmp_path, wheel, server, CONFORMANCE_SIGNING_KEY=str(key_file))
        job = run_gitlab(repo, env)
    assert job.returncode == 0, job.stdout + job.stderr
    assert "Verdict: CONFORMANT" in job.stdout  # the sign-off in the job log
    verified = bash(f"conformance verify reports --public-key {public}", cwd=repo, env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_empty_optional_variables_are_unset_and_a_report_failure_fails_the_gitlab_job(
    wheel: Path, tmp_path: Path
) -> None:
    """No foreign user and no signing key (both empty): the run is incomplete (6), reported unsigned; a
    signing key that cannot be used fails the job even though the run itself ended."""
    repo = empty_repository(tmp_path, "gitlab-ci.yml", ".gitlab-ci.yml")
    with ReferenceServer(serve_qrcodes=True) as server:
        env = job_environment(tmp_path, wheel, server, STAGING_FOREIGN_USER_ID="", CONFORMANCE_SIGNING_KEY="")
        job = run_gitlab(repo, env)
        assert job.returncode == 6, job.stdout + job.stderr
        assert "LT-AUTH-USER-SCOPE" in job.stdout
        # A job of its own: a runner starts each job from a clean checkout (an earlier job's reports, its
        # multi-megabyte Allure report included, are not there for the run's leak scan to read again).
        (tmp_path / "next-job").mkdir()
        again = empty_repository(tmp_path / "next-job", "gitlab-ci.yml", ".gitlab-ci.yml")
        broken = run_gitlab(
            again, env | {"STAGING_FOREIGN_USER_ID": "54321", "CONFORMANCE_SIGNING_KEY": "not a key"}
        )
    assert broken.returncode != 0
    assert "CONFORMANCE_SIGNING_KEY" in broken.stderr
