"""InotifyWatcher on plain files shaped like cgroup.events (no cgroupfs, no root)."""

from __future__ import annotations

import threading
from pathlib import Path

from tandem.daemon.executor.cgroup import InotifyWatcher


class Fired:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.event = threading.Event()

    def __call__(self, rsc_id: str) -> None:
        self.names.append(rsc_id)
        self.event.set()


def cg(tmp_path: Path, name: str, populated: str) -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "cgroup.events").write_text(f"populated {populated}\nfrozen 0\n")
    return d


def test_fires_once_when_populated_drops_to_zero(tmp_path: Path) -> None:
    fired = Fired()
    w = InotifyWatcher(fired)
    try:
        d = cg(tmp_path, "web", "1")
        w.watch("web", d)
        assert w.watched() == ["web"]
        (d / "cgroup.events").write_text("populated 1\nfrozen 1\n")  # not an exit
        (d / "cgroup.events").write_text("populated 0\nfrozen 0\n")
        assert fired.event.wait(5)
        assert fired.names == ["web"]
        assert w.watched() == []  # one-shot
    finally:
        w.close()


def test_already_empty_at_watch_time_fires_at_once(tmp_path: Path) -> None:
    fired = Fired()
    w = InotifyWatcher(fired)
    try:
        w.watch("ip", cg(tmp_path, "ip", "0"))
        assert fired.names == ["ip"]  # synchronously, from watch()
    finally:
        w.close()


def test_unwatch_prevents_the_event(tmp_path: Path) -> None:
    fired = Fired()
    w = InotifyWatcher(fired)
    try:
        a = cg(tmp_path, "a", "1")
        b = cg(tmp_path, "b", "1")
        w.watch("a", a)
        w.watch("b", b)
        w.unwatch("a")
        (a / "cgroup.events").write_text("populated 0\n")
        (b / "cgroup.events").write_text("populated 0\n")
        assert fired.event.wait(5)
        assert fired.names == ["b"]  # events are handled in order: "a" would be first
    finally:
        w.close()
