"""``LabLike`` (what code driving a lab needs) and ``FakeLab``, its in-memory stand-in.

Why: code that drives nodes through the lab (``cluster setup/start --all``
from the lab host, benchmarks, demo scripts) deserves unit tests that need no
root and take milliseconds.  ``FakeLab`` keeps the real lab's rules (unknown
node, node down, partition sides, boot-time services from the markers in
/etc/tandem/enabled) and lets the test script what commands answer.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tandem.errors import LabError, error
from tandem.lab import plan as P

Responder = Callable[[str, list[str]], "tuple[int, str, str] | None"]


@runtime_checkable
class LabLike(Protocol):
    """The part of :class:`tandem.lab.Lab` other layers rely on."""

    name: str

    @property
    def nodes(self) -> list[str]: ...

    @property
    def host_address(self) -> str: ...

    def node_address(self, node: str) -> str: ...

    def node_path(self, node: str, path: str) -> Path: ...

    def is_running(self, node: str) -> bool: ...

    def exec(self, node: str, argv: Sequence[str], *, check: bool = False,
             timeout: float | None = None, input: str | bytes | None = None,
             capture: bool = True, text: bool = True, env: Mapping[str, str] | None = None,
             cwd: str | None = None) -> subprocess.CompletedProcess[Any]: ...

    def host_exec(self, argv: Sequence[str], *, check: bool = False,
                  timeout: float | None = None, input: str | bytes | None = None,
                  capture: bool = True, text: bool = True,
                  env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[Any]: ...

    def crash(self, node: str) -> float: ...

    def boot(self, node: str) -> None: ...

    def partition(self, nodes: Sequence[str]) -> tuple[list[str], list[str]]: ...

    def heal(self) -> None: ...


@dataclass
class ExecRecord:
    """One command the fake was asked to run (``node`` is None for the lab host)."""

    node: str | None
    argv: list[str]
    input: str | bytes | None = None


@dataclass
class FakeLab:
    """An in-memory lab: no namespaces, persistent folders under ``root``.

    ``responder(node, argv)`` returns ``(rc, stdout, stderr)`` or None (= rc 0,
    no output); ``node`` is "" for lab-host commands.  ``calls`` records every
    command, boot services included, in order.
    """

    root: Path
    name: str = P.DEFAULT_LAB
    node_count: int = P.DEFAULT_NODES
    prefix: str = P.DEFAULT_PREFIX
    subnet: str = P.DEFAULT_SUBNET
    venv: str = "/venv"
    responder: Responder | None = None
    enable_api: bool = True
    calls: list[ExecRecord] = field(default_factory=list)
    running: dict[str, bool] = field(default_factory=dict)
    side: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.plan = P.make_plan(self.name, self.node_count, self.prefix, self.subnet)

    # -------------------------------------------------------------- lifecycle

    def up(self) -> FakeLab:
        for n in self.nodes:
            for d in P.PERSISTENT_DIRS:
                Path(str(self.root / n) + d).mkdir(parents=True, exist_ok=True)
            enabled = self.node_path(n, "/etc/tandem/enabled")
            enabled.mkdir(parents=True, exist_ok=True)
            if self.enable_api:
                (enabled / P.ENABLED_API).touch()
        for n in self.nodes:
            self._power_on(n)
        return self

    def down(self) -> None:
        self.running.clear()
        self.side = []

    def _power_on(self, node: str) -> None:
        """What the node's init does at boot (docs/lab.md, "Boot-time services")."""
        self.running[node] = True
        enabled = self.node_path(node, "/etc/tandem/enabled")
        if (enabled / P.ENABLED_API).exists():
            self._answer(node, [f"{self.venv}/bin/tandemd-api"], None)
        if (enabled / P.ENABLED_CLUSTER).exists():
            self._answer(node, [f"{self.venv}/bin/tandem", "cluster", "start"], None)

    def crash(self, node: str) -> float:
        self._require_running(node)
        self.running[node] = False
        return time.time()

    def boot(self, node: str) -> None:
        self.plan.node(node)
        if self.running.get(node):
            raise LabError(error("LAB_NODE_RUNNING", f"node '{node}' of lab '{self.name}' is "
                                 "already running", node=node))
        self._power_on(node)

    def partition(self, nodes: Sequence[str]) -> tuple[list[str], list[str]]:
        a, b = P.partition_sides(self.plan, nodes)
        self.side = a
        return a, b

    def heal(self) -> None:
        self.side = []

    def reachable(self, a: str, b: str) -> bool:
        """Would traffic pass between nodes ``a`` and ``b`` now (both up, same side)?"""
        if not (self.running.get(a) and self.running.get(b)):
            return False
        return (a in self.side) == (b in self.side)

    # -------------------------------------------------------------- queries

    @property
    def nodes(self) -> list[str]:
        return self.plan.node_names

    @property
    def host_address(self) -> str:
        return self.plan.host_address

    def node_address(self, node: str) -> str:
        return self.plan.node(node).address

    def node_path(self, node: str, path: str) -> Path:
        self.plan.node(node)
        if not any(P.is_under(path, d) for d in P.PERSISTENT_DIRS):
            raise LabError(error("LAB_NOT_PERSISTENT",
                                 f"{path} is not in a node's persistent folders", path=path))
        return Path(str(self.root / node) + path)

    def is_running(self, node: str) -> bool:
        self.plan.node(node)
        return bool(self.running.get(node))

    def _require_running(self, node: str) -> None:
        if not self.is_running(node):
            raise LabError(error("LAB_NODE_DOWN",
                                 f"node '{node}' of lab '{self.name}' is not running; start it "
                                 f"with `tandem lab boot {node} --lab {self.name}`", node=node))

    # -------------------------------------------------------------- commands

    def _answer(self, node: str | None, argv: list[str], input: str | bytes | None
                ) -> tuple[int, str, str]:
        self.calls.append(ExecRecord(node, argv, input))
        got = self.responder(node or "", argv) if self.responder else None
        return got if got is not None else (0, "", "")

    def exec(self, node: str, argv: Sequence[str], *, check: bool = False,
             timeout: float | None = None, input: str | bytes | None = None,
             capture: bool = True, text: bool = True, env: Mapping[str, str] | None = None,
             cwd: str | None = None) -> subprocess.CompletedProcess[Any]:
        self._require_running(node)
        rc, out, err = self._answer(node, list(argv), input)
        return _result(list(argv), rc, out, err, check, text)

    def host_exec(self, argv: Sequence[str], *, check: bool = False,
                  timeout: float | None = None, input: str | bytes | None = None,
                  capture: bool = True, text: bool = True,
                  env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[Any]:
        rc, out, err = self._answer(None, list(argv), input)
        return _result(list(argv), rc, out, err, check, text)


def _result(argv: list[str], rc: int, out: str, err: str, check: bool, text: bool
            ) -> subprocess.CompletedProcess[Any]:
    o: Any = out if text else out.encode()
    e: Any = err if text else err.encode()
    if check and rc != 0:
        raise subprocess.CalledProcessError(rc, argv, o, e)
    return subprocess.CompletedProcess(argv, rc, o, e)
