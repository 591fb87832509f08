"""ControllerService (the asyncio glue) over a fake daemon: one replicated CIB, one FIFO group.

No wall-clock sleeping: the pump only yields to the event loop
(``asyncio.sleep(0)``) so the executor callbacks and reply tasks run.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ctl_helpers import dummy, make_cib
from lxml import etree

from tandem.agents.ocf import AgentSpec
from tandem.daemon import cibops
from tandem.daemon.controller import messages as msgs
from tandem.daemon.controller.service import ControllerService
from tandem.daemon.executor.core import OpRequest
from tandem.daemon.executor.fakes import InlineExecutor
from tandem.errors import CibError, Report

NOW = 1_700_000_000.0


@dataclass
class Reply:
    ok: bool
    reports: tuple[Report, ...] = ()


@dataclass
class FakeDaemons:
    """Stand-in for N tandemd: a shared CIB and CPG's total order as one FIFO."""

    cib: etree._Element
    services: dict[str, ControllerService] = field(default_factory=dict)
    executors: dict[str, InlineExecutor] = field(default_factory=dict)
    stream: deque[tuple[Any, ...]] = field(default_factory=deque)
    stopping: set[str] = field(default_factory=set)
    delivered: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, pid: int, token: str | None = None) -> ControllerService:
        loop = asyncio.get_running_loop()

        def submit_ops(ops: list[dict[str, Any]]) -> asyncio.Future[Reply]:
            fut: asyncio.Future[Reply] = loop.create_future()
            if name in self.stopping:  # the daemon refuses changes while it stops
                fut.set_result(Reply(False, (Report("CLUSTER_NOT_READY", "stopping"),)))
            else:
                self.stream.append(("apply", ops, fut))
            return fut

        def factory(on_event):  # noqa: ANN001, ANN202
            ex = InlineExecutor(name, on_event)
            self.executors[name] = ex
            return ex

        svc = ControllerService(
            name,
            read_cib=lambda: self.cib,
            submit_ops=submit_ops,
            send=lambda payload: self.stream.append(("msg", payload)),
            executor_factory=factory,
            clock=lambda: NOW,
            token=token or f"tok-{name}",
            pid=pid,
        )
        self.services[name] = svc
        return svc

    async def pump(self) -> None:
        idle = 0
        for _ in range(20000):
            if not self.stream:
                idle += 1
                if idle > 30:
                    return
                await asyncio.sleep(0)
                continue
            idle = 0
            item = self.stream.popleft()
            if item[0] == "apply":
                try:
                    self.cib = cibops.apply_ops(self.cib, item[1], origin="x", ts=NOW)
                except CibError as exc:
                    item[2].set_result(Reply(False, exc.reports))
                    continue
                for svc in self.services.values():
                    svc.on_cib_changed()
                item[2].set_result(Reply(True))
            else:
                msg = msgs.decode(item[1])
                if msg is not None:
                    self.delivered.append(msg)
                for svc in self.services.values():
                    svc.on_message(item[1])
        raise AssertionError("the fake cluster did not settle")


def _cib_with_members(resources: str, constraints: str = "") -> etree._Element:
    cib = cibops.parse(make_cib(resources, constraints))
    cib.set("have-quorum", "1")
    nodes = cib.find("configuration/nodes")
    status = cib.find("status")
    for i, name in ((1, "pcmk-1"), (2, "pcmk-2")):
        etree.SubElement(nodes, "node", id=str(i), uname=name)
        etree.SubElement(status, "node_state", id=str(i), uname=name, in_ccm="true",
                         crmd="online", join="member", expected="member")
    return cib


async def _two_node_cluster(resources: str, constraints: str = "") -> FakeDaemons:
    fake = FakeDaemons(_cib_with_members(resources, constraints))
    online = {"pcmk-1": 101, "pcmk-2": 102}
    for name, pid in online.items():
        fake.add(name, pid)
    fake.services["pcmk-1"].on_view("pcmk-1", online, True)
    fake.services["pcmk-2"].on_view("pcmk-1", online, False)
    await fake.pump()
    return fake


def test_service_runs_a_two_node_start_through_messages_and_records():
    async def main() -> FakeDaemons:
        return await _two_node_cluster(dummy("A"), '<rsc_location id="l" rsc="A" node="pcmk-2" score="50"/>')

    fake = asyncio.run(main())
    # incarnations are PID-TOKEN, learned from the hello messages
    lrm2 = fake.cib.find("status/node_state[@uname='pcmk-2']/lrm")
    assert lrm2.get("tandem-incarnation") == "102-tok-pcmk-2"
    # the DC asked pcmk-2 through ctl-exec; its own probe ran locally (no message)
    execs = [(m["node"], m["req"]["action"]) for m in fake.delivered if m["t"] == "ctl-exec"]
    assert ("pcmk-2", "start") in execs and ("pcmk-2", "monitor") in execs
    assert all(node == "pcmk-2" for node, _ in execs)
    assert fake.executors["pcmk-2"].runner.running == {"A"}
    assert fake.executors["pcmk-1"].runner.running == set()
    last = fake.cib.find("status/node_state[@uname='pcmk-2']/lrm/lrm_resources/"
                         "lrm_resource[@id='A']/lrm_rsc_op[@id='A_last_0']")
    assert last.get("operation") == "start" and last.get("rc-code") == "0"
    dc = fake.services["pcmk-1"].controller
    assert "complete" in dc.last_decision


def test_a_stopping_node_gets_its_results_recorded_by_the_dc():
    async def main() -> FakeDaemons:
        fake = await _two_node_cluster(dummy("A"), '<rsc_location id="l" rsc="A" node="pcmk-2" score="50"/>')
        fake.stopping.add("pcmk-2")  # its daemon refuses changes from now on
        # an administrator's change: A should now leave pcmk-2
        fake.stream.append(("apply", [{"op": "modify", "xml": '<rsc_location id="l" score="-50"/>'}],
                            asyncio.get_running_loop().create_future()))
        await fake.pump()
        return fake

    fake = asyncio.run(main())
    assert any(m["t"] == "ctl-record" and m["node"] == "pcmk-2" for m in fake.delivered)
    stop = fake.cib.find("status/node_state[@uname='pcmk-2']/lrm/lrm_resources/"
                         "lrm_resource[@id='A']/lrm_rsc_op[@id='A_last_0']")
    assert stop.get("operation") == "stop"
    assert fake.executors["pcmk-1"].runner.running == {"A"}


def test_losing_the_dc_role_stops_planning():
    async def main() -> FakeDaemons:
        fake = await _two_node_cluster(dummy("A"))
        fake.services["pcmk-1"].on_view("pcmk-2", {"pcmk-1": 101, "pcmk-2": 102}, False)
        fake.services["pcmk-2"].on_view("pcmk-2", {"pcmk-1": 101, "pcmk-2": 102}, True)
        await fake.pump()
        return fake

    fake = asyncio.run(main())
    assert fake.services["pcmk-1"].controller.phase.value == "not-dc"
    assert "stable" in fake.services["pcmk-2"].controller.last_decision
    # the new DC found both histories current: nothing was wiped, nothing re-probed
    assert fake.executors["pcmk-1"].runner.running == {"A"}


def test_a_restarted_daemon_is_wiped_once_with_its_new_token():
    async def main() -> tuple[FakeDaemons, list[str]]:
        fake = await _two_node_cluster(dummy("A"))
        old = fake.services.pop("pcmk-2")
        old.close()
        dc = fake.services["pcmk-1"]
        # the view shows pcmk-2's new daemon (pid 202) before its hello arrived
        dc.on_view("pcmk-1", {"pcmk-1": 101, "pcmk-2": 202}, True)
        await fake.pump()
        seen = [fake.cib.find("status/node_state[@uname='pcmk-2']/lrm").get("tandem-incarnation")]
        new = fake.add("pcmk-2", 202, "tok-new")
        new.on_view("pcmk-1", {"pcmk-1": 101, "pcmk-2": 202}, False)
        await fake.pump()
        seen.append(fake.cib.find("status/node_state[@uname='pcmk-2']/lrm").get("tandem-incarnation"))
        return fake, seen

    fake, seen = asyncio.run(main())
    assert seen == ["102-tok-pcmk-2", "202-tok-new"]  # no wipe with a stale token in between
    probes = [m for m in fake.delivered
              if m["t"] == "ctl-exec" and m["node"] == "pcmk-2" and m["req"]["action"] == "monitor"]
    assert len(probes) == 2  # the first start-up probe, and the new daemon's probe


def test_a_request_for_an_earlier_incarnation_is_dropped():
    async def main() -> FakeDaemons:
        fake = await _two_node_cluster(dummy("A"))
        svc = fake.services["pcmk-2"]
        assert svc.incarnation == "102-tok-pcmk-2"
        req = OpRequest("A", AgentSpec("ocf", "Dummy", "pacemaker"), "start",
                        transition_key="9:9:0:old-dc")
        before = len(fake.executors["pcmk-2"].runner.calls)
        svc.on_message(msgs.exec_msg("pcmk-2", req, "99-earlier"))
        assert len(fake.executors["pcmk-2"].runner.calls) == before
        svc.on_message(msgs.exec_msg("pcmk-2", req, svc.incarnation))
        assert len(fake.executors["pcmk-2"].runner.calls) == before + 1
        return fake

    asyncio.run(main())


def test_a_node_back_with_the_same_pid_waits_for_its_new_hello():
    # Seen in the lab: a rebooted node's tandemd had the same pid (its own pid
    # namespace); the DC must not take the old hello's token for the new daemon.
    async def main() -> tuple[FakeDaemons, list[str | None]]:
        fake = await _two_node_cluster(dummy("A"))
        fake.services.pop("pcmk-2").close()
        dc = fake.services["pcmk-1"]
        dc.on_view("pcmk-1", {"pcmk-1": 101}, True)  # pcmk-2 crashed
        await fake.pump()
        dc.on_view("pcmk-1", {"pcmk-1": 101, "pcmk-2": 102}, True)  # back, same pid
        await fake.pump()
        seen = [dc.controller.members.get("pcmk-2"), dc.controller.last_decision]
        new = fake.add("pcmk-2", 102, "tok-rebooted")
        new.on_view("pcmk-1", {"pcmk-1": 101, "pcmk-2": 102}, False)
        await fake.pump()
        seen.append(fake.cib.find("status/node_state[@uname='pcmk-2']/lrm").get("tandem-incarnation"))
        return fake, seen

    fake, seen = asyncio.run(main())
    assert seen[0] is None
    assert seen[1] == "waiting for pcmk-2 to announce its daemon before planning"
    assert seen[2] == "102-tok-rebooted"
