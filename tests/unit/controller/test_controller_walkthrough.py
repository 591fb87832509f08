"""The walkthrough's failover stories (sections 5-8) on the in-memory cluster.

The configuration is exactly the walkthrough's (``tandem.cib.walkthrough``:
ClusterIP = IPaddr2, WebSite = apache, colocation, order, stickiness 100,
WebSite prefers pcmk-1=250); the agents are the executor's fakes, so this
checks the controller's decisions, not the agents (the lab test does those).
"""

from __future__ import annotations

from lxml import etree

from tandem.cib.walkthrough import build_step_root
from tandem.daemon.controller.sim import ControllerSim

NODES = ["pcmk-1", "pcmk-2"]


def _config(step: str) -> str:
    root = build_step_root(step)
    status = root.find("status")
    for child in list(status):
        status.remove(child)
    return etree.tostring(root, encoding="unicode")


def _order(sim: ControllerSim, *keys: tuple[str, str]) -> list[int]:
    return [sim.executed.index(k) for k in keys]


def test_section5_vip_moves_on_cluster_stop_and_stays_when_the_node_returns():
    sim = ControllerSim(_config("5a"), NODES)
    sim.start()
    assert sim.running_on("ClusterIP") == ["pcmk-1"]
    sim.stop("pcmk-1")
    assert sim.running_on("ClusterIP") == ["pcmk-2"]
    n = len(sim.executed)
    sim.start("pcmk-1")
    assert sim.running_on("ClusterIP") == ["pcmk-2"]  # no failback
    assert sim.executed[n:] == [("pcmk-1", "ClusterIP_monitor_0")]  # only the join's probe
    assert sim.dc == "pcmk-1"  # the lowest node id is DC again (it holds nothing)


def test_sections6_to_8_crash_moves_both_and_the_preferred_node_takes_them_back():
    sim = ControllerSim(_config("6c"), NODES)
    sim.nodes["pcmk-1"].runner.leave_processes.add("WebSite")
    sim.nodes["pcmk-2"].runner.leave_processes.add("WebSite")
    sim.start()
    assert sim.running_on("ClusterIP") == ["pcmk-1"] and sim.running_on("WebSite") == ["pcmk-1"]
    a, b = _order(sim, ("pcmk-1", "ClusterIP_start_0"), ("pcmk-1", "WebSite_start_0"))
    assert a < b  # order ClusterIP then WebSite
    sim.crash("pcmk-1")
    assert sim.running_on("ClusterIP") == ["pcmk-2"] and sim.running_on("WebSite") == ["pcmk-2"]
    n = len(sim.executed)
    sim.start("pcmk-1")  # lab boot + cluster start: 250 beats the 200 of stickiness
    assert sim.running_on("ClusterIP") == ["pcmk-1"] and sim.running_on("WebSite") == ["pcmk-1"]
    moves = sim.executed[n:]
    assert moves.index(("pcmk-2", "WebSite_stop_0")) < moves.index(("pcmk-2", "ClusterIP_stop_0"))
    assert moves.index(("pcmk-1", "ClusterIP_start_0")) < moves.index(("pcmk-1", "WebSite_start_0"))


def test_killed_httpd_is_recovered_in_place_by_the_cgroup_event():
    sim = ControllerSim(_config("6c"), NODES)
    sim.nodes["pcmk-1"].runner.leave_processes.add("WebSite")
    sim.start()
    assert sim.nodes["pcmk-1"].executor.kill("WebSite")  # SIGKILL to every apache2 process
    sim.settle()
    assert sim.attr("pcmk-1", "fail-count-WebSite#monitor_3000") == "1"
    assert sim.record("pcmk-1", "WebSite", "WebSite_last_failure_0").get("tandem-trigger") == "cgroup-empty"
    assert sim.running_on("WebSite") == ["pcmk-1"] and sim.running_on("ClusterIP") == ["pcmk-1"]
    assert any("Recover WebSite ( pcmk-1 )" in line for line in sim.log)
