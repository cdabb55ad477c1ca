"""The timing test's false-alarm rate and power, measured on loopback (AMB-RESPONSE-TIMING).

Sends the run's timing sample (a wrong key for the own and an unknown user, interleaved, timing_samples
of each) ROUNDS times to the conforming reference and counts the rounds the test would fail: with the
default floor (50 ms) and with no floor at all (the Mann-Whitney p < 1e-4 alone). Then the same against
the fault that spends 300 ms more on existing users (its power). Run with
``python -m benchmarks timing`` or ``python -m benchmarks.timing [--rounds N]``.
"""

from __future__ import annotations

import argparse
import time

from conformance.core.profile import Profile
from conformance.core.timing import compare
from conformance.exchange.transport import Transport
from conformance.inputs import CaseBuilder, Users
from conformance.inputs.side_channels import timing_cases
from conformance.reference import REFERENCE_API_KEY, REFERENCE_USER_ID, ReferenceServer

ROUNDS = 100
FAULT_ROUNDS = 5  # each costs timing_samples x 0.3 s


def rounds_separated(fault: str | None, rounds: int) -> tuple[int, int, float]:
    """(rounds failed with the floor, rounds with p < 1e-4 alone, seconds) for ``rounds`` samples."""
    profile = Profile()
    builder = CaseBuilder(users=Users(user_id=REFERENCE_USER_ID), profile=profile)
    cases = timing_cases(builder)
    floor = profile.timing_min_difference_ms / 1000
    with_floor = p_only = 0
    started = time.monotonic()
    with (
        ReferenceServer(fault=fault) as server,
        Transport(server.url, api_key=REFERENCE_API_KEY) as transport,
    ):
        for _ in range(rounds):
            timed = [(case.user_id, transport.send(case).elapsed) for case in cases]
            existing = [t for user, t in timed if user == REFERENCE_USER_ID]
            unknown = [t for user, t in timed if user != REFERENCE_USER_ID]
            result = compare(existing, unknown)
            with_floor += result.separates(min_difference=floor)
            p_only += result.separates(min_difference=0.0)
    return with_floor, p_only, time.monotonic() - started


def main(argv: list[str] | None = None) -> None:
    """Print the false-alarm rate on the conforming reference and the power against the slow lookup."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.timing")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv or [])
    print("| Target | Rounds | Failed (50 ms floor, p < 1e-4) | p < 1e-4 alone | Time |")
    print("|---|---|---|---|---|")
    for fault, rounds in ((None, args.rounds), ("wrong_key_slower_for_existing_users", FAULT_ROUNDS)):
        failed, p_only, seconds = rounds_separated(fault, rounds)
        name = fault or "conforming reference"
        print(
            f"| {name} | {rounds} | {failed} ({failed / rounds:.1%}) | {p_only} ({p_only / rounds:.1%}) "
            f"| {seconds:.1f} s |",
            flush=True,
        )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
