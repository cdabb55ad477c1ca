"""Small text helpers the report modules share: secret scrubbing and atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

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


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``path`` through a temporary file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
