"""Core state machine: concurrency, rounds interrupted by membership, lifecycle table."""

from __future__ import annotations

import pytest
from lxml import etree

from tandem.daemon.core import TRANSITIONS, DaemonCore, IllegalTransition, LocalRequest, Phase
from tandem.daemon.sim import SimCluster

NODES = {1: "pcmk-1", 2: "pcmk-2", 3: "pcmk-3"}


def _create(rid: str) -> list[dict[str, str]]:
    return [
        {
            "op": "create",
            "parent": "resources",
            "xml": f'<primitive id="{rid}" class="ocf" provider="heartbeat" type="Dummy"/>',
        }
    ]


def _resource_order(sim: SimCluster, n: int) -> list[str]:
    root = etree.fromstring(sim.cib(n).encode())
    return [e.get("id") for e in root.findall("configuration/resources/primitive")]


def test_200_concurrent_changes_from_two_nodes_land_in_the_same_order() -> None:
    sim = SimCluster(NODES)
    sim.start_all()
    sim.settle()
    reqs = []
    for i in range(100):  # fired without waiting: all in flight at once
        reqs.append((1, sim.send(1, "apply", ops=_create(f"a{i}"))))
        reqs.append((2, sim.send(2, "apply", ops=_create(f"b{i}"))))
    sim.settle()
    assert all(sim.nodes[n].replies[r].ok for n, r in reqs)
    orders = {n: _resource_order(sim, n) for n in NODES}
    assert len(orders[1]) == 200
    assert orders[1] == orders[2] == orders[3]
    digests = {sim.info(n)["digest"] for n in NODES}
    assert len(digests) == 1
    assert sim.info(3)["version"].split(":")[1] == str(1 + 200)


def test_conflicting_concurrent_creates_one_wins_everywhere() -> None:
    sim = SimCluster(NODES)
    sim.start_all()
    sim.settle()
    r1 = sim.send(1, "apply", ops=_create("same"))
    r2 = sim.send(2, "apply", ops=_create("same"))
    sim.settle()
    results = [sim.nodes[1].replies[r1].ok, sim.nodes[2].replies[r2].ok]
    assert sorted(results) == [False, True]
    loser = sim.nodes[1 if not results[0] else 2].replies[r1 if not results[0] else r2]
    assert loser.reports[0].code in ("CIB_ID_EXISTS", "CIB_DUPLICATE_ID")
    assert len({sim.info(n)["digest"] for n in NODES}) == 1


def test_change_in_flight_during_a_join_is_not_lost() -> None:
    """A change delivered while a sync round is open is queued; if another
    membership change interrupts the round, its sender sends it again."""
    sim = SimCluster(NODES)
    sim.start(1)
    sim.start(2)
    sim.settle()
    # node 3 joins; before the round completes, node 1 fires a change and node 2 crashes
    sim.start(3)
    req = sim.send(1, "apply", ops=_create("X"))
    sim.corosync.run_until_idle()  # deliver the confchg and queued messages, nobody reacts yet
    sim.crash(2)
    sim.settle()
    assert sim.nodes[1].replies[req].ok
    assert _resource_order(sim, 1) == _resource_order(sim, 3) == ["X"]
    assert sim.info(1)["digest"] == sim.info(3)["digest"]
    assert sim.info(3)["dc"] == "pcmk-1"


def test_requests_before_joining_are_refused_with_a_clear_code() -> None:
    core = DaemonCore(nodeid=1, pid=11, name="pcmk-1")
    (reply,) = [a for a in core.step(LocalRequest(1, "apply", {"ops": _create("A")}))]
    assert not reply.ok and reply.reports[0].code == "CLUSTER_NOT_READY"


def test_shutdown_escalation_when_the_dc_never_acknowledges() -> None:
    sim = SimCluster({1: "pcmk-1", 2: "pcmk-2"}, shutdown_escalation=30)
    sim.start_all()
    sim.settle()
    core2 = sim.nodes[2].core
    assert core2 is not None
    core1 = sim.nodes[1].core
    assert core1 is not None
    core1.resources_released = lambda node: False  # the DC's resources never stop
    core2.resources_released = lambda node: False
    sim.send(2, "shutdown")
    sim.settle()
    assert sim.nodes[2].exit is None and core2.phase is Phase.STOPPING
    sim.tick(29)
    assert sim.nodes[2].exit is None
    sim.tick(2)
    assert sim.nodes[2].exit is not None and "shutdown-escalation" in sim.nodes[2].exit.reason


def test_shutdown_announcement_moves_the_dc_before_the_node_leaves() -> None:
    sim = SimCluster(NODES)
    sim.start_all()
    sim.settle()
    for n in (1, 2, 3):
        core = sim.nodes[n].core
        assert core is not None
        core.resources_released = lambda node: False
    sim.send(1, "shutdown")
    sim.settle()
    assert [sim.info(n)["dc"] for n in NODES] == ["pcmk-2"] * 3
    root = etree.fromstring(sim.cib(3).encode())
    assert root.xpath("//node_state[@id='1']/transient_attributes//nvpair[@name='shutdown']")


def test_transition_table_rejects_illegal_moves() -> None:
    core = DaemonCore(nodeid=1, pid=11, name="pcmk-1")
    core.phase = Phase.STOPPED
    with pytest.raises(IllegalTransition, match="phase=stopped"):
        core._go("joined")
    assert set(TRANSITIONS) == set(Phase)


def test_view_changes_tell_the_controller_who_is_dc_and_who_restarted() -> None:
    sim = SimCluster({1: "pcmk-1", 2: "pcmk-2"})
    sim.start_all()
    sim.settle()
    v1, v2 = sim.nodes[1].views[-1], sim.nodes[2].views[-1]
    assert (v1.dc, v1.online, v1.i_am_dc) == ("pcmk-1", ("pcmk-1", "pcmk-2"), True)
    assert (v2.dc, v2.i_am_dc) == ("pcmk-1", False)
    before = dict(v2.incarnations)
    sim.stop(1)
    v2 = sim.nodes[2].views[-1]
    assert (v2.dc, v2.online, v2.i_am_dc) == ("pcmk-2", ("pcmk-2",), True)
    sim.start(1)
    sim.settle()
    after = dict(sim.nodes[2].views[-1].incarnations)
    assert after["pcmk-2"] == before["pcmk-2"]
    assert after["pcmk-1"] != before["pcmk-1"]  # a new tandemd process on pcmk-1


def test_shutdown_escalation_follows_the_cluster_option() -> None:
    sim = SimCluster({1: "pcmk-1", 2: "pcmk-2"}, shutdown_escalation=1200)
    sim.start_all()
    sim.settle()
    opt = '<cluster_property_set id="o"><nvpair id="o-se" name="shutdown-escalation" value="2min"/></cluster_property_set>'
    assert sim.request(1, "apply", ops=[{"op": "create", "parent": "crm_config", "xml": opt}]).ok
    for n in (1, 2):
        core = sim.nodes[n].core
        assert core is not None
        core.resources_released = lambda node: False
    sim.send(2, "shutdown")
    sim.settle()
    sim.tick(119)
    assert sim.nodes[2].exit is None
    sim.tick(2)
    exit_ = sim.nodes[2].exit
    assert exit_ is not None and "shutdown-escalation (120 s)" in exit_.reason


def test_a_stopping_node_still_records_changes_until_it_leaves() -> None:
    """The DC asks a stopping node to stop its resources; their results must land."""
    sim = SimCluster({1: "pcmk-1"})
    sim.start_all()
    sim.settle()
    core = sim.nodes[1].core
    assert core is not None
    core.resources_released = lambda node: False  # its resources are still being stopped
    sim.send(1, "shutdown")
    sim.settle()
    assert core.phase is Phase.STOPPING
    reply = sim.request(1, "apply", ops=_create("StopResult"))
    assert reply.ok
    assert "StopResult" in _resource_order(sim, 1)
