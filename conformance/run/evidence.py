"""Evidence: the redacted, bounded view of an exchange that summaries and reports may show."""

from __future__ import annotations

import re
import shlex
from typing import Any
from urllib.parse import unquote_plus

from conformance.core.model import API_KEY_PLACEHOLDER, Case, Exchange
from conformance.core.options import DEFAULT_KEY_VARIABLE
from conformance.core.printable import printable
from conformance.core.wire import FORM_CONTENT_TYPE, MANY_FIELDS, Written, percent_escaped, write
from conformance.exchange.raw import get_probe
from conformance.redaction.redact import Redactor
from conformance.redaction.secrets import digest_only, display_text, scannable

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


def exchange_evidence(exchange: Exchange, redactor: Redactor, *, after_error: bool = False) -> Evidence:
    """Request and response with the key and tokens replaced and the body cut at MAX_BODY_CHARS;
    ``after_error`` when the request followed an error that left its connection open (checks compare it
    with the same request sent before the error)."""
    return {
        "request": {
            "method": exchange.case.method,
            "url": redactor.text(exchange.url),
            "form": [[_shown(name, redactor), _shown(value, redactor)] for name, value in exchange.case.form],
            **request_channel(exchange.case, redactor),
            **({"after_error": True} if after_error else {}),
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
    """One pasteable line that sends this case exactly (method, URL, the body its spelling writes or the form
    in the query, the second client identity's headers when it was sent so, its spelling's and its own
    headers); the key is read from the environment, never written. ``url`` is the URL the case was sent
    to, as its evidence shows it.

    A raw-message probe is not a curl line: curl cannot send two Content-Length fields, a request without
    Host or two requests in one write, and a ``printf | nc`` line would carry the Content-Length of the
    placeholder (the key's encoded length is only known where the key is) and speaks no TLS. Its line is
    a shell comment naming `conformance rerun`, which sends the same probe's bytes the same way."""
    if case.raw:
        probe = get_probe(case.raw)
        return (
            f"# curl cannot send the raw HTTP/1.1 probe {probe.name} ({probe.description}): "
            "reproduce it with the conformance rerun line the run printed"
        )
    if case.form_in_query:  # the form goes back into the query through -G, with the key from the variable
        sent_form = "?" + case.body(api_key=API_KEY_PLACEHOLDER).decode("ascii")
        url = url.removesuffix(sent_form).removesuffix("&" + sent_form[1:])
    method = ["-I"] if case.method == "HEAD" else ["-X", case.method]  # -X HEAD would wait for a body
    parts = ["curl", "-sS", "-i", *(["-G"] if case.form_in_query else []), *method, shlex.quote(url)]
    if case.alternate_identity:
        parts += ["-H", "'Accept: application/xml'", "-H", "'Accept-Encoding: identity'"]
    written = write(case.spelling, case.pairs(api_key=API_KEY_PLACEHOLDER))
    spelt = list(written.headers.items()) if case.spelling else []  # curl's -d sends the plain Content-Type
    spelt += [("Transfer-Encoding", "chunked")] if written.chunked and not case.form_in_query else []
    for name, value in (*spelt, *case.headers):
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    return " ".join(parts + _body_options(case, written, key_variable))


def _body_options(case: Case, written: Written, key_variable: str) -> list[str]:
    """curl options that send the written body (the key as the placeholder) or, with -G, the query."""
    body = written.body.decode("utf-8", "surrogateescape")
    if case.form_in_query or written.headers["Content-Type"].lower().startswith(FORM_CONTENT_TYPE):
        return _form_options(body, key_variable)
    if "\0" in body:  # no shell word holds a NUL byte
        return ["#", "the body holds a NUL byte: conformance rerun sends it exactly"]
    # In a JSON string the key is escaped (\\ and "), in any other body (multipart) written as it is.
    json_body = written.headers["Content-Type"] == "application/json"
    key = _json_key(key_variable) if json_body else f'"${{{key_variable}}}"'
    return ["--data-binary", _spliced(body, {API_KEY_PLACEHOLDER: key})]


def _form_options(body: str, key_variable: str) -> list[str]:
    """A urlencoded body pair by pair (curl joins them with &), each as the suite spelt it; a pair holding
    the key as ``--data-urlencode`` (curl encodes the key), or spliced where every byte was escaped."""
    options = []
    fields = write("many-fields", []).body.decode("ascii")  # 1,500 unknown fields: written by seq
    if body == fields or body.startswith(fields + "&"):
        options += ["--data-raw", f"\"$(seq -f 'x%04g=1' -s '&' 0 {MANY_FIELDS - 1})\""]
        body = body[len(fields) + 1 :]
    escaped = percent_escaped(API_KEY_PLACEHOLDER)  # a spelling that escapes every byte escapes the key's
    hexed = {
        escaped: _hex_key(key_variable, upper=True),
        escaped.lower(): _hex_key(key_variable, upper=False),
    }
    for pair in body.split("&") if body else []:
        name, _, value = pair.partition("=")
        if API_KEY_PLACEHOLDER in pair:
            options += ["--data-urlencode", _with_key(f"{name}={unquote_plus(value)}", key_variable)]
        else:  # as the suite spelt it: one printable word whatever the value (NUL, newline)
            options += ["--data-raw", _spliced(pair, hexed)]
    return options or ["--data-raw", "''"]  # an empty form is still a form post


def _hex_key(key_variable: str, *, upper: bool) -> str:
    """The key read from the variable as a shell word, every byte as %xx (%XX when ``upper``)."""
    word = f"printf %s \"${{{key_variable}}}\" | od -An -v -tx1 | tr -d ' \\n' | sed 's/../%&/g'"
    return f'"$({word}{" | tr a-f A-F" if upper else ""})"'


def _json_key(key_variable: str) -> str:
    """The key read from the variable as a shell word, escaped for a JSON string (\\ and ")."""
    return f'"$(printf %s "${{{key_variable}}}" | sed \'s/[\\\\"]/\\\\&/g\')"'


def _spliced(text: str, keys: dict[str, str]) -> str:
    """``text`` as one shell word: its literal pieces quoted, each spelt key (a ``keys`` name) replaced by
    its shell word."""
    if not any(spelt in text for spelt in keys):
        return _literal(text)
    pattern = "(" + "|".join(re.escape(spelt) for spelt in keys) + ")"
    pieces = re.split(pattern, text)
    return "".join(keys[piece] if i % 2 else _literal(piece) for i, piece in enumerate(pieces) if piece)


def _literal(text: str) -> str:
    """``text`` as a shell word on one printable line: single-quoted, or $'...' with escapes."""
    if text.isprintable():
        return shlex.quote(text)
    escaped = "".join(
        c
        if c.isascii() and c.isprintable() and c not in "\\'"
        else "".join(f"\\x{b:02x}" for b in c.encode("utf-8", "surrogateescape"))
        for c in text
    )
    return f"$'{escaped}'"


def _with_key(pair: str, key_variable: str) -> str:
    # Inside double quotes only \ $ ` " are special; the key itself comes from the variable.
    pieces = [re.sub(r'([\\$`"])', r"\\\1", piece) for piece in pair.split(API_KEY_PLACEHOLDER)]
    text = pieces[0]
    for piece in pieces[1:]:
        braced = bool(re.match(r"\w", piece))  # $NAMEx would read another variable: ${NAME}x
        text += (f"${{{key_variable}}}" if braced else f"${key_variable}") + piece
    return f'"{text}"'
