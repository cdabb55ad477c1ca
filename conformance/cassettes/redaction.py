"""Secret-free recording: the api_key becomes the placeholder, live tokens become same-shape stand-ins.

Stand-ins keep what the token checks judge: length, character class per position, equality (the same
live token always gets the same stand-in, distinct tokens distinct ones), and, for all-digit or all-hex
tokens, arithmetic distance (stand-in = value + K mod base**length), so sequential tokens stay
sequential. K and the HMAC key are drawn per recording session and never stored. A live token that
was predictable from the live tokens before it (conformance.core.prediction) gets, instead, the stand-in that
the same generator predicts from the stand-ins before it: the replay finds the same prediction, and the
stand-in still tells nothing of the live token.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import re
import secrets
import string

from conformance.core import xmldoc
from conformance.core.model import key_probe_secrets
from conformance.core.prediction import TIME_SEEDED_TOKENS, TokenPredictor, readings, time_seed
from conformance.redaction.redact import credentials
from conformance.redaction.run_secrets import RunSecrets, secrets_of
from conformance.redaction.secrets import STRONG_TOKEN_LENGTH, SecretBook, digest_only, scannable

# A key this short would also match unrelated text (a user_id, a status), garbling the recording.
MIN_API_KEY_LENGTH = 8
# A body that does not parse keeps at most this much (scrubbed) in the recording.
MAX_EXCERPT_BYTES = 64 * 1024
# A stand-in of an all-digit or all-hex token is the token shifted by at least this (or a quarter of the
# space of shorter tokens): see _shift.
MIN_SHIFT = 1 << 16
OFFSET_ALPHABETS = (string.digits, "0123456789abcdef", "0123456789ABCDEF")
# Letters are permuted within a-f / g-z (and A-F / G-Z), so a substituted token never becomes an
# all-hex or all-digit string: the three ways of mapping have disjoint images and stand-ins stay distinct.
CLASS_ALPHABETS = (string.digits, "abcdef", "ghijklmnopqrstuvwxyz", "ABCDEF", "GHIJKLMNOPQRSTUVWXYZ")
_ENTITY = re.compile(r"&#?[A-Za-z0-9]+;")


class StandIns:
    """Session-wide map from live tokens to stand-ins of the same shape."""

    def __init__(self, *, offset: int | None = None, key: bytes | None = None) -> None:
        self._offset = secrets.randbits(512) if offset is None else offset
        self._key = secrets.token_bytes(32) if key is None else key
        self._cache: dict[str, str] = {}
        self._used: set[str] = set()
        self._permutations: dict[tuple[int, str], dict[str, str]] = {}
        self._live = TokenPredictor()  # over the live tokens, in order
        self._shadow = TokenPredictor()  # over their stand-ins, as the replay will see them

    def stand_in(self, token: str, *, issued: float | None = None) -> str:
        """The stand-in for ``token`` (its raw text inside <token>); the same token, the same stand-in.

        ``issued``: the second its response's Date header names, when it has one.
        """
        cached = self._cache.get(token)
        if cached is None:
            inner = self._inner(token)
            if inner is not None:  # a credential around another (`3D` + the token, in an encoded URL)
                before, _, after = token.partition(inner)
                cached = self._substituted(before) + self._cache[inner] + self._substituted(after)
                self._cache[token] = cached
                self._used.add(cached)
                return cached
            cached = (
                self._predicted_alike(token)
                or self._seeded_alike(token, issued)
                or self._offset_mapped(token)
                or self._substituted(token)
            )
            self._cache[token] = cached
            self._used.add(cached)
            self._live.learn(token, user=None)
            self._shadow.learn(cached, user=None)
        return cached

    def _inner(self, token: str) -> str | None:
        """The longest strong token seen before that ``token`` holds with more around it: its stand-in must
        hold that token's stand-in where the token stood, or a replay would not find it there."""
        if len(token) <= STRONG_TOKEN_LENGTH:
            return None
        inner = (
            seen for seen in self._cache if STRONG_TOKEN_LENGTH <= len(seen) < len(token) and seen in token
        )
        return max(inner, key=len, default=None)

    def _predicted_alike(self, token: str) -> str | None:
        """For a live token predicted from the live tokens before it: the newest stand-in predicted the
        same way from the stand-ins before it (same length), not yet used."""
        prediction = self._live.predicted.get(token)
        if prediction is None:
            return None
        spelling, alphabet = _spelling(token), _offset_alphabet(token)
        candidates = reversed(self._shadow.predicted.items())
        return next(
            (
                guess
                for guess, alike in candidates
                if alike.how == prediction.how
                and len(guess) == len(token)
                and guess not in self._used
                and _spelling(guess) == spelling  # the same alphabet: hex stays lower-case hex
                and _offset_alphabet(guess) == alphabet  # digits stay digits (they read as hex too)
                and _far_from(token, guess)  # never a near neighbour: another token of the run
            ),
            None,
        )

    def _seeded_alike(self, token: str, issued: float | None) -> str | None:
        """For a token drawn after seeding with its issue time: the same draw seeded with another
        millisecond of the Date header's second (what the replay tries), never the live seed, and a
        stand-in of its own."""
        if issued is None or len(self._cache) >= TIME_SEEDED_TOKENS:
            return None
        found = time_seed(token, [issued, issued + 1])
        if found is None:
            return None
        first = int(issued) * 1000
        redrawn = (found.redraw(seed) for seed in range(first, first + 1000) if seed != found.seed)
        return next((guess for guess in redrawn if guess not in self._used and guess != token), None)

    def _offset_mapped(self, token: str) -> str | None:
        alphabet = _offset_alphabet(token)
        if alphabet is None:
            return None
        base, size = len(alphabet), len(alphabet) ** len(token)
        value, mapped, shift = int(token, base), "", _shift(self._offset, size)
        # Cycle walking: a hex token (it has a letter, or it would be all digits) must map to a token
        # with a letter, so it can never collide with a stand-in of an all-digit token.
        while not mapped or (base == 16 and mapped.isdigit()):
            value = (value + shift) % size
            mapped = _spell(value, alphabet, len(token))
        return mapped

    def _substituted(self, token: str) -> str:
        out: list[str] = []
        position = 0
        # Entity references stay verbatim, so the stand-in is still well-formed XML text.
        for piece in _ENTITY.split(token):
            out.extend(self._substitute(char, position + i) for i, char in enumerate(piece))
            position += len(piece)
            entity = token[position : position + _entity_length(token, position)]
            out.append(entity)
            position += len(entity)
        return "".join(out)

    def _substitute(self, char: str, position: int) -> str:
        alphabet = next((a for a in CLASS_ALPHABETS if char in a), None)
        if alphabet is None:
            return char
        permutation = self._permutations.get((position, alphabet))
        if permutation is None:
            permutation = self._permutations[(position, alphabet)] = self._permutation(position, alphabet)
        return permutation[char]

    def _permutation(self, position: int, alphabet: str) -> dict[str, str]:
        # Fisher-Yates driven by HMAC output: a keyed bijection of the class per position.
        shuffled = list(alphabet)
        for i in range(len(shuffled) - 1, 0, -1):
            mac = hmac.new(self._key, f"{position}:{alphabet}:{i}".encode(), hashlib.sha256).digest()
            j = int.from_bytes(mac[:8], "big") % (i + 1)
            shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
        return dict(zip(alphabet, shuffled, strict=True))


def _offset_alphabet(token: str) -> str | None:
    """The first offset alphabet (digits, lower-case hex, upper-case hex) that spells ``token``, if any."""
    return next((a for a in OFFSET_ALPHABETS if token and all(c in a for c in token)), None)


def _spelling(token: str) -> str | None:
    """The first codec that reads ``token`` (hex, hex upper-case, base64, ...)."""
    read = readings(token)
    return read[0][0].name if read else None


def _date(headers: list[tuple[str, str]]) -> float | None:
    """The Unix second a response's Date header names, None without a readable one."""
    value = next((v for k, v in headers if k.lower() == "date"), None)
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _shift(offset: int, size: int) -> int:
    """The distance stand-ins of tokens of ``size`` values keep from them: never below a quarter of the
    space (at most MIN_SHIFT), so the stand-in of a counter token is never another token of the same run
    (a short counter's stand-ins would otherwise be live tokens of the same recording)."""
    margin = min(MIN_SHIFT, size // 4)
    return margin + offset % (size - 2 * margin) if size > 2 * margin else offset % size


def _far_from(token: str, guess: str) -> bool:
    """Whether ``guess`` keeps the distance from ``token`` that offset-mapped stand-ins keep (_shift), for
    tokens of an offset alphabet: a counter's stand-in is then never one of its own values."""
    for alphabet in OFFSET_ALPHABETS:
        if token and len(guess) == len(token) and all(c in alphabet for c in token + guess):
            size: int = len(alphabet) ** len(token)
            margin = min(MIN_SHIFT, size // 4)
            distance = (int(guess, len(alphabet)) - int(token, len(alphabet))) % size
            return size <= 2 * margin or margin <= distance <= size - margin
    return True


def _spell(value: int, alphabet: str, length: int) -> str:
    digits = []
    for _ in range(length):
        value, remainder = divmod(value, len(alphabet))
        digits.append(alphabet[remainder])
    return "".join(reversed(digits))


def _entity_length(text: str, position: int) -> int:
    match = _ENTITY.match(text, position)
    return len(match.group(0)) if match else 0


class CassetteRedactor:
    """Redacts one recording session: the key everywhere, tokens in each response consistently.

    Tokens are every credential the response carries on any channel
    (``conformance.redaction.redact.credentials``:
    the parsed ``<token>`` whatever the markup, named values, cookies, ``Location``, ...) and are then
    removed in every spelling ``conformance.redaction.secrets`` knows from the body, the headers and the
    reason phrase. A body that does not parse is kept only as a bounded excerpt; one in an encoding the suite
    cannot scan is not kept at all (a note gives its length and digest).
    """

    def __init__(
        self, api_key: str, *, stand_ins: StandIns | None = None, secrets: RunSecrets | None = None
    ) -> None:
        """``secrets``: the run's, whose reports' second net then knows what the recording redacts."""
        # Key probes long enough to be told from other text are near-copies of the key: hidden like it.
        keys = [api_key, *key_probe_secrets(api_key)]
        self.book = secrets_of(api_key, secrets).adopt(SecretBook(api_keys=keys))
        # A request holds only what the suite sent (its inputs and the key), never a token: replacing a
        # token that equals an input there (a counter token and a generated user_id) breaks replay.
        self._request_book = SecretBook(api_keys=keys)
        self.stand_ins = stand_ins or StandIns()

    def request_text(self, text: str) -> str:
        """A request path or body without the key."""
        return self._request_book.scrub(text)

    def response(
        self,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        notes: list[str] | None = None,
        reason: str = "",
        sent: str = "",
    ) -> tuple[list[tuple[str, str]], bytes]:
        """Headers and body with tokens replaced by stand-ins and the key by the placeholder.

        Every credential the response carries (headers, ``reason``, body) and the request (``sent``) did
        not is learnt first, so the reason phrase passed to ``message`` afterwards is scrubbed of it too.
        """
        notes = [] if notes is None else notes
        readable = scannable(body)
        document = xmldoc.parse(body) if readable else xmldoc.parse(b"")
        found = credentials(
            headers=headers, reason=reason, body=body if readable else b"", document=document, sent=sent
        )
        issued = _date(headers)
        for token in found:
            self.book.add_token(token, replacement=self.stand_ins.stand_in(token, issued=issued))
        if not readable:
            notes.append(f"body not recorded: {digest_only(body)}")
            return self._headers(headers), b""
        if document.root is not None or len(body) <= MAX_EXCERPT_BYTES:
            return self._headers(headers), self.book.scrub_bytes(body)
        # Only a window is scrubbed (the cost grows with the size), wide enough that a secret starting
        # before the cut lies inside it whole, in any spelling up to 12 characters a character.
        notes.append(f"unparsable body cut to a {MAX_EXCERPT_BYTES}-byte excerpt of {len(body)} bytes")
        window = body[: MAX_EXCERPT_BYTES + 4 * (12 * self.book.longest + 64)]
        return self._headers(headers), self.book.scrub_bytes(window)[:MAX_EXCERPT_BYTES]

    def _headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(self.book.scrub(name), self.book.scrub(value)) for name, value in headers]

    def message(self, text: str) -> str:
        """An error message or a reason phrase without the key or any token seen so far."""
        return self.book.scrub(text)
