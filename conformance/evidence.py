"""Evidence: the redacted, bounded view of an exchange that summaries and reports may show."""

from __future__ import annotations

import re
import shlex
from typing import Any
from urllib.parse import urlencode

from conformance.model import API_KEY_PLACEHOLDER, Case, Exchange
from conformance.options import DEFAULT_KEY_VARIABLE
from conformance.redact import Redactor

Evidence = dict[str, Any]
MAX_BODY_CHARS = 4096


def exchange_evidence(exchange: Exchange, redactor: Redactor) -> Evidence:
    """Request and response with the key and tokens replaced and the body cut at MAX_BODY_CHARS."""
    body = exchange.body[: MAX_BODY_CHARS * 4].decode("utf-8", "replace")
    if len(body) > MAX_BODY_CHARS or len(exchange.body) > MAX_BODY_CHARS * 4:
        body = body[:MAX_BODY_CHARS] + f"… ({len(exchange.body)} bytes in all)"
    return {
        "request": {
            "method": "POST",
            "url": exchange.url,
            "form": [[name, redactor.text(value)] for name, value in exchange.case.form],
        },
        "response": {
            "status": exchange.status,
            "headers": [[name, redactor.text(value)] for name, value in exchange.headers],
            "body": redactor.text(body),
            "error": exchange.error.value if exchange.error else None,
            "elapsed_s": round(exchange.elapsed, 3),
        },
    }


def curl_command(case: Case, url: str, *, key_variable: str = DEFAULT_KEY_VARIABLE) -> str:
    """One pasteable line that sends this case's form exactly; the key is read from the environment."""
    parts = ["curl", "-sS", "-i", "-X", "POST", shlex.quote(url)]
    for name, value in case.form:
        if API_KEY_PLACEHOLDER in value:
            parts += ["--data-urlencode", _with_key(f"{name}={value}", key_variable)]
        else:
            # Percent-encoded as the suite sent it: one printable word whatever the value (NUL, newline).
            parts += ["--data-raw", shlex.quote(urlencode([(name, value)]))]
    if not case.form:
        parts += ["--data-raw", "''"]  # an empty form is still a form post
    return " ".join(parts)


def _with_key(pair: str, key_variable: str) -> str:
    # Inside double quotes only \ $ ` " are special; the key itself comes from the variable.
    pieces = [re.sub(r'([\\$`"])', r"\\\1", piece) for piece in pair.split(API_KEY_PLACEHOLDER)]
    text = pieces[0]
    for piece in pieces[1:]:
        braced = bool(re.match(r"\w", piece))  # $NAMEx would read another variable: ${NAME}x
        text += (f"${{{key_variable}}}" if braced else f"${key_variable}") + piece
    return f'"{text}"'
