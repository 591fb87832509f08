"""The DC's Controller alone: lifecycle table, waiting for incarnations, brake, fencing, timers.

A fake ``schedule`` stands in for the scheduler where the test needs a graph
the real one would not produce (a fencing action, the same failing start
again and again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest
from ctl_helpers import dummy, make_cib
from lxml import etree

from tandem.daemon import cibops
from tandem.daemon.controller import (
    TRANSITIONS,
    BecameDC,
    CibOps,
    CibUpdated,
    Controller,
    ExecuteOp,
    Log,
    LostDC,
    MembershipChanged,
    Phase,
    SetTimer,
    TimerFired,
)
from tandem.daemon.controller.core import IllegalTransition
from tandem.scheduler.actions import Graph

NOW = 1_700_000_000.0


@dataclass
class FakeResult:
    graph: Graph
    summary: list[str] = field(default_factory=list)
    recheck_at: datetime | None = None
    shutdown_nodes: list[str] = field(default_factory=list)


def _cib(members=("pcmk-1", "pcmk-2"), incarnations=None) -> etree._Element:  # noqa: ANN001
    cib = cibops.parse(make_cib(dummy("A")))
    cib.set("have-quorum", "1")
    for i, name in enumerate(members, start=1):
        etree.SubElement(cib.find("configuration/nodes"), "node", id=str(i), uname=name)
        ns = etree.SubElement(cib.find("status"), "node_state", id=str(i), uname=name,
                              in_ccm="true", crmd="online", join="member", expected="member")
        inc = (incarnations or {}).get(name)
        if inc:
            lrm = etree.SubElement(ns, "lrm", id=str(i))
            lrm.set("tandem-incarnation", inc)
            etree.SubElement(lrm, "lrm_resources")
    return cib


def _bump(cib: etree._Element) -> etree._Element:
    new = etree.fromstring(etree.tostring(cib))
    a, e, n = cibops.version_of(new)
    cibops.set_version(new, (a, e, n + 1))
    return new


def _ready_controller(schedule=None) -> tuple[Controller, etree._Element]:  # noqa: ANN001
    incs = {"pcmk-1": "1-a", "pcmk-2": "2-b"}
    ctl = Controller("pcmk-1", "uuid", schedule=schedule)
    cib = _cib(incarnations=incs)
    ctl.step(MembershipChanged(incs), NOW)
    ctl.step(CibUpdated(cib), NOW)
    return ctl, cib


def test_lifecycle_table_refuses_illegal_transitions():
    ctl = Controller("pcmk-1", "u")
    assert ctl.phase is Phase.NOT_DC
    with pytest.raises(IllegalTransition, match="can't handle 'complete' when node=pcmk-1 and phase=not-dc"):
        ctl._go("complete")
    # every phase can lose the DC role
    assert all(table.get("lost-dc") is Phase.NOT_DC for table in TRANSITIONS.values())


def test_not_the_dc_plans_nothing():
    ctl, cib = _ready_controller()
    assert ctl.step(CibUpdated(_bump(cib)), NOW) == []
    assert ctl.phase is Phase.NOT_DC


def test_members_of_unknown_incarnation_are_waited_for_and_new_ones_wiped():
    ctl = Controller("pcmk-1", "u")
    cib = _cib(incarnations={"pcmk-1": "1-a"})
    ctl.step(CibUpdated(cib), NOW)
    ctl.step(MembershipChanged({"pcmk-1": "1-a", "pcmk-2": None}), NOW)
    out = ctl.step(BecameDC(), NOW)
    assert not [o for o in out if isinstance(o, (ExecuteOp, CibOps))]
    assert ctl.last_decision == "waiting for pcmk-2 to announce its daemon before planning"
    # its incarnation becomes known: the DC wipes its history (once), then plans
    out = ctl.step(MembershipChanged({"pcmk-1": "1-a", "pcmk-2": "2-b"}), NOW)
    wipes = [o for o in out if isinstance(o, CibOps)]
    assert len(wipes) == 1 and "pcmk-2 joined" in wipes[0].why
    assert ctl.last_decision == ("waiting for the operation history of pcmk-2 to be reset "
                                 "before planning")
    cib = _bump(cib)
    assert ctl.step(CibUpdated(cib), NOW + 1) == []  # not applied yet: no resend
    cib2 = cibops.apply_ops(cib, list(wipes[0].ops), origin="x", ts=0)
    out = ctl.step(CibUpdated(cib2), NOW + 1)
    assert [o.request.op_key for o in out if isinstance(o, ExecuteOp)] == ["A_monitor_0", "A_monitor_0"]


def test_fencing_actions_block_without_looping():
    def schedule(cib, now):  # noqa: ANN001, ANN202
        g = Graph()
        fence = g.new(None, "stonith", "pcmk-2", optional=False)
        start = g.new("A", "start", "pcmk-1", optional=False)
        Graph.order(fence, start, 16)
        return FakeResult(g, ["Fence (reboot) pcmk-2 'peer is no longer part of the cluster'"])

    ctl, cib = _ready_controller(schedule)
    out = ctl.step(BecameDC(), NOW)
    assert not [o for o in out if isinstance(o, ExecuteOp)]
    assert ctl.phase is Phase.IDLE
    assert "1 action(s) done" not in ctl.last_decision
    assert "2 could not run" in ctl.last_decision or "could not run" in ctl.last_decision


def test_repeated_aborts_put_the_brake_on_replanning():
    calls = []

    def schedule(cib, now):  # noqa: ANN001, ANN202
        calls.append(now)
        g = Graph()
        g.new("A", "start", "pcmk-1", optional=False)
        return FakeResult(g, ["Start      A       ( pcmk-1 )"])

    ctl, cib = _ready_controller(schedule)
    out = ctl.step(BecameDC(), NOW)
    for _ in range(8):
        ex = [o for o in out if isinstance(o, ExecuteOp)]
        if not ex:
            break
        # the start fails every time (its record comes back with rc=1)
        cib = _with_record(cib, "pcmk-1", "A", ex[0].request.transition_key, rc=1)
        out = ctl.step(CibUpdated(cib), NOW)
    assert len(calls) == 5  # the fifth abort holds the next plan back
    assert "5 transitions in a row were aborted: replanning in 1 s" in ctl.last_decision
    timers = [o.at for o in out if isinstance(o, SetTimer)]
    assert timers and timers[-1] == NOW + 1
    out = ctl.step(TimerFired(), NOW + 1)
    assert len(calls) == 6


def _with_record(cib: etree._Element, node: str, rsc: str, key: str, rc: int) -> etree._Element:
    new = _bump(cib)
    lrs = new.find(f"status/node_state[@uname='{node}']/lrm/lrm_resources")
    lr = lrs.find(f"lrm_resource[@id='{rsc}']")
    if lr is None:
        lr = etree.SubElement(lrs, "lrm_resource", id=rsc, type="Dummy", provider="pacemaker")
        lr.set("class", "ocf")
    for old in lr.findall("lrm_rsc_op"):
        lr.remove(old)
    call = str(int(new.get("num_updates")))
    etree.SubElement(lr, "lrm_rsc_op", id=f"{rsc}_last_0", operation_key=f"{rsc}_start_0",
                     operation="start", interval="0", **{"transition-key": key, "call-id": call,
                                                          "rc-code": str(rc), "op-status": "0"})
    return new


def test_in_flight_action_times_out_after_its_timeout_plus_cluster_delay():
    def schedule(cib, now):  # noqa: ANN001, ANN202
        g = Graph()
        g.new("A", "start", "pcmk-2", optional=False)
        return FakeResult(g, ["Start      A       ( pcmk-2 )"])

    ctl, cib = _ready_controller(schedule)
    out = ctl.step(BecameDC(), NOW)
    assert [o.node for o in out if isinstance(o, ExecuteOp)] == ["pcmk-2"]
    deadline = NOW + 20 + 60  # op timeout 20s + default cluster-delay 60s
    assert [o.at for o in out if isinstance(o, SetTimer)][-1] == deadline
    ctl.step(TimerFired(), deadline - 1)
    assert ctl.phase is Phase.EXECUTING
    out = ctl.step(TimerFired(), deadline)
    logs = [o.text for o in out if isinstance(o, Log)]
    assert logs[0].startswith("transition 1 aborted: no result for the start of A on pcmk-2 "
                              "within its timeout plus cluster-delay")
    assert logs[1].startswith("transition 2 started")


def test_losing_the_dc_role_mid_transition_abandons_it():
    def schedule(cib, now):  # noqa: ANN001, ANN202
        g = Graph()
        g.new("A", "start", "pcmk-2", optional=False)
        return FakeResult(g, [])

    ctl, cib = _ready_controller(schedule)
    ctl.step(BecameDC(), NOW)
    assert ctl.phase is Phase.EXECUTING
    out = ctl.step(LostDC(), NOW)
    assert ctl.phase is Phase.NOT_DC and ctl.transition is None
    assert SetTimer(None) in out
    assert "transition 1 abandoned: no longer the DC" in ctl.last_decision


def test_no_planning_until_the_cib_shows_the_new_membership():
    calls = []

    def schedule(cib, now):  # noqa: ANN001, ANN202
        calls.append(now)
        return FakeResult(Graph())

    ctl, cib = _ready_controller(schedule)
    ctl.step(BecameDC(), NOW)
    assert len(calls) == 1
    # pcmk-2 left: the view says so at once, the rebuilt status comes a moment later
    ctl.step(MembershipChanged({"pcmk-1": "1-a"}), NOW)
    ctl.step(CibUpdated(_bump(cib)), NOW)
    assert len(calls) == 1
    rebuilt = _bump(_bump(cib))
    rebuilt.find("status/node_state[@uname='pcmk-2']").set("in_ccm", "false")
    ctl.step(CibUpdated(rebuilt), NOW)
    assert len(calls) == 2 and "cluster is stable" in ctl.last_decision


def test_the_started_sentence_keeps_why_an_action_is_blocked():
    def schedule(cib, now):  # noqa: ANN001, ANN202
        g = Graph()
        g.new("A", "monitor", "pcmk-1", optional=False)  # a probe runs; the start cannot
        return FakeResult(g, ["Start      A       ( pcmk-1 )  due to no quorum (blocked)"])

    ctl, cib = _ready_controller(schedule)
    out = ctl.step(BecameDC(), NOW)
    started = [o.text for o in out if isinstance(o, Log) and "started" in o.text]
    assert started == ["transition 1 started (became the DC): "
                       "Start A ( pcmk-1 ) due to no quorum (blocked)"]


def test_many_unexpected_results_make_one_short_reason():
    def schedule(cib, now):  # noqa: ANN001, ANN202
        g = Graph()
        g.new("A", "start", "pcmk-2", optional=False)
        return FakeResult(g, [])

    ctl, cib = _ready_controller(schedule)
    ctl.step(BecameDC(), NOW)
    for rsc in ("B", "C", "D"):  # e.g. a join sync brought another side's history
        cib = _with_record(cib, "pcmk-1", rsc, "1:1:0:other-dc", rc=0)
    out = ctl.step(CibUpdated(cib), NOW)
    (text,) = [o.text for o in out if isinstance(o, Log)]
    assert text == ("transition 1 aborting: 3 unexpected results (B_start_0 on pcmk-1 (rc=0), "
                    "C_start_0 on pcmk-1 (rc=0), ...); waiting for 1 action(s) in flight "
                    "before replanning")
