"""Multi-node controller scenarios in memory (ControllerSim): no sleeps, no processes.

Each test reads as a story: the cluster state before, what happens, and what
the CIB status and the DC's decisions must be afterwards.
"""

from __future__ import annotations

from ctl_helpers import dummy, make_cib

from tandem.agents.ocf import ExecStatus
from tandem.agents.runner import AgentResult
from tandem.daemon.controller import Phase, cleanup_ops
from tandem.daemon.controller.sim import ControllerSim

NODES = ["pcmk-1", "pcmk-2"]


def loc(rid: str, node: str, score: str) -> str:
    return f'<rsc_location id="location-{rid}-{node}-{score}" rsc="{rid}" node="{node}" score="{score}"/>'


def add_resource(xml: str) -> list[dict]:
    return [{"op": "create", "parent": "resources", "xml": xml}]


def add_constraint(xml: str) -> list[dict]:
    return [{"op": "create", "parent": "constraints", "xml": xml}]


def started(resources: str, constraints: str = "", nodes=NODES, **kw) -> ControllerSim:
    sim = ControllerSim(make_cib(resources, constraints, **kw), list(nodes))
    sim.start()
    return sim


# --------------------------------------------------------------------------- start-up


def test_first_start_probes_everywhere_then_starts_and_monitors():
    sim = started(dummy("A"))
    # every node probed, then one start and its recurring monitor
    assert sorted(sim.executed[:2]) == [("pcmk-1", "A_monitor_0"), ("pcmk-2", "A_monitor_0")]
    assert sim.executed[2:] == [("pcmk-1", "A_start_0"), ("pcmk-1", "A_monitor_10000")]
    assert sim.running_on("A") == ["pcmk-1"] and sim.active_on("A") == ["pcmk-1"]
    # the records are Pacemaker's: last_0 (start), the recurring monitor, class/provider/type
    last = sim.record("pcmk-1", "A", "A_last_0")
    assert last.get("operation") == "start" and last.get("rc-code") == "0"
    assert last.get("op-status") == "0" and last.get("call-id")
    assert last.get("transition-key").endswith(":0:" + sim.controller.uuid)
    mon = sim.record("pcmk-1", "A", "A_monitor_10000")
    assert mon.get("interval") == "10000" and mon.get("op-digest")
    probe = sim.record("pcmk-2", "A", "A_last_0")
    assert probe.get("operation") == "monitor" and probe.get("rc-code") == "7"
    lr = sim.cib.find("status/node_state[@uname='pcmk-1']/lrm/lrm_resources/lrm_resource")
    assert (lr.get("class"), lr.get("provider"), lr.get("type")) == ("ocf", "pacemaker", "Dummy")
    assert sim.controller.phase is Phase.IDLE
    assert "transition 1 started" in sim.log[-2] and "Start A ( pcmk-1 )" in sim.log[-2]
    assert "transition 1 complete: 4 action(s)" in sim.log[-1]


def test_independent_actions_go_out_together_and_orders_are_respected():
    sim = started("")
    sim.pause("pcmk-1")
    sim.change(add_resource(dummy("A")) + add_resource(dummy("B")) + add_resource(dummy("C"))
               + add_constraint(loc("A", "pcmk-1", "100")) + add_constraint(loc("B", "pcmk-1", "100"))
               + add_constraint(loc("C", "pcmk-1", "100"))
               + add_constraint('<rsc_order id="order-A-C-mandatory" first="A" then="C" '
                                'first-action="start" then-action="start"/>'))
    # the three probes on pcmk-1 are in flight at the same time
    assert sorted(sim.held("pcmk-1")) == ["A_monitor_0", "B_monitor_0", "C_monitor_0"]
    sim.release("pcmk-1")
    # A and B start in parallel; C waits for A's start (order constraint)
    assert sorted(sim.held("pcmk-1")) == ["A_start_0", "B_start_0"]
    sim.release("pcmk-1")
    held = sim.held("pcmk-1")
    assert "C_start_0" in held and "A_monitor_10000" in held
    sim.resume("pcmk-1")
    assert sim.running_on("C") == ["pcmk-1"]
    c_start = sim.executed.index(("pcmk-1", "C_start_0"))
    assert c_start > sim.executed.index(("pcmk-1", "A_start_0"))


# --------------------------------------------------------------------------- node loss and joins


def test_lost_node_resources_are_recovered_elsewhere_without_stonith():
    sim = started(dummy("A"))
    assert sim.running_on("A") == ["pcmk-1"]
    sim.crash("pcmk-1")
    assert sim.dc == "pcmk-2"
    assert sim.running_on("A") == ["pcmk-2"]
    assert sim.active_on("A") == ["pcmk-2"]
    # the lost node keeps join/expected member (as the daemon leaves it): only offline
    ns = sim.cib.find("status/node_state[@uname='pcmk-1']")
    assert (ns.get("in_ccm"), ns.get("join")) == ("false", "member")


def test_node_lost_mid_transition_aborts_and_replans():
    sim = started(dummy("A"), nodes=["pcmk-1", "pcmk-2", "pcmk-3"])
    assert sim.running_on("A") == ["pcmk-1"]
    sim.pause("pcmk-2")
    sim.change(add_constraint(loc("A", "pcmk-2", "100")))
    # stop on pcmk-1 done, the start on pcmk-2 in flight
    assert sim.held("pcmk-2") == ["A_start_0"]
    assert sim.running_on("A") == []
    sim.crash("pcmk-2")
    assert any("aborted: pcmk-2 left the cluster" in line for line in sim.log)
    assert sim.running_on("A") == ["pcmk-1"]
    assert sim.controller.phase is Phase.IDLE


def test_joining_node_gets_every_resource_probed_and_nothing_moves():
    sim = started(dummy("A") + dummy("B"), nodes=["pcmk-1", "pcmk-2", "pcmk-3"])
    sim.crash("pcmk-3")
    before = dict(a=sim.running_on("A"), b=sim.running_on("B"))
    n = len(sim.executed)
    sim.start("pcmk-3")
    new = sim.executed[n:]
    assert sorted(new) == [("pcmk-3", "A_monitor_0"), ("pcmk-3", "B_monitor_0")]
    assert dict(a=sim.running_on("A"), b=sim.running_on("B")) == before


def test_rejoined_node_history_is_wiped_and_reprobed():
    # A runs on pcmk-2 (location), pcmk-2 crashes and comes back: its old history
    # ("A started") must not be believed -- the new daemon's executor knows nothing.
    sim = started(dummy("A"), loc("A", "pcmk-2", "100"))
    assert sim.running_on("A") == ["pcmk-2"]
    sim.crash("pcmk-2")
    assert sim.running_on("A") == ["pcmk-1"]
    n = len(sim.executed)
    sim.start("pcmk-2")
    assert ("pcmk-2", "A_monitor_0") in sim.executed[n:]
    assert sim.running_on("A") == ["pcmk-2"]  # back to the preferred node
    lrm = sim.cib.find("status/node_state[@uname='pcmk-2']/lrm")
    assert lrm.get("tandem-incarnation") == "2:2"


def test_dc_takeover_keeps_the_histories_and_restarts_nothing():
    sim = started(dummy("A"), loc("A", "pcmk-2", "100"))
    assert sim.dc == "pcmk-1" and sim.running_on("A") == ["pcmk-2"]
    n = len(sim.executed)
    sim.crash("pcmk-1")
    assert sim.dc == "pcmk-2"
    assert sim.executed[n:] == []
    assert sim.running_on("A") == ["pcmk-2"]
    assert "cluster is stable" in sim.log[-1]


def test_stonith_enabled_without_device_starts_nothing():
    sim = started(dummy("A"), stonith=True)
    assert sim.running_on("A") == []
    assert not [e for e in sim.executed if e[1] == "A_start_0"]


def test_clean_stop_moves_resources_before_the_node_is_released():
    sim = started(dummy("A"))
    assert sim.running_on("A") == ["pcmk-1"]
    sim.stop("pcmk-1")
    assert sim.running_on("A") == ["pcmk-2"]
    # the stop was recorded before the DC released the node
    stop_at = sim.executed.index(("pcmk-1", "A_stop_0"))
    assert stop_at < sim.executed.index(("pcmk-2", "A_start_0"))


# --------------------------------------------------------------------------- failures


def test_monitor_failure_restarts_in_place_and_counts_one_failure():
    sim = started(dummy("A"))
    sim.nodes["pcmk-1"].runner.running.discard("A")  # the service died
    sim.advance(10)
    assert sim.attr("pcmk-1", "fail-count-A#monitor_10000") == "1"
    assert sim.attr("pcmk-1", "last-failure-A#monitor_10000") is not None
    failure = sim.record("pcmk-1", "A", "A_last_failure_0")
    assert failure.get("operation_key") == "A_monitor_10000" and failure.get("rc-code") == "7"
    assert sim.running_on("A") == ["pcmk-1"]
    assert sim.executed[-3:] == [("pcmk-1", "A_stop_0"), ("pcmk-1", "A_start_0"),
                                 ("pcmk-1", "A_monitor_10000")]
    assert any("Recover A ( pcmk-1 )" in line for line in sim.log)


def test_cgroup_event_triggers_the_monitor_and_the_record_says_so():
    sim = ControllerSim(make_cib(dummy("A", monitor="3s", meta="cgroup-watch=true")), NODES)
    sim.nodes["pcmk-1"].runner.leave_processes.add("A")  # like httpd: start leaves processes
    sim.start()
    ex = sim.nodes["pcmk-1"].executor
    assert ex.kill("A")  # every process died: the cgroup watch fires, no time passes
    sim.settle()
    failure = sim.record("pcmk-1", "A", "A_last_failure_0")
    assert failure.get("tandem-trigger") == "cgroup-empty"
    assert failure.get("operation_key") == "A_monitor_3000"
    assert sim.attr("pcmk-1", "fail-count-A#monitor_3000") == "1"
    assert sim.running_on("A") == ["pcmk-1"]  # recovered in place (on-fail=restart)


def test_failed_start_is_fatal_on_that_node_and_moves_away():
    sim = ControllerSim(make_cib(dummy("C"), loc("C", "pcmk-1", "50")), NODES)
    sim.nodes["pcmk-1"].runner.script[("C", "start")] = AgentResult(1, exit_reason="broken")
    sim.start()
    assert sim.attr("pcmk-1", "fail-count-C#start_0") == "INFINITY"
    assert sim.running_on("C") == ["pcmk-2"]
    assert any("the start of C on pcmk-1 failed (rc=1" in line for line in sim.log)
    failure = sim.record("pcmk-1", "C", "C_last_failure_0")
    assert failure.get("exit-reason") == "broken" and failure.get("operation") == "start"
    assert sim.record("pcmk-1", "C", "C_last_0").get("operation") == "stop"  # cleaned up after


def test_start_timeout_counts_as_a_failed_start():
    sim = ControllerSim(make_cib(dummy("C"), loc("C", "pcmk-1", "50")), NODES)
    sim.nodes["pcmk-1"].runner.script[("C", "start")] = AgentResult(
        1, ExecStatus.TIMEOUT, "timed out")
    sim.start()
    assert sim.record("pcmk-1", "C", "C_last_failure_0").get("op-status") == "2"
    assert sim.attr("pcmk-1", "fail-count-C#start_0") == "INFINITY"
    assert sim.running_on("C") == ["pcmk-2"]


def test_start_failure_not_fatal_counts_one_and_retries_until_threshold():
    sim = ControllerSim(
        make_cib(dummy("C", meta="migration-threshold=2"), loc("C", "pcmk-1", "50"),
                 props={"start-failure-is-fatal": "false"}), NODES)
    sim.nodes["pcmk-1"].runner.script[("C", "start")] = [AgentResult(1), AgentResult(1)]
    sim.start()
    assert sim.attr("pcmk-1", "fail-count-C#start_0") == "2"
    assert sim.running_on("C") == ["pcmk-2"]
    starts = [e for e in sim.executed if e == ("pcmk-1", "C_start_0")]
    assert len(starts) == 2


def test_migration_threshold_moves_away_after_the_second_monitor_failure():
    sim = started(dummy("A", meta="migration-threshold=2"), loc("A", "pcmk-1", "50"))
    sim.nodes["pcmk-1"].runner.running.discard("A")
    sim.advance(10)
    assert sim.attr("pcmk-1", "fail-count-A#monitor_10000") == "1"
    assert sim.running_on("A") == ["pcmk-1"]  # first failure: restarted in place
    sim.nodes["pcmk-1"].runner.running.discard("A")
    sim.advance(10)
    assert sim.attr("pcmk-1", "fail-count-A#monitor_10000") == "2"
    assert sim.running_on("A") == ["pcmk-2"]  # threshold reached: banned from pcmk-1


def test_failure_timeout_lets_the_resource_come_back_when_it_expires():
    sim = started(dummy("A", meta="migration-threshold=1 failure-timeout=60s"),
                  loc("A", "pcmk-1", "50"))
    sim.nodes["pcmk-1"].runner.running.discard("A")
    sim.advance(10)
    assert sim.running_on("A") == ["pcmk-2"]
    # the DC set a timer for the expiry: nothing happens before it
    assert sim.timer is not None and sim.timer <= sim.now + 61
    sim.advance(30)
    assert sim.running_on("A") == ["pcmk-2"]
    assert sim.attr("pcmk-1", "fail-count-A#monitor_10000") == "1"
    sim.advance(31)
    assert sim.running_on("A") == ["pcmk-1"]
    assert any("failure-timeout" in line for line in sim.log)
    # and the expired failure is cleared from the status, as Pacemaker does
    assert sim.attr("pcmk-1", "fail-count-A#monitor_10000") is None
    assert sim.attr("pcmk-1", "last-failure-A#monitor_10000") is None
    assert sim.record("pcmk-1", "A", "A_last_failure_0") is None


def test_on_fail_ignore_neither_counts_nor_recovers():
    sim = started(dummy("A", op_extra='on-fail="ignore"'))
    n = len(sim.executed)
    sim.nodes["pcmk-1"].runner.running.discard("A")
    sim.advance(10)
    assert sim.attr("pcmk-1", "fail-count-A#monitor_10000") is None
    assert sim.attr("pcmk-1", "last-failure-A#monitor_10000") is not None
    assert sim.record("pcmk-1", "A", "A_monitor_10000").get("rc-code") == "7"
    assert [e for e in sim.executed[n:] if e[1] in ("A_stop_0", "A_start_0")] == []


def test_on_fail_block_leaves_the_resource_alone():
    sim = started(dummy("A", op_extra='on-fail="block"'))
    n = len(sim.executed)
    sim.nodes["pcmk-1"].runner.running.discard("A")
    sim.advance(10)
    assert sim.attr("pcmk-1", "fail-count-A#monitor_10000") == "1"
    assert [e for e in sim.executed[n:] if e[1] in ("A_stop_0", "A_start_0")] == []


def test_on_fail_stop_stops_and_keeps_it_stopped():
    sim = started(dummy("A", op_extra='on-fail="stop"'))
    sim.nodes["pcmk-1"].runner.running.discard("A")
    sim.advance(10)
    assert ("pcmk-1", "A_stop_0") in sim.executed
    assert sim.running_on("A") == [] and sim.active_on("A") == []
    assert not [e for e in sim.executed if e == ("pcmk-2", "A_start_0")]


def test_on_fail_standby_moves_everything_off_the_node():
    sim = started(dummy("A", op_extra='on-fail="standby"') + dummy("B"),
                  loc("A", "pcmk-1", "50") + loc("B", "pcmk-1", "50"))
    assert sim.running_on("A") == ["pcmk-1"] and sim.running_on("B") == ["pcmk-1"]
    sim.nodes["pcmk-1"].runner.running.discard("A")
    sim.advance(10)
    assert sim.running_on("A") == ["pcmk-2"] and sim.running_on("B") == ["pcmk-2"]


def test_cleanup_clears_fail_counts_and_reprobes():
    sim = ControllerSim(make_cib(dummy("C"), loc("C", "pcmk-1", "50")), NODES)
    sim.nodes["pcmk-1"].runner.script[("C", "start")] = AgentResult(1)
    sim.start()
    assert sim.running_on("C") == ["pcmk-2"]
    del sim.nodes["pcmk-1"].runner.script[("C", "start")]  # repaired
    n = len(sim.executed)
    sim.change(cleanup_ops("C"))
    assert sim.attr("pcmk-1", "fail-count-C#start_0") is None
    assert sim.attr("pcmk-1", "last-failure-C#start_0") is None
    new = sim.executed[n:]
    assert ("pcmk-1", "C_monitor_0") in new and ("pcmk-2", "C_monitor_0") in new
    assert sim.running_on("C") == ["pcmk-1"]  # the preferred node is allowed again


def test_cleanup_of_one_node_keeps_the_other_nodes_history():
    sim = started(dummy("A"))
    sim.change(cleanup_ops("A", node="pcmk-2"))
    assert sim.record("pcmk-1", "A", "A_monitor_10000") is not None
    assert sim.record("pcmk-2", "A", "A_last_0").get("operation") == "monitor"


# --------------------------------------------------------------------------- aborts


def test_configuration_change_mid_transition_aborts_and_replans():
    sim = started("")
    sim.pause("pcmk-1")
    sim.change(add_resource(dummy("A")) + add_constraint(loc("A", "pcmk-1", "50")))
    assert sim.held("pcmk-1") == ["A_monitor_0"]
    sim.change([{"op": "delete", "xpath": "//rsc_location[@id='location-A-pcmk-1-50']"}]
               + add_constraint(loc("A", "pcmk-2", "50")))
    assert "transition 1 aborting: the configuration changed" in sim.log[-1]
    assert "waiting for 1 action(s) in flight" in sim.log[-1]
    assert sim.controller.phase is Phase.ABORTING  # waits for the probe in flight
    sim.resume("pcmk-1")
    assert any("transition 1 aborted: the configuration changed" in line for line in sim.log)
    assert sim.running_on("A") == ["pcmk-2"]
    assert sim.controller.phase is Phase.IDLE


def test_no_result_within_timeout_plus_cluster_delay_fails_the_action():
    sim = started("", props={"cluster-delay": "5s"})
    sim.pause("pcmk-2")
    sim.change(add_resource(dummy("A")) + add_constraint(loc("A", "pcmk-1", "50")))
    assert sim.held("pcmk-2") == ["A_monitor_0"]
    sim.advance(20)  # the probe's timeout (20 s)...
    assert sim.controller.phase is Phase.EXECUTING
    sim.advance(5.5)  # ...plus cluster-delay
    assert any("no result for the probe of A on pcmk-2" in line for line in sim.log)


def test_changed_monitor_interval_cancels_the_old_recurring_monitor():
    sim = started(dummy("A"))
    assert sim.nodes["pcmk-1"].executor.core.recurring_keys("A") == ["A_monitor_10000"]
    sim.change([{"op": "modify", "xml": '<op id="A-monitor-interval-10s" interval="20s"/>'}])
    assert sim.nodes["pcmk-1"].executor.core.recurring_keys("A") == ["A_monitor_20000"]
    assert sim.record("pcmk-1", "A", "A_monitor_10000") is None
    assert sim.record("pcmk-1", "A", "A_monitor_20000").get("rc-code") == "0"
    assert sim.running_on("A") == ["pcmk-1"]


def test_daemon_restart_with_services_still_running_ends_with_one_copy():
    # pcmk-2's tandemd restarts but A keeps running there: meanwhile the DC started
    # A on pcmk-1; the rejoin probe finds the second copy and the DC stops the extra one.
    sim = started(dummy("A"), loc("A", "pcmk-2", "50"))
    assert sim.running_on("A") == ["pcmk-2"]
    sim.restart_daemon("pcmk-2")
    assert any("the probe found A running on pcmk-2" in line or
               "unexpected result" in line for line in sim.log)
    assert len(sim.running_on("A")) == 1
    assert sim.active_on("A") == sim.running_on("A")


def test_deleted_resource_is_stopped_with_its_start_parameters_then_forgotten():
    sim = started(dummy("A") + dummy("B"), loc("A", "pcmk-1", "50") + loc("B", "pcmk-1", "50"))
    sim.change([{"op": "delete", "xpath": "//rsc_location[@id='location-A-pcmk-1-50']"},
                {"op": "delete", "xpath": "//primitive[@id='A']"}])
    assert sim.running_on("A") == [] and sim.running_on("B") == ["pcmk-1"]
    stop = [c for c in sim.nodes["pcmk-1"].runner.calls if c.rsc_id == "A" and c.action == "stop"]
    assert dict(stop[-1].params) == {"state": "/run/A.state"}  # the orphan had no config left
    assert sim.record("pcmk-1", "A", "A_last_0") is None  # history forgotten
    assert sim.record("pcmk-2", "A", "A_last_0") is None
    assert sim.record("pcmk-1", "B", "B_last_0") is not None
    assert sim.nodes["pcmk-1"].executor.core.recurring_keys("A") == []


def test_losing_quorum_stops_resources_and_regaining_it_starts_them():
    sim = started(dummy("A"), nodes=["pcmk-1", "pcmk-2", "pcmk-3"])
    assert sim.running_on("A") == ["pcmk-1"]
    sim.set_quorum(False)  # no-quorum-policy=stop (the default)
    assert sim.running_on("A") == []
    sim.set_quorum(True)
    assert len(sim.running_on("A")) == 1


def test_no_quorum_policy_ignore_keeps_running():
    sim = started(dummy("A"), props={"no-quorum-policy": "ignore"})
    sim.set_quorum(False)
    assert sim.running_on("A") == ["pcmk-1"]


def test_group_members_start_in_order_and_move_together():
    group = f'<group id="G">{dummy("A")}{dummy("B")}</group>'
    sim = started(group, loc("G", "pcmk-1", "50"))
    assert sim.running_on("A") == ["pcmk-1"] and sim.running_on("B") == ["pcmk-1"]
    assert sim.executed.index(("pcmk-1", "A_start_0")) < sim.executed.index(("pcmk-1", "B_start_0"))
    n = len(sim.executed)
    sim.crash("pcmk-1")
    after = sim.executed[n:]
    assert sim.running_on("A") == ["pcmk-2"] and sim.running_on("B") == ["pcmk-2"]
    assert after.index(("pcmk-2", "A_start_0")) < after.index(("pcmk-2", "B_start_0"))


def test_node_joining_mid_transition_aborts_it_and_gets_probed():
    sim = ControllerSim(make_cib(dummy("A")), ["pcmk-1", "pcmk-2", "pcmk-3"])
    sim.start("pcmk-1", "pcmk-2")
    sim.pause("pcmk-2")
    sim.change(add_constraint(loc("A", "pcmk-2", "50")))  # A moves: the start waits on pcmk-2
    assert sim.held("pcmk-2") == ["A_start_0"]
    n = len(sim.executed)
    sim.start("pcmk-3")
    assert "aborting: pcmk-3 joined" in " ".join(sim.log)
    assert sim.controller.phase is Phase.ABORTING
    sim.resume("pcmk-2")
    assert ("pcmk-3", "A_monitor_0") in sim.executed[n:]
    assert sim.running_on("A") == ["pcmk-2"]
    assert sim.controller.phase is Phase.IDLE



def test_a_released_node_leaving_does_not_abort_the_rest_of_the_move():
    sim = started(dummy("A"), nodes=["pcmk-1", "pcmk-2", "pcmk-3"])
    assert sim.running_on("A") == ["pcmk-1"] and sim.dc == "pcmk-1"
    sim.change(add_constraint(loc("A", "pcmk-3", "-100")))  # A may only go to pcmk-2
    sim.pause("pcmk-2")
    sim.stop("pcmk-1")  # stops done, node released and gone; the start waits on pcmk-2
    assert sim.held("pcmk-2") == ["A_start_0"]
    assert not [line for line in sim.log if "abort" in line]
    sim.resume("pcmk-2")
    assert sim.running_on("A") == ["pcmk-2"]
    assert "complete" in sim.log[-1]
