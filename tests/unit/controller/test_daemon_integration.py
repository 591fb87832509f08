"""The controller attached to real node daemons (tandemd's Daemon + DaemonCore) over in-memory corosync.

What this checks that the other tests cannot: :func:`attach` against the
daemon's actual hooks (``on_cib_changed``, ``on_view_changed``,
``on_transport_event``, ``Daemon.submit``, ``resources_released``), the
controller's messages travelling in the daemon's own CPG group, and results
replicated by the daemons' CIB operations.  Agents are the executor's
InlineExecutor (Dummy-like, no processes).  Nothing sleeps: the pump only
yields to the event loop.
"""

from __future__ import annotations

import asyncio

from ctl_helpers import dummy, make_cib

from tandem.corosync.fake import InMemoryCorosync
from tandem.daemon.controller.service import ControllerService, attach
from tandem.daemon.core import GROUP, DaemonCore, Tick
from tandem.daemon.executor.fakes import InlineExecutor
from tandem.daemon.main import Daemon
from tandem.daemon.storage import FakeClock, InMemoryCibStorage

NAMES = {1: "pcmk-1", 2: "pcmk-2"}


class Node:
    """One node: tandemd's Daemon + DaemonCore with the controller attached (InlineExecutor)."""

    def __init__(self, cs: InMemoryCorosync, nodeid: int, cib_xml: str,
                 names: dict[int, str] = NAMES, cluster_name: str = "mycluster") -> None:
        self.nodeid = nodeid
        self.name = names[nodeid]
        self.clock = FakeClock()
        self.transport = cs.connect(nodeid)
        core = DaemonCore(nodeid=nodeid, pid=self.transport.local_pid, name=self.name,
                          nodelist=dict(names), cluster_name=cluster_name, cib_xml=cib_xml,
                          now=self.clock.monotonic())
        self.daemon = Daemon(core, self.transport, InMemoryCibStorage(), self.clock, "/nonexistent")
        self.executor: InlineExecutor | None = None

        def factory(on_event):  # noqa: ANN001, ANN202
            self.executor = InlineExecutor(self.name, on_event)
            return self.executor

        self.service: ControllerService = attach(self.daemon, factory)
        self.daemon.feed(Tick(self.clock.monotonic(), self.clock.time()))
        self.transport.join(GROUP)
        self.stopped = False

    def pump(self) -> int:
        """What Daemon._pump does for each transport event."""
        n = 0
        if self.stopped:
            return 0
        for ev in self.transport.poll():
            n += 1
            self.daemon.feed(ev)
            for cb in self.daemon.on_transport_event:
                cb(ev)
        return n


async def settle(cs: InMemoryCorosync, nodes: list[Node]) -> None:
    idle = 0
    for _ in range(100000):
        moved = cs.step()
        moved = sum(n.pump() for n in nodes) > 0 or moved
        await asyncio.sleep(0)
        idle = 0 if moved else idle + 1
        if idle > 30:
            return
    raise AssertionError("the daemons did not settle")


def test_two_daemons_start_a_resource_and_fail_it_over_on_crash():
    async def scenario() -> None:
        cs = InMemoryCorosync(NAMES)
        nodes = [Node(cs, 1, make_cib(dummy("A"))), Node(cs, 2, make_cib(dummy("A")))]
        await settle(cs, nodes)
        n1, n2 = nodes
        assert n1.daemon.core.dc == 1
        assert n1.executor.runner.running == {"A"}
        # both replicas hold the same status: records of both nodes, incarnations marked
        for node in nodes:
            cib = node.daemon.core.cib
            lrm1 = cib.find("status/node_state[@uname='pcmk-1']/lrm")
            lrm2 = cib.find("status/node_state[@uname='pcmk-2']/lrm")
            assert lrm1.get("tandem-incarnation").startswith(f"{n1.transport.local_pid}-")
            assert lrm2.find("lrm_resources/lrm_resource[@id='A']/lrm_rsc_op").get("rc-code") == "7"
        assert "complete" in n1.service.controller.last_decision
        # pcmk-1 (the DC, running A) crashes: pcmk-2 becomes DC and starts A
        n1.stopped = True
        cs.crash(1)
        await settle(cs, [n2])
        assert n2.daemon.core.dc == 2
        assert n2.executor.runner.running == {"A"}
        ns1 = n2.daemon.core.cib.find("status/node_state[@uname='pcmk-1']")
        assert ns1.get("in_ccm") == "false"

    asyncio.run(scenario())


def test_clean_shutdown_waits_for_the_dc_to_move_the_resources():
    async def scenario() -> None:
        cs = InMemoryCorosync(NAMES)
        cib = make_cib(dummy("A"), '<rsc_location id="l" rsc="A" node="pcmk-2" score="50"/>')
        nodes = [Node(cs, 1, cib), Node(cs, 2, cib)]
        await settle(cs, nodes)
        n1, n2 = nodes
        assert n2.executor.runner.running == {"A"}
        fut = n2.daemon.submit("shutdown")
        await settle(cs, nodes)
        assert fut.done() and fut.result().ok
        # the DC stopped A on pcmk-2 and started it on pcmk-1 before acknowledging
        assert n2.executor.runner.running == set()
        assert n1.executor.runner.running == {"A"}
        assert n2.daemon.core.phase.value == "stopped"
        stop = n1.daemon.core.cib.find(
            "status/node_state[@uname='pcmk-2']/lrm/lrm_resources/lrm_resource[@id='A']"
            "/lrm_rsc_op[@id='A_last_0']")
        assert stop.get("operation") == "stop" and stop.get("rc-code") == "0"

    asyncio.run(scenario())


def test_stopping_the_whole_cluster_stops_everything_then_every_daemon_leaves():
    # cluster stop --all: every daemon is stopping, so none may change the CIB any
    # more; the DC must still learn the stop results (ctl-record) and release all.
    async def scenario() -> None:
        cs = InMemoryCorosync(NAMES)
        cib = make_cib(dummy("A"))
        nodes = [Node(cs, 1, cib), Node(cs, 2, cib)]
        await settle(cs, nodes)
        n1, n2 = nodes
        assert n1.executor.runner.running == {"A"}
        futs = [n.daemon.submit("shutdown") for n in nodes]
        await settle(cs, nodes)
        assert all(f.done() and f.result().ok for f in futs)
        assert n1.executor.runner.running == set() and n2.executor.runner.running == set()
        assert [n.daemon.core.phase.value for n in nodes] == ["stopped", "stopped"]

    asyncio.run(scenario())


def test_crashed_node_comes_back_gets_probed_and_takes_its_resource_back():
    async def scenario() -> None:
        cs = InMemoryCorosync(NAMES)
        cib = make_cib(dummy("A"), '<rsc_location id="l" rsc="A" node="pcmk-2" score="50"/>')
        nodes = [Node(cs, 1, cib), Node(cs, 2, cib)]
        await settle(cs, nodes)
        n1, n2 = nodes
        assert n2.executor.runner.running == {"A"}
        n2.stopped = True
        cs.crash(2)
        await settle(cs, [n1])
        assert n1.executor.runner.running == {"A"}
        cs.start(2)
        back = Node(cs, 2, cib)
        await settle(cs, [n1, back])
        assert back.executor.runner.running == {"A"}
        assert n1.executor.runner.running == set()
        probes = [c for c in back.executor.runner.calls if c.action == "monitor" and not c.interval_ms]
        assert [c.rsc_id for c in probes] == ["A"]
        lrm = n1.daemon.core.cib.find("status/node_state[@uname='pcmk-2']/lrm")
        assert lrm.get("tandem-incarnation") == back.service.incarnation

    asyncio.run(scenario())


def test_the_outgoing_dc_plans_nothing_once_the_daemon_moved_the_dc():
    # Seen in the lab: the DC that announces its shutdown got the CIB change before
    # the view naming the new DC, planned on it and stopped its own resource.
    async def scenario() -> None:
        cs = InMemoryCorosync(NAMES)
        cib = make_cib(dummy("A"))
        nodes = [Node(cs, 1, cib), Node(cs, 2, cib)]
        await settle(cs, nodes)
        n1, n2 = nodes
        assert n1.daemon.core.dc == 1 and n1.executor.runner.running == {"A"}
        plans = n1.service.controller.graph_ids
        fut = n1.daemon.submit("shutdown")
        await settle(cs, nodes)
        assert fut.done() and n1.daemon.core.phase.value == "stopped"
        assert n1.service.controller.graph_ids == plans  # the old DC planned nothing more
        assert n2.executor.runner.running == {"A"}
        stop = n2.daemon.core.cib.find(
            "status/node_state[@uname='pcmk-1']/lrm/lrm_resources/lrm_resource[@id='A']"
            "/lrm_rsc_op[@id='A_last_0']")
        assert stop.get("operation") == "stop"
        assert stop.get("transition-key").endswith(":" + n2.service.token)

    asyncio.run(scenario())
