"""Safe parsing of response bodies: a DTD or entity declaration is refused before anything is expanded.

Raw response text is never handed to xmlschema (it opens a str that looks like a path or URL as a
resource); the checks validate the Element parsed here.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cached_property

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


@dataclass(frozen=True)
class Limits:
    """Structural bounds on a response document, far above any real user_response (a profile may move them).

    Expat and the XSD validator cost more than linear time in some shapes (xmlschema is quadratic in the
    attributes of one element): a document beyond these bounds is a finding, never parsed or validated.
    """

    max_elements: int = 1000
    max_depth: int = 32
    max_attributes: int = 64  # on one element
    max_attribute_chars: int = 8192  # one attribute value
    max_text_chars: int = 65536  # the text of one element


DEFAULT_LIMITS = Limits()
_SPACED_ATTRIBUTE = re.compile(rb"=\s+[\"']")


@dataclass(frozen=True)
class Document:
    """A response body: the parsed root, or why there is none."""

    root: ET.Element | None
    error: str | None = None
    has_dtd: bool = False
    over_limit: bool = False  # refused for its shape (Limits), not for its syntax

    def field(self, name: str) -> str | None:
        """Text of the first direct child whose local name is ``name`` ('' when empty), None when absent."""
        return self._fields.get(name)

    @cached_property
    def _fields(self) -> dict[str, str]:
        """Each direct child's local name -> the text of the first child of that name (read once)."""
        fields: dict[str, str] = {}
        for child in [] if self.root is None else self.root:
            if isinstance(child.tag, str):
                fields.setdefault(_local(child.tag), child.text or "")
        return fields

    @property
    def root_name(self) -> str | None:
        """The local name of the root element."""
        return None if self.root is None else _local(self.root.tag)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse(body: bytes, *, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Parse ``body`` without resolving DTDs, entities or external references, within ``limits``."""
    if not body.strip():
        return Document(None, "empty body")
    refused = precheck(body, limits)
    if refused is not None:
        return Document(None, refused, over_limit=True)
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        return Document(None, f"refused to parse: {type(exc).__name__}", has_dtd=True)
    except ET.ParseError as exc:
        return Document(None, f"not well-formed XML: {exc}")
    except (ValueError, LookupError) as exc:  # e.g. an unknown encoding declaration
        return Document(None, f"not parseable XML: {exc}")
    refused = structure_error(root, limits)
    if refused is not None:
        return Document(None, refused, over_limit=True)
    return Document(root)


def precheck(body: bytes, limits: Limits) -> str | None:
    """Bounds checked on the bytes before parsing (linear, in C): markup tags and attributes per tag."""
    data = _narrow(body)
    tags = data.count(b"<")
    # A well-formed element costs at most two tags; comments and processing instructions one each.
    if tags > 2 * limits.max_elements + 16:
        return (
            f"structural limit: {tags} markup tags "
            f"(at most {2 * limits.max_elements + 16} for {limits.max_elements} elements)"
        )
    for tag in data.split(b"<"):  # at most 2 * max_elements + 17 pieces: the count above bounds them
        if tag.count(b"=") <= limits.max_attributes:
            continue
        attributes = tag.count(b'="') + tag.count(b"='")
        if attributes <= limits.max_attributes:  # spaced ones (a = "1") counted only up to the bound
            spaced = _SPACED_ATTRIBUTE.finditer(tag)
            attributes += sum(1 for _ in itertools.islice(spaced, limits.max_attributes + 1 - attributes))
        if attributes > limits.max_attributes:
            return f"structural limit: over {limits.max_attributes} attributes on one element"
    return None


def _narrow(body: bytes) -> bytes:
    """UTF-16/32 bytes with the NULs dropped, so markup counts work on them too."""
    head = body[:8]
    if b"\x00" in head:
        return body.replace(b"\x00", b"")
    return body


def structure_error(root: ET.Element, limits: Limits) -> str | None:
    """The first structural bound ``root`` crosses: element count, depth, attributes, sizes."""
    count = 0
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if count > limits.max_elements:
            return f"structural limit: more than {limits.max_elements} elements"
        if depth > limits.max_depth:
            return f"structural limit: elements nested deeper than {limits.max_depth}"
        if len(element.attrib) > limits.max_attributes:
            return (
                f"structural limit: {len(element.attrib)} attributes on <{_local(str(element.tag))}> "
                f"(at most {limits.max_attributes})"
            )
        for name, value in element.attrib.items():
            if len(value) > limits.max_attribute_chars:
                return (
                    f"structural limit: attribute {_local(name)[:40]} of {len(value)} characters "
                    f"(at most {limits.max_attribute_chars})"
                )
        for text in (element.text, element.tail):
            if text is not None and len(text) > limits.max_text_chars:
                return f"structural limit: a text of {len(text)} characters (at most {limits.max_text_chars})"
        stack.extend((child, depth + 1) for child in element)
    return None
