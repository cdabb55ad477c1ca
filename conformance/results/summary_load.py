"""summary.json read back as untrusted input: every field checked against the type the Summary declares.

A summary.json a user hands a command (``conformance report``, ``--baseline``, ``conformance rerun``) may be
hand-edited or written by another tool. ``decode`` walks the dataclasses' own annotations (``str``,
``int``, ``float``, ``bool``, enums, ``X | None``, ``tuple[X, ...]``, nested dataclasses) and, for a block
kept as JSON, the TypedDict its field's metadata names (``SHAPE``): a field added later is checked too,
and a type it cannot check is a TypeError (``unchecked`` lists them; a test asserts there are none).
Anything else is one SummaryError naming the field path (``token_entropy.sample``), what was expected
and what was found: renderers then trust the typed Summary. Numbers must be finite, integers fit in 64
bits. Unknown keys are ignored, so a newer suite may add fields within the same ``schema_version``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypedDict, TypeVar

from conformance.core.errors import EXIT_USAGE, ConformanceError
from conformance.core.model import Expect

T = TypeVar("T")

# Field metadata the decoder reads (``dataclasses.field(metadata={...})``).
SHAPE = "summary.shape"  # the JSON shape of a field typed as a JSON block (a TypedDict, or a tuple of them)
KEY = "summary.key"  # the document key, when it is not the field name
INLINE = "summary.inline"  # a nested dataclass whose keys sit beside the owner's (the run facts)
REST = "summary.rest"  # a JSON block made of every key the owner does not name (a failure's evidence)
DERIVED = "summary.derived"  # never read: derived from the rest of the document
CHOICES = "summary.choices"  # the only values allowed
INT_RANGE = range(-(2**63), 2**64)  # 64 bits, signed or not (a --seed may be up to 2^64-1)
SHOWN = 40  # characters of a bad value shown in the error


class SummaryError(ConformanceError, ValueError):
    """A summary.json that cannot be used: unreadable, not a summary, or a field of the wrong type."""

    exit_code = EXIT_USAGE


class SummaryContradiction(SummaryError):
    """A summary whose verdict or exit code does not follow from its requirement outcomes."""


# ---- The shapes of the blocks summary.json keeps as JSON (what their writers produce) ----------------
# Required keys in the base class, optional ones (newer fields, or absent in a hand-made summary) in the
# ``total=False`` subclass: NotRequired is not read reliably from postponed annotations on Python 3.11.


class _TokenEntropy(TypedDict):
    sample: int
    token_length: int
    collision_bound_bits: float
    min_entropy_estimate_bits: float
    biased: list[str]


class TokenEntropy(_TokenEntropy, total=False):
    """``token_entropy``: entropy.EntropyReport.as_dict."""

    unbiased_positions_bits: float
    tokens_judged: int
    small_space_caught_probability: float


class _Recording(TypedDict):
    target: str
    recorded_at: str
    suite_version: str
    age_days: int
    max_age_days: int
    too_old: bool


class Recording(_Recording, total=False):
    """``recording``: cassettes.agreement.recording_facts (``seal``: absent in summaries before it)."""

    seal: str


class CassetteRef(TypedDict):
    """An entry of ``cassettes``."""

    path: str
    sha256: str


class StaleInteraction(TypedDict):
    """An entry of ``stale_interactions``."""

    cassette: str
    request: str


class WaiverEntry(TypedDict, total=False):
    """An applied, expired or unused waiver: waivers.Waiver.as_dict (read with .get: each key optional)."""

    requirement: str
    check: str | None
    case: str | None
    reason: str
    ticket: str
    expires: str
    approver: str
    not_applicable: bool


class Waivers(TypedDict, total=False):
    """``waivers``: waivers.WaiverSet.report (read with .get: each key optional)."""

    file: str | None
    today: str
    fail_on_new: bool
    applied: list[WaiverEntry]
    expired: list[WaiverEntry]
    unused: list[WaiverEntry]


class _EvidenceRequest(TypedDict):
    form: list[tuple[str, str]]  # what `conformance rerun` sends again


class EvidenceRequest(_EvidenceRequest, total=False):
    """A failure's ``request``: evidence.exchange_evidence."""

    method: str
    url: str
    expect: Expect  # what the contract expected of the case, and the input class that decided it
    requirement: str
    path_variant: str  # how the case travelled, when not as a plain POST (evidence.request_channel)
    form_in_query: bool
    fresh_connection: bool
    alternate_identity: bool  # sent again under the second client identity (LT-SEC-IDENTITY-BLIND)
    spelling: str  # how the form was written on the wire (conformance.core.wire.SPELLINGS)
    headers: list[tuple[str, str]]  # request headers added to the client identity's
    raw: str  # a raw-message probe's name (conformance.exchange.raw.PROBES): sent again as that probe
    after_error: bool  # sent after an error that left the connection open: sent again after one


class EvidenceResponse(TypedDict, total=False):
    """A failure's ``response``: evidence.exchange_evidence (shown as JSON: each key optional)."""

    status: int | None
    reason: str
    headers: list[tuple[str, str]]
    body: str
    error: str | None
    elapsed_s: float


class Evidence(TypedDict, total=False):
    """A failure's evidence: the keys of a failure beside its own fields (none for a hand-made failure)."""

    request: EvidenceRequest
    response: EvidenceResponse


# ---- The decoder ----------------------------------------------------------------------------------------


def decode(cls: type[T], document: object, *, path: str = "") -> T:
    """An instance of dataclass ``cls`` read from ``document``; SummaryError naming the first bad field."""
    return typing.cast(T, _decode(document, cls, path))


def unchecked(cls: type) -> list[str]:
    """``Class.field: type`` of every field, reachable from dataclass ``cls``, the decoder cannot check."""
    found: list[str] = []
    _unchecked(cls, found, set())
    return found


def _unchecked(hint: Any, found: list[str], seen: set[Any]) -> None:
    if hint in seen:
        return
    seen.add(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = _hints(hint)
        for f in dataclasses.fields(hint):
            if f.metadata.get(DERIVED):
                continue
            shape = f.metadata.get(SHAPE, hints[f.name])
            if not _supported(shape):
                found.append(f"{hint.__name__}.{f.name}: {shape}")
            for inner in _inner(shape):
                _unchecked(inner, found, seen)
    elif typing.is_typeddict(hint):
        for name, inner in _hints(hint).items():
            if not _supported(inner):
                found.append(f"{hint.__name__}.{name}: {inner}")
            for each in _inner(inner):
                _unchecked(each, found, seen)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The resolved annotations of a dataclass or TypedDict (resolved once: reading is hot)."""
    return typing.get_type_hints(cls)


def _inner(hint: Any) -> list[Any]:
    """The dataclasses and TypedDicts ``hint`` names, at any depth of unions, tuples and lists."""
    if dataclasses.is_dataclass(hint) or typing.is_typeddict(hint):
        return [hint]
    return [each for arg in typing.get_args(hint) for each in _inner(arg)]


def _supported(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint in (str, int, float, bool, type(None)):
        return True
    if isinstance(hint, type) and (issubclass(hint, enum.Enum) or dataclasses.is_dataclass(hint)):
        return True
    if typing.is_typeddict(hint):
        return True
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return len(args) == 1 and _supported(args[0])
    if origin in (tuple, list):
        return all(_supported(a) for a in typing.get_args(hint) if a is not Ellipsis)
    return False


def _decode(value: object, hint: Any, path: str, *, nullable: bool = False) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"summary field {path or '(document)'}: the decoder cannot check {hint}")
        optional = len(args) < len(typing.get_args(hint))
        if value is None and optional:
            return None
        return _decode(value, args[0], path, nullable=optional)
    if hint is str:
        text = "a string" if not isinstance(value, str) else "a string of Unicode text (no lone surrogate)"
        return _expect(value, _text(value), text, path, nullable)
    if hint is bool:
        return _expect(value, isinstance(value, bool), "true or false", path, nullable)
    if hint is int:
        fits = isinstance(value, int) and not isinstance(value, bool) and value in INT_RANGE
        return _expect(value, fits, "an integer of at most 64 bits", path, nullable)
    if hint is float:
        return _expect(value, _finite(value), "a finite number", path, nullable)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        allowed = [m.value for m in hint]
        if value not in allowed or isinstance(value, bool):
            raise _wrong(path, "one of " + ", ".join(repr(a) for a in allowed), value, nullable)
        return hint(value)
    if origin in (tuple, list):
        if not isinstance(value, list):
            raise _wrong(path, "a list", value, nullable)
        parts = typing.get_args(hint)
        if origin is tuple and (len(parts) != 2 or parts[1] is not Ellipsis):
            if len(value) != len(parts):
                raise _wrong(path, f"a list of {len(parts)} items", value, nullable)
            kinds: tuple[Any, ...] = parts
        else:
            kinds = (parts[0],) * len(value)
        items = [_decode(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, kinds, strict=True))]
        return tuple(items) if origin is tuple else items
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, Mapping):
            raise _wrong(path, "an object", value, nullable)
        return hint(**_fields(hint, value, path))
    if typing.is_typeddict(hint):
        if not isinstance(value, Mapping):
            raise _wrong(path, "an object", value, nullable)
        _check_keys(hint, value, path)
        return dict(value)  # kept as written (JSON-native), unknown keys too
    raise TypeError(f"summary field {path or '(document)'}: the decoder cannot check {hint}")


def _fields(cls: type, document: Mapping[str, Any], path: str) -> dict[str, Any]:
    """The keyword arguments of dataclass ``cls`` read from ``document`` (its INLINE fields from it too)."""
    hints = _hints(cls)
    given: dict[str, Any] = {}
    rest: dataclasses.Field[Any] | None = None
    claimed: set[str] = set()
    for f in dataclasses.fields(cls):
        if f.metadata.get(DERIVED):
            continue
        if f.metadata.get(INLINE):
            inline = hints[f.name]
            given[f.name] = inline(**_fields(inline, document, path))
            claimed |= {g.metadata.get(KEY, g.name) for g in dataclasses.fields(inline)}
            continue
        if f.metadata.get(REST):
            rest = f
            continue
        key = f.metadata.get(KEY, f.name)
        claimed.add(key)
        where = f"{path}.{key}" if path else key
        if key not in document:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SummaryError(f"field {where}: missing (expected {_expected(hints[f.name])})")
            continue
        value = _decode(document[key], f.metadata.get(SHAPE, hints[f.name]), where)
        choices = f.metadata.get(CHOICES)
        if choices is not None and value is not None and value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise _wrong(where, f"one of {allowed}", value, type(None) in typing.get_args(hints[f.name]))
        given[f.name] = value
    if rest is not None:
        block = {k: v for k, v in document.items() if k not in claimed}
        given[rest.name] = _decode(block, rest.metadata[SHAPE], path)
    return given


def _check_keys(shape: Any, value: Mapping[str, Any], path: str) -> None:
    for key, hint in _hints(shape).items():
        where = f"{path}.{key}" if path else key
        if key in value:
            _decode(value[key], hint, where)
        elif key in shape.__required_keys__:
            raise SummaryError(f"field {where}: missing (expected {_expected(hint)})")


def _text(value: object) -> bool:
    """A string every report can write: no lone surrogate (JSON's "\\ud800" reads as one)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _finite(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer too large for a float
        return False


def _expect(value: object, ok: bool, expected: str, path: str, nullable: bool) -> object:
    if not ok:
        raise _wrong(path, expected, value, nullable)
    return value


def _expected(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return " or ".join(_expected(a) for a in args) + " or null"
    names = {str: "a string", bool: "true or false", int: "an integer", float: "a finite number"}
    if hint in names:
        return names[hint]
    if origin in (tuple, list):
        return "a list"
    return "an object"


def _wrong(path: str, expected: str, value: object, nullable: bool) -> SummaryError:
    where = f"field {path}" if path else "the document"
    return SummaryError(f"{where}: expected {expected}{' or null' if nullable else ''}, got {_shown(value)}")


def _shown(value: object) -> str:
    """The JSON kind of a bad value, and the value itself when it is short to show (never a newline)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, int) and value not in INT_RANGE:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"
