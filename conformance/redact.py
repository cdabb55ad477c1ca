"""Redaction for everything the suite writes: the api_key and issued tokens never reach a file.

The key becomes the same placeholder that cases and cassettes use. A token becomes ``<token#N len=L>``:
N numbers distinct tokens in order of first sight, so evidence still shows that two responses carried
the same token without showing the token. Every spelling of either is the business of
``conformance.secrets``; this module only decides what the run learns and how text is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from conformance import xmldoc
from conformance.secrets import MIN_SECRET_LENGTH, SecretBook, register, xml_view

# Tokens this short are not worth hiding (and replacing them would garble unrelated text).
MIN_REDACTED_TOKEN_LENGTH = MIN_SECRET_LENGTH
# A body that does not parse may still hold token elements: they are found in its text as well.
_TOKEN_ELEMENT = re.compile(r"<token(?:\s[^>]*)?>(.*?)</token\s*>", re.S)


def issued_tokens(body: bytes, document: xmldoc.Document | None = None) -> list[str]:
    """Every token value a body carries: from the parsed document, or from token elements in its text."""
    document = document if document is not None else xmldoc.parse(body)
    found: list[str] = []
    if document.root is not None:
        for element in document.root.iter():
            if isinstance(element.tag, str) and element.tag.rsplit("}", 1)[-1] == "token":
                text = "".join(element.itertext())
                found += [text, text.strip()]
    else:
        for text in _texts(body):
            for raw in _TOKEN_ELEMENT.findall(text):
                value = xml_view(raw)
                value = raw if value is None else value
                found += [value, value.strip()]
    return list(dict.fromkeys(t for t in found if len(t) >= MIN_REDACTED_TOKEN_LENGTH))


def _texts(body: bytes) -> list[str]:
    texts = [body.decode("utf-8", "replace")]
    if b"\x00" in body:
        texts += [body.decode(codec, "replace") for codec in ("utf-16", "utf-16-be", "utf-32", "utf-32-be")]
    return texts


class Redactor:
    """Replaces secrets in text; tokens are learnt from every response it sees."""

    def __init__(self, *, secrets: Iterable[str] = (), book: SecretBook | None = None) -> None:
        self.book = book if book is not None else SecretBook()
        for secret in secrets:
            self.book.add_key(secret)
        register(self.book)

    def learn_tokens(self, body: bytes, document: xmldoc.Document | None = None) -> None:
        """Remember every token the body carries so later output hides it in every spelling."""
        for token in issued_tokens(body, document):
            self.book.add_token(token)

    def token_label(self, token: str) -> str:
        """The stand-in shown for a token."""
        return self.book.add_token(token)

    def text(self, text: str) -> str:
        """``text`` with the key and every known token replaced."""
        return self.book.scrub(text)

    def data(self, data: bytes) -> bytes:
        """``data`` with the key and every known token replaced (UTF-8 or UTF-16/32)."""
        return self.book.scrub_bytes(data)
