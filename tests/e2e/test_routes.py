"""Refusals on every channel, end to end: hostile routes fail by name, mainstream conforming stacks pass."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conformance.core.contract import ENDPOINT_PATH
from conformance.reference import (
    FAULTS,
    REFERENCE_API_KEY,
    REFERENCE_FOREIGN_USER_ID,
    REFERENCE_USER_ID,
    Behaviour,
    ReferenceServer,
    Reply,
)
from tests.support.cli import conformance, small_profile, summary

pytestmark = pytest.mark.e2e

ROUTE_TESTS = (
    "test_other_methods_and_paths_issue_no_token or test_refusals_do_not_depend_on_the_client_identity"
)
ROUTE_REQUIREMENTS = ("LT-HTTP-POST-ONLY", "LT-HTTP-PATH-VARIANT", "LT-SEC-IDENTITY-BLIND")
CHANNEL_FAULTS = [
    name for name, f in FAULTS.items() if f.behaviour.__module__.endswith(".reference.channel_faults")
]


class MainstreamStack(Behaviour):
    """The conforming endpoint as common frameworks serve it: the path with a trailing slash redirected
    (307) to the endpoint's absolute URL (Starlette's redirect_slashes), OPTIONS answered 200 with an
    empty body and an Allow header (Flask's automatic OPTIONS)."""

    ROUTES_ELSEWHERE = True

    def serve(
        self, method: str, target: str, headers: tuple[tuple[str, str], ...], body: bytes, now: float
    ) -> Reply | None:
        path = urlsplit(target).path
        if method == "POST" and path == ENDPOINT_PATH + "/":
            host = next(value for name, value in headers if name == "host")
            return Reply(307, (("Location", f"http://{host}{ENDPOINT_PATH}"),), b"")
        if method == "OPTIONS" and path == ENDPOINT_PATH:
            return Reply(200, (("Allow", "POST, OPTIONS"),), b"")
        return super().serve(method, target, headers, body, now)


def _run(tmp_path: Path, url: str) -> dict[str, str]:
    """The outcome of each requirement after the route tests ran against ``url``."""
    done = conformance(
        "run", "--target", url, "--user-id", str(REFERENCE_USER_ID),
        "--foreign-user-id", str(REFERENCE_FOREIGN_USER_ID), "-k", ROUTE_TESTS, "--seed", "5",
        *small_profile(tmp_path), "--report-dir", str(tmp_path / "r"), "--quiet",
        env={"CONFORMANCE_API_KEY": REFERENCE_API_KEY},
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return {r["id"]: r["outcome"] for r in summary(tmp_path / "r")["requirements"]}


def test_a_mainstream_stack_redirecting_slashes_and_answering_options_passes(tmp_path: Path) -> None:
    with ReferenceServer(behaviour=MainstreamStack, serve_qrcodes=True) as server:
        outcomes = _run(tmp_path, server.url)
    assert [rid for rid, outcome in outcomes.items() if outcome == "failed"] == []
    assert all(outcomes[rid] == "passed" for rid in ROUTE_REQUIREMENTS), outcomes


@pytest.mark.parametrize("name", CHANNEL_FAULTS)
def test_a_grant_on_an_unwatched_channel_fails_by_name(tmp_path: Path, name: str) -> None:
    with ReferenceServer(fault=name) as server:
        outcomes = _run(tmp_path, server.url)
    failed = {rid for rid, outcome in outcomes.items() if outcome == "failed"}
    assert set(FAULTS[name].requirements) <= failed, failed


def test_every_channel_fault_is_run_here() -> None:
    assert len(CHANNEL_FAULTS) == 6
