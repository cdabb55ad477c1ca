"""Cassettes through the real transport: recorded against the reference on loopback, replayed offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cassettes import CassetteBook, CassetteMiss
from conformance.core.model import API_KEY_PLACEHOLDER
from tests.support.cassette_cases import TEST_NAME, VALID, case, header, token_of

pytestmark = pytest.mark.e2e


def test_transport_records_replays_and_lets_misses_through(tmp_path: Path) -> None:
    from conformance.exchange.transport import NetworkTransport, Transport
    from conformance.reference import REFERENCE_API_KEY, ReferenceServer

    cases = [case(VALID), case(VALID), case((*VALID[:2], ("token_expire", "59")))]
    with ReferenceServer() as reference:
        book = CassetteBook(tmp_path, mode="record", header=header(reference.url), api_key=REFERENCE_API_KEY)
        recorder = book.transport(NetworkTransport())
        with (
            Transport(reference.url, api_key=REFERENCE_API_KEY, transport=recorder) as transport,
            book.use(TEST_NAME) as session,
        ):
            live = []
            for each in cases:
                live.append(transport.send(each))
                session.settle(live[-1])
        book.finish()
        book.commit()  # the recorded set is swapped in here
    replay_book = CassetteBook(tmp_path, mode="replay")
    replayer = replay_book.transport()
    with Transport(replay_book.header.target, api_key=API_KEY_PLACEHOLDER, transport=replayer) as transport:
        with replay_book.use(TEST_NAME) as session:
            replayed = []
            for each in cases:
                replayed.append(transport.send(each))
                session.settle(replayed[-1])
        with replay_book.use(TEST_NAME), pytest.raises(CassetteMiss, match="token_expire='61'"):
            transport.send(case((*VALID[:2], ("token_expire", "61"))))
    assert [e.status for e in replayed] == [e.status for e in live] == [200, 200, 400]
    assert [(e.sent_at, e.elapsed) for e in replayed] == [(e.sent_at, e.elapsed) for e in live]
    assert replayed[2].body == live[2].body
    live_tokens = [token_of(e.body) for e in live[:2]]
    replayed_tokens = [token_of(e.body) for e in replayed[:2]]
    assert len(set(replayed_tokens)) == 2
    assert not set(replayed_tokens) & set(live_tokens)
    assert all(e.error is None for e in replayed)
