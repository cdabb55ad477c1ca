"""Evidence: the redacted, bounded view of an exchange that summaries and reports may show."""

from __future__ import annotations

import shlex
from typing import Any

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
    """A curl line that replays one case by hand; the key is read from the environment, never shown."""
    parts = ["curl", "-sS", "-i", "-X", "POST", shlex.quote(url)]
    for name, value in case.form:
        if value == API_KEY_PLACEHOLDER:
            parts += ["--data-urlencode", f'"{name}=${key_variable}"']
        else:
            parts += ["--data-urlencode", shlex.quote(f"{name}={value}")]
    return " ".join(parts)
