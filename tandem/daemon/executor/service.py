"""The executor's I/O driver: runs :class:`ExecutorCore` commands for real.

Why threads and not asyncio: agents are child processes waited on with
blocking calls (pidfd + select), and cgroup events arrive on an inotify
thread.  One *loop* thread owns the core (so the core needs no locks), a
small pool of worker threads runs agents, and everything else talks to the
loop thread through a queue.  The daemon gets results through ``on_event``,
called on the loop thread; an asyncio daemon wraps it with
``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from tandem.agents.metadata import AgentName
from tandem.agents.ocf import ExecStatus, OcfRc
from tandem.agents.reload import NO_RELOAD, ReloadInfo, reload_info_from_xml
from tandem.agents.runner import ActionRequest, AgentResult, AgentRunner
from tandem.daemon.executor.cgroup import CgroupBackend, CgroupWatcher, InotifyWatcher
from tandem.daemon.executor.core import (
    CleanupCgroup,
    Clock,
    Command,
    Emit,
    ExecutorCore,
    OpEvent,
    OpRequest,
    RunAgent,
    UnwatchCgroup,
    WatchCgroup,
)
from tandem.errors import TandemError

log = logging.getLogger(__name__)


class Executor(Protocol):
    """What the daemon calls; :class:`ExecutorService` and ``fakes.InlineExecutor`` are both."""

    def submit(self, req: OpRequest) -> None: ...

    def cancel(self, rsc_id: str, action: str, interval_ms: int) -> None: ...

    def forget(self, rsc_id: str) -> None: ...

    def reload_info(self, req: OpRequest) -> ReloadInfo: ...

    def close(self) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


@dataclass(frozen=True)
class _Call:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    reply: queue.Queue[Any] | None = None
    #: True: ``fn`` is a core input returning commands to execute
    core_input: bool = True


class ExecutorService:
    """Runs operations on this node; reports every result to ``on_event``.

    ``cgroups``: a :class:`CgroupBackend` (``CgroupTree(default_base())`` on a
    real node) or None to disable event-driven detection; ``watcher_factory``
    builds the watcher from its callback (default :class:`InotifyWatcher`).
    """

    def __init__(
        self,
        node_name: str,
        runner: AgentRunner,
        on_event: Callable[[OpEvent], None],
        *,
        cgroups: CgroupBackend | None = None,
        watcher_factory: Callable[[Callable[[str], None]], CgroupWatcher] | None = None,
        clock: Clock | None = None,
        workers: int = 4,
        reap_wait: float = 2.0,
    ) -> None:
        self.node_name = node_name
        self.runner = runner
        self.on_event = on_event
        self.cgroups = cgroups
        self.clock = clock or SystemClock()
        self._watcher: CgroupWatcher | None = None
        if cgroups is not None:
            factory = watcher_factory or InotifyWatcher
            try:
                self._watcher = factory(self._cgroup_empty_from_any_thread)
            except OSError as exc:
                log.warning("no cgroup watch (%s): plain interval monitoring", exc)
                self.cgroups = None
        self.core = ExecutorCore(node_name, self.clock,
                                 cgroups_enabled=self.cgroups is not None)
        self._inbox: queue.Queue[_Call | None] = queue.Queue()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="agent")
        self._reload: dict[str, ReloadInfo] = {}
        self.reap_wait = reap_wait
        #: pids seen in each watched cgroup (refreshed at every monitor result)
        self._known_pids: dict[str, set[int]] = {}
        self._thread = threading.Thread(target=self._loop, name="executor", daemon=True)
        self._stopped = False
        self._thread.start()

    # -- public API (any thread) -------------------------------------------
    def submit(self, req: OpRequest) -> None:
        """Queue an operation; its result arrives through ``on_event``."""
        if str(req.spec) not in self._reload:
            # read the agent's meta-data now, off the caller's thread, so that
            # reload_info() is a dictionary lookup when the records are built
            self._pool.submit(self.reload_info, req)
        self._post(self.core.submit, req)

    def cancel(self, rsc_id: str, action: str, interval_ms: int) -> None:
        self._post(self.core.cancel, rsc_id, action, interval_ms)

    def forget(self, rsc_id: str) -> None:
        self._post(self.core.forget, rsc_id)

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 10.0) -> Any:
        """Run ``fn(*args)`` on the loop thread and return its value (for inspection)."""
        reply: queue.Queue[Any] = queue.Queue()
        self._inbox.put(_Call(fn, args, reply, core_input=False))
        value = reply.get(timeout=timeout)
        if isinstance(value, Exception):
            raise value
        return value

    def reload_info(self, req: OpRequest) -> ReloadInfo:
        """Reload facts of the request's agent (cached; runs ``meta-data`` once)."""
        key = str(req.spec)
        cached = self._reload.get(key)
        if cached is not None:
            return cached
        info = NO_RELOAD
        if req.spec.rclass == "ocf":
            res = self.runner.run(
                ActionRequest(req.rsc_id, req.spec, "meta-data", timeout_ms=5000)
            )
            if res.status is ExecStatus.DONE and res.rc == 0 and res.stdout.strip():
                try:
                    info = reload_info_from_xml(
                        AgentName("ocf", req.spec.provider, req.spec.type), res.stdout
                    )
                except TandemError:
                    info = NO_RELOAD
        self._reload[key] = info
        return info

    def close(self) -> None:
        """Stop the loop and the watcher; running agents finish on their own."""
        if self._stopped:
            return
        self._stopped = True
        self._inbox.put(None)
        self._thread.join(timeout=5)
        if self._watcher is not None:
            self._watcher.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- internals ---------------------------------------------------------
    def _post(self, fn: Callable[..., Any], *args: Any) -> None:
        self._inbox.put(_Call(fn, args))

    def _cgroup_empty_from_any_thread(self, rsc_id: str) -> None:
        pids = set(self._known_pids.get(rsc_id, ()))
        if pids and self.reap_wait > 0:
            self._pool.submit(self._settle_then_post, rsc_id, pids)
        else:
            self._post(self.core.on_cgroup_empty, rsc_id)

    def _settle_then_post(self, rsc_id: str, pids: set[int]) -> None:
        """Wait (bounded) until the dead processes are reaped, then report the event.

        A process leaves its cgroup when it exits, but stays a zombie (with a
        /proc entry) until its parent, often PID 1, reaps it.  Agents check
        /proc/PID (apache's does), so a monitor run at once could still see
        the dead server "running".  Usually the reaper is immediate (systemd,
        the lab's node init); on slow ones we wait up to ``reap_wait``.
        """
        deadline = time.monotonic() + self.reap_wait
        while any(_is_zombie(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.005)
        self._post(self.core.on_cgroup_empty, rsc_id)

    def _loop(self) -> None:
        while True:
            wake = self.core.next_wakeup()
            timeout = None if wake is None else max(0.0, wake - self.clock.monotonic())
            try:
                item = self._inbox.get(timeout=timeout)
            except queue.Empty:
                item = _Call(self.core.on_tick, ())
            if item is None:
                return
            try:
                value = item.fn(*item.args)
                if item.core_input:
                    self._execute(value)
                    value = None
                self._execute(self.core.on_tick())
            except Exception as exc:  # keep the executor alive, say what broke
                log.exception("executor loop error")
                value = exc
            if item.reply is not None:
                item.reply.put(value)

    def _execute(self, cmds: list[Command]) -> None:
        for cmd in cmds:
            if isinstance(cmd, RunAgent):
                self._pool.submit(self._run_agent, cmd)
            elif isinstance(cmd, WatchCgroup):
                if self._watcher is not None and self.cgroups is not None:
                    if cmd.only_if_populated and not self.cgroups.populated(cmd.rsc_id):
                        self._execute(self.core.on_watch_refused(cmd.rsc_id))
                        continue
                    self._known_pids[cmd.rsc_id] = set(self.cgroups.pids(cmd.rsc_id))
                    try:
                        self._watcher.watch(cmd.rsc_id, self.cgroups.path(cmd.rsc_id))
                    except OSError:
                        log.exception("cannot watch the cgroup of %s", cmd.rsc_id)
            elif isinstance(cmd, UnwatchCgroup):
                self._known_pids.pop(cmd.rsc_id, None)
                if self._watcher is not None:
                    self._watcher.unwatch(cmd.rsc_id)
            elif isinstance(cmd, CleanupCgroup):
                if self.cgroups is not None:
                    try:
                        self.cgroups.remove_if_empty(cmd.rsc_id)
                    except OSError:
                        log.exception("cannot remove the cgroup of %s", cmd.rsc_id)
            elif isinstance(cmd, Emit):
                rsc_id = cmd.event.request.rsc_id
                if rsc_id in self._known_pids and self.cgroups is not None:
                    self._known_pids[rsc_id].update(self.cgroups.pids(rsc_id))
                try:
                    self.on_event(cmd.event)
                except Exception:
                    log.exception("on_event callback failed")

    def _run_agent(self, cmd: RunAgent) -> None:
        request = cmd.request
        log.debug("%s %s (interval %d ms) running", request.rsc_id, request.action,
                  request.interval_ms)
        try:
            if cmd.cgroup_rsc is not None and self.cgroups is not None:
                try:
                    request = replace(request, cgroup=self.cgroups.create(cmd.cgroup_rsc))
                except OSError as exc:
                    log.warning("no cgroup for %s (%s): start runs without it",
                                cmd.cgroup_rsc, exc)
            result = self.runner.run(request)
        except Exception as exc:  # a runner bug must still produce a result
            log.exception("agent run failed")
            result = AgentResult(int(OcfRc.ERR_GENERIC), ExecStatus.ERROR, f"executor error: {exc}")
        if result.status is not ExecStatus.DONE or (result.rc != 0 and request.action != "monitor"):
            log.info("%s %s (%s): rc=%d status=%s %s", request.rsc_id, request.action,
                     request.spec, result.rc, result.status.name, result.exit_reason)
            if result.stderr:
                log.debug("%s %s stderr: %s", request.rsc_id, request.action,
                          result.stderr[-2000:])
        log.debug("%s %s (interval %d ms) rc=%d in %d ms", request.rsc_id, request.action,
                  request.interval_ms, result.rc, result.exec_ms)
        self._post(self.core.on_result, cmd.run_id, result)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]
