"""Safe parsing of response bodies: a DTD or entity declaration is refused before anything is expanded.

Raw response text is never handed to xmlschema (it opens a str that looks like a path or URL as a
resource); the checks validate the Element parsed here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


@dataclass(frozen=True)
class Document:
    """A response body: the parsed root, or why there is none."""

    root: ET.Element | None
    error: str | None = None
    has_dtd: bool = False

    def field(self, name: str) -> str | None:
        """Text of the first direct child whose local name is ``name`` ('' when empty), None when absent."""
        if self.root is None:
            return None
        for child in self.root:
            if isinstance(child.tag, str) and _local(child.tag) == name:
                return child.text or ""
        return None

    @property
    def root_name(self) -> str | None:
        """The local name of the root element."""
        return None if self.root is None else _local(self.root.tag)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse(body: bytes) -> Document:
    """Parse ``body`` without resolving DTDs, entities or external references."""
    if not body.strip():
        return Document(None, "empty body")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        return Document(None, f"refused to parse: {type(exc).__name__}", has_dtd=True)
    except ET.ParseError as exc:
        return Document(None, f"not well-formed XML: {exc}")
    except (ValueError, LookupError) as exc:  # e.g. an unknown encoding declaration
        return Document(None, f"not parseable XML: {exc}")
    return Document(root)
