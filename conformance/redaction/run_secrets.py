"""The secrets of one run, in one object: built where the session opens the run, passed where they are needed.

The transport (error details), the checks (an echo of the key), the cassettes (what a recording redacts),
the evidence (the run's ``Redactor``), the report writers (their second net) and the leak scan all take the
run's ``RunSecrets``. Nothing of a run's secrets is kept at module level: the key's books, worked out once,
and every book that learns the run's tokens live on this object and go when the run's objects go, so one
run never scrubs with, or keeps, another's secrets. Outside a run (``conformance report`` rebuilding
reports from a summary.json, a part used on its own in a unit test) ``RunSecrets()`` knows no secret.
"""

from __future__ import annotations

from conformance.core.model import key_probe_secrets
from conformance.redaction.redact import Redactor
from conformance.redaction.secrets import SecretBook

# A short text (a header name or value, a reason phrase) repeats from answer to answer (a Date changes once
# a second): whether it echoes the key is worked out once per run, for this many texts at a time.
REMEMBERED_TEXTS = 1024
REMEMBERED_CHARS = 512


class RunSecrets:
    """The run's api_key, the key's books worked out once, and every book that learns the run's tokens."""

    def __init__(self, api_key: str = "") -> None:
        self._api_key = api_key
        self._books: list[SecretBook] = []  # the books of the run (its Redactors', its recording's)
        self._key_books: dict[str, SecretBook] = {}
        self._echo: SecretBook | None = None
        self._echoes: dict[str, bool] = {}

    def __repr__(self) -> str:
        return f"RunSecrets(books={len(self._books)})"  # never the key

    @property
    def api_key(self) -> str:
        """The key the run sends ("" outside a run; the placeholder in a replay)."""
        return self._api_key

    @property
    def books(self) -> tuple[SecretBook, ...]:
        """Every book of the run, in the order they came (the leak scan merges them)."""
        return tuple(self._books)

    def adopt(self, book: SecretBook) -> SecretBook:
        """Let the reports' second net (``scrub``) know whatever ``book`` knows and learns; returns it."""
        self._books.append(book)
        return book

    def redactor(self) -> Redactor:
        """A Redactor of the run's key and the probes derived from it, whose tokens ``scrub`` knows too."""
        return Redactor(
            secrets=[self._api_key, *key_probe_secrets(self._api_key)], book=self.adopt(SecretBook())
        )

    def key_book(self, key: str | None = None) -> SecretBook:
        """A book that knows only ``key`` (default: the run's), its spellings worked out once per run."""
        key = self._api_key if key is None else key
        book = self._key_books.get(key)
        if book is None:
            book = self._key_books[key] = SecretBook(api_keys=[key])
        return book

    def echo_book(self) -> SecretBook:
        """A book that finds the run's key and its probes (in replay: the placeholder the recording wrote)."""
        if self._echo is None:
            self._echo = SecretBook()
            self._echo.add_key(self._api_key, placeholder_too=True)
            for probe in key_probe_secrets(self._api_key):  # a wrong key the suite derived is a near-copy
                self._echo.add_key(probe, normalised_only=True)
        return self._echo

    def echoes(self, text: str) -> bool:
        """Whether ``text`` holds the run's key or a probe in any spelling (a short text: worked out once)."""
        if len(text) > REMEMBERED_CHARS:
            return bool(self.echo_book().find(text))
        known = self._echoes.get(text)
        if known is None:
            if len(self._echoes) >= REMEMBERED_TEXTS:
                self._echoes.clear()
            known = self._echoes[text] = bool(self.echo_book().find(text))
        return known

    def scrub(self, text: str) -> str:
        """``text`` scrubbed of every secret the run's books know, in any spelling."""
        for book in self._books:
            text = book.scrub(text)
        return text


def secrets_of(api_key: str, secrets: RunSecrets | None) -> RunSecrets:
    """The run's ``secrets`` (its key must be ``api_key``), or, for a part used on its own (a unit test, a
    command with no run), secrets of its own for ``api_key``."""
    if secrets is None:
        return RunSecrets(api_key)
    if secrets.api_key != api_key:
        raise ValueError("the api_key given is not the run's")
    return secrets
