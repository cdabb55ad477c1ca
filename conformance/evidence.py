"""Evidence: the redacted, bounded view of an exchange that summaries and reports may show."""

from __future__ import annotations

import shlex
from typing import Any

from conformance.model import API_KEY_PLACEHOLDER, Case, Exchange
from conformance.options import DEFAULT_KEY_VARIABLE
from conformance.printable import printable
from conformance.redact import Redactor
from conformance.secrets import digest_only, display_text, scannable

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
            "method": "POST",
            "url": redactor.text(exchange.url),
            "form": [[_shown(name, redactor), _shown(value, redactor)] for name, value in exchange.case.form],
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


def curl_command(case: Case, url: str, *, key_variable: str = DEFAULT_KEY_VARIABLE) -> str:
    """A curl line that replays one case by hand; the key is read from the environment, never shown."""
    parts = ["curl", "-sS", "-i", "-X", "POST", shlex.quote(url)]
    for name, value in case.form:
        if value == API_KEY_PLACEHOLDER:
            parts += ["--data-urlencode", f'"{name}=${key_variable}"']
        else:
            parts += ["--data-urlencode", shlex.quote(f"{name}={value}")]
    return " ".join(parts)
