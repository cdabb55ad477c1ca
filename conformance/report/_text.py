"""Small text helpers the report modules share: secret scrubbing and atomic writes."""

from __future__ import annotations

import os

from conformance.model import API_KEY_PLACEHOLDER

# The evidence handed to the report layer is already redacted by the core. This is a second net: if
# the key still is in the environment, no report text can carry it, whatever slipped through.
API_KEY_ENV = "CONFORMANCE_API_KEY"


def scrub(text: str) -> str:
    """``text`` with the API key from the environment (if set) replaced by the placeholder."""
    key = os.environ.get(API_KEY_ENV, "")
    if key and key != API_KEY_PLACEHOLDER and key in text:
        return text.replace(key, API_KEY_PLACEHOLDER)
    return text
