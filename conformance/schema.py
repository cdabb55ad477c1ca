"""XSD validation with xmlschema, always on an Element that xmldoc already parsed safely."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance.xmldoc import DEFAULT_LIMITS, Limits, structure_error

_PACKAGE_DIR = Path(__file__).resolve().parent
# A wheel carries the schemas inside the package; an editable checkout reads the top-level schemas/.
SCHEMA_DIRS = (_PACKAGE_DIR / "_schemas", _PACKAGE_DIR.parent / "schemas")
MAX_ERRORS = 3
# Validation results remembered per body: refusals repeat the same few bodies hundreds of times a run,
# and XSD validation is most of what judging a body costs. Small bodies only, a bounded number of them.
CACHED_BODY_BYTES = 4096
CACHED_BODIES = 512


class SchemaError(ValueError):
    """A schema the profile names cannot be found or loaded."""


def schema_path(name: str) -> Path:
    """Resolve a schema name (a file in schemas/) or a path."""
    candidate = Path(name)
    if candidate.is_absolute() or candidate.parent != Path("."):
        if candidate.is_file():
            return candidate
        raise SchemaError(f"schema file {name} not found; check the profile's schema setting")
    for directory in SCHEMA_DIRS:
        if (directory / name).is_file():
            return directory / name
    raise SchemaError(f"schema {name} not found in {', '.join(str(d) for d in SCHEMA_DIRS)}")


@lru_cache(maxsize=8)
def load_schema(name: str) -> Any:
    """The compiled xmlschema.XMLSchema for ``name`` (cached)."""
    import xmlschema  # imported here: loading it costs ~0.3 s and `conformance --help` must stay fast

    path = schema_path(name)
    try:
        return xmlschema.XMLSchema(str(path))
    except (xmlschema.XMLSchemaException, OSError, ET.ParseError) as exc:
        raise SchemaError(f"schema {path} cannot be loaded: {exc}") from None


_remembered: dict[tuple[str, bytes, Limits], tuple[str, ...]] = {}


def body_validation_errors(
    name: str, body: bytes, root: ET.Element, *, limits: Limits = DEFAULT_LIMITS
) -> list[str]:
    """``validation_errors`` of ``root``, parsed from ``body``: the same bytes give the same answer, so a
    small body's answer is remembered (the first CACHED_BODIES of them, for the life of the process)."""
    if len(body) > CACHED_BODY_BYTES:
        return validation_errors(name, root, limits=limits)
    key = (name, body, limits)
    known = _remembered.get(key)
    if known is None:
        known = tuple(validation_errors(name, root, limits=limits))
        if len(_remembered) < CACHED_BODIES:
            _remembered[key] = known
    return list(known)


def validation_errors(name: str, root: ET.Element, *, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """Up to MAX_ERRORS one-line reasons why ``root`` is invalid against the schema; empty when valid.

    The structural limits are checked first: validation costs more than linear time in some shapes.
    """
    refused = structure_error(root, limits)
    if refused is not None:
        return [refused]
    schema = load_schema(name)
    errors = []
    for error in schema.iter_errors(root):
        reason = (error.reason or str(error)).splitlines()[0]
        path = error.path or ""
        errors.append(f"{path}: {reason}" if path else reason)
        if len(errors) >= MAX_ERRORS:
            break
    return errors
