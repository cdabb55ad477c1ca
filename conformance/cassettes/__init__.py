"""Cassettes: record a live target once, replay it offline, deterministic, fast and secret-free.

One YAML file per conformance test (``CassetteBook.use(name)``), recorded and replayed by the book's
httpx transport (``CassetteBook.transport()``, through vcrpy's httpx stub) with the api_key replaced by
the placeholder and tokens by same-shape stand-ins, replayed through an index keyed by the normalized
request. See docs/cassettes.md.
"""

from __future__ import annotations

from conformance.cassettes.book import DEFAULT_MAX_BODY, BookReport, CassetteBook, CassetteReport
from conformance.cassettes.errors import CassetteCorrupt, CassetteError, CassetteMiss
from conformance.cassettes.format import CassetteHeader, cassette_file_name
from conformance.cassettes.session import CassetteSession
from conformance.cassettes.transport import CassetteTransport
from conformance.redaction.secrets import spellings as api_key_spellings

__all__ = [
    "DEFAULT_MAX_BODY",
    "BookReport",
    "CassetteBook",
    "CassetteCorrupt",
    "CassetteError",
    "CassetteHeader",
    "CassetteMiss",
    "CassetteReport",
    "CassetteSession",
    "CassetteTransport",
    "api_key_spellings",
    "cassette_file_name",
]
