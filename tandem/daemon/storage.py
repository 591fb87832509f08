"""CIB storage and the clock: the daemon's two other I/O boundaries, as Protocols.

Why: the state machine (:mod:`tandem.daemon.core`) only *asks* for a persist;
the outer loop does it through :class:`CibStorage`.  Tests use
:class:`InMemoryCibStorage` (which can be corrupted on purpose), the daemon
:class:`FileCibStorage`.

On disk (``/var/lib/tandem/cib`` by default), as Pacemaker keeps
/var/lib/pacemaker/cib:

- ``cib.xml`` -- the configuration (status stripped), written atomically
  (temporary file, fsync, rename, fsync of the folder);
- ``cib.xml.sig`` -- the SHA-256 of ``cib.xml``'s bytes, written the same way
  after it; a mismatch at load means a truncated or edited file and is never
  silently accepted;
- ``cib-N.xml`` (+ ``.sig``) -- the previous versions, the newest ``keep``
  of them (``cib.last`` holds the last N).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lxml import etree

from tandem.util.files import fsync_dir, replace_atomic

DEFAULT_DIR = "/var/lib/tandem/cib"


@dataclass(frozen=True)
class Loaded:
    """What storage found: the XML (None: no CIB yet) or why it cannot be used."""

    xml: str | None
    problem: str | None = None


class CibStorage(Protocol):
    """Where a node keeps its configuration between runs."""

    def load(self) -> Loaded:
        """Read the saved configuration; never raises for a bad file (see ``problem``)."""
        ...

    def save(self, xml: str) -> None:
        """Persist ``xml`` atomically, keeping the previous version as a backup."""
        ...


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


@dataclass
class FakeClock:
    """A clock that only moves when told to (tests)."""

    mono: float = 1000.0
    wall: float = 1_764_000_000.0

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


def _sig(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check(data: bytes, sig: str | None, where: str) -> str | None:
    """Why ``data`` cannot be used (None when it can)."""
    if sig is not None and sig.strip() != _sig(data):
        return (
            f"{where} does not match its digest in {where}.sig (the file is truncated "
            "or was changed outside tandem)"
        )
    try:
        root = etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        return f"{where} is not well-formed XML ({exc.msg})"
    if root.tag != "cib" or root.find("configuration") is None:
        return f"{where} is not a CIB (no <cib><configuration>)"
    return None


@dataclass
class InMemoryCibStorage:
    """Storage in memory; ``corrupt()`` simulates a truncated file."""

    data: bytes | None = None
    sig: str | None = None
    history: list[str] = field(default_factory=list)

    def load(self) -> Loaded:
        if self.data is None:
            return Loaded(None)
        problem = _check(self.data, self.sig, "cib.xml")
        return Loaded(None if problem else self.data.decode(), problem)

    def save(self, xml: str) -> None:
        self.data = xml.encode()
        self.sig = _sig(self.data)
        self.history.append(xml)

    def corrupt(self) -> None:
        assert self.data is not None
        self.data = self.data[: len(self.data) // 2]


class FileCibStorage:
    """The CIB in a folder (``/var/lib/tandem/cib``), with digest and backups."""

    def __init__(self, folder: str | os.PathLike[str] = DEFAULT_DIR, keep: int = 10) -> None:
        self.folder = Path(folder)
        self.keep = keep

    @property
    def path(self) -> Path:
        return self.folder / "cib.xml"

    def load(self) -> Loaded:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Loaded(None)
        except OSError as exc:
            return Loaded(None, f"{self.path} cannot be read: {exc.strerror}")
        try:
            sig: str | None = (self.folder / "cib.xml.sig").read_text()
        except FileNotFoundError:
            sig = None
        problem = _check(data, sig, str(self.path))
        return Loaded(None if problem else data.decode(), problem)

    def save(self, xml: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._backup()
        data = xml.encode()
        replace_atomic(self.path, data)
        replace_atomic(self.folder / "cib.xml.sig", _sig(data).encode() + b"\n")
        fsync_dir(self.folder)

    def backups(self) -> list[Path]:
        """Previous versions, oldest first."""
        found = []
        for p in self.folder.glob("cib-*.xml"):
            with contextlib.suppress(ValueError):
                found.append((int(p.stem.split("-", 1)[1]), p))
        return [p for _, p in sorted(found)]

    def _backup(self) -> None:
        last_file = self.folder / "cib.last"
        try:
            n = int(last_file.read_text().strip()) + 1
        except (FileNotFoundError, ValueError):
            n = 1
        os.replace(self.path, self.folder / f"cib-{n}.xml")
        sig = self.folder / "cib.xml.sig"
        if sig.exists():
            os.replace(sig, self.folder / f"cib-{n}.xml.sig")
        replace_atomic(last_file, f"{n}\n".encode())
        for old in self.backups()[: -self.keep]:
            old.unlink(missing_ok=True)
            Path(f"{old}.sig").unlink(missing_ok=True)
