"""The text helper the report modules share: secret scrubbing (atomic writes are conformance.core.files)."""

from __future__ import annotations

import os

from conformance.core.printable import one_line, printable
from conformance.redaction.run_secrets import RunSecrets

# The evidence handed to the report layer is already redacted by the core. This is a second net: if
# the key still is in the environment, no report text can carry it, whatever slipped through.
API_KEY_ENV = "CONFORMANCE_API_KEY"


def scrub(text: str, secrets: RunSecrets) -> str:
    """``text`` without any secret of the run (and the key in the environment), in any spelling, and with
    control chars escaped."""
    key = os.environ.get(API_KEY_ENV, "")
    if key:
        text = secrets.key_book(key).scrub(text)
    return printable(secrets.scrub(text))


def scrub_line(text: str, secrets: RunSecrets) -> str:
    """``scrub`` for one line (a cell, an attribute, a message): line breaks and tabs escaped too."""
    return one_line(scrub(text, secrets))


def run_or_none(secrets: RunSecrets | None) -> RunSecrets:
    """The run's secrets; None (a report rebuilt outside a run, a unit test): secrets of no run."""
    return secrets if secrets is not None else RunSecrets()
