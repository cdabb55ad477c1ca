"""Every check on hand-made responses: one YAML file per case under tests/unit/checks/cases/.

A case lists the requirements that must fail (exactly: no other requirement may fail) and, optionally,
requirements that must have been judged and passed.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.checks import CHECKS, CheckContext, CheckSpec, Subject, check, checks_serving, run_checks
from conformance.checks.tokens import alphabet_size, estimated_bits
from conformance.core.contract import REQUIREMENTS_BY_ID
from conformance.core.model import Case, CheckFailure, Exchange, Expect, TransportError, derive_key
from conformance.core.profile import Profile
from tests.support.exchanges import API_KEY, exchange_from
from tests.support.spellings import KEY_SPELLINGS, for_line
from tests.support.stateful import STATEFUL_FAULTS

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))
# What every answer carries under the HTTP message rules (RFC 9110 sections 6.6.1 and 15.5.6).
ANSWER_HEADERS = {"date": "Sat, 28 Nov 2026 00:00:00 GMT", "allow": "POST"}


def judge(exchange: Exchange, ctx: CheckContext | None = None) -> tuple[set[str], set[str]]:
    """(failed, passed) requirement IDs for one exchange; the run's state then observes it."""
    ctx = ctx or CheckContext(profile=Profile(), api_key=API_KEY)
    subject = Subject(exchange)
    results = run_checks(subject, ctx)
    ctx.state.observe(subject)
    failed = {r.requirement for r in results if r.failure is not None}
    passed = {r.requirement for r in results if r.passed} - failed
    return {f for f in failed if f}, {p for p in passed if p}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case_file(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    failed, passed = judge(exchange_from(data))
    assert failed == set(data["failed"]), f"{path.name}: failed requirements"
    assert set(data.get("passed", [])) <= passed, f"{path.name}: requirements that must pass"


def test_case_files_cover_every_requirement_both_ways() -> None:
    failed_somewhere: set[str] = set()
    for path in CASES:
        failed_somewhere |= set(yaml.safe_load(path.read_text(encoding="utf-8"))["failed"])
    unjudged = {
        "LT-HTTP-TIMELY",
        "LT-TOKEN-UNIQUE",
        "LT-INPUT-REPEATED",
        "LT-INPUT-USER-MALFORMED",
        "LT-INPUT-USER-MISSING",
        "LT-INPUT-EXPIRE-MALFORMED",
        "LT-INPUT-EXPIRE-MISSING",
        "LT-INPUT-EXPIRE-VALID",
        "LT-AUTH-KEY-MISSING",
        "LT-AUTH-KEY-INVALID",
        "LT-AUTH-USER-UNKNOWN",
        "LT-AUTH-USER-SCOPE",
        "LT-INPUT-USER-RANGE",
        "LT-AUTH-TOKEN-OWNER",  # needs the run's users: test_token_naming_a_user_not_owned_fails
        "LT-TOKEN-ENTROPY",  # needs a sample: test_token_entropy_*
        "LT-TOKEN-UNPREDICTABLE",  # needs a run of tokens: tests/unit/core/test_prediction.py
        "LT-QRCODE-IMAGE",  # needs a fetcher: tests/unit/exchange/test_qrfetch.py
        "LT-SEC-IDENTITY-BLIND",  # needs the stock identity's answer first: test_identity_*
        "LT-SEC-CLIENT-BLIND",  # needs the plain answer first: tests/unit/checks/test_side_channels.py
        "LT-SEC-NON-INTERFERENCE",  # needs other users' answers: tests/unit/checks/test_side_channels.py
        "LT-AUTH-STATELESS",  # needs an earlier decision on the same request: tests/unit/run/test_stateful.py
        # raw-message probes (Exchange.raw): tests/unit/checks/test_checks_message.py
        "LT-HTTP-MSG-HOST",
        "LT-HTTP-MSG-FRAMING",
        "LT-HTTP-MSG-CONNECTION",
        "LT-HTTP-MSG-BODY",
    }  # input_outcome is one check: judged per case class below
    assert set(REQUIREMENTS_BY_ID) - failed_somewhere <= unjudged


def conforming() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (CASES[0].parent / "grant_conforming.yaml").read_text(encoding="utf-8")
    )
    return data


def test_failure_carries_expected_and_received() -> None:
    data = yaml.safe_load((CASES[0].parent / "grant_expire_one_hour_late.yaml").read_text(encoding="utf-8"))
    results = run_checks(Subject(exchange_from(data)), CheckContext(profile=Profile(), api_key=API_KEY))
    (failure,) = [r.failure for r in results if r.failure is not None]
    assert failure.check == "expire_consistency"
    assert "suite clock" in failure.expected and "+ 3600s" in failure.expected
    assert failure.received == "<expire>1795831200</expire> (+3600s)"
    assert failure.message.startswith("[LT-EXPIRE-CONSISTENT] expire is not issue time + token_expire")


def test_key_never_in_failure_text() -> None:
    data = yaml.safe_load((CASES[0].parent / "grant_key_echoed.yaml").read_text(encoding="utf-8"))
    results = run_checks(Subject(exchange_from(data)), CheckContext(profile=Profile(), api_key=API_KEY))
    texts = [r.failure.message for r in results if r.failure is not None]
    assert texts and not any(API_KEY in text for text in texts)


def _echoed(channel: str, spelled: str) -> Exchange:
    exchange = exchange_from(conforming())
    if channel == "header":
        return dataclasses.replace(exchange, headers=(*exchange.headers, ("x-echo", for_line(spelled))))
    if channel == "reason phrase":
        return dataclasses.replace(exchange, reason=for_line(spelled))
    body = exchange.body.replace(b"<message>", f"<message>echo {html.escape(spelled)} ".encode(), 1)
    return dataclasses.replace(exchange, body=body)


@pytest.mark.parametrize("channel", ["body", "header", "reason phrase"])
@pytest.mark.parametrize("spelling", sorted(KEY_SPELLINGS))
def test_the_key_echoed_in_any_reversible_spelling_fails(spelling: str, channel: str) -> None:
    """Issue 19: the echo check normalises what the target sends; every spelling on every channel fails."""
    exchange = _echoed(channel, KEY_SPELLINGS[spelling](API_KEY))
    failed, _ = judge(exchange)
    assert "LT-SEC-KEY-NOT-ECHOED" in failed
    results = run_checks(Subject(exchange), CheckContext(profile=Profile(), api_key=API_KEY))
    (failure,) = [r.failure for r in results if r.failure and r.requirement == "LT-SEC-KEY-NOT-ECHOED"]
    assert channel.split()[0] in failure.received


@pytest.mark.parametrize("probe", ["last", "chop", "prefix-half", "upper"])
def test_a_key_probe_echoed_in_a_spelling_fails(probe: str) -> None:
    """The wrong keys the suite sends are near-copies of the key: echoed, they are the key echoed."""
    exchange = _echoed("body", KEY_SPELLINGS["hex"](derive_key(API_KEY, probe)))
    assert "LT-SEC-KEY-NOT-ECHOED" in judge(exchange)[0]


def test_a_conforming_answer_echoes_nothing() -> None:
    assert "LT-SEC-KEY-NOT-ECHOED" in judge(exchange_from(conforming()))[1]


def test_repeated_token_fails_uniqueness_on_the_second_grant() -> None:
    ctx = CheckContext(profile=Profile(), api_key=API_KEY)
    first, _ = judge(exchange_from(conforming(), sequence=1), ctx)
    second, _ = judge(exchange_from(conforming(), sequence=2), ctx)
    assert first == set()
    assert second == {"LT-TOKEN-UNIQUE", "LT-QRCODE-DISTINCT"}  # the same response twice: same QR code too


@pytest.mark.parametrize(
    ("tokens", "fails"),
    [
        pytest.param([f"{n:032x}" for n in range(1000, 1010)], True, id="hex-counter"),
        pytest.param([str(10**19 + n) for n in range(10)], True, id="decimal-counter"),
        pytest.param([f"{1795824000123456 + n * 7919:032x}" for n in range(10)], True, id="clock-derived"),
        pytest.param([f"tok_{n:02d}_{'a' * 28}" for n in range(10)], True, id="fixed-positions"),
        pytest.param([bytes(range(n, n + 16)).hex() for n in range(0, 200, 20)], True, id="shifted-pattern"),
    ],
)
def test_predictable_token_sequences(tokens: list[str], fails: bool) -> None:
    ctx = CheckContext(profile=Profile(), api_key=API_KEY)
    failed: set[str] = set()
    for number, token in enumerate(tokens, 1):
        data = conforming()
        body = data["response"]["body"].replace("9f86d081884c7d659a2feaa0c55ad015", token)
        data["response"]["body"] = body.replace("</qrcode>", f"?n={number}</qrcode>")  # one per grant
        failed |= judge(exchange_from(data, sequence=number), ctx)[0]
    assert ("LT-TOKEN-STRENGTH" in failed) is fails


def test_random_tokens_of_common_shapes_pass() -> None:
    import base64
    import secrets
    import uuid

    shapes: list[Callable[[], str]] = [
        lambda: secrets.token_hex(16),
        lambda: secrets.token_urlsafe(24),
        lambda: str(uuid.uuid4()),
        lambda: str(secrets.randbits(70)).zfill(22),
        lambda: "eyJhbGciOiJIUzI1NiJ9." + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode(),
    ]
    for shape in shapes:
        ctx = CheckContext(profile=Profile(), api_key=API_KEY)
        for number in range(1, 30):
            data = conforming()
            body = data["response"]["body"].replace("9f86d081884c7d659a2feaa0c55ad015", shape())
            data["response"]["body"] = body.replace("</qrcode>", f"?n={number}</qrcode>")  # one per grant
            failed, _ = judge(exchange_from(data, sequence=number), ctx)
            assert failed == set(), (shape, body)


def test_entropy_estimate() -> None:
    assert alphabet_size("0123") == 10
    assert alphabet_size("deadbeef") == 16
    assert alphabet_size("Zz09") == 62
    assert estimated_bits("a" * 16) == pytest.approx(16 * 4)  # 'a' alone reads as hex
    assert estimated_bits("1234567890") < 64


def test_transport_error_is_a_timeliness_failure_only() -> None:
    exchange = exchange_from(conforming())
    exchange.status, exchange.body, exchange.headers = None, b"", ()
    exchange.error, exchange.error_detail = TransportError.TIMEOUT, "no response within 1.0s"
    failed, _ = judge(exchange)
    assert failed == {"LT-HTTP-TIMELY"}


def test_relative_expire_profile_accepts_seconds() -> None:
    data = yaml.safe_load((CASES[0].parent / "grant_expire_relative.yaml").read_text(encoding="utf-8"))
    ctx = CheckContext(profile=Profile(expire_reading="relative"), api_key=API_KEY)
    assert judge(exchange_from(data), ctx)[0] == set()


def test_profile_rejection_statuses() -> None:
    data = yaml.safe_load((CASES[0].parent / "rejection_conforming.yaml").read_text(encoding="utf-8"))
    ctx = CheckContext(profile=Profile(rejection_statuses=(422,)), api_key=API_KEY)
    assert judge(exchange_from(data), ctx)[0] == {"LT-HTTP-REJECT-4XX"}


def test_registry_rejects_unknown_requirement_and_duplicates() -> None:
    with pytest.raises(ValueError, match="unknown requirement"):
        check(serves=("LT-NOPE",))
    with pytest.raises(ValueError, match="already registered"):
        check(serves=("LT-TOKEN-PRESENT",), name="token_present")(lambda s, c: None)


def test_crashing_check_is_a_suite_defect_not_a_failure_of_the_target(
    check_registry: dict[str, CheckSpec],
) -> None:
    @check(serves=("LT-TOKEN-PRESENT",), name="broken_for_the_test")
    def broken(subject: Subject, ctx: CheckContext) -> str | None:
        raise RuntimeError(f"boom on {subject.token}")

    results = run_checks(
        Subject(exchange_from(conforming())), CheckContext(profile=Profile(), api_key=API_KEY)
    )
    (crashed,) = [r for r in results if r.check == "broken_for_the_test"]
    assert crashed.requirement is None and crashed.failure is None  # judged nothing: no pass, no failure
    assert crashed.crash.startswith("RuntimeError at test_checks.py:")
    assert crashed.crash.endswith("boom on 9f86d081884c7d659a2feaa0c55ad015")  # raw: the engine redacts it
    assert [r for r in results if r.failure is not None] == []
    assert "LT-TOKEN-PRESENT" in {r.requirement for r in results if r.passed}  # the other checks still judge


def test_every_check_names_catalogued_requirements_and_the_catalogue_names_every_check() -> None:
    named = {c for r in REQUIREMENTS_BY_ID for c in checks_serving(r)}
    assert named == set(CHECKS)
    for spec in CHECKS.values():
        for requirement in spec.serves:
            assert requirement in REQUIREMENTS_BY_ID, (spec.name, requirement)


def test_check_failure_is_typed() -> None:
    failure = CheckFailure("LT-QRCODE-URL", "bad", "https URL", "'ftp://x'")
    assert str(failure) == "[LT-QRCODE-URL] bad: expected https URL; received 'ftp://x'"


# -- issue 11 ------------------------------------------------------------------------------------------------


def test_token_naming_a_user_not_owned_fails() -> None:
    ctx = CheckContext(profile=Profile(), api_key=API_KEY, not_owned=frozenset({54321}))
    data = conforming()
    assert "LT-AUTH-TOKEN-OWNER" in judge(exchange_from(data), ctx)[1]
    data["response"]["body"] = data["response"]["body"].replace("<user_id>12345<", "<user_id>0054321<")
    data["case"]["expect"] = "either"  # a lenient request: only the owner check can tell
    failed, _ = judge(exchange_from(data), ctx)
    assert "LT-AUTH-TOKEN-OWNER" in failed


def test_qrcode_repeated_across_grants_fails_on_the_second() -> None:
    ctx = CheckContext(profile=Profile(), api_key=API_KEY)
    first = exchange_from(conforming(), sequence=1)
    second_data = conforming()
    second_data["response"]["body"] = second_data["response"]["body"].replace(
        "9f86d081884c7d659a2feaa0c55ad015", "0123456789abcdef0123456789abcdef"
    )
    second = exchange_from(second_data, sequence=2)
    assert "LT-QRCODE-DISTINCT" in judge(first, ctx)[1]
    assert "LT-QRCODE-DISTINCT" in judge(second, ctx)[0]


def _sample_ctx(tokens: list[str]) -> tuple[CheckContext, Exchange]:
    """A context whose history holds ``tokens`` but the last, and the exchange issuing the last one."""
    ctx = CheckContext(profile=Profile(token_sample=len(tokens)), api_key=API_KEY)
    for sequence, token in enumerate(tokens[:-1], 1):
        ctx.tokens.first_seen[token] = sequence
        ctx.tokens.ordered.append(token)
    data = conforming()
    data["response"]["body"] = data["response"]["body"].replace(
        "9f86d081884c7d659a2feaa0c55ad015", tokens[-1]
    )
    return ctx, exchange_from(data, sequence=len(tokens))


def test_token_entropy_passes_uniform_tokens_and_fails_biased_ones() -> None:
    import random

    rng = random.Random(11)
    uniform = [f"{rng.getrandbits(128):032x}" for _ in range(560)]
    ctx, exchange = _sample_ctx(uniform)
    assert "LT-TOKEN-ENTROPY" in judge(exchange, ctx)[1]
    table = "0123456789abcdef0123456789"
    biased = ["".join(table[rng.randrange(256) % 26] for _ in range(32)) for _ in range(560)]
    ctx, exchange = _sample_ctx(biased)
    assert "LT-TOKEN-ENTROPY" in judge(exchange, ctx)[0]


def test_token_entropy_judges_once_at_the_sample_size() -> None:
    import random

    rng = random.Random(12)
    tokens = [f"{rng.getrandbits(128):032x}" for _ in range(10)]
    ctx, exchange = _sample_ctx(tokens)
    ctx = CheckContext(profile=Profile(token_sample=11), api_key=API_KEY, state=ctx.state)
    failed, passed = judge(exchange, ctx)
    assert "LT-TOKEN-ENTROPY" not in failed | passed


def test_other_method_refused_passes_and_is_not_judged_as_the_endpoint() -> None:
    data = yaml.safe_load((CASES[0].parent / "get_with_token.yaml").read_text(encoding="utf-8"))
    data["response"] = {
        "status": 405,
        "headers": {"content-type": "text/html", **ANSWER_HEADERS},
        "body": "<h1>405</h1>",
    }
    failed, passed = judge(exchange_from(data))
    assert failed == set()
    assert "LT-HTTP-POST-ONLY" in passed
    assert "LT-SCHEMA-ERROR" not in passed


@pytest.mark.parametrize("status", [200, 204, 301, 303, 307])
def test_other_method_answered_2xx_or_3xx_fails_whatever_the_body(status: int) -> None:
    data = yaml.safe_load((CASES[0].parent / "get_with_token.yaml").read_text(encoding="utf-8"))
    data["response"] = {"status": status, "headers": {"location": "/elsewhere", **ANSWER_HEADERS}, "body": ""}
    failed, _ = judge(exchange_from(data))
    assert failed == {"LT-HTTP-POST-ONLY"}


def _identity_pair(first: int, again: int, *, body: str = "") -> set[str]:
    """What the second identity's answer fails after the stock identity got ``first``."""
    data = yaml.safe_load((CASES[0].parent / "method_get_405.yaml").read_text(encoding="utf-8"))
    data["case"].update(method="POST", form_in_query=False, requirement="LT-AUTH-KEY-INVALID")
    ctx = CheckContext(profile=Profile(), api_key=API_KEY)
    data["response"].update(status=first, body="")
    judge(exchange_from(data, sequence=1), ctx)
    data["case"]["alternate_identity"] = True
    data["response"].update(status=again, body=body)
    failed, passed = judge(exchange_from(data, sequence=2), ctx)
    assert ("LT-SEC-IDENTITY-BLIND" in passed) is ("LT-SEC-IDENTITY-BLIND" not in failed)
    return failed


def test_identity_refused_alike_under_either_identity_passes() -> None:
    assert "LT-SEC-IDENTITY-BLIND" not in _identity_pair(401, 403)  # the same class: a refusal


@pytest.mark.parametrize(("first", "again"), [(401, 200), (401, 302), (200, 401), (401, 500)])
def test_identity_a_different_kind_of_answer_fails(first: int, again: int) -> None:
    assert "LT-SEC-IDENTITY-BLIND" in _identity_pair(first, again)


def test_identity_not_judged_without_the_stock_answer() -> None:
    data = yaml.safe_load((CASES[0].parent / "method_get_405.yaml").read_text(encoding="utf-8"))
    data["case"]["alternate_identity"] = True
    failed, passed = judge(exchange_from(data))
    assert "LT-SEC-IDENTITY-BLIND" not in failed | passed


def test_path_variant_granting_what_the_endpoint_refuses_fails() -> None:
    data = yaml.safe_load(
        (CASES[0].parent / "path_variant_grant_like_endpoint.yaml").read_text(encoding="utf-8")
    )
    data["case"].update(expect="reject", requirement="LT-AUTH-KEY-INVALID")
    failed, _ = judge(exchange_from(data))
    assert {"LT-HTTP-PATH-VARIANT", "LT-AUTH-KEY-INVALID"} <= failed
    data["response"] = {
        "status": 404,
        "headers": {"content-type": "text/html", **ANSWER_HEADERS},
        "body": "<h1>no</h1>",
    }
    failed, passed = judge(exchange_from(data))
    assert failed == set()
    assert "LT-HTTP-PATH-VARIANT" in passed


def test_bias_in_some_positions_is_no_finding_while_the_uniform_ones_carry_enough() -> None:
    import random

    rng = random.Random(13)
    # A timestamp-like prefix (few, unevenly used symbols) before 32 random hex digits: like a signed token.
    tokens = [f"{1795824000 + n // 7:010d}{rng.getrandbits(128):032x}" for n in range(560)]
    ctx, exchange = _sample_ctx(tokens)
    assert "LT-TOKEN-ENTROPY" in judge(exchange, ctx)[1]


# -- issue 14: run-wide state lives in RunState; checks only read it, none depends on another --------------


def _grant(token: str, qrcode: str, sequence: int) -> Exchange:
    data = conforming()
    body = data["response"]["body"].replace("9f86d081884c7d659a2feaa0c55ad015", token)
    data["response"]["body"] = re.sub(r"<qrcode>[^<]*</qrcode>", f"<qrcode>{qrcode}</qrcode>", body)
    return exchange_from(data, sequence=sequence)


def _stateful_run() -> list[Exchange]:
    """Grants whose faults only the run's history shows: a hex counter, a repeated token and QR code."""
    counter = [_grant(f"{n:032x}", f"https://qr.example/{n}.png", n) for n in range(1, 6)]
    repeated = _grant(f"{3:032x}", "https://qr.example/3.png", 6)
    return [*counter, repeated, *[_grant(random_hex(n), "https://qr.example/x.png", n) for n in (7, 8)]]


def random_hex(seed: int) -> str:
    import random

    return f"{random.Random(seed).getrandbits(128):032x}"


def _results_by_check(exchanges: list[Exchange], *, sample: int) -> dict[str, list[tuple[str | None, bool]]]:
    """Each check's (requirement, failed) per exchange; the state observes each after its checks."""
    ctx = CheckContext(profile=Profile(token_sample=sample), api_key=API_KEY)
    out: dict[str, list[tuple[str | None, bool]]] = {}
    for exchange in exchanges:
        subject = Subject(exchange)
        before = (dict(ctx.state.tokens.first_seen), list(ctx.state.tokens.ordered), dict(ctx.state.qrcodes))
        for result in run_checks(subject, ctx):
            out.setdefault(result.check, []).append((result.requirement, result.failure is not None))
        after = (dict(ctx.state.tokens.first_seen), list(ctx.state.tokens.ordered), dict(ctx.state.qrcodes))
        assert after == before, "a check wrote the run's state"
        ctx.state.observe(subject)
    return out


def test_checks_never_write_the_run_state_and_judge_alike_alone_or_together(
    check_registry: dict[str, CheckSpec],
) -> None:
    exchanges = _stateful_run()
    together = _results_by_check(exchanges, sample=len(exchanges) - 1)
    failing = {name for name, results in together.items() if any(failed for _, failed in results)}
    assert {"token_strength", "token_unique", "qrcode_distinct"} <= failing  # the run does show the faults
    everything = dict(check_registry)
    for name, spec in everything.items():
        check_registry.clear()
        check_registry[name] = spec
        assert _results_by_check(exchanges, sample=len(exchanges) - 1).get(name, []) == together.get(
            name, []
        ), name


def test_the_run_state_remembers_each_token_and_qrcode_the_first_time() -> None:
    ctx = CheckContext(profile=Profile(), api_key=API_KEY)
    first, second = _grant(random_hex(1), "https://qr.example/a.png", 1), _grant(random_hex(2), "", 2)
    for exchange in (first, second, _grant(random_hex(1), "https://qr.example/a.png", 3)):
        ctx.state.observe(Subject(exchange))
    assert ctx.state.tokens.ordered == [random_hex(1), random_hex(2)]
    assert ctx.state.tokens.first_seen == {random_hex(1): 1, random_hex(2): 2}
    assert ctx.state.qrcodes == {"https://qr.example/a.png": 1}


def test_the_stateful_pairs_cover_every_fault_of_their_requirements() -> None:
    from conformance.reference import FAULTS

    names = {name for name, _ in STATEFUL_FAULTS}
    served = {r for name in names for r in CHECKS[name].serves}
    faults = {f.name for f in FAULTS.values() if set(f.requirements) & served}
    assert faults == {fault for _, fault in STATEFUL_FAULTS}


@pytest.mark.parametrize(
    "name",
    [
        "method_get_redirect_token_in_fragment",
        "path_variant_redirect_with_query",
        "endpoint_wrong_key_redirect",
    ],
)
def test_a_redirect_failure_names_the_location_without_its_credential(name: str) -> None:
    data = yaml.safe_load((CASES[0].parent / f"{name}.yaml").read_text(encoding="utf-8"))
    results = run_checks(Subject(exchange_from(data)), CheckContext(profile=Profile(), api_key=API_KEY))
    texts = [r.failure.message for r in results if r.failure is not None]
    assert texts and all("9f86d081884c7d659a2feaa0c55ad015" not in text for text in texts)
    assert any(
        "Location '" in text and (" with a query" in text or " with a fragment" in text) for text in texts
    )


def test_one_wrong_expire_is_one_defect_not_also_a_path_variants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server answering its path variants like the endpoint, with the same +3600 s in <expire> on both:
    one defect, LT-EXPIRE-CONSISTENT; the variants do answer like the endpoint (LT-HTTP-PATH-VARIANT)."""
    import json

    from conformance.frontends.cli import main
    from conformance.reference import REFERENCE_API_KEY, ReferenceServer
    from conformance.reference.faults import get_fault

    late = get_fault("expire_one_hour_late").behaviour

    class LateEverywhere(late):  # type: ignore[misc, valid-type]
        ROUTES_ELSEWHERE = True

        def route(self, method: str, target: str, body: bytes, now: float) -> Any:
            return self.handle(body, now) if method == "POST" else None

    monkeypatch.setenv("CONFORMANCE_API_KEY", REFERENCE_API_KEY)
    reports = tmp_path / "r"
    with ReferenceServer(behaviour=LateEverywhere) as server:
        main(["run", "--target", server.url, "--user-id", "12345", "--foreign-user-id", "54321", "-q",
              "--seed", "1", "--max-examples", "5", "--report-dir", str(reports),
              "-k", "test_other_methods_and_paths_issue_no_token or test_valid_request"])  # fmt: skip
    outcomes = {
        r["id"]: r["outcome"]
        for r in json.loads((reports / "summary.json").read_text(encoding="utf-8"))["requirements"]
    }
    assert outcomes["LT-EXPIRE-CONSISTENT"] == "failed"
    assert outcomes["LT-HTTP-PATH-VARIANT"] == "passed"


def test_one_wrong_expire_is_one_defect_not_also_a_lenient_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """<expire> one hour late for every grant: the padded and repeated token_expire values the target
    accepts are off by the same hour as the plain ones, so they are honoured as the plain value is; the
    hour is one defect, LT-EXPIRE-CONSISTENT, not also LT-INPUT-LENIENT-HONOURED (issue 22 item 10)."""
    import json

    from conformance.frontends.cli import main
    from conformance.reference import REFERENCE_API_KEY

    monkeypatch.setenv("CONFORMANCE_API_KEY", REFERENCE_API_KEY)
    reports = tmp_path / "r"
    main(["run", "--target", "reference", "--fault", "expire_one_hour_late", "-q", "--seed", "1",
          "--report-dir", str(reports),
          "-k", "test_token_expire_boundaries or test_token_expire_missing_empty_repeated"])  # fmt: skip
    outcomes = {
        r["id"]: r["outcome"]
        for r in json.loads((reports / "summary.json").read_text(encoding="utf-8"))["requirements"]
    }
    assert outcomes["LT-EXPIRE-CONSISTENT"] == "failed"
    assert outcomes["LT-INPUT-LENIENT-HONOURED"] == "passed"


def test_a_lenient_value_read_otherwise_than_the_plain_one_still_fails() -> None:
    """The offset a plain grant shows excuses only the same offset: '0600' read as octal (384 s) fails."""
    from fractions import Fraction

    from conformance.checks._base import CheckContext, RunState, Subject
    from conformance.checks.input_outcome import lenient_value_honoured
    from conformance.core.model import Case, CheckFailure, Exchange, Expect

    def grant(expect: Expect, seconds: int, expire: int) -> Subject:
        case = Case(
            label="t", form=(), expect=expect, requirement="LT-INPUT-EXPIRE-VALID", token_expire=seconds
        )
        body = (
            "<user_response><status>200</status><message>ok</message><user_id>1</user_id>"
            f"<token>abc</token><qrcode>https://x/q.png</qrcode><expire>{expire}</expire></user_response>"
        ).encode()
        exchange = Exchange(case=case, sent_at=1000.0, elapsed=0.5, url="http://x", sequence=1)
        exchange.status, exchange.body = 200, body
        return Subject(exchange)

    state = RunState()
    state.observe(grant(Expect.ACCEPT, 600, 1000 + 600 + 3600))  # a plain 600 answered one hour late
    assert state.expire_offset == (Fraction(3599.5), Fraction(3600))
    ctx = CheckContext(profile=Profile(), api_key=API_KEY, state=state)
    assert (
        lenient_value_honoured(grant(Expect.EITHER, 600, 1000 + 600 + 3600), ctx)
        == "LT-INPUT-LENIENT-HONOURED"
    )
    with pytest.raises(CheckFailure, match="lenient token_expire accepted but not honoured"):
        lenient_value_honoured(grant(Expect.EITHER, 600, 1000 + 384 + 3600), ctx)


def test_a_spelling_refused_like_its_plain_request_is_not_also_an_equivalence_failure() -> None:
    """token_expire=60 refused plain and percent-encoded: one defect (LT-INPUT-EXPIRE-VALID, the plain
    request's); refused only percent-encoded: LT-INPUT-EQUIVALENT."""
    from conformance.checks._base import RunState, request_of
    from conformance.checks.input_outcome import input_outcome
    from conformance.core.model import Case, CheckFailure, Exchange, Expect

    form = (("api_key", "__API_KEY_REDACTED__"), ("user_id", "12345"), ("token_expire", "60"))
    spelt = Case(
        "percent-encoded", form, Expect.ACCEPT, "LT-INPUT-EQUIVALENT", 12345, 60, spelling="percent-encoded"
    )
    refusal = Exchange(spelt, sent_at=1.0, elapsed=0.1, url="http://x/v1/user/login_token", sequence=2)
    refusal.status, refusal.body = (
        400,
        b"<user_response><status>400</status><message>no</message></user_response>",
    )
    for plain, judged in (("HTTP 4xx", None), ("a token", "failure"), (None, "failure")):
        state = RunState()
        if plain is not None:
            state.answers[request_of(spelt)] = plain
        ctx = CheckContext(profile=Profile(), api_key=API_KEY, state=state)
        if judged is None:
            assert input_outcome(Subject(refusal), ctx) is None
        else:
            with pytest.raises(CheckFailure, match="valid input rejected"):
                input_outcome(Subject(refusal), ctx)


@settings(max_examples=300, deadline=None)
@given(
    sent=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    elapsed=st.floats(min_value=0, max_value=30, allow_nan=False),
    seconds=st.integers(min_value=60, max_value=86400),
    tolerance=st.sampled_from([0.0, 0.5, 2.0, 5.0]),
    shift=st.integers(min_value=-3, max_value=3),
    upper=st.booleans(),
)
def test_expire_near_the_bounds_is_judged_exactly(
    sent: float, elapsed: float, seconds: int, tolerance: float, shift: int, upper: bool
) -> None:
    """The float shortcut for an <expire> well inside the window agrees with exact arithmetic near the
    bounds."""
    from fractions import Fraction

    from conformance.checks.grant import expire_mismatch

    low = Fraction(sent) + seconds - Fraction(tolerance)
    high = Fraction(sent) + Fraction(elapsed) + seconds + Fraction(tolerance)
    expire = int(high if upper else low) + shift  # an integer near a bound
    case = Case(
        label="t", form=(), expect=Expect.ACCEPT, requirement="LT-INPUT-EXPIRE-VALID", token_expire=seconds
    )
    exchange = Exchange(case=case, sent_at=sent, elapsed=elapsed, url="http://x", sequence=1)
    exchange.status = 200
    exchange.body = f"<user_response><status>200</status><expire>{expire}</expire></user_response>".encode()
    ctx = CheckContext(profile=Profile(expire_tolerance=tolerance), api_key=API_KEY)
    assert (expire_mismatch(Subject(exchange), ctx) is None) == (low <= expire <= high)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ((), "invalid api_key (last session {token})"),
        ((("x-session", "{token}"),), "invalid api_key"),
        ((), "invalid api_key ({b64})"),
        ((("set-cookie", "sid={pct}; Path=/"),), "invalid api_key"),
    ],
    ids=["message", "header", "base64 in the message", "percent-encoded cookie"],
)
def test_a_refusal_carrying_a_token_issued_before_fails(
    headers: tuple[tuple[str, str], ...], message: str
) -> None:
    import base64
    from urllib.parse import quote

    from conformance.checks.grant import rejection_has_no_token

    token = "Zm9vYmFyLXRva2VuLTEyMzQ1Njc4OTA-_x"
    ctx = CheckContext(profile=Profile(), api_key=API_KEY)
    ctx.state.tokens.first_seen[token] = 7
    ctx.state.tokens.ordered.append(token)
    spelled = {"token": token, "b64": base64.b64encode(token.encode()).decode(), "pct": quote(token, safe="")}
    case = Case(label="t", form=(), expect=Expect.REJECT, requirement="LT-AUTH-KEY-INVALID")

    def refusal(text: str, fields: tuple[tuple[str, str], ...]) -> Subject:
        exchange = Exchange(case=case, sent_at=1000.0, elapsed=0.1, url="http://x", sequence=9)
        exchange.status, exchange.reason, exchange.headers = 401, "Unauthorized", fields
        exchange.body = (
            f"<user_response><status>401</status><message>{text}</message></user_response>".encode()
        )
        return Subject(exchange)

    filled = tuple((name, value.format(**spelled)) for name, value in headers)
    with pytest.raises(CheckFailure, match="a refusal carries a token issued before") as found:
        rejection_has_no_token(refusal(message.format(**spelled), filled), ctx)
    assert "request #7" in found.value.received and token not in found.value.received
    assert rejection_has_no_token(refusal("invalid api_key", ()), ctx) == "LT-REJECT-NO-TOKEN"


def test_a_grant_handing_out_an_earlier_token_fails_its_own_token_aside() -> None:
    from conformance.checks.tokens import token_unique

    earlier, own = "6f1c0e2a9b8d4c7e8f0a1b2c3d4e5f60", "0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"
    ctx = CheckContext(profile=Profile(), api_key=API_KEY)
    ctx.state.tokens.first_seen[earlier] = 3
    ctx.state.tokens.ordered.append(earlier)
    case = Case(label="t", form=(), expect=Expect.ACCEPT, requirement="LT-INPUT-USER-VALID")

    def grant(qrcode: str, headers: tuple[tuple[str, str], ...] = ()) -> Subject:
        exchange = Exchange(case=case, sent_at=1000.0, elapsed=0.1, url="http://x", sequence=9)
        exchange.status, exchange.headers = 200, headers
        exchange.body = (
            f"<user_response><status>200</status><token>{own}</token><qrcode>{qrcode}</qrcode></user_response>"
        ).encode()
        return Subject(exchange)

    for subject in (grant(f"https://q/x.png?s={earlier}"), grant("https://q/x.png", (("x-prev", earlier),))):
        with pytest.raises(CheckFailure, match="a grant hands out a token issued before") as found:
            token_unique(subject, ctx)
        assert "request #3" in found.value.received and earlier not in found.value.received
    assert token_unique(grant(f"https://q/{own}.png"), ctx) == "LT-TOKEN-UNIQUE"  # its own token: fine
