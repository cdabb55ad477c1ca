"""XSD validation, twice: xmlschema and libxml2 (lxml) judge the same body against the same XSD.

A body is valid only when both validators accept it and it keeps the two rules where they are known to
part: character data in element-only content is XML whitespace (#x20 #x9 #xD #xA), and an xs:anyURI
value is an RFC 3986 URI reference. A conformance tool is never more lenient than the strictest common
validator: xmlschema accepts a `<qrcode>` ending in a stray `%` and NO-BREAK SPACE indentation, libxml2
refuses both. xmlschema always gets the Element that xmldoc already parsed safely; libxml2 parses the
same bytes with a parser that loads no DTD, resolves no entity and reaches no network, and only after
xmldoc refused a DTD and checked the structural limits.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance.core.xmldoc import DEFAULT_LIMITS, Limits, structure_error

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
# A wheel carries the schemas inside the package; an editable checkout reads the top-level schemas/.
SCHEMA_DIRS = (_PACKAGE_DIR / "_schemas", _PACKAGE_DIR.parent / "schemas")
MAX_ERRORS = 3
# Validation results remembered per body: refusals repeat the same few bodies hundreds of times a run,
# and XSD validation is most of what judging a body costs. Small bodies only, a bounded number of them.
CACHED_BODY_BYTES = 4096
CACHED_BODIES = 512
VALID = "valid"

XML_WHITESPACE = re.compile(r"[ \t\r\n]*")
# RFC 3986 section 4.1 URI-reference, from the ABNF of its appendix A (ASCII only: an IRI is no URI).
_HEX = "%[0-9A-Fa-f]{2}"
_UNRESERVED_SUB = r"A-Za-z0-9\-._~!$&'()*+,;="
_PCHAR = f"(?:[{_UNRESERVED_SUB}:@]|{_HEX})"
_SEGMENT_NZ_NC = f"(?:[{_UNRESERVED_SUB}@]|{_HEX})+"
_HOST = rf"(?:\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[{_UNRESERVED_SUB}:]+)\]|(?:[{_UNRESERVED_SUB}]|{_HEX})*)"
_AUTHORITY = f"(?:(?:[{_UNRESERVED_SUB}:]|{_HEX})*@)?{_HOST}(?::[0-9]*)?"
_PATH_ABEMPTY = f"(?:/{_PCHAR}*)*"
_PATH_ABSOLUTE = f"/(?:{_PCHAR}+{_PATH_ABEMPTY})?"
_TAIL = rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
_URI = (
    rf"[A-Za-z][A-Za-z0-9+\-.]*:(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PCHAR}+{_PATH_ABEMPTY}|)"
)
_RELATIVE = f"(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_SEGMENT_NZ_NC}{_PATH_ABEMPTY}|)"
URI_REFERENCE = re.compile(f"(?:{_URI}|{_RELATIVE}){_TAIL}", re.ASCII)


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


def _safe_parser() -> Any:
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


@lru_cache(maxsize=8)
def load_libxml2_schema(name: str) -> Any:
    """The compiled lxml.etree.XMLSchema for ``name``: built once per process."""
    from lxml import etree

    path = schema_path(name)
    try:
        return etree.XMLSchema(etree.parse(str(path), _safe_parser()))
    except (etree.Error, OSError) as exc:
        raise SchemaError(f"schema {path} cannot be loaded by libxml2: {exc}") from None


_remembered: OrderedDict[tuple[str, bytes, Limits], tuple[str, ...]] = OrderedDict()


def body_validation_errors(
    name: str, body: bytes, root: ET.Element, *, limits: Limits = DEFAULT_LIMITS
) -> list[str]:
    """``validation_errors`` of ``root``, parsed from ``body``: the same bytes give the same answer, so a
    small body's answer is remembered (the CACHED_BODIES most recently used, for the life of the process:
    a run's repeated refusals stay remembered however many grants of their own come between them)."""
    if len(body) > CACHED_BODY_BYTES:
        return validation_errors(name, body, root, limits=limits)
    key = (name, body, limits)
    known = _remembered.get(key)
    if known is None:
        known = tuple(validation_errors(name, body, root, limits=limits))
        _remembered[key] = known
        if len(_remembered) > CACHED_BODIES:
            _remembered.popitem(last=False)
    else:
        _remembered.move_to_end(key)
    return list(known)


def validation_errors(
    name: str, body: bytes, root: ET.Element, *, limits: Limits = DEFAULT_LIMITS
) -> list[str]:
    """Why ``body`` (parsed safely as ``root``) is invalid against the schema; empty when valid.

    The structural limits are checked first: validation costs more than linear time in some shapes.
    Otherwise each voice that refuses says why, named (xmlschema, libxml2, the XSD rules below), and a
    disagreement of the two validators names both verdicts.
    """
    refused = structure_error(root, limits)
    if refused is not None:
        return [refused]
    verdicts = {
        "xmlschema": xmlschema_errors(name, root),
        "libxml2": libxml2_errors(name, body),
    }
    rules = rule_errors(name, root)
    if not any(verdicts.values()) and not rules:
        return []
    reasons = [f"{voice}: {'; '.join(errors) if errors else VALID}" for voice, errors in verdicts.items()]
    if rules:
        reasons.append(f"XSD rules: {'; '.join(rules)}")
    return reasons


def xmlschema_errors(name: str, root: ET.Element) -> list[str]:
    """Up to MAX_ERRORS one-line reasons xmlschema gives."""
    import xmlschema

    schema = load_schema(name)
    # No location hints: an xsi:schemaLocation in a response never makes xmlschema load another schema.
    try:  # the fast path (stops at the first error); the reasons are collected only for an invalid body
        schema.validate(root, use_location_hints=False)
        return []
    except xmlschema.XMLSchemaValidationError:
        pass
    errors = []
    for error in schema.iter_errors(root, use_location_hints=False):
        reason = (error.reason or str(error)).splitlines()[0]
        path = error.path or ""
        errors.append(f"{path}: {reason}" if path else reason)
        if len(errors) >= MAX_ERRORS:
            break
    return errors


def libxml2_errors(name: str, body: bytes) -> list[str]:
    """Up to MAX_ERRORS one-line reasons libxml2 gives (its parser's own refusal included)."""
    from lxml import etree

    schema = load_libxml2_schema(name)
    try:
        document = etree.fromstring(body, _safe_parser())
    except (etree.Error, ValueError) as exc:
        return [f"not parseable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"]
    try:
        if schema.validate(document):
            return []
    except etree.Error as exc:  # e.g. an entity left unexpanded: libxml2 reports an internal error
        return [f"not validated: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"]
    messages = dict.fromkeys(f"line {e.line}: {e.message}" for e in schema.error_log)
    return list(messages)[:MAX_ERRORS]


def rule_errors(name: str, root: ET.Element) -> list[str]:
    """Element-only content that is not XML whitespace, and xs:anyURI values that are no RFC 3986 URI
    reference: the elements are matched to the schema's declarations by name (an undeclared one is
    left to the validators)."""
    declaration = load_schema(name).elements.get(root.tag)
    errors: list[str] = []
    stack = [(root, declaration, f"/{root.tag}")]
    while stack and len(errors) < MAX_ERRORS:
        element, decl, path = stack.pop()
        if decl is None:
            continue
        kind = decl.type
        if kind.is_simple() or kind.has_simple_content():
            primitive = getattr(kind, "primitive_type", None)
            if getattr(primitive, "local_name", None) == "anyURI":
                value = " ".join((element.text or "").split())  # xs:anyURI collapses whitespace
                if not URI_REFERENCE.fullmatch(value):
                    errors.append(f"{path}: {_shown(value)} is not an RFC 3986 URI reference (xs:anyURI)")
            continue
        children = {child.local_name: child for child in kind.content.iter_elements()}
        texts = [element.text, *(child.tail for child in element)]
        if kind.is_element_only() and any(t and not XML_WHITESPACE.fullmatch(t) for t in texts):
            bad = next(t for t in texts if t and not XML_WHITESPACE.fullmatch(t))
            errors.append(
                f"{path}: character data {_shown(bad)} in element-only content "
                "(only #x20 #x9 #xD #xA allowed)"
            )
        stack.extend(
            (child, children.get(str(child.tag)), f"{path}/{child.tag}")
            for child in reversed(element)
            if isinstance(child.tag, str)
        )
    return errors


def _shown(text: str) -> str:
    """A short, visible spelling of a value (non-ASCII and control characters escaped)."""
    return ascii(text[:60] + ("..." if len(text) > 60 else ""))
