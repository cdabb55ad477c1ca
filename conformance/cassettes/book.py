"""The cassette book: one directory of cassettes, recorded against a live target or replayed offline."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from conformance.cassettes.errors import CassetteError, rerecord_hint
from conformance.cassettes.format import (
    SUFFIX,
    CassetteHeader,
    LoadedCassette,
    cassette_file_name,
    dump_cassette,
    load_cassette,
)
from conformance.cassettes.redaction import MIN_API_KEY_LENGTH, CassetteRedactor
from conformance.cassettes.seal import SEAL_FILES, check_sealed, check_sealed_set, seal_status
from conformance.cassettes.session import BodyBudget, CassetteSession, Mode
from conformance.cassettes.transport import CassetteTransport
from conformance.core.files import write_atomic
from conformance.redaction.run_secrets import RunSecrets

if TYPE_CHECKING:
    import httpx

# Recording reads at most this much of a body; the transport's own cap must be smaller for replay to
# reproduce a "response too large" verdict.
DEFAULT_MAX_BODY = 4 * 1024 * 1024
AGREEING_FIELDS = ("target", "profile", "seed", "inputs_version")


@dataclass(frozen=True)
class CassetteReport:
    """What happened to one cassette in this run."""

    name: str
    path: Path
    sha256: str  # of the file written (record) or read (replay); "" when there was none
    interactions: int
    stale: tuple[str, ...] = ()  # replay: recorded requests this run did not send
    written: bool = False


@dataclass(frozen=True)
class BookReport:
    """The cassettes of a run: files written or read with digests, stale interactions, unused files."""

    mode: Mode
    directory: Path
    cassettes: tuple[CassetteReport, ...]
    unused: tuple[Path, ...]  # cassette files no test of this run used (kept unless pruned)
    removed: tuple[Path, ...] = ()

    @property
    def stale_count(self) -> int:
        """How many stale interactions the replay found, over all cassettes."""
        return sum(len(c.stale) for c in self.cassettes)

    def lines(self) -> list[str]:
        """A human summary, one line per finding."""
        verb = "recorded" if self.mode == "record" else "replayed"
        out = [f"{len(self.cassettes)} cassette(s) {verb} in {self.directory}"]
        out += [f"stale in {c.path.name}: {line}" for c in self.cassettes for line in c.stale]
        out += [f"unused cassette (no test of this run): {path}" for path in self.unused]
        out += [f"removed cassette: {path}" for path in self.removed]
        return out


def _sanitized_target(target: str) -> str:
    split = urlsplit(target)
    host = split.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if split.port is not None:
        netloc += f":{split.port}"
    return urlunsplit((split.scheme, netloc, split.path, "", ""))


class CassetteBook:
    """Cassettes for one run: ``use(name)`` around each conformance test, ``finish()`` after the run."""

    def __init__(
        self,
        directory: Path,
        *,
        mode: Mode,
        header: CassetteHeader | None = None,
        api_key: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        seal: Callable[[Path, Iterable[Path]], None] | None = None,
        sealed: tuple[Mapping[str, str], str] | None = None,
        secrets: RunSecrets | None = None,
    ) -> None:
        """``seal`` (record) seals the set it commits; ``sealed`` (replay: the digests of a verified seal
        and how it was checked) refuses an edited, added-to or shortened set
        (``conformance.results.sealing``); ``secrets`` (record): the run's, told what the recording
        redacts."""
        self.directory = Path(directory)
        self.mode = mode
        self._max_body = max_body
        self._redactor: CassetteRedactor | None = None
        self._header: CassetteHeader | None = None
        self._loaded: dict[Path, LoadedCassette] = {}
        self._reports: dict[str, CassetteReport] = {}
        self._staging: Path | None = None  # record: the new set is written here, then swapped in whole
        self._finished: BookReport | None = None
        self._keep: tuple[Path, ...] = ()  # record: files of the old set the new one keeps (commit)
        self._in_use: CassetteSession | None = None
        self._seal = seal
        self._budget = BodyBudget()  # record: what the set stores of bodies (excerpts past it)
        self._sealed: Mapping[str, str] | None = None  # replay with --public-key: the sealed digests
        self.seal_status = ""  # replay: how the set's seal was checked (sign-off, terminal)
        if mode == "record":
            if header is None or not api_key:
                raise CassetteError("recording cassettes needs a header and the api_key to redact")
            if len(api_key) < MIN_API_KEY_LENGTH:
                raise CassetteError(
                    f"the api_key has fewer than {MIN_API_KEY_LENGTH} characters: it cannot be scrubbed from "
                    "recorded text without garbling it; record with a longer key"
                )
            self._redactor = CassetteRedactor(api_key, secrets=secrets)
            scrub = self._redactor.message
            self._header = dataclasses.replace(
                header,
                target=scrub(_sanitized_target(header.target)),
                suite_version=scrub(header.suite_version),
                profile=scrub(header.profile),
            )
        elif mode != "replay":
            raise ValueError(f"mode must be 'record' or 'replay', not {mode!r}")
        elif sealed is not None:
            self._sealed, self.seal_status = sealed
            check_sealed_set(self.directory, self._sealed, self.existing_set())
        else:
            self.seal_status = seal_status(self.directory)

    @property
    def header(self) -> CassetteHeader:
        """The header the cassettes share (replay) or the one being recorded."""
        if self._header is None:
            self._header = self._shared_header()
        return self._header

    def transport(self, inner: httpx.BaseTransport | None = None) -> CassetteTransport:
        """The httpx transport of this book: records through ``inner`` (the real one), replays without one.

        Every request it handles goes to the cassette ``use`` has open; replay never reaches a network.
        """
        if self.mode == "record" and inner is None:
            raise ValueError("recording needs the real transport to record through")
        if self.mode == "replay" and inner is not None:
            raise ValueError("replay answers from the cassettes; it takes no real transport")
        return CassetteTransport(lambda: self._in_use, inner=inner)

    def path_for(self, name: str) -> Path:
        """The cassette file of a test."""
        return self.directory / cassette_file_name(name)

    def loaded(self, name: str) -> LoadedCassette | None:
        """The recorded cassette of a test (read and validated once), or None when it has none."""
        path = self.path_for(name)
        return self._load(path) if path.exists() else None

    @contextmanager
    def use(self, name: str) -> Iterator[CassetteSession]:
        """Record or replay in this test's cassette what the book's ``transport()`` handles in the block."""
        path = self.path_for(name)
        loaded = None
        if self.mode == "replay" and path.exists():
            loaded = self._load(path)
        target = self._header.target if self._header else (loaded.header.target if loaded else None)
        session = CassetteSession(
            path,
            mode=self.mode,
            loaded=loaded,
            redactor=self._redactor,
            target=target,
            max_body=self._max_body,
            budget=self._budget,
        )
        if self._in_use is not None:
            raise CassetteError(f"{path}: another cassette is already in use; cassettes do not nest")
        self._in_use = session
        try:
            yield session
        except Exception:
            self._close(name, session, loaded)
            raise
        # Other BaseExceptions (KeyboardInterrupt, SystemExit) skip _close: an interrupted
        # recording must leave the previous cassette as it was.
        finally:
            self._in_use = None
        self._close(name, session, loaded)

    def existing_set(self) -> tuple[Path, ...]:
        """The cassette files the directory holds now (another recording's set, when recording)."""
        return tuple(sorted(self.directory.glob(f"*{SUFFIX}"))) if self.directory.is_dir() else ()

    def finish(self, *, prune_unused: bool = False) -> BookReport:
        """Report every cassette of the run; a recording is only staged here (see ``commit``).

        ``prune_unused`` (a recording of every test): the new set is to replace the old one whole.
        Otherwise the files no test of this run recorded are kept beside the new ones (``--record-missing``).
        """
        if self._finished is not None:
            return self._finished
        cassettes = tuple(sorted(self._reports.values(), key=lambda r: r.name))
        used = {report.path for report in cassettes}
        unused = tuple(path for path in self.existing_set() if path not in used)
        removed: tuple[Path, ...] = ()
        if self.mode == "record" and self._reports:
            removed = unused if prune_unused else ()
            self._keep = () if prune_unused else unused
            unused = ()
        self._finished = BookReport(self.mode, self.directory, cassettes, unused, removed)
        return self._finished

    def staged(self) -> tuple[Path, ...]:
        """The files of the new set, before ``commit`` (scanned for secrets while the old set is in place)."""
        if self._staging is None:
            return ()
        return tuple(sorted(self._staging.glob(f"*{SUFFIX}")))

    def commit(self) -> None:
        """Swap the finished recording in for the directory's set: the one moment the old set changes.

        Called only when the run completed and its files passed the leak scan; until then the old set is
        never opened for writing, so an error, an interrupt or a kill leaves it byte for byte as it was.
        """
        if self.mode != "record" or self._finished is None or self._staging is None:
            return
        self._swap_in(keep=self._keep)

    def discard(self) -> None:
        """Drop a recording that was not committed (the old set stays as it was); nothing after a commit."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    def _staging_dir(self) -> Path:
        if self._staging is None:
            parent = self.directory.resolve().parent
            parent.mkdir(parents=True, exist_ok=True)
            self._staging = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}.recording-", dir=parent))
        return self._staging

    def _swap_in(self, *, keep: tuple[Path, ...]) -> None:
        """Put the staged set in place of the directory's: two renames, a reader sees one set or the other."""
        staging = self._staging_dir()
        for path in keep:
            shutil.copy2(path, staging / path.name)
        if self._seal is not None:
            self._seal(staging, sorted(staging.glob(f"*{SUFFIX}")))
        target = self.directory.resolve()
        if not target.exists():
            os.replace(staging, target)
            self._staging = None
            return
        backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.previous-", dir=target.parent))
        backup.rmdir()
        os.replace(target, backup)
        os.replace(staging, target)
        self._staging = None
        # Whatever else the directory held (not the old set: its cassettes and seal) stays in it.
        for entry in backup.iterdir():
            if not (entry.suffix == SUFFIX and entry.is_file()) and entry.name not in SEAL_FILES:
                os.replace(entry, target / entry.name)
        shutil.rmtree(backup, ignore_errors=True)

    def _close(self, name: str, session: CassetteSession, loaded: LoadedCassette | None) -> None:
        if self.mode == "record":
            content = dump_cassette(name, self.header, session.interactions)
            write_atomic(self._staging_dir() / session.path.name, content)
            digest = hashlib.sha256(content).hexdigest()
            report = CassetteReport(name, session.path, digest, len(session.interactions), written=True)
        else:
            count = len(loaded.interactions) if loaded else 0
            report = CassetteReport(
                name, session.path, loaded.sha256 if loaded else "", count, session.stale()
            )
        self._reports[name] = report

    def _load(self, path: Path) -> LoadedCassette:
        if path not in self._loaded:
            loaded = load_cassette(path)
            if self._sealed is not None:  # the bytes parsed are the bytes checked
                check_sealed(path, loaded.sha256, self._sealed)
            self._loaded[path] = loaded
        return self._loaded[path]

    def _shared_header(self) -> CassetteHeader:
        hint = rerecord_hint(cassettes=self.directory)
        if not self.directory.is_dir():
            raise CassetteError(f"{self.directory}: no such cassette directory; record one with: {hint}")
        files = sorted(self.directory.glob(f"*{SUFFIX}"))
        if not files:
            raise CassetteError(f"{self.directory}: holds no cassettes; record them with: {hint}")
        loaded = [self._load(path) for path in files]
        first = loaded[0]
        for other in loaded[1:]:
            for name in AGREEING_FIELDS:
                mine, theirs = getattr(first.header, name), getattr(other.header, name)
                if mine != theirs:
                    raise CassetteError(
                        f"{other.path}: recorded with {name} {theirs!r} but {first.path.name} with {mine!r}; "
                        f"delete the cassettes of the other recording or re-record all with: "
                        f"{rerecord_hint(first.header.target, cassettes=self.directory)}"
                    )
        return max((c.header for c in loaded), key=lambda h: h.recorded_at)
