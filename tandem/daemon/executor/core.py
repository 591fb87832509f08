"""The executor's decision logic: a pure state machine, fed inputs, returning commands.

Why pure: what the executor must get right is *ordering* (one action at a
time per resource, recurring monitors that pause while a stop runs, a
cgroup event that must not fire during a stop, a cancelled monitor whose
late result must be dropped).  That is easiest to test with no threads, no
subprocesses and no sleeping: the unit tests feed inputs and a fake clock
and look at the commands that come out.  ``service.py`` is the thin I/O
driver that runs the commands for real.

Inputs: :meth:`ExecutorCore.submit` (an operation from the controller),
:meth:`cancel`, :meth:`on_result` (an agent run finished), :meth:`on_tick`
(time passed), :meth:`on_cgroup_empty` (the start's cgroup lost its last
process), :meth:`on_watch_refused` (a conditional watch found no process),
:meth:`forget`.  Outputs (commands): :class:`RunAgent`,
:class:`WatchCgroup`, :class:`UnwatchCgroup`, :class:`CleanupCgroup`,
:class:`Emit` (an :class:`OpEvent` for the daemon: the operation's result).
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from tandem.agents.ocf import DEFAULT_TIMEOUT_MS, AgentSpec, ExecStatus, OcfRc
from tandem.agents.runner import ActionRequest, AgentResult

TRIGGER_REQUEST = "request"
TRIGGER_INTERVAL = "interval"
TRIGGER_CGROUP = "cgroup-empty"

_FALSE = ("false", "0", "no", "off", "n")
#: agents whose start leaves no long-lived process: plain interval monitoring by default
NO_WATCH_BY_DEFAULT = frozenset({
    "ocf:heartbeat:IPaddr2",
    "ocf:heartbeat:IPaddr",
    "ocf:heartbeat:IPsrcaddr",
    "ocf:heartbeat:IPv6addr",
    "ocf:heartbeat:Dummy",
    "ocf:pacemaker:Dummy",
})


class Clock(Protocol):
    """Time for the executor: monotonic for scheduling, wall (epoch s) for records."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...


@dataclass(frozen=True)
class OpRequest:
    """An operation the controller asks the executor to run on this node.

    ``params`` are the resource's instance attributes, ``op_params`` the
    operation's own (they win), ``meta`` the resource's meta attributes (passed
    to the agent as ``CRM_meta_*``; ``cgroup-watch=false`` turns the cgroup
    watch off).  ``transition_key`` is ``ACTION:GRAPH:EXPECTED_RC:UUID``.
    """

    rsc_id: str
    spec: AgentSpec
    action: str
    interval_ms: int = 0
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    params: Mapping[str, str] = field(default_factory=dict)
    op_params: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, str] = field(default_factory=dict)
    transition_key: str = ""

    def __post_init__(self) -> None:
        for name in ("params", "op_params", "meta"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def op_key(self) -> str:
        """``RSC_ACTION_INTERVAL``, Pacemaker's operation key."""
        return f"{self.rsc_id}_{self.action}_{self.interval_ms}"

    @property
    def is_probe(self) -> bool:
        return self.action == "monitor" and self.interval_ms == 0

    @property
    def expected_rc(self) -> int:
        """Third field of the transition key; else 7 for a probe, 0 otherwise."""
        parts = self.transition_key.split(":")
        if len(parts) >= 3:
            try:
                return int(parts[2])
            except ValueError:
                pass
        return int(OcfRc.NOT_RUNNING) if self.is_probe else int(OcfRc.OK)

    @property
    def cgroup_watch(self) -> bool:
        """Meta ``cgroup-watch`` if set; else on, except for agents known to leave no service.

        IPaddr2 and its kin start no daemon, but leave ``send_arp`` running for
        about a second (``arp_bg``): watching them would only buy one useless
        monitor after every start.
        """
        value = self.meta.get("cgroup-watch", self.meta.get("cgroup_watch"))
        if value is None:
            return str(self.spec) not in NO_WATCH_BY_DEFAULT
        return str(value).strip().lower() not in _FALSE

    @property
    def agent_params(self) -> dict[str, str]:
        merged = dict(self.params)
        merged.update(self.op_params)
        return merged


@dataclass(frozen=True)
class OpEvent:
    """The result of one operation run, everything an ``lrm_rsc_op`` needs."""

    request: OpRequest
    call_id: int
    rc: int
    status: ExecStatus
    exit_reason: str
    trigger: str
    #: epoch seconds: when the run started, and since when rc has had this value
    run_at: int
    last_rc_change: int
    exec_ms: int
    queue_ms: int
    transition_key: str
    #: for recurring monitors: False when rc/status equal the previous run's
    changed: bool = True
    output: str = ""
    #: agent pid (tests use it) and, after a start, whether its cgroup had processes
    pid: int = 0
    cgroup_populated: bool | None = None

    @property
    def failed(self) -> bool:
        """Pacemaker's rule: not done (and not cancelled), or rc != the expected rc."""
        if self.status is ExecStatus.CANCELLED:
            return False
        return self.status is not ExecStatus.DONE or self.rc != self.request.expected_rc

    @property
    def transition_magic(self) -> str:
        return f"{int(self.status)}:{self.rc};{self.transition_key}"


# -- commands -------------------------------------------------------------


@dataclass(frozen=True)
class RunAgent:
    run_id: int
    request: ActionRequest
    #: resource whose cgroup the agent must run in (start only), else None
    cgroup_rsc: str | None = None


@dataclass(frozen=True)
class WatchCgroup:
    """Watch the resource's cgroup; ``only_if_populated``: first check it has processes
    and, if not, answer :meth:`ExecutorCore.on_watch_refused` instead."""

    rsc_id: str
    only_if_populated: bool = False


@dataclass(frozen=True)
class UnwatchCgroup:
    rsc_id: str


@dataclass(frozen=True)
class CleanupCgroup:
    """Remove the resource's cgroup if it is empty (after a successful stop)."""

    rsc_id: str


@dataclass(frozen=True)
class Emit:
    event: OpEvent


Command = RunAgent | WatchCgroup | UnwatchCgroup | CleanupCgroup | Emit


# -- state ----------------------------------------------------------------


@dataclass
class _Recurring:
    request: OpRequest
    call_id: int
    transition_key: str
    next_due: float
    last_rc: int | None = None
    last_status: ExecStatus | None = None
    last_rc_change: int = 0
    queued: bool = False


@dataclass
class _Job:
    request: OpRequest
    trigger: str
    queued_at: float
    recurring_key: str | None = None


@dataclass
class _Running:
    job: _Job
    run_id: int
    started: float
    started_wall: float


@dataclass
class _Rsc:
    queue: deque[_Job] = field(default_factory=deque)
    running: _Running | None = None
    recurring: dict[str, _Recurring] = field(default_factory=dict)
    active: bool = False
    watching: bool = False


class ExecutorCore:
    """Per-node executor state machine (see module docstring)."""

    def __init__(self, node_name: str, clock: Clock, *, cgroups_enabled: bool = True,
                 instance_uuid: str | None = None) -> None:
        self.node_name = node_name
        self.clock = clock
        self.cgroups_enabled = cgroups_enabled
        self.uuid = instance_uuid or str(uuid.uuid4())
        self._rscs: dict[str, _Rsc] = {}
        self._call_ids = itertools.count(1)
        self._run_ids = itertools.count(1)
        self._runs: dict[int, str] = {}

    # -- helpers ----------------------------------------------------------
    def _rsc(self, rsc_id: str) -> _Rsc:
        return self._rscs.setdefault(rsc_id, _Rsc())

    def _tkey(self, req: OpRequest) -> str:
        return req.transition_key or f"0:-1:{req.expected_rc}:{self.uuid}"

    def recurring_keys(self, rsc_id: str) -> list[str]:
        """Operation keys of the recurring monitors registered for ``rsc_id``."""
        r = self._rscs.get(rsc_id)
        return sorted(r.recurring) if r else []

    def is_watching(self, rsc_id: str) -> bool:
        r = self._rscs.get(rsc_id)
        return bool(r and r.watching)

    def busy(self) -> bool:
        return any(r.running or r.queue for r in self._rscs.values())

    def next_wakeup(self) -> float | None:
        """Monotonic time of the earliest recurring run not yet queued."""
        dues = [
            rec.next_due
            for r in self._rscs.values()
            for rec in r.recurring.values()
            if not rec.queued
        ]
        return min(dues) if dues else None

    # -- inputs -----------------------------------------------------------
    def submit(self, req: OpRequest) -> list[Command]:
        """Queue an operation from the controller; starts it if the resource is idle."""
        now = self.clock.monotonic()
        r = self._rsc(req.rsc_id)
        cmds: list[Command] = []
        if req.action == "stop":
            # A stop ends monitoring at once, even before it runs: a monitor
            # racing the stop would report a failure of a resource being stopped.
            cmds += self._cancel_all_recurring(req.rsc_id)
            if r.watching:
                r.watching = False
                cmds.append(UnwatchCgroup(req.rsc_id))
            r.active = False
        if req.action == "start" and r.watching:
            r.watching = False
            cmds.append(UnwatchCgroup(req.rsc_id))
        if req.interval_ms > 0:
            key = req.op_key
            old = r.recurring.pop(key, None)
            if old is not None:
                r.queue = deque(j for j in r.queue if j.recurring_key != key)
            r.recurring[key] = _Recurring(req, next(self._call_ids), self._tkey(req),
                                          next_due=now, queued=True)
            r.queue.append(_Job(req, TRIGGER_REQUEST, now, key))
        else:
            r.queue.append(_Job(req, TRIGGER_REQUEST, now))
        cmds += self._dispatch(req.rsc_id)
        return cmds

    def cancel(self, rsc_id: str, action: str, interval_ms: int) -> list[Command]:
        """Cancel a recurring operation; emits its CANCELLED event."""
        r = self._rscs.get(rsc_id)
        if r is None:
            return []
        return self._cancel_recurring(rsc_id, f"{rsc_id}_{action}_{interval_ms}")

    def forget(self, rsc_id: str) -> list[Command]:
        """The resource was deleted from this node's history: drop everything about it."""
        r = self._rscs.get(rsc_id)
        if r is None:
            return []
        cmds = self._cancel_all_recurring(rsc_id)
        r.queue.clear()
        if r.watching:
            r.watching = False
            cmds.append(UnwatchCgroup(rsc_id))
        if r.running is None:
            del self._rscs[rsc_id]
        return cmds

    def on_tick(self) -> list[Command]:
        """Queue every recurring monitor that is due."""
        now = self.clock.monotonic()
        cmds: list[Command] = []
        for rsc_id, r in list(self._rscs.items()):
            for key, rec in r.recurring.items():
                if not rec.queued and rec.next_due <= now:
                    rec.queued = True
                    r.queue.append(_Job(rec.request, TRIGGER_INTERVAL, now, key))
            cmds += self._dispatch(rsc_id)
        return cmds

    def on_cgroup_empty(self, rsc_id: str) -> list[Command]:
        """The start's cgroup is empty: run the recurring monitor now.

        Ignored unless the resource is active and watched (a stop disarms the
        watch first, so its own kills never look like a failure).  A monitor
        already queued is promoted to this cause instead of adding a second.
        """
        r = self._rscs.get(rsc_id)
        if r is None or not r.watching:
            return []
        r.watching = False
        if not r.active or not r.recurring:
            return []
        now = self.clock.monotonic()
        key = min(r.recurring, key=lambda k: r.recurring[k].request.interval_ms)
        rec = r.recurring[key]
        if rec.queued:
            for job in r.queue:
                if job.recurring_key == key:
                    job.trigger = TRIGGER_CGROUP
                    break
            else:
                # it is running now and may have seen the process alive: run again
                r.queue.append(_Job(rec.request, TRIGGER_CGROUP, now, key))
        else:
            rec.queued = True
            r.queue.appendleft(_Job(rec.request, TRIGGER_CGROUP, now, key))
        return self._dispatch(rsc_id)

    def on_watch_refused(self, rsc_id: str) -> list[Command]:
        """A conditional watch found the cgroup empty (or missing): not watching."""
        r = self._rscs.get(rsc_id)
        if r is not None:
            r.watching = False
        return []

    def on_result(self, run_id: int, result: AgentResult) -> list[Command]:
        """An agent run finished: record it, emit its event, start what is next."""
        rsc_id = self._runs.pop(run_id, None)
        if rsc_id is None:
            return []
        r = self._rscs[rsc_id]
        running = r.running
        assert running is not None and running.run_id == run_id
        r.running = None
        job = running.job
        req = job.request
        now_wall = int(self.clock.time())
        cmds: list[Command] = []
        queue_ms = int(max(0.0, running.started - job.queued_at) * 1000)
        run_at = int(running.started_wall)
        if job.recurring_key is not None:
            rec = r.recurring.get(job.recurring_key)
            if rec is None or rec.request is not req:
                # cancelled (or replaced) while running: its result means nothing now
                return self._dispatch(rsc_id)
            changed = rec.last_rc != result.rc or rec.last_status is not result.status
            if changed:
                rec.last_rc_change = now_wall
            rec.last_rc, rec.last_status = result.rc, result.status
            rec.queued = any(j.recurring_key == job.recurring_key for j in r.queue)
            rec.next_due = self.clock.monotonic() + req.interval_ms / 1000.0
            event = OpEvent(req, rec.call_id, result.rc, result.status, result.exit_reason,
                            job.trigger, run_at, rec.last_rc_change, result.exec_ms, queue_ms,
                            rec.transition_key, changed, _output(result), result.pid,
                            result.cgroup_populated)
        else:
            event = OpEvent(req, next(self._call_ids), result.rc, result.status,
                            result.exit_reason, job.trigger, run_at, now_wall, result.exec_ms,
                            queue_ms, self._tkey(req), True, _output(result), result.pid,
                            result.cgroup_populated)
            ok = result.status is ExecStatus.DONE and result.rc == OcfRc.OK
            if req.action == "start":
                r.active = ok
                if (req.action == "start" and ok and result.cgroup_populated
                        and self.cgroups_enabled and req.cgroup_watch):
                    r.watching = True
                    cmds.append(WatchCgroup(rsc_id))
            elif req.action in ("promote", "demote", "migrate_from"):
                r.active = r.active or ok
            elif req.action in ("stop", "migrate_to"):
                r.active = False if ok else r.active
                if ok and self.cgroups_enabled:
                    cmds.append(CleanupCgroup(rsc_id))
            elif req.is_probe:
                r.active = result.status is ExecStatus.DONE and result.rc in (0, 8, 190, 191)
                if r.active and not r.watching and self.cgroups_enabled and req.cgroup_watch:
                    # found running (e.g. this daemon restarted): its processes may
                    # still be in the cgroup an earlier start made; watch them if so
                    r.watching = True
                    cmds.append(WatchCgroup(rsc_id, only_if_populated=True))
        cmds.append(Emit(event))
        cmds += self._dispatch(rsc_id)
        return cmds

    # -- internals --------------------------------------------------------
    def _dispatch(self, rsc_id: str) -> list[Command]:
        r = self._rscs.get(rsc_id)
        if r is None or r.running is not None or not r.queue:
            return []
        job = r.queue.popleft()
        req = job.request
        run_id = next(self._run_ids)
        self._runs[run_id] = rsc_id
        r.running = _Running(job, run_id, self.clock.monotonic(), self.clock.time())
        use_cgroup = req.action == "start" and self.cgroups_enabled and req.cgroup_watch
        areq = ActionRequest(
            rsc_id=req.rsc_id,
            spec=req.spec,
            action=req.action,
            params=req.agent_params,
            meta=req.meta,
            interval_ms=req.interval_ms,
            timeout_ms=req.timeout_ms,
        )
        return [RunAgent(run_id, areq, rsc_id if use_cgroup else None)]

    def _cancel_recurring(self, rsc_id: str, key: str) -> list[Command]:
        r = self._rscs[rsc_id]
        rec = r.recurring.pop(key, None)
        if rec is None:
            return []
        r.queue = deque(j for j in r.queue if j.recurring_key != key)
        now_wall = int(self.clock.time())
        event = OpEvent(rec.request, rec.call_id, rec.last_rc if rec.last_rc is not None else 0,
                        ExecStatus.CANCELLED, "", TRIGGER_REQUEST, now_wall,
                        rec.last_rc_change or now_wall, 0, 0, rec.transition_key)
        return [Emit(event)]

    def _cancel_all_recurring(self, rsc_id: str) -> list[Command]:
        cmds: list[Command] = []
        r = self._rscs[rsc_id]
        for key in list(r.recurring):
            cmds += self._cancel_recurring(rsc_id, key)
        return cmds


def _output(result: AgentResult) -> str:
    text = result.stdout.strip()
    if result.stderr.strip():
        text = (text + "\n" + result.stderr.strip()).strip()
    return text[-4096:]
