"""Request matching in constant time: an index from the normalized request to a queue of interactions.

A request is its method, its path, and its query and form parameters parsed with blank values kept,
ordered by name (different names in any order match) but keeping the order of one name's values
(``a=1&a=2`` is not ``a=2&a=1``: first-wins and last-wins servers answer them differently).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from conformance.cassettes.format import Interaction

MAX_SHOWN_VALUE = 60

Pairs = tuple[tuple[str, str], ...]
RequestKey = tuple[str, str, Pairs, Pairs]


def parse_pairs(text: str) -> Pairs:
    """Form or query parameters in sent order, blank values kept, undecodable bytes kept distinct."""
    return tuple(parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="surrogateescape"))


def _by_name(pairs: Pairs) -> Pairs:
    return tuple(sorted(pairs, key=lambda pair: pair[0]))  # stable: one name's values keep their order


def request_key(method: str, path: str, body: bytes) -> RequestKey:
    """The matching key of a request."""
    split = urlsplit(path)
    form = parse_pairs(body.decode("utf-8", "surrogateescape"))
    return method.upper(), split.path or "/", _by_name(parse_pairs(split.query)), _by_name(form)


def _shown(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= MAX_SHOWN_VALUE else f"{shown[:MAX_SHOWN_VALUE]}...({len(text)} chars)"


def describe_request(method: str, path: str, body: bytes) -> str:
    """One line naming a request: method, path and its form in sent order."""
    form = parse_pairs(body.decode("utf-8", "surrogateescape"))
    shown = " ".join(f"{_shown(name)[1:-1]}={_shown(value)}" for name, value in form)
    return f"{method.upper()} {path} form {shown or '(empty)'}"


@dataclass
class Slot:
    """The recorded interactions for one request key, replayed in recorded order."""

    interactions: list[Interaction]
    queue: deque[Interaction] = field(init=False)

    def __post_init__(self) -> None:
        self.queue = deque(self.interactions)

    @property
    def played(self) -> int:
        """How many of the recorded interactions were replayed."""
        return len(self.interactions) - len(self.queue)


class InteractionIndex:
    """The interactions of one cassette, keyed by request."""

    def __init__(self, interactions: Iterable[Interaction]) -> None:
        grouped: dict[RequestKey, list[Interaction]] = {}
        for interaction in interactions:
            key = request_key(interaction.method, interaction.path, interaction.body)
            grouped.setdefault(key, []).append(interaction)
        self._slots = {key: Slot(group) for key, group in grouped.items()}

    def take(self, key: RequestKey) -> Interaction | None:
        """The next unplayed interaction for ``key``, or None."""
        slot = self._slots.get(key)
        return slot.queue.popleft() if slot is not None and slot.queue else None

    def recorded(self, key: RequestKey) -> int:
        """How many interactions were recorded for ``key``."""
        slot = self._slots.get(key)
        return len(slot.interactions) if slot is not None else 0

    def stale(self) -> tuple[str, ...]:
        """The recorded requests not (or not every time) requested in this replay, one line each."""
        lines = []
        for slot in self._slots.values():
            if slot.queue:
                first = slot.queue[0]
                lines.append(
                    f"{describe_request(first.method, first.path, first.body)} "
                    f"(recorded {len(slot.interactions)}x, replayed {slot.played}x)"
                )
        return tuple(lines)
