"""In-memory fakes of the executor's I/O boundaries, for unit tests of any layer.

- :class:`FakeClock`: time moves only when a test says so.
- :class:`FakeRunner`: an :class:`~tandem.agents.runner.AgentRunner` whose
  agents are scripted (per resource and action) and which simulates a
  service's running state like a Dummy agent would, so controller tests can
  start/stop/monitor without processes.
- :class:`FakeCgroups` / :class:`FakeWatcher`: a cgroup tree and a watcher
  whose :meth:`FakeWatcher.fire` plays the kernel's "populated 0".
- :class:`InlineExecutor`: the whole executor, synchronous, for the unit
  tests of the daemon and the controller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tandem.agents.ocf import ExecStatus, OcfRc
from tandem.agents.reload import NO_RELOAD, ReloadInfo
from tandem.agents.runner import ActionRequest, AgentResult
from tandem.daemon.executor.core import (
    CleanupCgroup,
    Command,
    Emit,
    ExecutorCore,
    OpEvent,
    OpRequest,
    RunAgent,
    UnwatchCgroup,
    WatchCgroup,
)


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


class InlineExecutor:
    """The executor for *other layers'* unit tests: same calls as ExecutorService, no threads.

    Agents run synchronously inside :meth:`submit` (through a
    :class:`FakeRunner` by default), events go to ``on_event`` before
    ``submit`` returns; :meth:`advance` moves the fake clock and runs the
    recurring monitors that fall due; :meth:`kill` plays "every process of the
    resource died" (the cgroup watch fires and the fake service stops running).
    """

    def __init__(
        self,
        node_name: str,
        on_event: Callable[[OpEvent], None],
        *,
        runner: FakeRunner | None = None,
        clock: FakeClock | None = None,
    ) -> None:
        self.node_name = node_name
        self.on_event = on_event
        self.runner = runner or FakeRunner()
        self.clock = clock or FakeClock()
        self.cgroups = FakeCgroups()
        self.watcher = FakeWatcher(self._empty)
        self.core = ExecutorCore(node_name, self.clock, cgroups_enabled=True)

    def submit(self, req: OpRequest) -> None:
        self._execute(self.core.submit(req))

    def cancel(self, rsc_id: str, action: str, interval_ms: int) -> None:
        self._execute(self.core.cancel(rsc_id, action, interval_ms))

    def forget(self, rsc_id: str) -> None:
        self._execute(self.core.forget(rsc_id))

    def reload_info(self, req: OpRequest) -> ReloadInfo:
        return NO_RELOAD

    def close(self) -> None:
        self.watcher.close()

    def advance(self, seconds: float) -> None:
        """Move time forward, running each recurring monitor when it falls due."""
        end = self.clock.mono + seconds
        while True:
            due = self.core.next_wakeup()
            if due is None or due > end:
                break
            self.clock.advance(max(0.0, due - self.clock.mono))
            self._execute(self.core.on_tick())
        self.clock.advance(max(0.0, end - self.clock.mono))

    def kill(self, rsc_id: str) -> bool:
        """The resource's processes die; True when the cgroup watch noticed."""
        self.runner.running.discard(rsc_id)
        self.cgroups.procs.pop(rsc_id, None)
        return self.watcher.fire(rsc_id)

    def _empty(self, rsc_id: str) -> None:
        self._execute(self.core.on_cgroup_empty(rsc_id))

    def _execute(self, cmds: list[Command]) -> None:
        pending = list(cmds)
        while pending:
            cmd = pending.pop(0)
            if isinstance(cmd, RunAgent):
                request = cmd.request
                if cmd.cgroup_rsc is not None:
                    request = replace(request, cgroup=self.cgroups.create(cmd.cgroup_rsc))
                result = self.runner.run(request)
                if result.cgroup_populated:
                    self.cgroups.procs.setdefault(cmd.request.rsc_id, set()).add(1)
                pending.extend(self.core.on_result(cmd.run_id, result))
            elif isinstance(cmd, WatchCgroup):
                if cmd.only_if_populated and not self.cgroups.populated(cmd.rsc_id):
                    pending.extend(self.core.on_watch_refused(cmd.rsc_id))
                    continue
                self.watcher.watch(cmd.rsc_id, self.cgroups.path(cmd.rsc_id))
            elif isinstance(cmd, UnwatchCgroup):
                self.watcher.unwatch(cmd.rsc_id)
            elif isinstance(cmd, CleanupCgroup):
                self.cgroups.remove_if_empty(cmd.rsc_id)
            elif isinstance(cmd, Emit):
                self.on_event(cmd.event)
