"""Redaction for everything the suite writes: the api_key and issued tokens never reach a file.

The key becomes the same placeholder that cases and cassettes use. A token becomes ``<token#N len=L>``:
N numbers distinct tokens in order of first sight, so evidence still shows that two responses carried
the same token without showing the token. Every spelling of either is the business of
``conformance.redaction.secrets``; this module only decides what the run learns and how text is shown.

What the run learns is every credential-like value a response carries on any channel that its request
did not carry (``credentials``): a ``<token>``, any value a credential name stands for (``token=``,
``"session":``, ``<access_token>``, a cookie, an ``Authorization``-like header, a ``name="csrf"
value=...`` pair), a value after an authorization scheme (``Bearer ...``), a JWT, and any long random-
looking run of letters and digits, in headers (``Location`` and ``Link`` included), the reason phrase and
the body whatever its format. It is a heuristic: a short credential under a name it does not know, in
free text, is missed (see the README's Safety section).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from conformance.core import xmldoc
from conformance.core.model import Exchange
from conformance.redaction.credentials import credential_name, credential_positions, lowered
from conformance.redaction.normalised import class_runs, views, xml_view
from conformance.redaction.secrets import MIN_SECRET_LENGTH, SecretBook

# Tokens this short are not worth hiding (and replacing them would garble unrelated text).
MIN_REDACTED_TOKEN_LENGTH = MIN_SECRET_LENGTH
# A body that does not parse may still hold token elements: they are found in its text as well.
_TOKEN_ELEMENT = re.compile(r"<token(?:\s[^>]*)?>(.*?)</token\s*>", re.S)
MAX_CREDENTIAL_LENGTH = 512
MAX_CREDENTIALS_PER_RESPONSE = 256  # the named ones first, then random-looking runs
# A cookie value this long is a credential whatever its name (shorter ones only under a credential name).
MIN_ANONYMOUS_COOKIE_LENGTH = 8
SCHEMES = ("bearer", "basic", "token", "digest", "mac", "jwt", "negotiate")
_SCHEME_VALUES = {scheme: re.compile(rf"{scheme}\s+([a-z0-9._~+/=\-]{{8,512}})") for scheme in SCHEMES}
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*")
# A run of base64url/hex characters standing alone; random-looking: at least RANDOM_MIN_DISTINCT
# different characters of at least two classes (letters and digits, or both cases).
RUN_ALPHABET = string.ascii_letters + string.digits + "_-"
RUN_MIN_LENGTH = 20
RANDOM_MIN_DISTINCT = 8
# <input name="csrf_token" value="..."> and <meta name="csrf-token" content="...">, attributes in any order
_TAG = re.compile(r"<[A-Za-z][^<>]{0,1024}>")
_ATTRIBUTE = re.compile(r"([A-Za-z][\w.:\-]{0,63})\s*=\s*[\"']([^\"']{0,512})[\"']")
# Values that stand after a credential name without being one.
NOT_CREDENTIALS = frozenset({"null", "none", "true", "false", "undefined", "nil", "empty", "redacted"})


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


def credentials(
    *,
    headers: Iterable[tuple[str, str]],
    reason: str,
    body: bytes,
    document: xmldoc.Document | None = None,
    sent: str = "",
) -> list[str]:
    """Every credential-like value a response carries (headers, reason phrase, body in any format): its
    ``<token>`` always, any other when the request (``sent``: its URL and form, as text) did not carry it."""
    named: list[str] = []
    free: list[str] = []
    document = document if document is not None else xmldoc.parse(body)
    # The parsed <token> (whatever the markup) is the grant itself; every other element, attribute and
    # pair is found in the text and its XML view (comments and CDATA markers removed, references resolved).
    issued = issued_tokens(body, document)
    texts = [reason, *_texts(body)]
    for name, value in headers:
        if name.lower() == "set-cookie":
            cookie, _, value_part = value.split(";", 1)[0].partition("=")
            if len(value_part.strip()) >= MIN_ANONYMOUS_COOKIE_LENGTH or credential_name(cookie):
                named.append(value_part)
        elif credential_name(name):
            named += [value, value.split()[-1] if value.split() else value]
        texts.append(value)
    for text in texts:
        for view in views(text):
            low = lowered(view)  # each pattern below costs a pass: run only where it can match
            named += credential_positions(view, low)
            named += _JWT.findall(view)
            for scheme in (scheme for scheme in SCHEMES if scheme in low):
                # Found in the lower-cased text (a literal first: a fast scan), taken from the view.
                found = _SCHEME_VALUES[scheme].finditer(low)
                named += [
                    view[m.start(1) : m.end(1)] for m in found if not low[m.start() - 1 : m.start()].isalnum()
                ]
            if "value" in low or "content" in low:
                named += _named_tag_values(view)
            runs = class_runs(view, RUN_ALPHABET, RUN_MIN_LENGTH)
            free += [run for run in runs if len(run) <= MAX_CREDENTIAL_LENGTH and _random_looking(run)]
    sent_views = views(sent) if sent else []
    kept = [v for v in (c.strip().strip("\"'") for c in named + free) if _credential(v, sent_views)]
    return list(dict.fromkeys(issued + kept[:MAX_CREDENTIALS_PER_RESPONSE]))


def _named_tag_values(text: str) -> list[str]:
    values = []
    for tag in _TAG.findall(text):
        attributes = {name.lower(): value for name, value in _ATTRIBUTE.findall(tag)}
        names = [attributes.get(key, "") for key in ("name", "id", "property")]
        value = attributes.get("value") or attributes.get("content")
        if value and any(credential_name(name) for name in names if name):
            values.append(value)
    return values


def _random_looking(run: str) -> bool:
    classes = sum(any(test(c) for c in run) for test in (str.isdigit, str.islower, str.isupper))
    return classes >= 2 and len(set(run)) >= RANDOM_MIN_DISTINCT


def _credential(value: str, sent_views: list[str]) -> bool:
    return (
        MIN_REDACTED_TOKEN_LENGTH <= len(value) <= MAX_CREDENTIAL_LENGTH
        and value.lower() not in NOT_CREDENTIALS
        and "__API_KEY_" not in value  # the placeholder and the probe markers of a replay
        and not any(value in view for view in sent_views)
    )


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

    def learn(self, exchange: Exchange, document: xmldoc.Document | None = None) -> None:
        """Remember every credential the response carries, on any channel, before anything is written."""
        sent = "\n".join([exchange.url, *(value for _, value in exchange.case.form)])
        found = credentials(
            headers=exchange.headers, reason=exchange.reason, body=exchange.body, document=document, sent=sent
        )
        for value in found:
            self.book.add_token(value)

    def token_label(self, token: str) -> str:
        """The stand-in shown for a token."""
        return self.book.add_token(token)

    def text(self, text: str) -> str:
        """``text`` with the key and every known token replaced."""
        return self.book.scrub(text)

    def data(self, data: bytes) -> bytes:
        """``data`` with the key and every known token replaced (UTF-8 or UTF-16/32)."""
        return self.book.scrub_bytes(data)
