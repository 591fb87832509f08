"""The two token files: known-hosts (client side) and tokens.json (server side).

Why two files, as pcs: a node both *uses* tokens (to reach other daemons,
``known-hosts``) and *accepts* tokens (issued by ``host auth`` against it,
``tokens.json``).  Both are JSON, written atomically (temp file + rename) with
mode 0600 from the start, so a secret never sits in a world-readable file even
for an instant.

The accepted tokens are stored as SHA-256 digests: a copy of the state
directory (backup, bug report) does not leak working credentials.  pcs keeps
them in clear in pcs_users.conf; this is a deliberate improvement.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tandem.api.paths import DEFAULT_PORT
from tandem.errors import TandemError, UsageError, error
from tandem.util.files import replace_atomic

# A host/node name: what a hostname may contain, and never a path component trick.
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,252})$")


def validate_node_name(name: object, what: str = "node name") -> str:
    """Return ``name`` if it is a safe host name; raise UsageError otherwise.

    Node names end up in file names, URLs and logs, so ``/``, ``..``, control
    characters and empty names are refused everywhere.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        shown = repr(name)[:80]
        raise UsageError(
            error(
                "INVALID_NODE_NAME",
                f"{shown} is not a valid {what}: use letters, digits, '.', '-' or '_' "
                "(no '/', no '..')",
                name=str(name)[:80],
            )
        )
    return name


def write_private_json(path: Path, data: Any) -> None:
    """Atomically replace ``path`` with ``data`` as JSON, mode 0600 from creation."""
    text = json.dumps(data, indent=4, sort_keys=True) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomic(path, text.encode("utf-8"), mode=0o600)
    except OSError as exc:
        raise TandemError(
            error(
                "FILE_WRITE_ERROR",
                f"cannot write {path}: {exc.strerror} (tandem host/pcsd commands run as root)",
                path=str(path),
            )
        ) from None


def _read_json(path: Path, what: str) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TandemError(
            error("FILE_READ_ERROR", f"cannot read {what} {path}: {exc.strerror}", path=str(path))
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TandemError(
            error(
                "FILE_FORMAT_ERROR",
                f"{what} {path} is not valid JSON (line {exc.lineno}): fix or remove it",
                path=str(path),
            )
        ) from exc
    if not isinstance(data, dict):
        raise TandemError(
            error("FILE_FORMAT_ERROR", f"{what} {path} is not a JSON object", path=str(path))
        )
    return data


# --------------------------------------------------------------------------- known-hosts


@dataclass(frozen=True)
class Dest:
    addr: str
    port: int = DEFAULT_PORT


@dataclass(frozen=True)
class KnownHost:
    """One entry of known-hosts: how to reach a node's daemon and the token it gave us."""

    name: str
    token: str
    dest_list: tuple[Dest, ...]
    #: SHA-256 of the daemon's certificate seen at ``host auth`` (trust on first use);
    #: an extra key in the pcs format, absent in files written by pcs.
    cert_sha256: str | None = None

    @property
    def dest(self) -> Dest:
        return self.dest_list[0] if self.dest_list else Dest(self.name)


@dataclass
class KnownHosts:
    """pcs's known-hosts file: ``{format_version, data_version, known_hosts: {NAME: ...}}``."""

    hosts: dict[str, KnownHost] = field(default_factory=dict)
    data_version: int = 0

    FORMAT_VERSION = 1

    @classmethod
    def load(cls, path: Path) -> KnownHosts:
        data = _read_json(path, "known-hosts file")
        if data is None:
            return cls()
        try:
            hosts = {}
            for name, entry in dict(data.get("known_hosts", {})).items():
                dests = tuple(
                    Dest(str(d["addr"]), int(d.get("port", DEFAULT_PORT)))
                    for d in entry.get("dest_list", [])
                )
                pin = entry.get("cert_sha256")
                hosts[str(name)] = KnownHost(
                    str(name), str(entry["token"]), dests, str(pin) if pin else None
                )
            return cls(hosts, int(data.get("data_version", 0)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TandemError(
                error(
                    "FILE_FORMAT_ERROR",
                    f"known-hosts file {path} is malformed ({type(exc).__name__}): "
                    "fix it or remove it and run 'tandem host auth' again",
                    path=str(path),
                )
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.FORMAT_VERSION,
            "data_version": self.data_version,
            "known_hosts": {
                h.name: {
                    "dest_list": [{"addr": d.addr, "port": d.port} for d in h.dest_list],
                    "token": h.token,
                    **({"cert_sha256": h.cert_sha256} if h.cert_sha256 else {}),
                }
                for h in sorted(self.hosts.values(), key=lambda h: h.name)
            },
        }

    def save(self, path: Path) -> None:
        self.data_version += 1
        write_private_json(path, self.to_dict())

    def get(self, name: str) -> KnownHost | None:
        return self.hosts.get(name)

    def put(self, host: KnownHost) -> None:
        self.hosts[host.name] = host

    def remove(self, name: str) -> bool:
        return self.hosts.pop(name, None) is not None


# --------------------------------------------------------------------------- accepted tokens


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def new_token() -> str:
    """A fresh bearer token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenEntry:
    digest: str
    username: str
    creation_date: str


class TokenStore:
    """Tokens the local daemon accepts, persisted in ``tokens.json``.

    The file is re-read whenever its modification time changes, so that
    ``tandem pcsd deauth`` (which edits the file directly, as root) takes
    effect on the running daemon at once.
    """

    FORMAT_VERSION = 1

    def __init__(self, path: Path, clock: Any = None) -> None:
        self.path = path
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._entries: dict[str, TokenEntry] = {}
        self._data_version = 0
        self._stamp: tuple[int, int] | None = None
        self._reload()

    # -- persistence
    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    def _reload(self) -> None:
        stamp = self._file_stamp()
        if stamp == self._stamp and stamp is not None:
            return
        data = _read_json(self.path, "token file") or {}
        entries = {}
        for item in data.get("tokens", []):
            if isinstance(item, dict) and isinstance(item.get("token_sha256"), str):
                e = TokenEntry(
                    item["token_sha256"],
                    str(item.get("username", "")),
                    str(item.get("creation_date", "")),
                )
                entries[e.digest] = e
        self._entries = entries
        self._data_version = int(data.get("data_version", 0) or 0)
        self._stamp = stamp

    def _save(self) -> None:
        self._data_version += 1
        write_private_json(
            self.path,
            {
                "format_version": self.FORMAT_VERSION,
                "data_version": self._data_version,
                "tokens": [
                    {
                        "token_sha256": e.digest,
                        "username": e.username,
                        "creation_date": e.creation_date,
                    }
                    for e in self._entries.values()
                ],
            },
        )
        self._stamp = self._file_stamp()

    # -- operations
    def issue(self, username: str) -> str:
        self._reload()
        token = new_token()
        now = self._clock().isoformat(timespec="seconds")
        self._entries[token_digest(token)] = TokenEntry(token_digest(token), username, now)
        self._save()
        return token

    def lookup(self, token: str) -> TokenEntry | None:
        """The entry for ``token`` or None; constant-time comparison of digests."""
        self._reload()
        digest = token_digest(token)
        for known, entry in self._entries.items():
            if secrets.compare_digest(known, digest):
                return entry
        return None

    def revoke(self, tokens: Iterable[str]) -> int:
        """Forget the given tokens; returns how many were known."""
        self._reload()
        n = 0
        for t in tokens:
            if self._entries.pop(token_digest(t), None) is not None:
                n += 1
        if n:
            self._save()
        return n

    def revoke_all(self) -> int:
        self._reload()
        n = len(self._entries)
        self._entries.clear()
        self._save()
        return n

    def __len__(self) -> int:
        self._reload()
        return len(self._entries)
