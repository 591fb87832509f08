"""CorosyncTransport's own logic (queueing, self-leave, pid, loss of corosync) over stub handles.

The stub module stands in for :mod:`tandem.corosync.bindings`; the lab tests
run the same class against the real libraries.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from tandem.corosync.bindings import CsError
from tandem.corosync.transport import (
    ClusterTransport,
    ConfChange,
    CorosyncTransport,
    CpgMember,
    CpgReason,
    Deliver,
    QuorumChange,
    TransportClosed,
)
from tandem.errors import CorosyncError, Report

LOCAL = 5


class StubHandle:
    """Callbacks queued by the test run at dispatch(); a pipe gives a real fd."""

    def __init__(self) -> None:
        self.pending: deque = deque()
        self.finalized = False
        self.fail_with: str | None = None
        self._r, self._w = os.pipe()

    def fd(self) -> int:
        return self._r

    def wake(self, fn) -> None:
        self.pending.append(fn)
        os.write(self._w, b"x")

    def dispatch(self, flags: int = 2) -> None:
        if self.fail_with:
            raise CorosyncError(
                Report("COROSYNC_ERROR", self.fail_with, {"cs_error": self.fail_with})
            )
        while self.pending:
            os.read(self._r, 1)
            self.pending.popleft()()

    def finalize(self) -> None:
        self.finalized = True


@dataclass
class Info:
    node_id: int = LOCAL
    quorate: bool = True
    node_votes: int = 1
    node_expected_votes: int = 2
    highest_expected: int = 2
    total_votes: int = 2
    quorum: int = 1
    two_node: bool = True
    wait_for_all: bool = True


def make_stub():
    stub = SimpleNamespace(CsError=CsError, cpg=[], pid_in_corosync=os.getpid())

    class Vq(StubHandle):
        def getinfo(self, nodeid: int = 0) -> Info:
            return Info()

    class Q(StubHandle):
        def __init__(self, on_change) -> None:
            super().__init__()
            self.on_change = on_change
            stub.quorum = self

        def trackstart(self, flags: int = 3) -> None:
            self.wake(lambda: self.on_change(True, 1, [6, LOCAL]))

    class Cmap(StubHandle):
        def items(self, prefix: str):
            return {"nodelist.node.0.nodeid": LOCAL, "nodelist.node.0.name": "n5"}

    class Cpg(StubHandle):
        def __init__(self, on_deliver, on_confchg) -> None:
            super().__init__()
            self.on_deliver, self.on_confchg = on_deliver, on_confchg
            self.sent: list[bytes] = []
            self.rcs: deque[int] = deque()
            stub.cpg.append(self)

        def join(self, group: str) -> None:
            me = CpgMember(LOCAL, stub.pid_in_corosync, CpgReason.JOIN)
            self.wake(lambda: self.on_confchg(group, (me,), (), (me,)))

        def leave(self, group: str) -> None:
            me = CpgMember(LOCAL, stub.pid_in_corosync, CpgReason.LEAVE)
            self.wake(lambda: self.on_confchg(group, (), (me,), ()))

        def mcast(self, payload: bytes) -> int:
            rc = self.rcs.popleft() if self.rcs else CsError.CS_OK
            if rc == CsError.CS_OK:
                self.sent.append(payload)
                me = stub.pid_in_corosync
                self.wake(lambda: self.on_deliver("g", LOCAL, me, payload))
            return rc

    stub.VotequorumHandle, stub.QuorumHandle, stub.CmapHandle, stub.CpgHandle = Vq, Q, Cmap, Cpg
    return stub


def test_poll_mode_events_queueing_and_self_leave():
    stub = make_stub()
    t = CorosyncTransport.connect(bindings=stub)  # no running loop: poll mode
    assert isinstance(t, ClusterTransport)
    assert t.local_nodeid == LOCAL
    assert t.poll() == [QuorumChange(True, (LOCAL, 6))]
    assert t.nodelist()[0].name == "n5"
    t.join("g")
    cc = t.poll()[0]
    assert isinstance(cc, ConfChange) and cc.members == (CpgMember(LOCAL, os.getpid()),)
    cpg = stub.cpg[0]
    cpg.rcs.extend([CsError.CS_OK, CsError.CS_ERR_TRY_AGAIN])
    t.mcast("g", b"1")
    t.mcast("g", b"2")  # flow control: queued
    assert cpg.sent == [b"1"] and t.flow_control_waits == 1
    t.mcast("g", b"3")  # retries 2 first, then 3: order kept
    assert cpg.sent == [b"1", b"2", b"3"]
    assert [e.payload for e in t.poll() if isinstance(e, Deliver)] == [b"1", b"2", b"3"]
    q = t.quorum()
    assert q.quorate and q.members == (LOCAL, 6) and q.two_node
    t.leave("g")
    assert t.poll()[0].left[0].reason is CpgReason.LEAVE
    assert not cpg.finalized  # never from inside its own dispatch...
    assert t.poll() == []
    assert cpg.finalized  # ...but at the next poll
    with pytest.raises(CorosyncError) as exc:
        t.mcast("g", b"late")
    assert exc.value.reports[0].payload["cs_error"] == "CS_ERR_NOT_EXIST"
    t.close()
    t.close()


def test_pid_is_learned_when_corosync_sees_another_pid_namespace():
    stub = make_stub()
    stub.pid_in_corosync = 4242
    t = CorosyncTransport.connect(bindings=stub)
    t.join("g")
    t.poll()
    assert t.local_pid == 4242
    t.leave("g")
    t.poll()
    t.poll()
    assert stub.cpg[0].finalized  # our leave was recognised under the learned pid


def test_losing_corosync_yields_transport_closed_and_closes_everything():
    async def scenario():
        stub = make_stub()
        t = CorosyncTransport.connect(bindings=stub)  # the running loop: fd readers
        assert await t.next_event() == QuorumChange(True, (LOCAL, 6))
        t.join("g")
        assert isinstance(await t.next_event(), ConfChange)
        stub.quorum.fail_with = "CS_ERR_LIBRARY"
        stub.quorum.wake(lambda: None)
        ev = await asyncio.wait_for(t.next_event(), 2)
        assert isinstance(ev, TransportClosed) and "CS_ERR_LIBRARY" in ev.reason
        assert stub.quorum.finalized and stub.cpg[0].finalized
        t.mcast("g", b"x")  # ignored: the daemon learns from TransportClosed
        assert stub.cpg[0].sent == []
        with pytest.raises(CorosyncError):
            t.quorum()
        with pytest.raises(CorosyncError):
            await t.next_event()

    asyncio.run(scenario())


def test_library_error_during_mcast_closes_instead_of_raising():
    stub = make_stub()
    t = CorosyncTransport.connect(bindings=stub)
    t.join("g")
    t.poll()
    cpg = stub.cpg[0]

    def dead(payload):
        raise CorosyncError(Report("COROSYNC_ERROR", "gone", {"cs_error": "CS_ERR_LIBRARY"}))

    cpg.mcast = dead
    t.mcast("g", b"x")
    assert [type(e) for e in t.poll()] == [TransportClosed]
    t.close()
    with pytest.raises(CorosyncError):
        t.mcast("g", b"y")  # after our own close(): an error again

    async def scenario():
        stub = make_stub()
        t = CorosyncTransport.connect(bindings=stub)
        t.join("g")
        await t.next_event()
        await t.next_event()
        stub.cpg[0].rcs.extend([CsError.CS_ERR_TRY_AGAIN, CsError.CS_ERR_TRY_AGAIN])
        t.mcast("g", b"a")
        t.mcast("g", b"b")
        assert stub.cpg[0].sent == []
        got = [await asyncio.wait_for(t.next_event(), 2) for _ in range(2)]
        assert [e.payload for e in got] == [b"a", b"b"]
        assert t.flow_control_waits == 2
        t.close()

    asyncio.run(scenario())
