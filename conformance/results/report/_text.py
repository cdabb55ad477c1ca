"""The text helper the report modules share: secret scrubbing (atomic writes are conformance.core.files)."""

from __future__ import annotations

import os

from conformance.core.printable import one_line, printable
from conformance.redaction.secrets import key_book, scrub_known

# The evidence handed to the report layer is already redacted by the core. This is a second net: if
# the key still is in the environment, no report text can carry it, whatever slipped through.
API_KEY_ENV = "CONFORMANCE_API_KEY"


def scrub(text: str) -> str:
    """``text`` without any secret this process knows, in any spelling, and with control chars escaped."""
    key = os.environ.get(API_KEY_ENV, "")
    if key:
        text = key_book(key).scrub(text)
    return printable(scrub_known(text))


def scrub_line(text: str) -> str:
    """``scrub`` for one line (a cell, an attribute, a message): line breaks and tabs escaped too."""
    return one_line(scrub(text))
