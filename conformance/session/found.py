"""What resolving a session reads from outside its options (the baseline, profile, waivers, the cassette
headers, the environment, entropy), gathered into a Found for conformance.session.plan.resolve.
"""

from __future__ import annotations

import os
import random

from conformance.cassettes import CassetteBook, CassetteHeader
from conformance.cassettes.agreement import set_to_add_to
from conformance.core._thirdparty import check_installed
from conformance.core.errors import ConfigError
from conformance.core.files import SummaryUnreadable, load_summary
from conformance.core.options import REFERENCE_TARGET, RunOptions
from conformance.core.profile import load_profile
from conformance.results.sealing import verified_seal
from conformance.results.summary import SummaryError, read_summary
from conformance.results.waivers import load_waivers
from conformance.session.plan import Found


def find(options: RunOptions) -> Found:
    """Read what resolving needs from outside the options: baseline, profile, waivers, cassette headers.

    Each problem is raised as found (a WaiverError, ProfileError, CassetteError ...: ConformanceErrors).
    """
    _check_baseline(options)
    waivers = load_waivers(options.waivers, fail_on=options.fail_on, baseline=options.baseline)
    check_installed()
    profile = load_profile(options.profile)
    replay_header: CassetteHeader | None = None
    seal = ""
    if options.target is None:
        book = replay_book(options)
        replay_header, seal = book.header, book.seal_status
    return Found(
        profile=profile,
        waivers=waivers,
        replay_header=replay_header,
        seal=seal,
        adding_to=set_to_add_to(options),
        api_key=os.environ.get(options.api_key_env, "")
        if options.target not in (None, REFERENCE_TARGET)
        else "",
        fresh_seed=random.SystemRandom().randrange(2**32),
    )


def _check_baseline(options: RunOptions) -> None:
    """--baseline read before anything is sent, not when the run ends; a ConfigError names why it cannot be
    used (a FIFO, a device or a non-summary, or a malformed summary)."""
    if options.baseline is None:
        return
    try:
        load_summary(options.baseline, what="--baseline")
    except SummaryUnreadable as exc:
        raise ConfigError(f"{exc}; name a previous summary.json") from None
    try:
        read_summary(options.baseline)
    except SummaryError as exc:
        raise ConfigError(f"--baseline {exc}") from None


def replay_book(options: RunOptions) -> CassetteBook:
    """The cassettes a replay reads; with --public-key, only the bytes of a set whose seal verifies."""
    sealed = None if options.public_key is None else verified_seal(options.cassettes, options.public_key)
    return CassetteBook(options.cassettes, mode="replay", sealed=sealed)
