"""conformance.redaction.run_secrets: one object per run holds its secrets, nothing of them a module."""

from __future__ import annotations

import base64
import gc
import html
import secrets
import sys
import weakref
from collections.abc import Callable, Iterator
from urllib.parse import quote, quote_plus

import httpx
import pytest

from conformance.cassettes.redaction import CassetteRedactor
from conformance.checks._base import CheckContext, Subject
from conformance.checks.security import echo_places
from conformance.core.model import API_KEY_PLACEHOLDER, Exchange
from conformance.core.profile import Profile
from conformance.exchange.transport import Transport
from conformance.inputs import CaseBuilder, Param, Users
from conformance.redaction.run_secrets import RunSecrets
from conformance.results.report._text import API_KEY_ENV, scrub

SPELLINGS: dict[str, Callable[[str], str]] = {
    "as is": lambda v: v,
    "lower-cased": str.lower,
    "percent-encoded": lambda v: quote(v, safe=""),
    "form-encoded": lambda v: quote_plus(v, safe=""),
    "xml-escaped": html.escape,
    "character references": lambda v: "".join(f"&#{ord(c)};" for c in v),
    "base64": lambda v: base64.b64encode(v.encode()).decode(),
    "hex": lambda v: v.encode().hex(),
    "reversed": lambda v: v[::-1],
    "base32": lambda v: base64.b32encode(v.encode()).decode(),
}


def _canary() -> str:
    """A key no other test uses (made here, so only this run's objects can hold it); random at both ends,
    so no probe derived from one canary (a half, a prefix) is part of another."""
    return f"{secrets.token_hex(8)}&CANARY-{secrets.token_hex(8)}"


def _exchange(key: str, *, body: str) -> Exchange:
    case = CaseBuilder(Users(12345), Profile()).case(api_key=Param.of(key), user_id=Param.of("12345"))
    headers = (("content-type", "application/xml"), ("x-echo", key))
    return Exchange(case, 1.0, 0.1, status=200, headers=headers, body=body.encode(), url="http://x")


def test_two_runs_do_not_see_each_others_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    first_key, second_key = _canary(), _canary()
    first, second = RunSecrets(first_key), RunSecrets(second_key)
    token = secrets.token_hex(16)
    body = f"<user_response><token>{token}</token></user_response>"
    first.redactor().learn(_exchange(first_key, body=body))
    second.redactor()
    text = f"first {first_key}, token {token}; second {second_key}"
    assert first_key not in scrub(text, first) and token not in scrub(text, first)
    assert second_key in scrub(text, first)  # the first run knows nothing of the second
    assert first_key in scrub(text, second) and token in scrub(text, second)
    assert second_key not in scrub(text, second)
    assert first.echoes(f"echo {first_key}") and not second.echoes(f"echo {first_key}")
    assert first.key_book() is not second.key_book()


def test_outside_a_run_nothing_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    key = _canary()
    RunSecrets(key).redactor()  # another run's, alive
    assert scrub(f"echo {key}", RunSecrets()) == f"echo {key}"


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_a_report_text_written_with_the_runs_secrets_holds_the_key_in_no_spelling(
    spelling: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)  # the run's object alone does it
    key = _canary()
    run = RunSecrets(key)
    run.redactor()
    spelled = SPELLINGS[spelling](key)
    written = scrub(f"<message>echo {spelled} done</message>", run)
    assert spelled not in written and key not in written
    assert not run.key_book().find(written)
    assert API_KEY_PLACEHOLDER in written


def _holding(needles: tuple[str, ...]) -> Iterator[object]:
    """Every live container that holds a text (or bytes) with one of ``needles`` in it."""
    for obj in gc.get_objects():
        if obj is needles:
            continue
        if isinstance(obj, dict):
            items: list[object] = [*obj.keys(), *obj.values()]
        elif isinstance(obj, list | tuple | set | frozenset):
            items = list(obj)
        else:
            continue
        texts = [i for i in items if isinstance(i, str)]
        texts += [i.decode("latin-1") for i in items if isinstance(i, bytes)]
        if any(needle in text for text in texts for needle in needles):
            yield obj


def _cache_sizes() -> dict[str, int]:
    """How many entries each functools cache of a conformance module holds (their contents cannot be read:
    a cache that grows while a run's secrets are used may be keeping them)."""
    sizes = {}
    for name, module in list(sys.modules.items()):
        if name == "conformance" or name.startswith("conformance."):
            for attribute, value in list(vars(module).items()):
                if callable(getattr(value, "cache_info", None)):
                    sizes[f"{name}.{attribute}"] = value.cache_info().currsize
    return sizes


def _run(key: str, token: str) -> weakref.ref[RunSecrets]:
    """One run's worth of use of its secrets (every part the session hands them to); returns a weak
    reference to them."""
    run = RunSecrets(key)
    body = f"<user_response><message>{key}</message><token>{token}</token></user_response>"
    echo = _exchange(key, body=body)
    redactor = run.redactor()
    redactor.learn(echo)
    assert key not in redactor.text(body) and token not in redactor.text(body)
    context = CheckContext(profile=Profile(), api_key=key, run_secrets=run)
    assert echo_places(Subject(echo), context.secrets) == ["header x-echo", "body"]
    recording = CassetteRedactor(key, secrets=run)
    _, recorded = recording.response(list(echo.headers), echo.body)
    assert key.encode() not in recorded and token.encode() not in recorded

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused {request.read().decode()}")  # the form, the key in it

    with Transport(
        "http://127.0.0.1:1", api_key=key, secrets=run, transport=httpx.MockTransport(refuse)
    ) as transport:
        sent = transport.send(echo.case)
    assert sent.error is not None and sent.error_detail.startswith("ConnectError: refused ")
    assert not run.key_book().find(sent.error_detail)  # the form's percent-encoded key, scrubbed
    assert key not in scrub(f"{body} {key.lower()}", run) and token not in scrub(body, run)
    return weakref.ref(run)


def test_once_a_run_is_dropped_no_module_holds_its_key_or_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    key, token = _canary(), secrets.token_hex(16)
    _run(_canary(), secrets.token_hex(16))  # a first run: what a process loads once is loaded
    before = _cache_sizes()
    gone = _run(key, token)
    gc.collect()
    assert gone() is None  # nothing (a module's cache, a registry) keeps the run's secrets alive
    assert list(_holding((key, key.lower(), token))) == []  # nor a text that held one of them
    assert {name: size for name, size in _cache_sizes().items() if size > before.get(name, 0)} == {}
