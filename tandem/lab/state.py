"""Where a lab keeps its state: the JSON record, the lock and the per-node folders.

Layout (``<root>`` is $TANDEM_LAB_DIR or /var/lib/tandem-lab)::

    <root>/<lab>/state.json        plan parameters, node init pids, partition
    <root>/<lab>/lock              flock(2) serialising commands on this lab
    <root>/<lab>/nodes/<node>/root/etc/corosync, /etc/tandem, ...  persistent folders
    <root>/<lab>/nodes/<node>/hosts, hostname                      bound over /etc/...

The record is written *before* each thing is created, so ``lab down`` can
always find and remove what a half-failed ``up`` left behind.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_ROOT = "/var/lib/tandem-lab"


def state_root() -> Path:
    return Path(os.environ.get("TANDEM_LAB_DIR") or DEFAULT_ROOT)


@dataclass
class NodeRecord:
    """What the lab knows about a running (or crashed) node's init."""

    pid: int | None = None
    starttime: int | None = None  # /proc/PID/stat field 22, guards against pid reuse


@dataclass
class LabRecord:
    name: str
    prefix: str
    subnet: str
    nodes: int
    phase: str = "creating"  # creating -> up; down removes the record
    partition: list[str] = field(default_factory=list)
    node_state: dict[str, NodeRecord] = field(default_factory=dict)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "name": self.name,
            "prefix": self.prefix,
            "subnet": self.subnet,
            "nodes": self.nodes,
            "phase": self.phase,
            "partition": self.partition,
            "node_state": {k: vars(v) for k, v in self.node_state.items()},
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabRecord:
        data = json.loads(text)
        rec = cls(
            name=data["name"],
            prefix=data["prefix"],
            subnet=data["subnet"],
            nodes=int(data["nodes"]),
            phase=data.get("phase", "up"),
            partition=list(data.get("partition", [])),
        )
        for k, v in data.get("node_state", {}).items():
            rec.node_state[k] = NodeRecord(pid=v.get("pid"), starttime=v.get("starttime"))
        return rec


class LabDir:
    """Paths and persistence of one lab's state directory."""

    def __init__(self, name: str, root: Path | None = None) -> None:
        self.name = name
        self.path = (root or state_root()) / name

    @property
    def record_path(self) -> Path:
        return self.path / "state.json"

    def node_dir(self, node: str) -> Path:
        return self.path / "nodes" / node

    def persist_root(self, node: str) -> Path:
        """Host path under which the node's persistent folders live (…/root/etc/tandem)."""
        return self.node_dir(node) / "root"

    def exists(self) -> bool:
        return self.record_path.exists()

    def load(self) -> LabRecord | None:
        try:
            return LabRecord.from_json(self.record_path.read_text())
        except FileNotFoundError:
            return None

    def save(self, rec: LabRecord) -> None:
        """Atomic write (tmp + fsync + rename): a crash never leaves half a record."""
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.record_path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            f.write(rec.to_json())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.record_path)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise commands on this lab (a crash racing a boot would corrupt state)."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
