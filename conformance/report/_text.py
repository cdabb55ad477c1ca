"""Small text helpers the report modules share: secret scrubbing and atomic writes."""

from __future__ import annotations

import os

from conformance.secrets import key_book, scrub_known

# The evidence handed to the report layer is already redacted by the core. This is a second net: if
# the key still is in the environment, no report text can carry it, whatever slipped through.
API_KEY_ENV = "CONFORMANCE_API_KEY"


def scrub(text: str) -> str:
    """``text`` without any secret a run of this process knows (whatever variable held the key), nor
    the key in the default environment variable, in any spelling."""
    key = os.environ.get(API_KEY_ENV, "")
    if key:
        text = key_book(key).scrub(text)
    return scrub_known(text)
