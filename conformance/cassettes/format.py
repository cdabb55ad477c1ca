"""The cassette file: one YAML document per conformance test, a header, a digest, and the interactions.

Bodies are stored as text when they are UTF-8 without control characters (readable in a PR), otherwise
as base64. The digest covers the name, the header and every interaction, so any edit by hand is caught
on load; re-recording, not editing, is how a cassette changes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from conformance.cassettes.errors import CassetteCorrupt
from conformance.core.files import InputUnreadable, read_input
from conformance.core.model import RawOutcome, RawResponse, TransportError

FORMAT_VERSION = 1
SUFFIX = ".yaml"
MAX_STEM_LENGTH = 100
FILE_COMMENT = (
    "# Conformance cassette, written by `conformance run --record`: re-record it, do not edit it.\n"
)
# Loading bounds: checked before the YAML is built (see _check_shape).
MAX_CASSETTE_BYTES = 64 * 1024 * 1024
MAX_NESTING = 16
MAX_NUMBER_CHARS = 40
MAX_SECONDS = 2**63  # a recorded sent_at or elapsed beyond this (or NaN, infinity) is a corrupt cassette
# An excerpted body is replayed at its recorded length (padded): no more than this is ever allocated.
MAX_REPLAYED_BODY = 16 * 1024 * 1024
FAILURE_FIELDS = ("requirement", "title", "expected", "received")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# What YAML 1.1 resolves a plain scalar to a number from (ints with base prefixes and sexagesimal parts,
# floats); quoted scalars are strings whatever they hold.
_NUMBER_LIKE = re.compile(
    r"[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*"
    r"|(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+][0-9]+)?)"
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
MORE_UNKNOWN = "more_unknown_user_ids"  # optional header key: the second and later --unknown-user-id
INPUTS = "inputs_version"  # optional header key: absent from recordings made before it (see CassetteHeader)
_HEADER_FIELDS: dict[str, type | tuple[type, ...]] = {
    "target": str,
    "suite_version": str,
    "profile": str,
    "recorded_at": str,
    "seed": int,
    "max_examples": int,
    "user_id": int,
    "unknown_user_id": int,
    "foreign_user_id": (int, type(None)),
}


@dataclass(frozen=True)
class CassetteHeader:
    """Where and how a cassette was recorded; every cassette of one recording shares it."""

    target: str
    suite_version: str
    profile: str
    recorded_at: str  # ISO 8601, UTC
    seed: int
    max_examples: int
    # The users the recording ran with: replay classifies inputs exactly as the recording did.
    user_id: int
    unknown_user_id: int
    foreign_user_id: int | None
    # further --unknown-user-id values, in order; written only when there are some, so a recording with
    # one unknown user is byte for byte what it was before the option was repeatable
    more_unknown_user_ids: tuple[int, ...] = ()
    # What was sent, as a version (conformance.inputs.INPUTS_VERSION): a replay with the same one re-judges
    # the recording whichever suite version made it. None: recorded before it existed (the suite version
    # must then match).
    inputs_version: int | None = None

    @property
    def unknown_user_ids(self) -> tuple[int, ...]:
        """Every unknown user of the recording, in order."""
        return (self.unknown_user_id, *self.more_unknown_user_ids)


@dataclass
class Interaction:
    """One request as sent (api_key as the placeholder) and the response or transport error it met."""

    method: str
    path: str  # path and query, as sent
    body: bytes
    sent_at: float
    elapsed: float
    status: int | None = None
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    # The httpx exception class name when no complete response was read; replay raises it (a response
    # kept beside it is evidence of what arrived before a deadline passed).
    error: str | None = None
    error_message: str = ""
    notes: list[str] = field(default_factory=list)
    # A body over the stored-body budget: its length and SHA-256 as received (``response_body`` is then a
    # bounded excerpt), and what the checks concluded of the whole body, which replay restores instead
    # of judging the excerpt: [(check, requirement or None, failure fields or None)].
    excerpt_of: tuple[int, str] | None = None
    judged: list[tuple[str, str | None, dict[str, str] | None]] | None = None
    # A raw-message probe (conformance.exchange.raw): what its connection showed, redacted like any response
    # (written under ``raw`` instead of ``response``; method RAW-<PROBE>, path and body as sent).
    raw: RawOutcome | None = None


@dataclass(frozen=True)
class LoadedCassette:
    """A cassette file read back and validated."""

    path: Path
    name: str
    header: CassetteHeader
    interactions: tuple[Interaction, ...]
    sha256: str


def cassette_file_name(name: str) -> str:
    """The file name for a test name: readable, safe on every filesystem, distinct for distinct names."""
    stem = name.replace("::", "__")
    safe = _UNSAFE.sub("-", stem).strip("-.")
    # A lossy substitution could map two names to one file: a short hash of the name keeps them apart.
    if safe != stem or "__" in name or len(safe) > MAX_STEM_LENGTH or not safe:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        safe = f"{safe[:MAX_STEM_LENGTH]}-{digest}".lstrip("-")
    return safe + SUFFIX


def _text_field(data: bytes, key: str) -> dict[str, str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or _CONTROL.search(text):
        return {f"{key}_base64": base64.b64encode(data).decode("ascii")}
    return {key: text}


def _interaction_dict(interaction: Interaction) -> dict[str, Any]:
    request = {
        "method": interaction.method,
        "path": interaction.path,
        **_text_field(interaction.body, "body"),
    }
    record: dict[str, Any] = {"request": request}
    if interaction.error is not None:
        record["error"] = {"kind": interaction.error, "message": interaction.error_message}
    if interaction.status is not None:
        record["response"] = {
            "status": interaction.status,
            "reason": interaction.reason,
            "headers": [_Pair((name, value)) for name, value in interaction.headers],
            **_text_field(interaction.response_body, "body"),
        }
        if interaction.excerpt_of is not None:
            length, sha256 = interaction.excerpt_of
            record["response"]["excerpt_of"] = {"bytes": length, "sha256": sha256}
            record["response"]["judged"] = [
                {"check": check, "requirement": requirement} | ({"failure": failure} if failure else {})
                for check, requirement, failure in interaction.judged or ()
            ]
    if interaction.raw is not None:
        record["raw"] = _raw_dict(interaction.raw)
    record["sent_at"] = interaction.sent_at
    record["elapsed"] = interaction.elapsed
    if interaction.notes:
        record["notes"] = list(interaction.notes)
    return record


def _raw_dict(outcome: RawOutcome) -> dict[str, Any]:
    return (
        {
            "responses": [
                {
                    "status": r.status,
                    "reason": r.reason,
                    "version": r.http_version,
                    "headers": [_Pair((name, value)) for name, value in r.headers],
                    **_text_field(r.body, "body"),
                }
                | ({"trailers": [_Pair(pair) for pair in r.trailers]} if r.trailers else {})
                for r in outcome.responses
            ],
            "interim": list(outcome.interim),
            "closed": outcome.closed,
            "trailing": outcome.trailing,
        }
        | ({"error": {"kind": outcome.error, "message": outcome.error_detail}} if outcome.error else {})
        | (
            {"interim_headers": [_Pair(pair) for pair in outcome.interim_headers]}
            if outcome.interim_headers
            else {}
        )
    )


def _digest(document: dict[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line bodies as literal blocks, so a reviewer reads the XML as it was sent. Control and
    # Unicode line-break characters only survive a round trip escaped in double quotes.
    style = '"' if _CONTROL.search(value) else "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class _Pair(list[str]):
    """A header [name, value], written on one line."""


def _represent_pair(dumper: yaml.SafeDumper, value: _Pair) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as literal blocks and header pairs on one line."""


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_Pair, _represent_pair)


def _header_dict(header: CassetteHeader) -> dict[str, Any]:
    """The header as written: the inputs version beside the suite version, the optional keys when set."""
    written: dict[str, Any] = {}
    for key in _HEADER_FIELDS:
        written[key] = getattr(header, key)
        if key == "suite_version" and header.inputs_version is not None:
            written[INPUTS] = header.inputs_version
    if header.more_unknown_user_ids:
        written[MORE_UNKNOWN] = list(header.more_unknown_user_ids)
    return written


def dump_cassette(name: str, header: CassetteHeader, interactions: list[Interaction]) -> bytes:
    """The file content for a cassette."""
    document: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "name": name,
        "header": _header_dict(header),
        "interactions": [_interaction_dict(i) for i in interactions],
    }
    document["digest"] = _digest(document)
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)
    return (FILE_COMMENT + text).encode("utf-8")


class _Reader:
    """Validates one parsed document; every problem becomes a CassetteCorrupt naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.target: str | None = None

    def fail(self, problem: str) -> CassetteCorrupt:
        return CassetteCorrupt(self.path, problem, target=self.target)

    def get(self, mapping: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
        if key not in mapping:
            raise self.fail(f"{where} has no '{key}'")
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(f"{where}.{key} must be {names}, not {type(value).__name__} {value!r:.40}")
        return value

    def data(self, mapping: dict[str, Any], key: str, where: str, *, required: bool = True) -> bytes:
        if f"{key}_base64" in mapping:
            encoded = self.get(mapping, f"{key}_base64", str, where)
            try:
                return base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise self.fail(f"{where}.{key}_base64 is not valid base64") from None
        if key not in mapping and not required:
            return b""
        return str(self.get(mapping, key, str, where)).encode("utf-8", "surrogatepass")

    def header(self, raw: Any) -> CassetteHeader:
        if not isinstance(raw, dict):
            raise self.fail("the header is missing or not a mapping")
        values = {key: self.get(raw, key, kind, "header") for key, kind in _HEADER_FIELDS.items()}
        self.target = values["target"]
        try:
            stamp = datetime.fromisoformat(values["recorded_at"])
        except ValueError:
            raise self.fail(f"header.recorded_at {values['recorded_at']!r} is not ISO 8601") from None
        if stamp.utcoffset() is None or stamp.utcoffset().total_seconds() != 0:  # type: ignore[union-attr]
            raise self.fail(f"header.recorded_at {values['recorded_at']!r} is not in UTC")
        more = self.get(raw, MORE_UNKNOWN, list, "header") if MORE_UNKNOWN in raw else []
        if (not more and MORE_UNKNOWN in raw) or any(
            isinstance(u, bool) or not isinstance(u, int) for u in more
        ):
            raise self.fail(f"header.{MORE_UNKNOWN} must be a non-empty list of user ids, not {more!r:.40}")
        inputs = self.get(raw, INPUTS, int, "header") if INPUTS in raw else None
        if inputs is not None and inputs < 1:
            raise self.fail(f"header.{INPUTS} must be a positive number, not {inputs}")
        return CassetteHeader(**values, more_unknown_user_ids=tuple(more), inputs_version=inputs)

    def seconds(self, raw: Any, key: str, where: str) -> float:
        """A finite number of seconds (a YAML .nan, .inf or 400-digit number is a corrupt cassette)."""
        value = self.get(raw, key, (int, float), where)
        if abs(value) >= MAX_SECONDS or not math.isfinite(value):  # compared as int: no overflow
            raise self.fail(f"{where}.{key} is no finite number of seconds: {value!r:.40}")
        return float(value)

    def interaction(self, raw: Any, where: str) -> Interaction:
        if not isinstance(raw, dict):
            raise self.fail(f"{where} is not a mapping")
        request = self.get(raw, "request", dict, where)
        method = self.get(request, "method", str, f"{where}.request")
        path = self.get(request, "path", str, f"{where}.request")
        if not method or not path.startswith("/"):
            raise self.fail(f"{where}.request needs a method and a path starting with '/'")
        sent_at = self.seconds(raw, "sent_at", where)
        elapsed = self.seconds(raw, "elapsed", where)
        if elapsed < 0:
            raise self.fail(f"{where}.elapsed is negative")
        notes = [str(n) for n in self.get(raw, "notes", list, where)] if "notes" in raw else []
        recorded = Interaction(method, path, self.data(request, "body", f"{where}.request"), sent_at, elapsed)
        recorded.notes = notes
        if "raw" in raw:
            recorded.raw = self.raw(self.get(raw, "raw", dict, where), f"{where}.raw")
            return recorded
        if "error" in raw:
            error = self.get(raw, "error", dict, where)
            recorded.error = self.get(error, "kind", str, f"{where}.error")
            recorded.error_message = self.get(error, "message", str, f"{where}.error")
            if "response" not in raw:
                return recorded
        response = self.get(raw, "response", dict, where)
        status = self.get(response, "status", int, f"{where}.response")
        if not 100 <= status <= 599:
            raise self.fail(f"{where}.response.status {status} is not an HTTP status (100..599)")
        recorded.status = status
        recorded.reason = self.get(response, "reason", str, f"{where}.response")
        for pair in self.get(response, "headers", list, f"{where}.response"):
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
                raise self.fail(f"{where}.response.headers holds {pair!r:.40}, not a [name, value] pair")
            recorded.headers.append((pair[0], pair[1]))
        recorded.response_body = self.data(response, "body", f"{where}.response")
        if "excerpt_of" in response:
            self.excerpt(recorded, response, f"{where}.response")
        return recorded

    def headers(self, raw: Any, where: str, *, key: str = "headers") -> list[tuple[str, str]]:
        pairs = []
        for pair in self.get(raw, key, list, where):
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
                raise self.fail(f"{where}.{key} holds {pair!r:.40}, not a [name, value] pair")
            pairs.append((pair[0], pair[1]))
        return pairs

    def entries(self, mapping: dict[str, Any], key: str, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each mapping of the list under ``key``, with where it stands (a corrupt one fails)."""
        for number, item in enumerate(self.get(mapping, key, list, where), 1):
            at = f"{where}.{key} {number}"
            if not isinstance(item, dict):
                raise self.fail(f"{at} is not a mapping")
            yield at, item

    def raw(self, raw: dict[str, Any], where: str) -> RawOutcome:
        responses = []
        for at, item in self.entries(raw, "responses", where):
            status = self.get(item, "status", int, at)
            if not 100 <= status <= 599:
                raise self.fail(f"{at}.status {status} is not an HTTP status (100..599)")
            responses.append(
                RawResponse(
                    status,
                    self.get(item, "reason", str, at),
                    self.get(item, "version", str, at),
                    tuple(self.headers(item, at)),
                    self.data(item, "body", at),
                    tuple(self.headers(item, at, key="trailers")) if "trailers" in item else (),
                )
            )
        interim = self.get(raw, "interim", list, where)
        if any(isinstance(s, bool) or not isinstance(s, int) or not 100 <= s <= 199 for s in interim):
            raise self.fail(f"{where}.interim must list 1xx statuses, not {interim!r:.40}")
        trailing = self.get(raw, "trailing", int, where)
        if trailing < 0:
            raise self.fail(f"{where}.trailing is negative")
        closed = raw.get("closed")
        if not isinstance(closed, bool):
            raise self.fail(f"{where}.closed must be true or false")
        kind, message = "", ""
        if "error" in raw:
            error = self.get(raw, "error", dict, where)
            kind = self.get(error, "kind", str, f"{where}.error")
            message = self.get(error, "message", str, f"{where}.error")
            if kind not in {e.value for e in TransportError}:
                raise self.fail(f"{where}.error.kind {kind!r:.40} is no transport error")
        interim_headers = (
            tuple(self.headers(raw, where, key="interim_headers")) if "interim_headers" in raw else ()
        )
        return RawOutcome(tuple(responses), tuple(interim), closed, trailing, kind, message, interim_headers)

    def excerpt(self, recorded: Interaction, response: dict[str, Any], where: str) -> None:
        whole = self.get(response, "excerpt_of", dict, where)
        length = self.get(whole, "bytes", int, f"{where}.excerpt_of")
        sha256 = self.get(whole, "sha256", str, f"{where}.excerpt_of")
        if not len(recorded.response_body) <= length <= MAX_REPLAYED_BODY or not _SHA256.fullmatch(sha256):
            raise self.fail(
                f"{where}.excerpt_of needs a sha256 and bytes from the excerpt's size to {MAX_REPLAYED_BODY}"
            )
        judged = []
        for at, raw in self.entries(response, "judged", where):
            check = self.get(raw, "check", str, at)
            requirement = self.get(raw, "requirement", (str, type(None)), at)
            failure = self.get(raw, "failure", dict, at) if "failure" in raw else None
            if failure is not None:
                failure = {key: self.get(failure, key, str, f"{at}.failure") for key in FAILURE_FIELDS}
            judged.append((check, requirement, failure))
        recorded.excerpt_of, recorded.judged = (length, sha256), judged


def _check_shape(reader: _Reader, text: str, loader: Any) -> None:
    """Refuse, from the parser's events alone, what would cost unbounded memory or time to build.

    The suite never writes an anchor or an alias, so any is refused (an alias bomb expands to gigabytes
    when built); nesting is shallow; a plain scalar that YAML would turn into a number stays short.
    """
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise reader.fail("uses YAML anchors or aliases (&, *), which cassettes never hold")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                raise reader.fail(f"nests deeper than {MAX_NESTING} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif (
            isinstance(event, yaml.ScalarEvent)
            and not event.style  # plain (None from the Python parser, "" from libyaml)
            and len(event.value) > MAX_NUMBER_CHARS
            and _NUMBER_LIKE.fullmatch(event.value)
        ):
            raise reader.fail(f"holds a number of {len(event.value)} characters (at most {MAX_NUMBER_CHARS})")


# Cassettes read in this process, by path and content: a replay reads its set when it checks the options
# and again when it runs, and tests replay one set many times. A file whose bytes changed is read afresh.
# The most recently read are kept (a long-lived process reads more sets than it remembers).
_READ: dict[tuple[Path, str], LoadedCassette] = {}
MAX_READ_REMEMBERED = 256


def load_cassette(path: Path) -> LoadedCassette:
    """Read and validate a cassette file; CassetteCorrupt names the file and the first problem found.

    The same bytes at the same path give the same answer, so it is remembered (nothing changes a
    cassette read back: a recording builds interactions of its own).
    """
    reader = _Reader(path)
    try:
        content = read_input(path, what="cassette", max_bytes=MAX_CASSETTE_BYTES)
    except InputUnreadable as exc:
        raise reader.fail(str(exc).replace(f"cassette {path} ", "", 1)) from None
    key = (path, hashlib.sha256(content).hexdigest())
    known = _READ.pop(key, None)
    if known is None:
        known = _parse(reader, path, content, key[1])
        if len(_READ) >= MAX_READ_REMEMBERED:
            del _READ[next(iter(_READ))]  # the least recently read
    _READ[key] = known  # now the most recently read
    return known


def _parse(reader: _Reader, path: Path, content: bytes, sha256: str) -> LoadedCassette:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        text = content.decode("utf-8")
        _check_shape(reader, text, loader)  # before anything is built: aliases, nesting, numbers
        document = yaml.load(text, Loader=loader)
    except UnicodeDecodeError:
        raise reader.fail("is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise reader.fail(f"is not valid YAML{where} ({problem})") from None
    if not isinstance(document, dict):
        raise reader.fail("is not a cassette (expected a YAML mapping at the top)")
    if document.get("format") != FORMAT_VERSION:
        raise reader.fail(f"has format {document.get('format')!r}; this suite reads format {FORMAT_VERSION}")
    header = reader.header(document.get("header"))
    name = reader.get(document, "name", str, "cassette")
    if cassette_file_name(name) != path.name:
        raise reader.fail(f"belongs to test {name!r}, whose cassette is {cassette_file_name(name)}")
    raw_interactions = reader.get(document, "interactions", list, "cassette")
    interactions = tuple(
        reader.interaction(raw, f"interaction {n}") for n, raw in enumerate(raw_interactions, 1)
    )
    digest = reader.get(document, "digest", str, "cassette")
    if _digest({key: value for key, value in document.items() if key != "digest"}) != digest:
        raise reader.fail("its digest does not match its content (edited by hand?)")
    return LoadedCassette(path, name, header, interactions, sha256)
