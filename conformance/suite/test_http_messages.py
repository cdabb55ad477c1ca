"""HTTP message rules (RFC 9110 / 9112): raw HTTP/1.1 messages the ordinary client never sends."""

from __future__ import annotations

import pytest

from conformance.inputs import raw_probe_cases
from conformance.run.engine import Run


@pytest.mark.requirements(
    "LT-HTTP-MSG-DATE",
    "LT-HTTP-MSG-ALLOW",
    "LT-HTTP-MSG-HEAD",
    "LT-HTTP-MSG-HOST",
    "LT-HTTP-MSG-FRAMING",
    "LT-HTTP-MSG-CONNECTION",
    "LT-HTTP-MSG-BODY",
    "LT-HTTP-MSG-CACHE",
    "LT-SEC-KEY-NOT-ECHOED",
)
def test_raw_http_messages(conformance: Run) -> None:
    """The valid request without Host or with two, with two Content-Length values, with Content-Length and
    chunked, with Connection: close, pipelined behind another, to the absolute URL, as HTTP/1.0, chunked,
    after Expect: 100-continue, and HEAD: each on a connection of its own, built and read with h11. What
    ordinary clients drop is read too: the key is in no interim (1xx) response, trailer or later answer."""
    conformance.expect_all(raw_probe_cases(conformance.builder))
