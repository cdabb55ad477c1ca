"""Generated tests without Hypothesis: the recorded requests, re-classified and re-judged in recorded order.

A replay (and the live side of `conformance diff`) does not re-generate what a recording generated:
each request is taken from the test's cassette as it was sent, its Case is re-derived from the recorded
form with the same classifier (``CaseBuilder.case``), and every check runs on the answer. So a replay
gives the recorded verdict whatever Hypothesis version is installed, and the Hypothesis engine never
runs. A recorded request the classifier cannot rebuild byte for byte ends the run (exit 4).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlencode

from conformance.cassettes.errors import CassetteMiss
from conformance.cassettes.format import Interaction
from conformance.cassettes.index import describe_request, parse_pairs
from conformance.core.model import API_KEY_PLACEHOLDER, Case, Exchange
from conformance.core.violations import ContractViolation, RunAborted
from conformance.inputs import CaseBuilder, Param

if TYPE_CHECKING:
    from conformance.cassettes.book import CassetteBook
    from conformance.cassettes.format import CassetteHeader
    from conformance.inputs import Users

FORM_FIELDS = ("api_key", "user_id", "token_expire")
_DIGIT_RUN = re.compile(r"(?<![0-9])(0*)([1-9][0-9]{0,18})(?![0-9])")  # a user ID: at most 19 digits


class Run(Protocol):
    """What rejudging needs of a run (the engine's Run); no import of the engine, which drives this."""

    builder: CaseBuilder
    seed: int
    requests: int
    aborted: RunAborted | None
    abort_codes: dict[type[Exception], int | None]

    def expect(self, case: Case) -> Exchange: ...


class RecordedInputs:
    """The requests a cassette recorded for one test, from the first one this test has not sent yet."""

    def __init__(
        self,
        path: Path,
        interactions: Sequence[Interaction],
        *,
        target: str | None,
        sent: Callable[[], int],
        users: Mapping[int, int] | None = None,
    ) -> None:
        self.path = path
        self.target = target
        self._interactions = interactions
        self._sent = sent  # how many requests the test has sent so far (its explicit cases)
        self.users = dict(users or {})  # diff's live side: recorded user ID -> the live target's

    def body(self, interaction: Interaction) -> bytes:
        """The recorded form, its user IDs mapped onto the live target's (in every recorded spelling)."""
        if not self.users:
            return interaction.body
        pairs = parse_pairs(interaction.body.decode("utf-8", "surrogateescape"))
        mapped = [(n, _map_user(v, self.users) if n == "user_id" else v) for n, v in pairs]
        return urlencode(mapped, encoding="utf-8", errors="surrogateescape").encode("ascii")

    def __iter__(self) -> Iterator[tuple[int, Interaction]]:
        # Re-synchronised before each input with what the test has sent so far: the engine's own
        # requests between two inputs (the resend of a throttled request, the sentinels' rounds) took
        # their recorded interactions already, so they are never sent a second time as inputs.
        # Each step moves on at least one interaction, whatever the test sent.
        last = -1
        while (index := max(self._sent(), last + 1)) < len(self._interactions):
            last = index
            yield index + 1, self._interactions[index]


def recorded_inputs(book: CassetteBook, name: str, run: Run, *, map_users: bool = False) -> RecordedInputs:
    """The recorded inputs of test ``name`` for ``run``, counted from the requests it sends from now on.

    ``map_users`` (diff's live side): the recording's users become the run's, so a recording made with
    other users is sent to another deployment as the same classes of input.
    """
    loaded = book.loaded(name)
    start = run.requests
    users = user_mapping(loaded.header, run.builder.users) if map_users and loaded is not None else {}
    return RecordedInputs(
        book.path_for(name),
        loaded.interactions if loaded is not None else (),
        target=loaded.header.target if loaded is not None else None,
        sent=lambda: run.requests - start,
        users=users,
    )


def user_mapping(header: CassetteHeader, live: Users) -> dict[int, int]:
    """Each user the recording named -> the live run's user in the same role (only those that differ)."""
    pairs = [(header.user_id, live.user_id), (header.foreign_user_id, live.foreign_user_id)]
    pairs += list(zip(header.unknown_user_ids, live.unknown_user_ids, strict=False))
    return {old: new for old, new in pairs if old is not None and new is not None and old != new}


def _map_user(value: str, users: Mapping[int, int]) -> str:
    """``value`` with each digit run naming a recorded user (leading zeros kept) naming the live one."""

    def swap(match: re.Match[str]) -> str:
        live = users.get(int(match.group(2)))
        return match.group(0) if live is None else f"{match.group(1)}{live}"

    return _DIGIT_RUN.sub(swap, value)


def case_from_form(builder: CaseBuilder, body: bytes, *, vary: str) -> Case:
    """The Case a recorded form came from: parameters that differ from the valid request are the given ones.

    ``vary`` names the parameter a generated test varies: it counts as given even when the generated
    value happens to equal the valid one, as it did when the case was generated. Raises ValueError
    when the form is not one ``builder`` can produce.
    """
    values: dict[str, list[str]] = {name: [] for name in FORM_FIELDS}
    for name, value in parse_pairs(body.decode("utf-8", "surrogateescape")):
        if name not in values:
            raise ValueError(f"parameter {name!r} is not one the suite sends")
        values[name].append(value)
    valid = builder.case().form
    given: dict[str, Param] = {}
    for name in FORM_FIELDS:
        param = Param(tuple(values[name]))
        if name == vary or param != Param(tuple(v for n, v in valid if n == name)):
            given[name] = param
    case = builder.case(**given)  # type: ignore[arg-type]
    if case.body(api_key=API_KEY_PLACEHOLDER) != body:
        raise ValueError("the classifier rebuilds it differently (parameter order or encoding)")
    return case


def rejudge(run: Run, recorded: RecordedInputs, *, label: str) -> None:
    """Send a generated test's recorded inputs in recorded order; a ContractViolation shows the last."""
    violations: list[str] = []
    judged = 0
    for number, interaction in recorded:
        try:
            case = case_from_form(run.builder, recorded.body(interaction), vary=label)
        except ValueError as exc:
            miss = CassetteMiss(
                recorded.path,
                describe_request(interaction.method, interaction.path, interaction.body),
                f"recorded request #{number} cannot be re-derived ({exc})",
                target=recorded.target,
            )
            run.aborted = RunAborted(str(miss), exit_code=_code(run, miss))
            raise run.aborted from None
        judged += 1
        try:
            run.expect(case)
        except ContractViolation as violation:
            violations.append(str(violation))
    if judged == 0:
        miss = CassetteMiss(
            recorded.path, label, "no recorded input for this generated test", target=recorded.target
        )
        run.aborted = RunAborted(str(miss), exit_code=_code(run, miss))
        raise run.aborted
    if violations:
        raise ContractViolation(
            f"{label}: minimal failing input as recorded (seed {run.seed}; {len(violations)} of {judged} "
            f"recorded inputs failed; judged as recorded, not re-generated):\n{violations[-1]}"
        )


def _code(run: Run, error: Exception) -> int | None:
    return next((code for kind, code in run.abort_codes.items() if isinstance(error, kind)), None)
