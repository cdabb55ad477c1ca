"""Cassette redaction: tokens from the parsed document, removed from body, headers and reason phrase."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import secrets
from urllib.parse import unquote

import pytest

from conformance.cassettes.index import request_key
from conformance.cassettes.redaction import MAX_EXCERPT_BYTES, CassetteRedactor, StandIns
from conformance.core import wire
from conformance.core.model import API_KEY_PLACEHOLDER, key_probe, key_probe_secrets
from conformance.core.prediction import TokenPredictor, time_seeded
from conformance.core.profile import Profile
from conformance.inputs import CaseBuilder, Param, Users
from conformance.redaction.secrets import SecretBook

KEY = "CANARY&KEY-0123456789abcdef"
TOKEN = "f3a9c2e4b1d04e7a9c3b2a1d0e9f8a7b"
XML = (
    '<?xml version="1.0" encoding="{encoding}"?>'
    "<user_response>{token}<qrcode>/{qr}.png</qrcode></user_response>"
)
MARKUPS = {
    "cdata": f"<token><![CDATA[{TOKEN}]]></token>",
    "spaced": f"<token >{TOKEN}</token >",
    "comment split": f"<token>{TOKEN[:9]}<!-- x -->{TOKEN[9:]}</token>",
}


def _leaks(data: bytes) -> bool:
    book = SecretBook(api_keys=[KEY])
    book.add_token(TOKEN)
    return bool(book.find_bytes(data))


@pytest.mark.parametrize("markup", sorted(MARKUPS))
@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16"])
def test_a_token_in_any_markup_or_encoding_becomes_its_stand_in(markup: str, encoding: str) -> None:
    redactor = CassetteRedactor(KEY)
    body = XML.format(encoding=encoding, token=MARKUPS[markup], qr=TOKEN).encode(encoding.lower())
    headers, redacted = redactor.response([("x-token", TOKEN), ("x-key", KEY)], body)
    stand_in = redactor.stand_ins.stand_in(TOKEN)
    assert not _leaks(redacted)
    assert stand_in.encode(encoding.lower().replace("utf-16", "utf-16-le")) in redacted
    assert headers == [("x-token", stand_in), ("x-key", "__API_KEY_REDACTED__")]
    assert redactor.message(f"200 {TOKEN}") == f"200 {stand_in}"


def test_a_body_in_an_unknown_encoding_is_not_recorded() -> None:
    notes: list[str] = []
    body = XML.format(encoding="cp500", token=f"<token>{TOKEN}</token>", qr="x").encode("cp500")
    _, redacted = CassetteRedactor(KEY).response([], body, notes=notes)
    assert redacted == b""
    assert notes and notes[0].startswith("body not recorded: [not shown:")


def test_an_unparsable_body_is_kept_as_a_bounded_scrubbed_excerpt() -> None:
    notes: list[str] = []
    redactor = CassetteRedactor(KEY)
    body = f"<user_response><token>{TOKEN}</token> {KEY} <broken".encode() + b"x" * (2 * MAX_EXCERPT_BYTES)
    _, redacted = redactor.response([], body, notes=notes)
    assert len(redacted) == MAX_EXCERPT_BYTES
    assert not _leaks(redacted)
    assert "excerpt" in notes[0]


# -- predictable tokens stay predictable, through stand-ins that tell nothing of them (issue 21) -------


def _replayed_predictions(tokens: list[str], *, issued: float | None = None) -> tuple[int, list[str]]:
    """How many stand-ins a predictor over the stand-ins saw coming, and the stand-ins."""
    stand_ins = StandIns()
    replay = TokenPredictor()
    hits, shown = 0, []
    for token in tokens:
        stand_in = stand_ins.stand_in(token, issued=issued)
        assert stand_in != token
        hits += stand_in in replay.predicted
        replay.learn(stand_in, user=None)
        shown.append(stand_in)
    return hits, shown


def test_the_stand_ins_of_a_twister_or_a_hash_chain_are_predicted_like_the_live_tokens() -> None:
    generator = random.Random(5)
    twister = [f"{generator.getrandbits(256):064x}" for _ in range(100)]
    chain = [secrets.token_hex(16)]
    for _ in range(20):
        chain.append(hashlib.sha256(chain[-1].encode()).hexdigest()[:32])
    for tokens in (twister, chain):
        hits, shown = _replayed_predictions(tokens)
        assert hits > 0
        assert len(set(shown)) == len(set(tokens))  # distinct tokens keep distinct stand-ins
        assert not set(shown) & set(tokens)
        assert all(stand_in == stand_in.lower() for stand_in in shown)  # the live tokens' alphabet


def test_the_stand_ins_of_csprng_tokens_are_never_predicted() -> None:
    hits, _ = _replayed_predictions([secrets.token_hex(16) for _ in range(300)])
    assert hits == 0


def test_a_time_seeded_token_gets_a_distinct_stand_in_seeded_in_the_same_second() -> None:
    second = 1_795_824_000.0
    tokens = [f"{random.Random(int(second * 1000) + n).getrandbits(128):032x}" for n in (5, 6)]
    _, shown = _replayed_predictions(tokens, issued=second)
    assert len(set(shown)) == 2
    for stand_in in shown:
        assert time_seeded(stand_in, [second, second + 1]) is not None


SECRET = "s3cr3t-V4lue-0001"


def test_credentials_on_every_channel_become_stand_ins_before_anything_is_recorded() -> None:
    """Issue 19: a Location fragment, a cookie, a JSON token and the reason phrase are learnt first."""
    redactor = CassetteRedactor(KEY)
    reason = f"OK session={TOKEN}"
    headers, redacted = redactor.response(
        [("location", f"https://app.example.test/#token={SECRET}"), ("set-cookie", f"sid={SECRET}x; Path=/")],
        f'{{"token": "{SECRET}y"}}'.encode(),
        reason=reason,
    )
    recorded = " ".join(v for _, v in headers) + redacted.decode() + redactor.message(reason)
    for value in (SECRET, f"{SECRET}x", f"{SECRET}y", TOKEN):
        assert value not in recorded
        assert redactor.stand_ins.stand_in(value) in recorded


def test_a_request_keeps_what_the_suite_sent_even_when_a_short_token_equals_it() -> None:
    """Issue 23: a counter token equal to a user id is replaced in the answer, never in the request
    (the recorded request must match what replay sends)."""
    redactor = CassetteRedactor(KEY)
    redactor.response([], b"<user_response><token>12345</token></user_response>")
    request = f"api_key={KEY}&user_id=12345"
    assert redactor.request_text(request) == "api_key=__API_KEY_REDACTED__&user_id=12345"


@pytest.mark.parametrize("length", [4, 5, 10])
def test_the_stand_in_of_a_counter_token_is_never_another_token_of_the_run(length: int) -> None:
    """A stand-in is the token shifted by at least a quarter of its space: a counter's stand-ins never
    land on its own values (the last-line scan would take them for a leak)."""
    start = 10 ** (length - 1)
    tokens = [str(start + n) for n in range(min(777, 10**length // 8))]
    for seed in range(20):
        stand_ins = StandIns(offset=seed * 7919 + 10**length - 1 - seed)
        assert not {stand_ins.stand_in(t) for t in tokens} & set(tokens)


def test_a_spelled_key_echo_is_withheld_and_still_an_echo_in_replay() -> None:
    """The recording cannot cut a hex-spelled key out: the text is withheld, naming the placeholder, so
    the replayed echo check fails as the live one did."""
    from conformance.core.model import API_KEY_PLACEHOLDER
    from conformance.redaction.run_secrets import RunSecrets

    redactor = CassetteRedactor(KEY)
    body = f"<user_response><message>echo {KEY.encode().hex()}</message></user_response>".encode()
    headers, redacted = redactor.response([("x-echo", KEY[::-1])], body)
    assert KEY.encode().hex().encode() not in redacted
    assert RunSecrets(API_KEY_PLACEHOLDER).echo_book().find_bytes(redacted)
    assert headers[0][1].startswith("[withheld") and API_KEY_PLACEHOLDER in headers[0][1]


def test_a_credential_around_the_token_keeps_the_tokens_stand_in_where_the_token_stood() -> None:
    """An encoded URL (`...%3Ftoken%3D<token>`) is learnt as a run of its own around the token: its stand-in
    holds the token's stand-in, so the replayed <qrcode> still carries the replayed token (issue 21)."""
    token = secrets.token_hex(32)
    url = f"https://charts.example.net/chart?chl=https%3A%2F%2Flogin.example%2Fqr%3Ftoken%3D{token}"
    body = f"<user_response><token>{token}</token><qrcode>{url}</qrcode></user_response>".encode()
    redactor = CassetteRedactor(KEY)
    _, recorded = redactor.response([], body)
    stand_in = redactor.stand_ins.stand_in(token)
    assert token not in recorded.decode()
    assert recorded.decode().count(stand_in) == 2  # in <token> and inside the URL


@pytest.mark.parametrize("name", list(wire.SPELLINGS))
@pytest.mark.parametrize("probe", ["", "last", "nonascii", "nulinside", "regex-one"])
def test_a_request_in_every_spelling_is_recorded_without_the_key_and_replays(name: str, probe: str) -> None:
    # The body as sent (the canary key, or a key probe derived from it) and as a replay writes it (the
    # placeholder or the probe's marker) must match as the same request once recorded.
    case = dataclasses.replace(
        CaseBuilder(Users(12345), Profile()).case(
            api_key=Param.of(key_probe(probe)) if probe else None, user_id=Param.of("12345")
        ),
        spelling=name,
    )
    body = wire.write(name, case.pairs(api_key=KEY)).body
    recorded = CassetteRedactor(KEY).request_text(body.decode("utf-8", "surrogateescape"))
    secrets = [KEY, *key_probe_secrets(KEY)]
    views = [recorded, unquote(recorded), unquote(unquote(recorded))]
    assert not [
        s
        for s in secrets
        for view in views
        if s in view or s in view.encode().decode("unicode_escape", "replace")
    ]
    if not probe:  # a key probe is recorded as its marker by the session (CassetteSession.settle)
        replayed = wire.write(name, case.pairs(api_key=API_KEY_PLACEHOLDER)).body
        assert request_key("POST", "/", recorded.encode("utf-8", "surrogateescape")) == request_key(
            "POST", "/", replayed
        )
