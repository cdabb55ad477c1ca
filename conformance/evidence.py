"""Evidence: the redacted, bounded view of an exchange that summaries and reports may show."""

from __future__ import annotations

import re
import shlex
from typing import Any
from urllib.parse import urlencode

from conformance.model import API_KEY_PLACEHOLDER, Case, Exchange
from conformance.options import DEFAULT_KEY_VARIABLE
from conformance.printable import printable
from conformance.redact import Redactor
from conformance.secrets import digest_only, display_text, scannable
from conformance.wire import write

Evidence = dict[str, Any]
MAX_BODY_CHARS = 4096
SPELLING_FACTOR = 12  # the longest spelling of one character: a padded numeric reference


def shown_body(body: bytes, redactor: Redactor) -> str:
    """The body as evidence: scrubbed whole (every spelling, UTF-8 or UTF-16/32), then cut.

    A body in an encoding the suite cannot scan is shown as its length and digest only.
    """
    if not scannable(body):
        return digest_only(body)
    # Scrubbing costs time in the size of what is scrubbed: only a window is, wide enough that a secret
    # starting before the cut (in any spelling up to SPELLING_FACTOR characters a character) lies inside it.
    margin = SPELLING_FACTOR * redactor.book.longest + 64
    window = body[: (MAX_BODY_CHARS + margin) * 4]
    text = redactor.text(display_text(redactor.data(window)))
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS] + f"… ({len(body)} bytes in all)"
    return printable(text)


def _shown(text: str, redactor: Redactor) -> str:
    return printable(redactor.text(text))


def exchange_evidence(exchange: Exchange, redactor: Redactor) -> Evidence:
    """Request and response with the key and tokens replaced and the body cut at MAX_BODY_CHARS."""
    return {
        "request": {
            "method": exchange.case.method,
            "url": redactor.text(exchange.url),
            "form": [[_shown(name, redactor), _shown(value, redactor)] for name, value in exchange.case.form],
            **request_channel(exchange.case, redactor),
        },
        "response": {
            "status": exchange.status,
            "reason": _shown(exchange.reason, redactor),
            "headers": [
                [_shown(name, redactor), _shown(value, redactor)] for name, value in exchange.headers
            ],
            "body": shown_body(exchange.body, redactor),
            "error": exchange.error.value if exchange.error else None,
            "elapsed_s": round(exchange.elapsed, 3),
        },
    }


def request_channel(case: Case, redactor: Redactor) -> dict[str, Any]:
    """How the case travelled, beyond method, URL and form (only what differs from a plain POST), and what
    the contract expected of it: what `conformance rerun` needs to send and judge the same request again.
    A header value passes the redactor: a cookie the target set is a credential it learnt."""
    channel: dict[str, Any] = {"expect": case.expect.value, "requirement": case.requirement}
    if case.path_variant:
        channel["path_variant"] = case.path_variant
    if case.form_in_query:
        channel["form_in_query"] = True
    if case.fresh_connection:
        channel["fresh_connection"] = True
    if case.alternate_identity:
        channel["alternate_identity"] = True
    if case.spelling:
        channel["spelling"] = case.spelling
    if case.headers:
        channel["headers"] = [[name, _shown(value, redactor)] for name, value in case.headers]
    if case.raw:
        channel["raw"] = case.raw
    return channel


def curl_command(case: Case, url: str, *, key_variable: str = DEFAULT_KEY_VARIABLE) -> str:
    """One pasteable line that sends this case exactly (method, URL, form in the body or the query, under the
    second client identity's headers when it was sent so, in its spelling's headers); the key is read from
    the environment. A spelling that writes another body is named in a trailing comment: the line sends
    the same form urlencoded. ``url`` is the URL the case was sent to, as its evidence shows it."""
    if case.form_in_query:  # the form goes back into the query through -G, with the key from the variable
        sent_form = "?" + case.body(api_key=API_KEY_PLACEHOLDER).decode("ascii")
        url = url.removesuffix(sent_form).removesuffix("&" + sent_form[1:])
    method = ["-I"] if case.method == "HEAD" else ["-X", case.method]  # -X HEAD would wait for a body
    parts = ["curl", "-sS", "-i", *(["-G"] if case.form_in_query else []), *method, shlex.quote(url)]
    if case.alternate_identity:
        parts += ["-H", "'Accept: application/xml'", "-H", "'Accept-Encoding: identity'"]
    for name, value in (*_spelling_headers(case), *case.headers):
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    for name, value in case.form:
        if API_KEY_PLACEHOLDER in value:
            parts += ["--data-urlencode", _with_key(f"{name}={value}", key_variable)]
        else:
            # Percent-encoded as the suite sent it: one printable word whatever the value (NUL, newline).
            parts += ["--data-raw", shlex.quote(urlencode([(name, value)]))]
    if not case.form:
        parts += ["--data-raw", "''"]  # an empty form is still a form post
    if case.raw:
        # A message curl does not send (no Host, two lengths...): conformance rerun sends the probe itself.
        parts += ["#", f"sent as the raw probe {case.raw}: conformance rerun sends it so"]
    elif case.spelling and not _spelt_by_headers(case):
        # The same form in another body (JSON, percent-encoded...): conformance rerun sends it as spelt.
        parts += ["#", f"sent spelt {case.spelling}: conformance rerun sends it so"]
    return " ".join(parts)


def _spelt_by_headers(case: Case) -> bool:
    pairs = case.pairs(api_key=API_KEY_PLACEHOLDER)
    return write(case.spelling, pairs).body == write("", pairs).body


def _spelling_headers(case: Case) -> list[tuple[str, str]]:
    """The headers a spelling that keeps the plain body sends (Content-Type, Expect, chunked coding)."""
    if not case.spelling or not _spelt_by_headers(case):
        return []
    written = write(case.spelling, case.pairs(api_key=API_KEY_PLACEHOLDER))
    return [*written.headers.items(), *([("Transfer-Encoding", "chunked")] if written.chunked else [])]


def _with_key(pair: str, key_variable: str) -> str:
    # Inside double quotes only \ $ ` " are special; the key itself comes from the variable.
    pieces = [re.sub(r'([\\$`"])', r"\\\1", piece) for piece in pair.split(API_KEY_PLACEHOLDER)]
    text = pieces[0]
    for piece in pieces[1:]:
        braced = bool(re.match(r"\w", piece))  # $NAMEx would read another variable: ${NAME}x
        text += (f"${{{key_variable}}}" if braced else f"${key_variable}") + piece
    return f'"{text}"'
