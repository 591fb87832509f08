"""An in-memory cluster for the controller: N nodes, one replicated CIB, no I/O, no sleeping.

Why in the package: the controller's unit tests and the daemon's own tests
need the same stand-in for corosync's total order, the daemon's status
rebuild and the executors.  It behaves like the real wiring
(:mod:`tandem.daemon.controller.service`) in the ways that matter:

- one FIFO *stream* plays CPG's total order: CIB changes (applied with the
  daemon's :func:`tandem.daemon.cibops.apply_ops`, so ids, versions and
  validation are the real ones) and ``ctl-exec`` requests are delivered in
  the order they were sent;
- each node has a :class:`NodeAgent` and an
  :class:`~tandem.daemon.executor.fakes.InlineExecutor` (Dummy-like agents,
  scriptable through ``node.runner``); the DC's :class:`Controller` plans;
- membership changes rewrite ``node_state`` as the daemon does (a crashed
  node keeps ``join``/``expected`` "member", a clean leave sets "down", a
  node that left loses its transient attributes).

``pause(node)`` holds the requests sent to that node (an operation "in
flight"); ``crash(node)`` drops them with the node.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from tandem.daemon import cibops
from tandem.daemon.controller.core import Controller
from tandem.daemon.controller.events import (
    BecameDC,
    Cancel,
    CancelOp,
    CibOps,
    CibUpdated,
    ExecuteOp,
    Forget,
    Log,
    LostDC,
    MembershipChanged,
    Record,
    SetTimer,
    ShutdownReleased,
    Submit,
    TimerFired,
)
from tandem.daemon.controller.node import NodeAgent
from tandem.daemon.executor.core import OpEvent, OpRequest
from tandem.daemon.executor.fakes import FakeClock, FakeRunner, InlineExecutor

START = 1_700_000_000.0


@dataclass
class SimNode:
    name: str
    nodeid: int
    incarnation: int = 0
    member: bool = False
    paused: bool = False
    held: list[OpRequest] = field(default_factory=list)
    agent: NodeAgent | None = None
    executor: InlineExecutor | None = None
    controller: Controller | None = None
    shutting_down: bool = False
    #: the node's fake agents: scripts survive a crash, running services do not
    runner: FakeRunner = field(default_factory=FakeRunner)


class ControllerSim:
    """See the module docstring.  ``log`` gathers every Log sentence (``NODE: text``)."""

    def __init__(self, cib_xml: str, nodes: list[str], *, start: float = START,
                 quorum: bool = True) -> None:
        self.cib = cibops.parse(cib_xml)
        self.now = start
        self.nodes: dict[str, SimNode] = {}
        for i, name in enumerate(nodes, start=1):
            self.nodes[name] = SimNode(name, i)
        self.stream: deque[tuple[Any, ...]] = deque()
        self.log: list[str] = []
        self.executed: list[tuple[str, str]] = []
        self.released: list[str] = []
        self.timer: float | None = None
        self.dc: str | None = None
        self._uuids = itertools.count(1)
        self.cib.set("have-quorum", "1" if quorum else "0")
        nodes_el = self.cib.find("configuration/nodes")
        have = {n.get("uname") for n in nodes_el.iterfind("node")}
        for n in self.nodes.values():
            if n.name not in have:
                etree.SubElement(nodes_el, "node", id=str(n.nodeid), uname=n.name)

    # ------------------------------------------------------------------ membership

    def start(self, *names: str) -> None:
        """Start the daemons of ``names`` (all nodes by default), then settle."""
        for name in names or tuple(self.nodes):
            self._boot(self.nodes[name])
        self._membership_changed()
        self.settle()

    def _boot(self, node: SimNode) -> None:
        node.incarnation += 1
        node.member = True
        node.paused = False
        node.held = []
        node.shutting_down = False
        node.agent = NodeAgent(node.name)
        clock = FakeClock(wall=self.now)

        def on_event(ev: OpEvent, n: SimNode = node) -> None:
            assert n.agent is not None
            self._agent_out(n, n.agent.on_event(ev))

        node.executor = InlineExecutor(node.name, on_event, runner=node.runner, clock=clock)
        node.controller = Controller(node.name, f"uuid-{next(self._uuids)}")

    def crash(self, name: str) -> None:
        """The node dies: no goodbye, in-flight requests lost, its processes gone."""
        node = self.nodes[name]
        node.member = False
        node.held = []
        node.runner.running.clear()
        node.agent = None
        node.executor = None
        node.controller = None
        self._membership_changed()
        self.settle()

    def restart_daemon(self, name: str) -> None:
        """tandemd on ``name`` dies and starts again; corosync and the services keep running.

        The node leaves the group (its resources count as lost), then joins as a
        new incarnation whose executor knows nothing: only probes can tell.
        """
        node = self.nodes[name]
        node.member = False
        node.held = []
        node.agent = node.executor = node.controller = None
        self._membership_changed()
        self.settle()
        self.start(name)

    def stop(self, name: str) -> None:
        """``cluster stop`` of a node: announce, wait for the DC's release, leave cleanly."""
        node = self.nodes[name]
        node.shutting_down = True
        self._membership_changed()
        self.settle()
        if name not in self.released:
            raise AssertionError(f"the DC did not release {name}; log: {self.log[-5:]}")
        self.released.remove(name)
        node.member = False
        node.agent = node.executor = node.controller = None
        self._membership_changed(clean={name})
        self.settle()

    def _membership_changed(self, clean: set[str] | None = None) -> None:
        members = {n.name: f"{n.nodeid}:{n.incarnation}" for n in self.nodes.values() if n.member}
        new_dc_candidates = [n for n in self.nodes.values() if n.member and not n.shutting_down]
        candidates = new_dc_candidates or [n for n in self.nodes.values() if n.member]
        new_dc = min(candidates, key=lambda n: n.nodeid).name if candidates else None
        self.cib = etree.fromstring(etree.tostring(self.cib))  # published CIBs are never modified
        self._rebuild_status(clean or set())
        for n in self.nodes.values():
            if n.controller is not None:
                self._ctl_out(n, n.controller.step(MembershipChanged(members), self.now))
        if new_dc != self.dc:
            old = self.nodes.get(self.dc or "")
            if old is not None and old.controller is not None:
                self._ctl_out(old, old.controller.step(LostDC(), self.now))
            self.dc = new_dc
            if new_dc is not None:
                self.cib.set("dc-uuid", str(self.nodes[new_dc].nodeid))
                node = self.nodes[new_dc]
                assert node.controller is not None
                self._ctl_out(node, node.controller.step(BecameDC(), self.now))
        self._publish()

    def _rebuild_status(self, clean: set[str]) -> None:
        """What the daemon core does at the end of a join round (see daemon.md)."""
        status = self.cib.find("status")
        by_id = {e.get("id"): e for e in status.iterfind("node_state")}
        for n in self.nodes.values():
            el = by_id.get(str(n.nodeid))
            if el is None:
                if not n.member:
                    continue
                el = etree.SubElement(status, "node_state", id=str(n.nodeid))
            el.set("uname", n.name)
            if n.member:
                el.set("in_ccm", "true")
                el.set("crmd", "online")
                el.set("join", "member")
                el.set("expected", "down" if n.shutting_down else "member")
                ta = el.find("transient_attributes")
                for nv in el.iterfind("transient_attributes/instance_attributes/nvpair[@name='shutdown']"):
                    nv.getparent().remove(nv)
                if n.shutting_down:
                    if ta is None:
                        ta = etree.SubElement(el, "transient_attributes", id=str(n.nodeid))
                    ia = ta.find("instance_attributes")
                    if ia is None:
                        ia = etree.SubElement(ta, "instance_attributes", id=f"status-{n.nodeid}")
                    etree.SubElement(ia, "nvpair", id=f"status-{n.nodeid}-shutdown",
                                     name="shutdown", value=str(int(self.now)))
            else:
                el.set("in_ccm", "false")
                el.set("crmd", "offline")
                if n.name in clean:
                    el.set("join", "down")
                    el.set("expected", "down")
                for ta in el.findall("transient_attributes"):
                    el.remove(ta)
        a, e, u = cibops.version_of(self.cib)
        cibops.set_version(self.cib, (a, e, u + 1))

    # ------------------------------------------------------------------ the stream

    def set_quorum(self, quorate: bool) -> None:
        """votequorum's verdict changed (the daemon writes it as ``have-quorum``)."""
        self.cib = etree.fromstring(etree.tostring(self.cib))
        self.cib.set("have-quorum", "1" if quorate else "0")
        a, e, u = cibops.version_of(self.cib)
        cibops.set_version(self.cib, (a, e, u + 1))
        self._publish()
        self.settle()

    def pause(self, name: str) -> None:
        self.nodes[name].paused = True

    def resume(self, name: str) -> None:
        node = self.nodes[name]
        node.paused = False
        held, node.held = node.held, []
        for req in held:
            self._deliver_exec(node, req)
        self.settle()

    def release(self, name: str) -> list[str]:
        """Deliver the requests held so far on a paused node (it stays paused); their op keys."""
        node = self.nodes[name]
        held, node.held = node.held, []
        node.paused = False
        for req in held:
            self._deliver_exec(node, req)
        node.paused = True
        self.settle()
        return [r.op_key for r in held]

    def held(self, name: str) -> list[str]:
        return [r.op_key for r in self.nodes[name].held]

    def change(self, ops: list[dict[str, Any]]) -> None:
        """An administrator's CIB change (as ``tandem`` commands send them)."""
        self.stream.append(("apply", None, list(ops), None))
        self.settle()

    def settle(self, limit: int = 10000) -> None:
        for _ in range(limit):
            if self.timer is not None and self.timer <= self.now:
                self.timer = None
                self._fire_timer()
                continue
            if not self.stream:
                return
            item = self.stream.popleft()
            if item[0] == "apply":
                self._apply(item[1], item[2], item[3])
            elif item[0] == "exec":
                node = self.nodes[item[1]]
                if node.member:
                    self._deliver_exec(node, item[2])
            elif item[0] == "cancel":
                node = self.nodes[item[1]]
                if node.member and node.agent is not None:
                    self._agent_out(node, node.agent.on_cancel(*item[2]))
        raise AssertionError(f"the cluster did not settle; last log lines: {self.log[-10:]}")

    def advance(self, seconds: float) -> None:
        """Let time pass: recurring monitors run, timers fire."""
        self.now += seconds
        for n in self.nodes.values():
            if n.executor is not None:
                n.executor.advance(seconds)
        self.settle()

    def _fire_timer(self) -> None:
        node = self.nodes.get(self.dc or "")
        if node is not None and node.controller is not None:
            self._ctl_out(node, node.controller.step(TimerFired(), self.now))

    def _apply(self, origin: str | None, ops: list[dict[str, Any]], ticket: int | None) -> None:
        node = self.nodes.get(origin or "")
        try:
            self.cib = cibops.apply_ops(self.cib, ops, origin=origin or "admin", ts=self.now)
        finally:
            if node is not None and ticket is not None and node.agent is not None:
                node.agent.applied(ticket)
        self._publish()

    def _publish(self) -> None:
        for n in self.nodes.values():
            if n.agent is not None:
                self._agent_out(n, n.agent.on_cib(self.cib))
        for n in self.nodes.values():
            if n.controller is not None:
                self._ctl_out(n, n.controller.step(CibUpdated(self.cib), self.now))

    def _deliver_exec(self, node: SimNode, req: OpRequest) -> None:
        if node.paused:
            node.held.append(req)
            return
        assert node.agent is not None
        self._agent_out(node, node.agent.on_request(req))

    # ------------------------------------------------------------------ outputs

    def _ctl_out(self, node: SimNode, outs: list[Any]) -> None:
        for o in outs:
            if isinstance(o, ExecuteOp):
                self.stream.append(("exec", o.node, o.request))
            elif isinstance(o, CancelOp):
                self.stream.append(("cancel", o.node, (o.rsc_id, o.action, o.interval_ms)))
            elif isinstance(o, CibOps):
                self.stream.append(("apply", node.name, list(o.ops), None))
            elif isinstance(o, Log) and o.level != "debug":  # the daemon's default log
                self.log.append(f"{node.name}: {o.text}")
            elif isinstance(o, SetTimer):
                self.timer = o.at
            elif isinstance(o, ShutdownReleased):
                self.released.append(o.node)

    def _agent_out(self, node: SimNode, outs: list[Any]) -> None:
        for o in outs:
            if isinstance(o, Submit):
                self.executed.append((node.name, o.request.op_key))
                assert node.executor is not None
                node.executor.submit(o.request)
            elif isinstance(o, Cancel):
                assert node.executor is not None
                node.executor.cancel(o.rsc_id, o.action, o.interval_ms)
            elif isinstance(o, Forget):
                assert node.executor is not None
                node.executor.forget(o.rsc_id)
            elif isinstance(o, Record):
                self.stream.append(("apply", node.name, list(o.ops), o.ticket))
            elif isinstance(o, Log) and o.level != "debug":  # the daemon's default log
                self.log.append(f"{node.name}: {o.text}")

    # ------------------------------------------------------------------ views

    @property
    def controller(self) -> Controller:
        node = self.nodes[self.dc or ""]
        assert node.controller is not None
        return node.controller

    def active_on(self, rsc: str) -> list[str]:
        """Where the scheduler's view of the CIB has ``rsc`` active (online nodes)."""
        from datetime import UTC, datetime

        from tandem.cib.model import Cib
        from tandem.cib.unpack import unpack_status

        state = unpack_status(Cib.from_element(self.cib), datetime.fromtimestamp(self.now, UTC))
        return sorted(
            n for n, h in state.history.get(rsc, {}).items()
            if h.active and state.nodes[n].online
        )

    def running_on(self, rsc: str) -> list[str]:
        """Where the fake agents say ``rsc`` runs (the ground truth)."""
        return sorted(n.name for n in self.nodes.values()
                      if n.executor is not None and rsc in n.executor.runner.running)

    def attr(self, node: str, name: str) -> str | None:
        for nv in self.cib.iterfind(
            f"status/node_state[@uname='{node}']/transient_attributes/instance_attributes/nvpair"
        ):
            if nv.get("name") == name:
                return nv.get("value")
        return None

    def record(self, node: str, rsc: str, record_id: str) -> etree._Element | None:
        for op in self.cib.iterfind(
            f"status/node_state[@uname='{node}']/lrm/lrm_resources/lrm_resource[@id='{rsc}']/lrm_rsc_op"
        ):
            if op.get("id") == record_id:
                return op
        return None
