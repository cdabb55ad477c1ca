"""conformance.redaction.secrets: every spelling of a secret is found and scrubbed (pure logic)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.core.model import API_KEY_PLACEHOLDER
from conformance.redaction.run_secrets import RunSecrets
from conformance.redaction.secrets import (
    KEY_KIND,
    SecretBook,
    display_text,
    scan_files,
    scannable,
    spellings,
)
from tests.support import ROOT
from tests.support.spellings import KEY_SPELLINGS

KEY = "CANARY-KEY/0123+4567 abc"
TOKEN = "f3a9c2e4b1d04e7a9c3b2a1d0e9f8a7b"


def _numeric_mix(value: str) -> str:
    return "".join(
        f"&#{ord(c)};" if i % 3 == 0 else f"&#X{ord(c):x};" if i % 3 == 1 else c for i, c in enumerate(value)
    )


def _split_by_comment(value: str) -> str:
    return f"{value[:5]}<!-- x -->{value[5:]}"


def _split_by_cdata(value: str) -> str:
    return f"<![CDATA[{value[:7]}]]><![CDATA[{value[7:]}]]>"


SPELLERS: dict[str, Callable[[str], str]] = {
    "raw": lambda v: v,
    "percent upper": lambda v: quote(v, safe=""),
    "percent lower": lambda v: re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(v, safe="")),
    "plus for space": lambda v: quote_plus(v, safe=""),
    "xml escaped": lambda v: v.replace("&", "&amp;").replace("/", "&#47;"),
    "numeric refs, any mix": _numeric_mix,
    "split by a comment": _split_by_comment,
    "split across cdata": _split_by_cdata,
    "base64": lambda v: base64.b64encode(v.encode()).decode(),
    "base64 inside a longer run": lambda v: base64.b64encode(b"Bearer:" + v.encode() + b"!").decode(),
    "base64url": lambda v: base64.urlsafe_b64encode(b"x" + v.encode()).decode(),
    "base64 of utf-16": lambda v: base64.b64encode(v.encode("utf-16-le")).decode(),
}


@pytest.mark.parametrize("speller", sorted(SPELLERS))
@pytest.mark.parametrize("secret", [KEY, TOKEN])
def test_every_spelling_is_found_and_scrubbed(speller: str, secret: str) -> None:
    """A spelling inside surrounding text is found, and the scrubbed text holds no spelling of it."""
    book = SecretBook(api_keys=[KEY])
    book.add_token(TOKEN)
    text = f"<message>echo {SPELLERS[speller](secret)} done</message>"
    assert [s.value for s in book.find(text)] == [secret]
    scrubbed = book.scrub(text)
    assert book.find(scrubbed) == []
    assert "done" in scrubbed or scrubbed.startswith("[withheld")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"])
def test_utf16_and_utf32_bytes_are_found_and_scrubbed(codec: str) -> None:
    book = SecretBook()
    book.add_token(TOKEN)
    data = f'<?xml version="1.0" encoding="UTF-16"?><r><token>{TOKEN}</token></r>'.encode(codec)
    assert book.find_bytes(data)
    scrubbed = book.scrub_bytes(data)
    assert not book.find_bytes(scrubbed)
    assert TOKEN.encode({"utf-16": "utf-16-le", "utf-32": "utf-32-le"}.get(codec, codec)) not in scrubbed


def test_key_is_replaced_by_the_placeholder_and_tokens_by_numbered_labels() -> None:
    book = SecretBook(api_keys=[KEY])
    other = "0" * 8 + TOKEN[8:]
    assert book.add_token(TOKEN) == "<token#1 len=32>"
    assert book.add_token(other) == "<token#2 len=32>"
    assert book.add_token(TOKEN) == "<token#1 len=32>"
    assert book.scrub(f"{KEY} {TOKEN} {quote_plus(KEY)}") == (
        f"{API_KEY_PLACEHOLDER} <token#1 len=32> {quote_plus(API_KEY_PLACEHOLDER)}"
    )


def test_short_secrets_and_the_placeholder_are_not_secrets() -> None:
    book = SecretBook(api_keys=["abc", API_KEY_PLACEHOLDER])
    assert len(book) == 0
    assert book.add_token("xyz") == "xyz"
    assert book.scrub("abc xyz") == "abc xyz"


def test_spellings_lists_the_literal_forms() -> None:
    forms = spellings(KEY)
    assert {
        KEY,
        quote(KEY, safe=""),
        quote_plus(KEY, safe=""),
        base64.b64encode(KEY.encode()).decode(),
    } <= set(forms)
    assert list(forms) == sorted(forms, key=len, reverse=True)


def test_key_book_is_cached_per_key() -> None:
    secrets = RunSecrets(KEY)
    assert secrets.key_book(KEY) is secrets.key_book(KEY) is secrets.key_book()
    assert secrets.key_book(KEY) is not secrets.key_book(KEY + "x")


def test_unknown_encodings_are_not_scannable() -> None:
    assert scannable(b'<?xml version="1.0" encoding="UTF-8"?><a/>')
    assert scannable('<?xml version="1.0" encoding="UTF-16"?><a/>'.encode("utf-16"))
    assert scannable(b"<a/>")
    assert not scannable(b'<?xml version="1.0" encoding="cp500"?><a/>')
    assert not scannable(b'<?xml version="1.0" encoding="no-such-codec"?><a/>')


def test_display_text_decodes_utf16_bodies() -> None:
    body = '<?xml version="1.0" encoding="UTF-16"?><a>é</a>'
    assert display_text(body.encode("utf-16")) == body
    assert display_text(body.encode("utf-16-be")) == body
    assert display_text(b"<a>\xff</a>") == "<a>\ufffd</a>"


def test_scan_files_empties_and_names_every_file_holding_a_secret(tmp_path: Path) -> None:
    book = SecretBook(api_keys=[KEY])
    clean, leaky, encoded = tmp_path / "clean.json", tmp_path / "leak.json", tmp_path / "enc.xml"
    clean.write_text("nothing here")
    leaky.write_text(f'{{"v": "{quote(KEY, safe="")}"}}')
    encoded.write_bytes(KEY.encode("utf-32"))
    assert sorted(scan_files([clean, leaky, encoded], book)) == [encoded, leaky]
    assert leaky.read_bytes() == b""
    assert encoded.read_bytes() == b""
    assert clean.read_text() == "nothing here"


def test_finding_cost_does_not_grow_with_every_spelling_of_every_token() -> None:
    """Hundreds of tokens: a body is still searched once per view (a gram lookup), not once per spelling."""
    book = SecretBook(api_keys=[KEY])
    for number in range(500):
        book.add_token(f"{number:032x}")
    body = "<user_response><token>" + "ab" * 16 + "</token></user_response>"
    assert book.find(body) == []
    assert book.find(body + f"{499:032x}")[0].value == f"{499:032x}"


def test_a_secret_is_found_at_every_offset_by_the_sampled_index() -> None:
    """The index samples the text every few characters: an occurrence is found wherever it starts."""
    book = SecretBook()
    for number in range(40):  # enough spellings that the sampled index, not direct search, is used
        book.add_token(f"{number:032x}")
    token = f"{7:032x}"
    for start in range(30):
        text = "z" * start + token + "z" * (start % 3)
        assert [s.value for s in book.find(text)] == [token], start
        assert book.find(book.scrub(text)) == []
    short = "ab12"
    book.add_key(short)
    assert [s.value for s in book.find(f"zz{short}zz")] == [short]


def test_many_short_secrets_are_found_by_their_heads_like_by_a_direct_search() -> None:
    """Short secrets are indexed by sampled grams once there are many: the index finds exactly what
    searching for every needle would, at every offset, and scrubs them all."""
    book = SecretBook()
    tokens = [f"t{number:05d}" for number in range(300)]  # far more needles than a direct search takes
    tokens += [f"s{number:09d}" for number in range(100)]  # 8-15 characters: the medium index
    for token in tokens:
        book.add_key(token)
    for start in range(12):
        for token in (tokens[0], tokens[150], tokens[299], tokens[300], tokens[-1]):
            text = "<token>" + "x" * start + token + "</token>"
            assert [s.value for s in book.find(text)] == [token], (start, token)
            assert book.find(book.scrub(text)) == []
    both = f"{tokens[3]}-{tokens[4]}"
    assert sorted(s.value for s in book.find(both)) == [tokens[3], tokens[4]]
    assert book.find("t0030 t3000 x00001 t0000") == []  # near misses


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(min_value=4, max_value=40),
    start=st.integers(min_value=0, max_value=40),
    tail=st.integers(min_value=0, max_value=10),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_any_secret_length_is_found_at_any_offset_among_many(
    length: int, start: int, tail: int, seed: int
) -> None:
    """Whatever index a token's needles land in (tiny, medium, long), it is found wherever it starts in a
    text, in a book holding enough tokens that the indexes (not a direct search) are used."""
    import random

    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    book = SecretBook()
    others = {"".join(rng.choice(alphabet) for _ in range(rng.randint(4, 40))) for _ in range(80)}
    for other in sorted(others):
        book.add_key(other)
    token = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(length))  # none of the others
    book.add_key(token)
    text = "#" * start + token + "#" * tail
    assert token in [s.value for s in book.find(text)]
    assert token not in book.scrub(text)


def test_the_report_net_knows_every_registered_book_whatever_variable_held_the_key() -> None:
    """A key read from --api-key-env OTHER_NAME is scrubbed from report text all the same."""
    from conformance.results.report._text import scrub

    other = "OTHER-VARIABLE-KEY-0123456789"
    book = SecretBook(api_keys=[other])
    secrets = RunSecrets()
    secrets.adopt(book)
    assert scrub(f"version 2.1 ({other}) \x1b[2J", secrets) == f"version 2.1 ({API_KEY_PLACEHOLDER}) \\x1b[2J"


@pytest.mark.parametrize("text", ["a%2fb%2F+c", "%E2%82%AC+%zz%", "plain", "<!-- open &#65; %41"])
def test_views_decode_like_the_standard_library(text: str) -> None:
    """The linear percent view agrees with urllib; an unterminated comment runs to the end."""
    from urllib.parse import unquote_plus

    from conformance.redaction.normalised import views, xml_view

    if "%" in text or "+" in text:
        assert unquote_plus(text) in views(text)
    if "<!--" in text:
        assert xml_view(text) == ""


def test_the_echo_book_finds_the_placeholder_in_replay() -> None:
    """A recorded echo holds the placeholder; replay judges it by that, in any spelling."""
    secrets = RunSecrets(API_KEY_PLACEHOLDER)
    assert secrets.echo_book().find(f"echo {quote(API_KEY_PLACEHOLDER)}")
    assert not secrets.key_book().find(API_KEY_PLACEHOLDER)


# -- issue 19: the key in any reversible spelling ------------------------------------------------------

CANARY = "CANARY&KEY-0123456789abcdef01234567"
REFERENCE_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<user_response>\n    <status>200</status>\n'
    "    <message>The request has been successfully processed</message>\n    <user_id>12345</user_id>\n"
    f"    <token>{TOKEN}</token>\n    <qrcode>https://qr.example.test/{TOKEN}.png</qrcode>\n"
    "    <expire>1796512345</expire>\n</user_response>\n"
)


@pytest.mark.parametrize("spelling", sorted(KEY_SPELLINGS))
def test_the_key_in_any_reversible_spelling_is_found_and_withheld(spelling: str) -> None:
    """Each spelling is found by normalising the text, and what is written holds none of it."""
    spelled = KEY_SPELLINGS[spelling](CANARY)
    book = SecretBook(api_keys=[CANARY])
    text = f"<message>echo {spelled} done</message>"
    assert [s.kind for s in book.find(text)] == [KEY_KIND]
    scrubbed = book.scrub(text)
    assert spelled not in scrubbed and CANARY not in scrubbed
    assert book.find(scrubbed) == []
    assert API_KEY_PLACEHOLDER in scrubbed  # a replay still sees that the key was echoed


@pytest.mark.parametrize("spelling", sorted(KEY_SPELLINGS))
@pytest.mark.parametrize("probe", ["last", "first", "chop", "prefix-half", "upper"])
def test_every_key_probe_is_found_in_every_spelling_by_the_echo_book(spelling: str, probe: str) -> None:
    """The wrong keys the suite derives are near-copies of the key: an echo of one is an echo."""
    from conformance.core.model import derive_key

    spelled = KEY_SPELLINGS[spelling](derive_key(CANARY, probe))
    assert RunSecrets(CANARY).echo_book().find(f"<message>invalid key {spelled}</message>")


def test_half_the_key_is_a_leak_and_a_cut_spelling_is_withheld() -> None:
    """Replacing a part of a split base64 run must not leave the rest of the key readable."""
    encoded = base64.b64encode(CANARY.encode()).decode()
    text = f"auth {encoded[:10]}\r\n{encoded[10:]}"
    book = SecretBook(api_keys=[CANARY])
    scrubbed = book.scrub(text)
    assert scrubbed.startswith("[withheld")
    assert book.find(f"tail {CANARY[len(CANARY) // 2 :]} only")  # the second half, alone


@pytest.mark.parametrize(
    "text",
    [
        REFERENCE_BODY,
        (ROOT / "README.md").read_text(encoding="utf-8"),
        "sha256 " + "".join(f"{n:064x}" for n in range(0, 10**6, 7919)),
        base64.b64encode(bytes(range(256)) * 64).decode(),
    ],
    ids=["reference body", "README", "digests", "base64 of binary"],
)
def test_ordinary_text_is_not_taken_for_the_key(text: str) -> None:
    """The normalised views find the key, not a chance resemblance: ordinary text stays as it is."""
    book = SecretBook(api_keys=[CANARY])
    assert book.find(text) == []
    assert book.scrub(text) == text


def test_normalised_views_are_bounded_on_a_large_body() -> None:
    """A body of a megabyte is read window by window, and each window's views are bounded in number."""
    from conformance.redaction.normalised import DEEP_WINDOW, MAX_DECODED_VIEWS, decoded_views

    hostile = "%25" * 300_000 + "&amp;" * 100_000 + "\\u0041" * 50_000
    assert len(decoded_views(hostile[:DEEP_WINDOW])) <= MAX_DECODED_VIEWS
    book = SecretBook(api_keys=[CANARY])
    assert book.find(hostile + KEY_SPELLINGS["hex"](CANARY))  # found past the first windows


# -- issue 23: short tokens ----------------------------------------------------------------------------


def test_a_short_token_is_replaced_where_it_stands_as_a_token() -> None:
    """A counter token is replaced as a word of its own, never inside a number, a digest or a name."""
    book = SecretBook()
    label = book.add_token("1000000057")
    text = (
        "<token>1000000057</token> /qr/1000000057.png token=1000000057 "
        "0.1000000057 51000000057 ab1000000057cd 1000000057.5 sha 9f1000000057e2 cassette_1000000057x"
    )
    assert book.scrub(text) == (
        f"<token>{label}</token> /qr/{label}.png token={label} "
        "0.1000000057 51000000057 ab1000000057cd 1000000057.5 sha 9f1000000057e2 cassette_1000000057x"
    )


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("<token>1000000057</token>", True),
        ("<token><![CDATA[1000000057]]></token>", True),
        ("<token>&#49;000000057</token>", True),
        ('{"access_token": "1000000057"}', True),
        ("https://app.example.test/#token=1000000057", True),
        ("Set-Cookie: sid=1000000057; Path=/", True),
        ("api_key=__API_KEY_REDACTED__&user_id=1000000057&token_expire=1000000057", False),
        ('{"requests": 1000000057, "elapsed_s": 0.1000000057}', False),
        ("sha256 9f86d081000000057884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c1", False),
        ("<code>user_id=1000000057</code>", False),
    ],
)
def test_a_short_token_is_found_only_where_a_credential_stands(text: str, found: bool) -> None:
    """The last-line scan of a weak token looks where a token stands: its digits elsewhere are chance."""
    book = SecretBook()
    book.add_token("1000000057")
    assert bool(book.find(text)) is found


def test_long_tokens_and_the_key_are_still_found_inside_anything() -> None:
    """The short-token trade-off never reaches a long token or the key: inside a word or a number."""
    book = SecretBook(api_keys=[CANARY])
    book.add_token(TOKEN)
    book.add_token("1000000057")
    assert [s.value for s in book.find(f"x{TOKEN}x")] == [TOKEN]
    assert [s.kind for s in book.find(f"9{CANARY}9")] == [KEY_KIND]
    assert TOKEN not in book.scrub(f"id{TOKEN}9")


def test_scan_files_leaves_a_short_token_by_chance_and_empties_one_where_a_token_stands(
    tmp_path: Path,
) -> None:
    book = SecretBook()
    book.add_token("12345")
    chance, leak = tmp_path / "cassette.yaml", tmp_path / "attachment.txt"
    chance.write_text("body: api_key=__API_KEY_REDACTED__&user_id=12345\nelapsed: 0.12345\n")
    leak.write_text("<user_response><token>12345</token></user_response>")
    assert scan_files([chance, leak], book) == [leak]
    assert chance.read_text().endswith("0.12345\n")


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("token", True),
        ("access_token", True),
        ("accessToken", True),
        ("X-Next-Token", True),
        ("PHPSESSID", True),
        ("csrf-token", True),
        ("code", True),
        ("api_key", True),
        ("token_expire", False),
        ("tokenType", False),
        ("status_code", False),
        ("qrcode", False),
        ("user_id", False),
        ("expire", False),
        ("message", False),
    ],
)
def test_credential_names(name: str, credential: bool) -> None:
    from conformance.redaction.credentials import credential_name

    assert credential_name(name) is credential
