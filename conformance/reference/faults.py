"""The fault registry: ``@fault`` registers a Behaviour subclass that misbehaves on purpose.

A fault declares the requirement IDs a correct suite must fail against it (the minimal honest set:
the requirements whose checks are the ones that should catch it) and whether a recorded cassette
can show it. The built-in faults live in ``input_faults``, ``issue_faults``, ``response_faults``,
``http_faults`` (the HTTP/1.1 server layer) and the other ``*_faults`` modules;
they register through the same decorator a user would use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.core.contract import REQUIREMENTS, REQUIREMENTS_BY_ID
from conformance.reference.behaviour import Behaviour, stages


@dataclass(frozen=True)
class Fault:
    """One deliberate misbehaviour of the reference target."""

    name: str
    kind: str
    description: str
    requirements: tuple[str, ...]
    recordable: bool
    behaviour: type[Behaviour]
    # What a run needs to see the fault: --fetch-qrcode, and profile settings (TOML lines)
    fetch_qrcode: bool = False
    profile: str = ""
    # It shows only in a whole run (after many requests, or on an input that only the tests of other
    # requirements send): a focused selftest (`--focused`) sends it every test, not only those declaring
    # its requirements.
    whole_run: bool = False

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages (methods or knobs of Behaviour) this fault overrides."""
        return tuple(name for name in stages() if name in vars(self.behaviour))


FAULTS: dict[str, Fault] = {}

BehaviourT = type[Behaviour]


def fault(
    *,
    name: str,
    kind: str,
    requirements: tuple[str, ...],
    recordable: bool = True,
    registry: dict[str, Fault] | None = None,
    fetch_qrcode: bool = False,
    profile: str = "",
    whole_run: bool = False,
) -> Callable[[BehaviourT], BehaviourT]:
    """Register the decorated Behaviour subclass as fault ``name`` (its docstring describes it)."""
    target = FAULTS if registry is None else registry

    def register(behaviour: BehaviourT) -> BehaviourT:
        if not (isinstance(behaviour, type) and issubclass(behaviour, Behaviour)):
            raise TypeError(f"fault {name!r} must decorate a Behaviour subclass, got {behaviour!r}")
        if name in target:
            raise ValueError(f"fault {name!r} is already registered")
        if not requirements:
            raise ValueError(f"fault {name!r} declares no requirement it must fail")
        unknown = [r for r in requirements if r not in REQUIREMENTS_BY_ID]
        if unknown:
            raise ValueError(f"fault {name!r} names unknown requirement IDs {unknown}")
        description = " ".join((behaviour.__doc__ or "").split())
        if not description:
            raise ValueError(f"fault {name!r} needs a docstring describing the misbehaviour")
        if not any(stage in vars(behaviour) for stage in stages()):
            raise ValueError(f"fault {name!r} overrides no stage of Behaviour")
        if fetch_qrcode and recordable:
            raise ValueError(f"fault {name!r} needs --fetch-qrcode, never recorded: set recordable=False")
        target[name] = Fault(
            name,
            kind,
            description,
            tuple(requirements),
            recordable,
            behaviour,
            fetch_qrcode,
            profile,
            whole_run,
        )
        return behaviour

    return register


def get_fault(name: str) -> Fault:
    """The registered fault ``name``; ValueError names the unknown fault and lists the valid ones."""
    try:
        return FAULTS[name]
    except KeyError:
        valid = ", ".join(sorted(FAULTS))
        raise ValueError(f"unknown fault {name!r}; valid faults: {valid}") from None


def uncovered_requirements(faults: dict[str, Fault] | None = None) -> list[str]:
    """Requirement IDs that no registered fault must fail (empty when the catalogue is complete)."""
    covered = {r for f in (FAULTS if faults is None else faults).values() for r in f.requirements}
    return [r.id for r in REQUIREMENTS if r.id not in covered]


def faults_markdown() -> str:
    """The fault catalogue as a Markdown table (docs/faults.md and the README embed this verbatim)."""
    lines = [
        "| Fault | Kind | Misbehaviour | Must fail | Stage | Recordable |",
        "|---|---|---|---|---|---|",
    ]
    for f in FAULTS.values():
        must_fail = ", ".join(f.requirements)
        stage = ", ".join(f"`{s}`" for s in f.stages)
        recordable = "yes" if f.recordable else "no (live with --fetch-qrcode)" if f.fetch_qrcode else "no"
        description = _markdown_text(f.description)
        lines.append(f"| `{f.name}` | {f.kind} | {description} | {must_fail} | {stage} | {recordable} |")
    return "\n".join(lines)


def _markdown_text(text: str) -> str:
    """Escape what Markdown would read as HTML or a cell border, leaving `code spans` alone."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace("|", "\\|")
    return "`".join(parts)
