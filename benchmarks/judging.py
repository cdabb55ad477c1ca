"""Per-response judging cost: every registered check on one answer, both XSD validators included.

Judges a run's worth of distinct grants (a body of its own each, so the per-body validation cache never
answers) and of repeated refusals, as `Run` does: run_checks, then the run state observes the answer.
Prints the median and tail per response, the cost of each validator alone, and the one judgement that
analyses the whole token sample (the max: SP 800-90B over 776 tokens, once a run). Prints numbers,
asserts nothing.
"""

from __future__ import annotations

import email.utils
import secrets
import statistics
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable

from conformance.checks import CheckContext, Subject, run_checks
from conformance.core import schema, xmldoc
from conformance.core.model import Case, Exchange, Expect
from conformance.core.profile import Profile

BENCH_KEY = "BENCH-NOT-A-REAL-KEY"
SENT_AT = 1_795_824_000.0
TARGET_MEDIAN_MS = 1.0
REFUSALS = 400
REPEATS = 3
GRANT_CASE = Case(
    label="benchmark grant",
    form=(("api_key", "__API_KEY_REDACTED__"), ("user_id", "12345"), ("token_expire", "3600")),
    expect=Expect.ACCEPT,
    requirement="LT-INPUT-USER-VALID",
    user_id=12345,
    token_expire=3600,
)
REFUSAL_CASE = Case(
    label="benchmark refusal",
    form=(("api_key", "__API_KEY_REDACTED__"), ("user_id", "12345"), ("token_expire", "59")),
    expect=Expect.REJECT,
    requirement="LT-INPUT-EXPIRE-RANGE",
    user_id=12345,
    token_expire=59,
)


def _exchange(case: Case, status: int, elements: list[tuple[str, str]], sequence: int) -> Exchange:
    children = "".join(f"    <{tag}>{text}</{tag}>\n" for tag, text in elements)
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<user_response>\n{children}</user_response>\n'
    headers = (
        ("content-type", "application/xml; charset=utf-8"),
        ("cache-control", "no-store"),
        ("date", email.utils.formatdate(SENT_AT, usegmt=True)),
    )
    return Exchange(
        case,
        SENT_AT,
        0.001,
        status,
        headers,
        body.encode(),
        "OK",
        None,
        "",
        "http://127.0.0.1:9/v1/user/login_token",
        sequence,
    )


def grant(sequence: int) -> Exchange:
    """A conforming grant with a fresh token and QR code URL."""
    return _exchange(
        GRANT_CASE,
        200,
        [
            ("status", "200"),
            ("message", "The request has been successfully processed"),
            ("user_id", "12345"),
            ("token", secrets.token_hex(16)),
            ("qrcode", f"https://qr.example.com/{secrets.token_hex(8)}.png"),
            ("expire", str(int(SENT_AT) + 3600)),
        ],
        sequence,
    )


def refusal(sequence: int) -> Exchange:
    """A conforming 400 (the same bytes every time, as a run's refusals mostly are)."""
    return _exchange(
        REFUSAL_CASE,
        400,
        [("status", "400"), ("message", "token_expire must be between 60 and 86400")],
        sequence,
    )


def judge_all(exchanges: list[Exchange]) -> tuple[list[float], list[float]]:
    """CPU seconds and wall seconds spent judging each exchange, in order, through one run state."""
    ctx = CheckContext(profile=Profile(), api_key=BENCH_KEY)
    costs, walls = [], []
    for exchange in exchanges:
        started, wall = time.thread_time(), time.perf_counter()
        subject = Subject(exchange, limits=ctx.profile.limits)
        results = run_checks(subject, ctx)
        ctx.state.observe(subject)
        costs.append(time.thread_time() - started)
        walls.append(time.perf_counter() - wall)
        crashed = [r for r in results if r.failure is not None and "could not judge" in r.failure.title]
        if crashed:
            raise SystemExit(f"a check crashed on a conforming answer: {crashed[0].failure}")
    return costs, walls


def validator_cost(exchange: Exchange, repeat: int = 300) -> dict[str, float]:
    """Milliseconds per validation of one body by each validator alone, uncached."""
    root = xmldoc.parse(exchange.body).root
    assert isinstance(root, ET.Element)
    name = Profile().success_schema
    runs: dict[str, Callable[[], list[str]]] = {
        "xmlschema": lambda: schema.xmlschema_errors(name, root),
        "libxml2": lambda: schema.libxml2_errors(name, exchange.body),
        "XSD rules": lambda: schema.rule_errors(name, root),
    }
    costs = {}
    for voice, run in runs.items():
        run()
        started = time.perf_counter()
        for _ in range(repeat):
            run()
        costs[voice] = (time.perf_counter() - started) / repeat * 1000
    return costs


def main() -> None:
    """Print the per-response judging cost table."""
    grants = Profile().token_sample

    def answers() -> list[Exchange]:  # fresh grants each time: no body the validation cache has seen
        return [grant(i + 1) for i in range(grants)] + [refusal(grants + i + 1) for i in range(REFUSALS)]

    exchanges = answers()
    judge_all([grant(0)])  # warm-up: schemas compiled once per process
    # The quietest of REPEATS runs (each through a fresh run state): the machine is shared, and
    # contention only ever adds time.
    costs, walls = min(
        (judge_all(answers()) for _ in range(REPEATS)), key=lambda run: statistics.median(run[0])
    )
    grant_ms = sorted(c * 1000 for c in costs[:grants])
    all_ms = sorted(c * 1000 for c in costs)
    print(f"{len(exchanges)} answers judged ({grants} distinct grants, {REFUSALS} repeated refusals);")
    print(f"CPU time of the judging thread, the quietest of {REPEATS} runs (wall time below)\n")
    print("| answers | median ms | p90 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for label, ms in (("grants", grant_ms), ("all", all_ms)):
        p90, p99 = ms[int(len(ms) * 0.9)], ms[int(len(ms) * 0.99)]
        print(f"| {label} | {statistics.median(ms):.3f} | {p90:.3f} | {p99:.3f} | {ms[-1]:.1f} |")
    print(f"| all, wall time | {statistics.median(walls) * 1000:.3f} | | | {max(walls) * 1000:.1f} |")
    print("\n| validator alone, one grant body, uncached (wall) | ms |")
    print("|---|---:|")
    for voice, ms_each in validator_cost(exchanges[0]).items():
        print(f"| {voice} | {ms_each:.3f} |")
    median = statistics.median(all_ms)
    verdict = "met" if median < TARGET_MEDIAN_MS else "NOT MET"
    print(
        f"\n- median judging cost per response: {median:.3f} ms (target < {TARGET_MEDIAN_MS:g} ms): {verdict}"
    )


if __name__ == "__main__":
    main()
