"""Partition and merge, in memory: every node re-asserts its own history, the DC waits for it.

``PartitionSim`` extends :class:`ControllerSim` with corosync partitions the
way tandemd lives them: each side has its own copy of the CIB, its own DC and
its own total order; the side without a majority loses quorum.  ``heal()``
does what the daemon's join sync does: the copy with the highest
``(admin_epoch, epoch, num_updates)`` wins whole (status included; on equal
versions the side of the lowest node id), every member rebuilds the
``node_state`` entries, and the DC of the merged cluster is the lowest node
id.  Incarnations do not change: no daemon restarted.

Without re-assertion the merged status is one side's: the other side's
records of what it did during the split are gone, and the DC plans on them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from ctl_helpers import dummy, make_cib
from lxml import etree

from tandem.agents.ocf import ExecStatus
from tandem.daemon import cibops
from tandem.daemon.controller import status as st
from tandem.daemon.controller.events import LostDC, Record
from tandem.daemon.controller.node import NodeAgent
from tandem.daemon.controller.sim import ControllerSim, SimNode
from tandem.daemon.executor.core import OpEvent, OpRequest

NODES = ["pcmk-1", "pcmk-2", "pcmk-3"]
#: an administrator's change on the minority side: its copy gets the higher epoch
MINORITY_CHANGE = [{"op": "create", "parent": "crm_config", "xml":
                    '<cluster_property_set id="extra"><nvpair id="extra-x" '
                    'name="cluster-recheck-interval" value="10min"/></cluster_property_set>'}]


@dataclass
class Side:
    names: frozenset[str]
    nodes: dict[str, SimNode]
    cib: etree._Element
    stream: deque = field(default_factory=deque)
    dc: str | None = None
    timer: float | None = None


class PartitionSim(ControllerSim):
    """A ControllerSim whose nodes can be split into sides and merged again."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.sides: list[Side] = []
        self._everyone: dict[str, SimNode] = self.nodes

    # -- switching the sim's single-partition state to one side ----------------

    def _enter(self, side: Side) -> None:
        self.nodes, self.cib, self.stream = side.nodes, side.cib, side.stream
        self.dc, self.timer = side.dc, side.timer

    def _leave(self, side: Side) -> None:
        side.cib, side.stream, side.dc, side.timer = self.cib, self.stream, self.dc, self.timer

    def partition(self, *groups: list[str]) -> None:
        """Cut the cluster into ``groups``; each side loses the others and maybe quorum."""
        assert not self.stream and not self.sides, "settle (and heal) first"
        total = len(self._everyone)
        for g in groups:
            view = {
                name: (n if name in g else replace(n, member=False, agent=None, executor=None,
                                                  controller=None))
                for name, n in self._everyone.items()
            }
            self.sides.append(Side(frozenset(g), view, etree.fromstring(etree.tostring(self.cib)),
                                   dc=self.dc, timer=self.timer))
        for side in self.sides:
            self._enter(side)
            self.cib.set("have-quorum", "1" if 2 * len(side.names) > total else "0")
            self._membership_changed()
            self.settle()
            self._leave(side)

    def on(self, name: str) -> Side:
        return next(s for s in self.sides if name in s.names)

    def heal(self) -> None:
        """The daemon's join sync: the newest CIB wins whole; the lowest node id stays DC."""
        def rank(side: Side) -> tuple[tuple[int, int, int], int]:
            low = min(self._everyone[n].nodeid for n in side.names)
            return cibops.version_of(side.cib), -low
        winner = max(self.sides, key=rank)
        new_dc = min((n for n in self._everyone.values() if n.member), key=lambda n: n.nodeid).name
        for side in self.sides:
            assert not side.stream, "settle every side before healing"
            if side.dc is not None and side.dc != new_dc:
                ctl = self._everyone[side.dc].controller
                assert ctl is not None
                self._ctl_out(self._everyone[side.dc], ctl.step(LostDC(), self.now))
        self.nodes = self._everyone
        self.cib = etree.fromstring(etree.tostring(winner.cib))
        self.cib.set("have-quorum", "1")
        self.stream = deque()
        self.dc = new_dc
        self.timer = self.on(new_dc).timer
        self.winner = winner.names
        self.sides = []
        self._membership_changed()
        self.settle()

    def advance(self, seconds: float) -> None:
        if not self.sides:
            super().advance(seconds)
            return
        self.now += seconds
        for side in self.sides:
            self._enter(side)
            for name in side.names:
                ex = self.nodes[name].executor
                if ex is not None:
                    ex.advance(seconds)
            self.settle()
            self._leave(side)

    def change_on(self, node: str, ops: list[dict[str, Any]]) -> None:
        """An administrator's change made on ``node``'s side of a partition."""
        side = self.on(node)
        self._enter(side)
        self.change(ops)
        self._leave(side)

    # -- views -------------------------------------------------------------------

    def controller_of(self, name: str) -> Any:
        ctl = self._everyone[name].controller
        assert ctl is not None
        return ctl

    def running_on(self, rsc: str) -> list[str]:
        """Where the fake agents say ``rsc`` runs, on either side (the ground truth)."""
        return sorted(n.name for n in self._everyone.values()
                      if n.executor is not None and rsc in n.executor.runner.running)

    def side_active_on(self, node: str, rsc: str) -> list[str]:
        side = self.on(node)
        self._enter(side)
        try:
            return self.active_on(rsc)
        finally:
            self._leave(side)

    def lrm(self, node: str) -> etree._Element:
        el = self.cib.find(f"status/node_state[@uname='{node}']/lrm")
        assert el is not None
        return el


def loc(rid: str, node: str, score: str) -> str:
    return f'<rsc_location id="location-{rid}-{node}-{score}" rsc="{rid}" node="{node}" score="{score}"/>'


def d_on_pcmk3(**props: str) -> PartitionSim:
    """D runs on pcmk-3 (preferred there, stickiness keeps it wherever it runs)."""
    sim = PartitionSim(make_cib(dummy("D"), loc("D", "pcmk-3", "100"), props=props,
                                rsc_defaults="resource-stickiness=200"), list(NODES))
    sim.start()
    assert sim.running_on("D") == ["pcmk-3"] == sim.active_on("D")
    return sim


def since(sim: PartitionSim, mark: int) -> list[tuple[str, str]]:
    return sim.executed[mark:]


# --------------------------------------------------------------------------- scenarios


def test_the_sides_act_during_the_split():
    sim = d_on_pcmk3()
    sim.partition(["pcmk-1", "pcmk-2"], ["pcmk-3"])
    # majority: pcmk-3 is lost (fencing disabled), D recovered on pcmk-1
    assert sim.side_active_on("pcmk-1", "D") == ["pcmk-1"]
    # minority: no quorum, no-quorum-policy=stop: D stopped on pcmk-3
    assert sim.running_on("D") == ["pcmk-1"]
    assert sim.on("pcmk-1").dc == "pcmk-1" and sim.on("pcmk-3").dc == "pcmk-3"


def test_majority_copy_wins_minority_history_is_reasserted_no_needless_restart():
    """The majority's CIB wins; its copy of pcmk-3 says D still runs there.

    Without re-assertion the DC sees D active on pcmk-1 *and* pcmk-3 and
    restarts it (multiple-active); with it, pcmk-3's own record (stopped)
    replaces the stale one and nothing needs doing.
    """
    sim = d_on_pcmk3()
    sim.partition(["pcmk-1", "pcmk-2"], ["pcmk-3"])
    mark = len(sim.executed)
    sim.heal()
    assert sim.winner == frozenset({"pcmk-1", "pcmk-2"})
    # every member re-asserted, stamped with the merged CIB's version
    stamps = {n: sim.lrm(n).get(st.ASSERTED_ATTR) for n in NODES}
    assert all(stamps.values()) and len(set(stamps.values())) == 1, stamps
    # pcmk-3's record is its own stop, not the majority's stale "started"
    last = sim.record("pcmk-3", "D", "D_last_0")
    assert last.get("operation") == "stop" and last.get("rc-code") == "0"
    assert sim.active_on("D") == sim.running_on("D") == ["pcmk-1"]
    assert not [e for e in since(sim, mark) if e[1] in ("D_stop_0", "D_start_0")]
    assert any("waiting for the operation history of" in line and "re-asserted" in line
               for line in sim.log)


def test_minority_copy_wins_majority_start_is_not_lost_and_nothing_runs_twice():
    """A configuration change on the minority side gives its CIB the higher epoch.

    That copy has no trace of D's start on pcmk-1 (only pcmk-3's stop).
    Without re-assertion the DC believes D runs nowhere and starts it a second
    time; with it, pcmk-1's own records come back and D stays where it runs.
    """
    sim = d_on_pcmk3()
    sim.partition(["pcmk-1", "pcmk-2"], ["pcmk-3"])
    sim.change_on("pcmk-3", MINORITY_CHANGE)
    mark = len(sim.executed)
    sim.heal()
    assert sim.winner == frozenset({"pcmk-3"})
    assert sim.record("pcmk-1", "D", "D_last_0").get("operation") == "start"
    assert sim.record("pcmk-1", "D", "D_monitor_10000") is not None
    assert sim.running_on("D") == ["pcmk-1"] == sim.active_on("D")
    assert not [e for e in since(sim, mark) if e[1] == "D_start_0"]


@pytest.mark.parametrize("minority_wins", [False, True])
def test_resource_active_on_both_sides_is_recovered_by_multiple_active_stop_start(minority_wins):
    """no-quorum-policy=ignore: the minority keeps D while the majority starts it too.

    After the merge both nodes' records say "running": the scheduler sees D
    active on multiple nodes and, with multiple-active=stop_start (the
    default), stops it everywhere and starts it once.  Whichever side's copy
    won the join sync: without re-assertion, the minority's copy hides
    pcmk-1's start and the split brain goes unnoticed.
    """
    sim = d_on_pcmk3(**{"no-quorum-policy": "ignore"})
    sim.partition(["pcmk-1", "pcmk-2"], ["pcmk-3"])
    assert sim.running_on("D") == ["pcmk-1", "pcmk-3"]  # split brain, as Pacemaker without fencing
    if minority_wins:
        sim.change_on("pcmk-3", MINORITY_CHANGE)
    mark = len(sim.executed)
    sim.heal()
    assert sim.winner == frozenset({"pcmk-3"} if minority_wins else {"pcmk-1", "pcmk-2"})
    after = since(sim, mark)
    assert ("pcmk-1", "D_stop_0") in after and ("pcmk-3", "D_stop_0") in after
    assert len(sim.running_on("D")) == 1
    assert sim.active_on("D") == sim.running_on("D")


def test_failures_recorded_during_the_split_survive_the_merge():
    """A fail count written on the losing side is re-asserted with the history."""
    from tandem.agents.runner import AgentResult

    sim = d_on_pcmk3()
    sim.partition(["pcmk-1", "pcmk-2"], ["pcmk-3"])
    node = sim.nodes["pcmk-1"]
    node.runner.script[("D", "monitor")] = [AgentResult(rc=7, stdout="", stderr="")]
    node.runner.running.discard("D")
    sim.advance(11)  # the monitor on pcmk-1 fails; the majority's DC restarts D there
    side = sim.on("pcmk-1")
    side_attrs = st.failure_attributes(side.cib, "pcmk-1")
    assert side_attrs.get("fail-count-D#monitor_10000") == "1"
    sim.change_on("pcmk-3", MINORITY_CHANGE)
    sim.heal()
    assert sim.winner == frozenset({"pcmk-3"})
    assert sim.attr("pcmk-1", "fail-count-D#monitor_10000") == "1"
    assert sim.running_on("D") == ["pcmk-1"] == sim.active_on("D")


def _is_reassertion(o: Any) -> bool:
    return isinstance(o, Record) and "re-asserts its operation history" in o.why


def test_dc_does_not_plan_before_every_member_reasserted():
    """The gate: a member whose re-assertion has not landed holds the DC's planning."""
    sim = d_on_pcmk3()
    sim.partition(["pcmk-1", "pcmk-2"], ["pcmk-3"])
    # hold pcmk-2's CIB changes: intercept its Record outputs until released
    held: list[Any] = []
    original = sim._agent_out

    def agent_out(node: SimNode, outs: list[Any]) -> None:
        if node.name == "pcmk-2" and hold[0]:
            held.extend(o for o in outs if _is_reassertion(o))
            outs = [o for o in outs if not _is_reassertion(o)]
        original(node, outs)

    hold = [True]
    sim._agent_out = agent_out  # type: ignore[method-assign]
    ctl = sim.controller_of("pcmk-1")
    assert sim.on("pcmk-1").dc == "pcmk-1"
    transitions = ctl.transitions_total
    sim.heal()
    assert sim.controller is ctl
    assert held, "pcmk-2 did re-assert"
    assert ctl.transitions_total == transitions  # nothing planned yet
    assert "pcmk-2 to be re-asserted" in ctl.last_decision or any(
        "pcmk-2 to be re-asserted" in line for line in sim.log)
    hold[0] = False
    for rec in held:
        sim.stream.append(("apply", "pcmk-2", list(rec.ops), rec.ticket))
    sim.settle()
    assert sim.lrm("pcmk-2").get(st.ASSERTED_ATTR)
    assert sim.running_on("D") == ["pcmk-1"] == sim.active_on("D")


def test_dc_stops_waiting_after_cluster_delay():
    sim = d_on_pcmk3(**{"cluster-delay": "30s"})
    sim.partition(["pcmk-1", "pcmk-2"], ["pcmk-3"])
    original = sim._agent_out

    def agent_out(node: SimNode, outs: list[Any]) -> None:
        if node.name == "pcmk-3":
            outs = [o for o in outs if not _is_reassertion(o)]  # its re-assertion is lost
        original(node, outs)

    sim._agent_out = agent_out  # type: ignore[method-assign]
    sim.heal()
    assert any("pcmk-3 to be re-asserted" in line for line in sim.log)
    sim.advance(31)
    assert any("did not re-assert its operation history within cluster-delay" in line
               for line in sim.log)
    # the DC planned on the majority's stale copy of pcmk-3 (D "running" there and on
    # pcmk-1): multiple-active recovery still ends with D running once
    assert len(sim.running_on("D")) == 1 and sim.active_on("D") == sim.running_on("D")


def test_nodes_reassert_at_a_plain_join_too_without_changing_anything():
    """A node that crashed and boots has a new incarnation: it is wiped and probed,
    the others re-assert (identical records), and D stays where it runs."""
    sim = d_on_pcmk3()
    sim.crash("pcmk-2")
    before = {k: v.identity for k, v in st.records(sim.cib).items() if k[0] != "pcmk-2"}
    mark = len(sim.executed)
    sim.start("pcmk-2")
    assert sim.lrm("pcmk-1").get(st.ASSERTED_ATTR) and sim.lrm("pcmk-3").get(st.ASSERTED_ATTR)
    after = {k: v.identity for k, v in st.records(sim.cib).items() if k[0] != "pcmk-2"}
    assert after == before
    assert since(sim, mark) == [("pcmk-2", "D_monitor_0")]
    assert sim.running_on("D") == ["pcmk-3"] == sim.active_on("D")


# --------------------------------------------------------------------------- the agent alone


def _cib(online: list[str], version: int = 1, lrm: str = "") -> etree._Element:
    states = "".join(
        f'<node_state id="{i}" uname="pcmk-{i}" in_ccm="{str(f"pcmk-{i}" in online).lower()}" '
        f'crmd="{"online" if f"pcmk-{i}" in online else "offline"}" join="member" expected="member">'
        + (lrm if i == 1 else "") + "</node_state>"
        for i in (1, 2, 3)
    )
    return etree.fromstring(
        f'<cib admin_epoch="0" epoch="5" num_updates="{version}"><configuration><crm_config/><nodes/><resources/><constraints/></configuration>'
        f"<status>{states}</status></cib>"
    )


def _event(req: OpRequest, rc: int = 0) -> OpEvent:
    return OpEvent(request=req, call_id=3, rc=rc, status=ExecStatus.DONE, exit_reason="",
                   trigger="request", run_at=1_700_000_000, last_rc_change=1_700_000_000,
                   exec_ms=5, queue_ms=0, transition_key=req.transition_key)


def test_agent_waits_for_operations_in_flight_before_reasserting():
    from tandem.agents.ocf import AgentSpec

    agent = NodeAgent("pcmk-1")
    agent.incarnation = "42-abc"
    agent.on_cib(_cib(["pcmk-1", "pcmk-2"], 1))
    req = OpRequest("D", AgentSpec("ocf", "Dummy", "pacemaker"), "start", 0, 20000,
                    transition_key="3:1:0:uuid")
    agent.on_request(req)
    # the merge arrives while the start runs: no re-assertion yet
    out = agent.on_cib(_cib(["pcmk-1", "pcmk-2", "pcmk-3"], 7))
    assert not [o for o in out if isinstance(o, Record)]
    out = agent.on_event(_event(req))
    recs = [o for o in out if isinstance(o, Record)]
    assert len(recs) == 2  # the start's own record, then the re-assertion that includes it
    ops = recs[1].ops
    modify = next(o for o in ops if o["op"] == "modify")
    lrm = etree.fromstring(str(modify["xml"])).find("lrm")
    assert lrm.get(st.ASSERTED_ATTR) == "0.5.7" and lrm.get(st.INCARNATION_ATTR) == "42-abc"
    assert [op.get("id") for op in lrm.iter("lrm_rsc_op")] == ["D_last_0"]
    assert ops[0]["op"] == "delete"  # its own copy replaces whatever the CIB had


def test_agent_does_not_forget_what_a_merged_copy_lacks_but_follows_a_cleanup():
    from tandem.agents.ocf import AgentSpec

    agent = NodeAgent("pcmk-1")
    agent.on_cib(_cib(["pcmk-1", "pcmk-2"], 1))
    req = OpRequest("D", AgentSpec("ocf", "Dummy", "pacemaker"), "start", 0, 20000,
                    transition_key="3:1:0:uuid")
    agent.on_request(req)
    rec = next(o for o in agent.on_event(_event(req)) if isinstance(o, Record))
    with_d = cibops.apply_ops(_cib(["pcmk-1", "pcmk-2"], 2), list(rec.ops), origin="pcmk-1", ts=0)
    assert agent.on_cib(with_d) == []
    # the merged copy (the other side's) has no D on pcmk-1: not a cleanup
    out = agent.on_cib(_cib(["pcmk-1", "pcmk-2", "pcmk-3"], 9))
    assert not [o for o in out if type(o).__name__ == "Forget"]
    assert "D" in agent.ledger
    # once merged, a cleanup (D's history deleted, same membership) is followed
    merged = cibops.apply_ops(_cib(["pcmk-1", "pcmk-2", "pcmk-3"], 10), list(rec.ops),
                              origin="pcmk-1", ts=0)
    agent.on_cib(merged)
    cleaned = cibops.apply_ops(merged, st.cleanup_ops("D"), origin="admin", ts=0)
    out = agent.on_cib(cleaned)
    assert [type(o).__name__ for o in out] == ["Forget"]
    assert "D" not in agent.ledger


def test_agent_writes_its_own_incarnation_over_a_stale_copy_seen_twice():
    """The merged copy may carry an older marker for this node; the daemon may report it twice."""
    from tandem.agents.ocf import AgentSpec

    agent = NodeAgent("pcmk-1")
    agent.incarnation = "42-new"
    mine = '<lrm id="1" tandem-incarnation="42-new"><lrm_resources/></lrm>'
    agent.on_cib(_cib(["pcmk-1", "pcmk-2"], 1, mine))
    req = OpRequest("D", AgentSpec("ocf", "Dummy", "pacemaker"), "start", 0, 20000,
                    transition_key="3:1:0:uuid")
    agent.on_request(req)
    agent.on_event(_event(req))
    stale = '<lrm id="1" tandem-incarnation="17-old"><lrm_resources/></lrm>'
    merged = _cib(["pcmk-1", "pcmk-2", "pcmk-3"], 8, stale)
    first = [o for o in agent.on_cib(merged) if isinstance(o, Record)]
    again = agent.on_cib(merged)
    assert len(first) == 1 and not [o for o in again if isinstance(o, Record)]
    assert "D" in agent.ledger  # the second look did not take the stale copy for a wipe
    lrm = etree.fromstring(str(next(o for o in first[0].ops if o["op"] == "modify")["xml"])).find("lrm")
    assert lrm.get(st.INCARNATION_ATTR) == "42-new"


# --------------------------------------------------------------------------- the real wiring


def test_real_daemons_over_in_memory_corosync_merge_without_running_d_twice():
    """tandemd's DaemonCore + Daemon + attach() on InMemoryCorosync, partitioned and healed.

    The same story as the minority-wins scenario, but with the daemon's own join sync,
    hooks, ctl-hello incarnations and CPG order: the ordering of the merged CIB, the
    view and the hellos is the real one.
    """
    import asyncio

    from test_daemon_integration import Node, settle

    from tandem.corosync.fake import InMemoryCorosync

    names = {1: "pcmk-1", 2: "pcmk-2", 3: "pcmk-3"}

    def running(nodes: list[Node]) -> list[str]:
        return sorted(n.name for n in nodes if n.executor is not None
                      and "D" in n.executor.runner.running)

    async def scenario() -> None:
        cs = InMemoryCorosync(names)
        cib = make_cib(dummy("D"), loc("D", "pcmk-3", "100"),
                       rsc_defaults="resource-stickiness=200")
        nodes = [Node(cs, i, cib, names, "pmg") for i in (1, 2, 3)]
        await settle(cs, nodes)
        n1, n2, n3 = nodes
        assert running(nodes) == ["pcmk-3"]
        cs.partition([3])
        await settle(cs, nodes)
        assert n3.daemon.core.cib.get("have-quorum") == "0"
        where = running(nodes)
        assert len(where) == 1 and where[0] != "pcmk-3"
        fut = n3.daemon.submit("apply", ops=MINORITY_CHANGE)
        await settle(cs, nodes)
        assert fut.result().ok
        cs.heal()
        await settle(cs, nodes)
        for node in nodes:
            root = node.daemon.core.cib
            assert root.find("configuration/crm_config/cluster_property_set[@id='extra']") is not None
            assert node.service.agent.reassertions >= 1
        root = n1.daemon.core.cib
        stamps = {n: st.asserted(root, n) for n in names.values()}
        assert len(set(stamps.values())) == 1 and None not in stamps.values(), stamps
        assert running(nodes) == where
        dc = next(n for n in nodes if n.daemon.core.dc == n.daemon.core.nodeid)
        assert "stable" in dc.service.controller.last_decision
        from datetime import UTC, datetime

        from tandem.cib.model import Cib
        from tandem.cib.unpack import unpack_status

        state = unpack_status(Cib.from_element(root), datetime.now(UTC))
        assert sorted(n for n, h in state.history["D"].items() if h.active) == where

    asyncio.run(scenario())
