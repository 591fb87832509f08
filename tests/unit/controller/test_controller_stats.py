"""The controller's counters behind /metrics (tandem_transitions_total, tandem_last_failover_seconds)."""

from __future__ import annotations

import re

from ctl_helpers import dummy, make_cib

from tandem.daemon.controller.sim import ControllerSim

NODES = ["pcmk-1", "pcmk-2"]


def _started_graphs(sim: ControllerSim) -> int:
    return sum(1 for line in sim.log if re.search(r"transition \d+ started", line))


def test_transitions_are_counted_and_a_failover_is_timed_once_it_completes() -> None:
    sim = ControllerSim(make_cib(dummy("A")), NODES)
    sim.start()
    assert sim.controller.transitions_total == _started_graphs(sim) >= 1
    assert sim.controller.last_failover_seconds is None  # nothing was lost yet

    where = sim.running_on("A")[0]
    sim.crash(where)
    sim.settle()
    survivor = next(n for n in NODES if n != where)
    assert sim.running_on("A") == [survivor]
    ctl = sim.nodes[survivor].controller
    assert ctl.last_failover_seconds is not None and ctl.last_failover_seconds >= 0
    assert ctl.transitions_total >= 1  # the recovery ran as a transition of this DC


def test_a_node_lost_with_nothing_to_recover_times_no_failover() -> None:
    sim = ControllerSim(make_cib(dummy("A")), NODES)
    sim.start()
    idle = next(n for n in NODES if n not in sim.running_on("A"))
    sim.crash(idle)
    sim.settle()
    assert sim.controller.last_failover_seconds is None
