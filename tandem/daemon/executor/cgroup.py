"""cgroup v2 plumbing: one cgroup per resource, and a watch on ``cgroup.events``.

Why: Pacemaker notices a dead service only at the next monitor (every 10 s or
60 s).  The kernel already knows the moment the last process of a service
exits: when each resource's ``start`` runs in a cgroup of its own, its
``cgroup.events`` file flips to ``populated 0`` and wakes an inotify watch
(the kernel sends IN_MODIFY on that file for every populated/frozen change).
The executor then runs the monitor at once; the monitor's answer decides.

Layout: ``<mount><own cgroup>/tandem-rsc/<resource id>`` where ``<own cgroup>``
is the node daemon's cgroup (the ``0::`` line of /proc/self/cgroup).  In the
lab every node's daemon lives in a cgroup of that node, so two nodes'
``WebSite`` never collide.  The cgroup of a resource is created before its
start and removed after a successful stop only if it is empty; processes the
agent's stop left behind are *not* killed (the agent owns its processes; a
non-empty cgroup is reported in the log and kept, and reused by the next
start).

I/O boundaries: :class:`CgroupBackend` (create / remove / list) and
:class:`CgroupWatcher` (watch / unwatch) are protocols; the real classes are
:class:`CgroupTree` and :class:`InotifyWatcher`; unit tests use fakes.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import os
import select
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

SUBDIR = "tandem-rsc"


# -- discovery (pure parsing + thin readers) --------------------------------


def cgroup2_mount(mounts_text: str) -> Path | None:
    """The cgroup2 mount point from /proc/self/mounts text (first one wins)."""
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == "cgroup2":
            return Path(fields[1].replace("\\040", " "))
    return None


def own_cgroup(proc_cgroup_text: str) -> str | None:
    """The cgroup v2 path of a process (the ``0::PATH`` line of /proc/PID/cgroup)."""
    for line in proc_cgroup_text.splitlines():
        if line.startswith("0::"):
            path = line[3:].strip()
            return path.removesuffix(" (deleted)")
    return None


def default_base() -> Path | None:
    """``<cgroup2 mount><this process's cgroup>/tandem-rsc``, or None without cgroup v2."""
    try:
        mount = cgroup2_mount(Path("/proc/self/mounts").read_text())
        own = own_cgroup(Path("/proc/self/cgroup").read_text())
    except OSError:
        return None
    if mount is None or own is None:
        return None
    return mount / own.lstrip("/") / SUBDIR


def parse_events(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        out[key] = value.strip()
    return out


# -- the tree of resource cgroups -------------------------------------------


class CgroupBackend(Protocol):
    def path(self, rsc_id: str) -> Path: ...

    def create(self, rsc_id: str) -> Path: ...

    def remove_if_empty(self, rsc_id: str) -> bool: ...

    def pids(self, rsc_id: str) -> list[int]: ...

    def populated(self, rsc_id: str) -> bool: ...


class CgroupTree:
    """Real cgroup v2 directories under ``base`` (see module docstring)."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def path(self, rsc_id: str) -> Path:
        if "/" in rsc_id or rsc_id in ("", ".", ".."):
            raise ValueError(f"resource id {rsc_id!r} cannot name a cgroup")
        return self.base / rsc_id

    def create(self, rsc_id: str) -> Path:
        path = self.path(rsc_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def remove_if_empty(self, rsc_id: str) -> bool:
        """rmdir the resource's cgroup; False (and kept) when processes remain."""
        path = self.path(rsc_id)
        if not path.exists():
            return True
        try:
            path.rmdir()
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                log.warning("cgroup %s still has processes %s after stop: kept",
                            path, self.pids(rsc_id))
                return False
            raise
        return True

    def pids(self, rsc_id: str) -> list[int]:
        try:
            text = (self.path(rsc_id) / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(x) for x in text.split()]

    def populated(self, rsc_id: str) -> bool:
        try:
            text = (self.path(rsc_id) / "cgroup.events").read_text()
        except OSError:
            return False
        return parse_events(text).get("populated") == "1"


# -- watching ---------------------------------------------------------------


class CgroupWatcher(Protocol):
    """Calls ``on_empty(rsc_id)`` once when a watched cgroup has no process left."""

    def watch(self, rsc_id: str, path: Path) -> None: ...

    def unwatch(self, rsc_id: str) -> None: ...

    def close(self) -> None: ...


_IN_MODIFY = 0x00000002
_IN_IGNORED = 0x00008000
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_EVENT_HEAD = struct.Struct("iIII")


class InotifyWatcher:
    """inotify (through ctypes) on each watched ``cgroup.events``; one thread.

    A watch is one-shot: it fires ``on_empty`` once, on the first read of
    ``populated 0``, then removes itself.  :meth:`watch` adds the inotify watch
    *before* reading the file, so an exit between start's return and the
    arming is never missed (it fires at once).
    """

    def __init__(self, on_empty: Callable[[str], None]) -> None:
        self.on_empty = on_empty
        libc_name = ctypes.util.find_library("c") or "libc.so.6"
        self._libc = ctypes.CDLL(libc_name, use_errno=True)
        fd = self._libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_init1: {os.strerror(err)}")
        self._fd = fd
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._lock = threading.Lock()
        self._by_wd: dict[int, tuple[str, Path]] = {}
        self._by_rsc: dict[str, int] = {}
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="cgroup-watch", daemon=True)
        self._thread.start()

    def watch(self, rsc_id: str, path: Path) -> None:
        events = path / "cgroup.events"
        self.unwatch(rsc_id)
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(events), _IN_MODIFY)
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_add_watch {events}: {os.strerror(err)}")
        with self._lock:
            self._by_wd[wd] = (rsc_id, events)
            self._by_rsc[rsc_id] = wd
        self._check(wd)

    def unwatch(self, rsc_id: str) -> None:
        with self._lock:
            wd = self._by_rsc.pop(rsc_id, None)
            if wd is None:
                return
            self._by_wd.pop(wd, None)
        self._libc.inotify_rm_watch(self._fd, wd)

    def watched(self) -> list[str]:
        with self._lock:
            return sorted(self._by_rsc)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        self._thread.join(timeout=2)
        for fd in (self._fd, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- thread -------------------------------------------------------------
    def _check(self, wd: int) -> None:
        with self._lock:
            entry = self._by_wd.get(wd)
        if entry is None:
            return
        rsc_id, events = entry
        try:
            populated = parse_events(events.read_text()).get("populated")
        except OSError:
            populated = "0"  # the cgroup vanished: certainly empty
        if populated != "0":
            return
        with self._lock:
            if self._by_wd.pop(wd, None) is None:
                return  # someone else fired or unwatched it meanwhile
            self._by_rsc.pop(rsc_id, None)
        self._libc.inotify_rm_watch(self._fd, wd)
        try:
            self.on_empty(rsc_id)
        except Exception:  # the callback's bug must not kill the watcher
            log.exception("cgroup-empty callback failed for %s", rsc_id)

    def _loop(self) -> None:
        while not self._closed:
            try:
                ready, _, _ = select.select([self._fd, self._wake_r], [], [])
            except OSError:
                return
            if self._wake_r in ready:
                return
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                return
            wds: list[int] = []
            offset = 0
            while offset + _EVENT_HEAD.size <= len(data):
                wd, mask, _cookie, length = _EVENT_HEAD.unpack_from(data, offset)
                offset += _EVENT_HEAD.size + length
                if not mask & _IN_IGNORED and wd not in wds:
                    wds.append(wd)
            for wd in wds:
                self._check(wd)
