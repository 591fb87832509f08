"""In-memory fakes of the executor's I/O boundaries, for unit tests of any layer.

- :class:`FakeClock`: time moves only when a test says so.
- :class:`FakeRunner`: an :class:`~tandem.agents.runner.AgentRunner` whose
  agents are scripted (per resource and action) and which simulates a
  service's running state like a Dummy agent would, so controller tests can
  start/stop/monitor without processes.
- :class:`FakeCgroups` / :class:`FakeWatcher`: a cgroup tree and watcher
  where a test "kills" a resource's processes with :meth:`FakeCgroups.empty`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tandem.agents.ocf import ExecStatus, OcfRc
from tandem.agents.runner import ActionRequest, AgentResult


class FakeClock:
    def __init__(self, mono: float = 1000.0, wall: float = 1_700_000_000.0) -> None:
        self.mono = mono
        self.wall = wall

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


@dataclass
class FakeRunner:
    """Behaves like a Dummy agent; ``script[(rsc, action)]`` overrides results.

    ``script`` values are AgentResult objects (used every time) or lists of
    them (consumed one per call).  ``calls`` records every request.
    ``leave_processes`` lists resources whose start leaves processes in
    their cgroup (like apache's httpd).
    """

    script: dict[tuple[str, str], AgentResult | list[AgentResult]] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)
    leave_processes: set[str] = field(default_factory=set)
    calls: list[ActionRequest] = field(default_factory=list)

    def run(self, request: ActionRequest) -> AgentResult:
        self.calls.append(request)
        scripted = self.script.get((request.rsc_id, request.action))
        if isinstance(scripted, list):
            if scripted:
                return scripted.pop(0)
            scripted = None
        if scripted is not None:
            return scripted
        rsc = request.rsc_id
        populated = None
        if request.action == "start":
            self.running.add(rsc)
            if request.cgroup is not None:
                populated = rsc in self.leave_processes
            return AgentResult(0, cgroup_populated=populated)
        if request.action == "stop":
            self.running.discard(rsc)
            return AgentResult(0)
        if request.action == "monitor":
            return AgentResult(0 if rsc in self.running else int(OcfRc.NOT_RUNNING))
        if request.action in ("meta-data", "validate-all"):
            return AgentResult(0)
        return AgentResult(int(OcfRc.ERR_UNIMPLEMENTED))

    def timeout(self) -> AgentResult:
        return AgentResult(int(OcfRc.ERR_GENERIC), ExecStatus.TIMEOUT, "timed out")


class FakeCgroups:
    """A cgroup tree in a dict: resource -> set of pids."""

    def __init__(self, base: Path = Path("/fake/cgroup")) -> None:
        self.base = base
        self.procs: dict[str, set[int]] = {}
        self.removed: list[str] = []

    def path(self, rsc_id: str) -> Path:
        return self.base / rsc_id

    def create(self, rsc_id: str) -> Path:
        self.procs.setdefault(rsc_id, set())
        return self.path(rsc_id)

    def remove_if_empty(self, rsc_id: str) -> bool:
        if self.procs.get(rsc_id):
            return False
        self.procs.pop(rsc_id, None)
        self.removed.append(rsc_id)
        return True

    def pids(self, rsc_id: str) -> list[int]:
        return sorted(self.procs.get(rsc_id, ()))

    def populated(self, rsc_id: str) -> bool:
        return bool(self.procs.get(rsc_id))


class FakeWatcher:
    """Records watches; :meth:`fire` plays the kernel saying "populated 0"."""

    def __init__(self, on_empty: Callable[[str], None]) -> None:
        self.on_empty = on_empty
        self.watching: dict[str, Path] = {}
        self.closed = False

    def watch(self, rsc_id: str, path: Path) -> None:
        self.watching[rsc_id] = path

    def unwatch(self, rsc_id: str) -> None:
        self.watching.pop(rsc_id, None)

    def fire(self, rsc_id: str) -> bool:
        """Deliver the empty event if ``rsc_id`` is watched (one-shot, as the real one)."""
        if self.watching.pop(rsc_id, None) is None:
            return False
        self.on_empty(rsc_id)
        return True

    def close(self) -> None:
        self.closed = True
