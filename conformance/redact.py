"""Redaction for everything the suite writes: the api_key and issued tokens never reach a file.

The key becomes the same placeholder that cases and cassettes use. A token becomes ``<token#N len=L>``:
N numbers distinct tokens in order of first sight, so evidence still shows that two responses carried
the same token without showing the token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from conformance.model import API_KEY_PLACEHOLDER

# Tokens this short are not worth hiding (and replacing them would garble unrelated text).
MIN_REDACTED_TOKEN_LENGTH = 4
_TOKEN_ELEMENT = re.compile(r"<token>([^<]*)</token>")


class Redactor:
    """Replaces secrets in text; tokens are learnt from every response body it sees."""

    def __init__(self, *, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and s != API_KEY_PLACEHOLDER}, key=len, reverse=True)
        self._tokens: dict[str, int] = {}

    def learn_tokens(self, text: str) -> None:
        """Remember every <token> value in ``text`` so later output hides it."""
        for token in _TOKEN_ELEMENT.findall(text):
            token = token.strip()
            if len(token) >= MIN_REDACTED_TOKEN_LENGTH and token not in self._tokens:
                self._tokens[token] = len(self._tokens) + 1

    def token_label(self, token: str) -> str:
        """The stand-in shown for a token."""
        number = self._tokens.setdefault(token, len(self._tokens) + 1)
        return f"<token#{number} len={len(token)}>"

    def text(self, text: str) -> str:
        """``text`` with the key and every known token replaced."""
        for secret in self._secrets:
            text = text.replace(secret, API_KEY_PLACEHOLDER)
        for token in sorted(self._tokens, key=len, reverse=True):
            if token in text:
                text = text.replace(token, self.token_label(token))
        return text
