"""The in-memory corosync: total order, CPG membership, votequorum, partitions."""

from __future__ import annotations

import asyncio
import doctest

import pytest

import tandem.corosync.fake as fake_mod
import tandem.corosync.transport as transport_mod
from tandem.corosync.fake import InMemoryCorosync
from tandem.corosync.transport import (
    ClusterTransport,
    ConfChange,
    CpgMember,
    CpgReason,
    Deliver,
    QuorumChange,
    TransportClosed,
)
from tandem.errors import CorosyncError, NotRunningError


def delivered(events) -> list[tuple[int, bytes]]:
    return [(e.sender_nodeid, e.payload) for e in events if isinstance(e, Deliver)]


def confchgs(events) -> list[ConfChange]:
    return [e for e in events if isinstance(e, ConfChange)]


def quorums(events) -> list[QuorumChange]:
    return [e for e in events if isinstance(e, QuorumChange)]


def joined_cluster(n: int, group: str = "g", **kw):
    cluster = InMemoryCorosync(nodes=n, **kw)
    ts = {i: cluster.connect(i) for i in range(1, n + 1)}
    for t in ts.values():
        t.join(group)
    cluster.run_until_idle()
    for t in ts.values():
        t.poll()
    return cluster, ts


def test_docstring_examples_hold():
    for mod in (fake_mod, transport_mod):
        result = doctest.testmod(mod)
        assert result.attempted > 0 and result.failed == 0, mod.__name__


def test_transports_satisfy_the_protocol():
    cluster = InMemoryCorosync(nodes=1)
    assert isinstance(cluster.connect(1), ClusterTransport)


def test_concurrent_messages_reach_everyone_in_the_same_total_order():
    cluster, ts = joined_cluster(3)
    for i in range(50):
        ts[1 + i % 3].mcast("g", b"m%d" % i)
        if i % 7 == 0:
            cluster.step()  # interleave delivery with sending
    cluster.run_until_idle()
    seqs = {n: delivered(t.poll()) for n, t in ts.items()}
    assert len(seqs[1]) == 50
    assert seqs[1] == seqs[2] == seqs[3]
    # Each sender's messages keep their send order (FIFO per sender).
    for sender in (1, 2, 3):
        mine = [p for s, p in seqs[1] if s == sender]
        assert mine == sorted(mine, key=lambda b: int(b[1:]))


def test_joiner_sees_only_messages_ordered_after_its_join():
    cluster = InMemoryCorosync(nodes=2)
    a, b = cluster.connect(1), cluster.connect(2)
    a.join("g")
    a.mcast("g", b"before")
    b.join("g")
    a.mcast("g", b"after")
    cluster.run_until_idle()
    assert delivered(a.poll()) == [(1, b"before"), (1, b"after")]
    events = b.poll()
    assert delivered(events) == [(1, b"after")]
    cc = confchgs(events)[0]
    assert [m.nodeid for m in cc.members] == [1, 2]
    assert cc.joined == (CpgMember(2, b.pid, CpgReason.JOIN),)
    assert cc.joined[0].reason is CpgReason.JOIN
    assert b.members("g") == cc.members


def test_mcast_without_join_is_a_cs_error():
    cluster = InMemoryCorosync(nodes=1)
    t = cluster.connect(1)
    with pytest.raises(CorosyncError) as exc:
        t.mcast("g", b"x")
    assert exc.value.reports[0].payload["cs_error"] == "CS_ERR_NOT_EXIST"
    assert "CS_ERR_NOT_EXIST" in str(exc.value)


def test_partition_of_one_of_three_loses_quorum_there_only_and_heal_restores():
    cluster, ts = joined_cluster(3)
    cluster.partition([3])
    assert not ts[3].quorum().quorate
    assert ts[1].quorum().quorate and ts[2].quorum().quorate
    assert ts[1].quorum().members == (1, 2)
    ev1, ev3 = ts[1].poll(), ts[3].poll()
    assert confchgs(ev1)[-1].left == (CpgMember(3, ts[3].pid, CpgReason.NODEDOWN),)
    assert confchgs(ev1)[-1].left[0].reason is CpgReason.NODEDOWN
    assert {m.nodeid for m in confchgs(ev3)[-1].left} == {1, 2}
    assert quorums(ev3)[-1] == QuorumChange(False, (3,))
    assert quorums(ev1)[-1] == QuorumChange(True, (1, 2))
    # Messages do not cross the partition.
    ts[3].mcast("g", b"lonely")
    ts[1].mcast("g", b"majority")
    cluster.run_until_idle()
    assert delivered(ts[2].poll()) == [(1, b"majority")]
    assert delivered(ts[3].poll()) == [(3, b"lonely")]
    cluster.heal()
    ev3 = ts[3].poll()
    cc = confchgs(ev3)[-1]
    assert {m.nodeid for m in cc.joined} == {1, 2}
    assert all(m.reason is CpgReason.NODEUP for m in cc.joined)
    assert quorums(ev3)[-1] == QuorumChange(True, (1, 2, 3))
    assert confchgs(ts[1].poll())[-1].joined == (CpgMember(3, ts[3].pid, CpgReason.NODEUP),)


def test_even_split_without_two_node_has_no_quorum_anywhere():
    cluster, ts = joined_cluster(4)
    cluster.partition([1, 2], [3, 4])
    assert [ts[n].quorum().quorate for n in ts] == [False] * 4
    q = ts[1].quorum()
    assert (q.expected_votes, q.total_votes, q.quorum) == (4, 2, 3)


def test_two_node_survivor_keeps_quorum_after_crash_and_partition():
    cluster, ts = joined_cluster(2)
    assert ts[1].quorum().two_node and ts[1].quorum().quorum == 1
    cluster.partition([1])
    assert ts[1].quorum().quorate and ts[2].quorum().quorate
    cluster.heal()
    cluster.crash(2)
    assert ts[1].quorum().quorate
    assert ts[1].quorum().members == (1,)
    assert confchgs(ts[1].poll())[-1].left[0].nodeid == 2


def test_two_node_wait_for_all_keeps_a_lone_fresh_node_inquorate():
    cluster = InMemoryCorosync(nodes=2, running=[1])
    t1 = cluster.connect(1)
    assert not t1.quorum().quorate
    cluster.start(2)
    assert t1.quorum().quorate
    cluster.stop(2)
    assert t1.quorum().quorate  # wait_for_all only matters until all were seen
    cluster.stop(1)
    cluster.start(1)
    assert not cluster.quorum_of(1).quorate  # fresh start: waits again
    cluster.start(2)
    assert cluster.quorum_of(1).quorate


def test_two_node_without_wait_for_all_is_quorate_alone():
    cluster = InMemoryCorosync(nodes=2, running=[1], wait_for_all=False)
    assert cluster.quorum_of(1).quorate


def test_rejoining_node_with_wait_for_all_becomes_quorate_through_the_quorate_side():
    cluster = InMemoryCorosync(nodes=3, wait_for_all=True)
    assert cluster.quorum_of(3).quorate
    cluster.stop(3)
    cluster.start(3)
    assert cluster.quorum_of(3).quorate  # joined a quorate partition
    cluster.partition([3])
    cluster.stop(3)
    cluster.start(3)
    assert not cluster.quorum_of(3).quorate


def test_votes_and_expected_votes():
    cluster = InMemoryCorosync(nodes=3, votes={1: 3})
    cluster.partition([1])
    assert cluster.quorum_of(1).quorate  # 3 of 5 votes
    assert not cluster.quorum_of(2).quorate
    assert cluster.quorum_of(1).expected_votes == 5


def test_crash_delivers_already_sent_messages_unless_lost():
    cluster, ts = joined_cluster(3)
    ts[3].mcast("g", b"last words")
    cluster.crash(3)
    assert delivered(ts[1].poll()) == [(3, b"last words")]
    assert ts[3].poll() == []  # the crashed process gets nothing more
    ts[3].mcast("g", b"ghost")  # corosync is gone: ignored, never delivered
    cluster.run_until_idle()
    assert delivered(ts[1].poll()) == []
    with pytest.raises(CorosyncError):
        ts[3].members("g")
    cluster2, ts2 = joined_cluster(3)
    ts2[3].mcast("g", b"lost")
    cluster2.crash(3, lose_pending=True)
    cluster2.run_until_idle()
    assert delivered(ts2[1].poll()) == []


def test_stop_tells_the_local_processes_and_reconnect_needs_a_start():
    cluster, ts = joined_cluster(2)
    cluster.stop(2)
    assert TransportClosed in {type(e) for e in ts[2].poll()}
    ts[2].mcast("g", b"after stop")  # ignored until the daemon handles TransportClosed
    ts[2].close()
    with pytest.raises(CorosyncError):
        ts[2].mcast("g", b"after close")  # our own close: an error
    with pytest.raises(NotRunningError) as exc:
        cluster.connect(2)
    assert "corosync is not running" in str(exc.value)
    cluster.start(2)
    t = cluster.connect(2)
    assert t.pid != ts[2].pid
    assert quorums(t.poll()) == [QuorumChange(True, (1, 2))]


def test_leave_and_exit_reasons():
    cluster, ts = joined_cluster(3)
    ts[2].leave("g")
    ts[3].close()
    cluster.run_until_idle()
    left = [cc.left[0] for cc in confchgs(ts[1].poll())]
    assert [(m.nodeid, m.reason) for m in left] == [(2, CpgReason.LEAVE), (3, CpgReason.PROCDOWN)]
    assert ts[1].members("g") == (CpgMember(1, ts[1].pid),)
    ts[3].close()  # idempotent


def test_listener_driven_ping_pong_settles_deterministically():
    cluster, ts = joined_cluster(2)
    seen: dict[int, list[bytes]] = {1: [], 2: []}

    def make(n):
        def on_event(ev):
            if isinstance(ev, Deliver):
                seen[n].append(ev.payload)
                if n == 2 and ev.sender_nodeid == 1 and int(ev.payload) < 5:
                    ts[2].mcast("g", b"%d" % (int(ev.payload) + 1))
                if n == 1 and ev.sender_nodeid == 2 and int(ev.payload) < 5:
                    ts[1].mcast("g", b"%d" % (int(ev.payload) + 1))

        return on_event

    ts[1].set_listener(make(1))
    ts[2].set_listener(make(2))
    ts[1].mcast("g", b"0")
    cluster.run_until_idle()
    assert seen[1] == seen[2] == [b"0", b"1", b"2", b"3", b"4", b"5"]


def test_next_event_pumps_the_queue_and_waits_for_later_events():
    async def scenario():
        cluster, ts = joined_cluster(2)
        ts[1].mcast("g", b"x")
        ev = await ts[2].next_event()
        assert ev == Deliver("g", 1, ts[1].pid, b"x")
        waiter = asyncio.ensure_future(ts[2].next_event())
        await asyncio.sleep(0)
        assert not waiter.done()
        cluster.partition([2])
        ev = await asyncio.wait_for(waiter, 1)
        assert isinstance(ev, ConfChange)

    asyncio.run(scenario())


def test_nodelist_names_and_errors():
    cluster = InMemoryCorosync(nodes={1: "pcmk-1", 2: "pcmk-2"})
    assert [(n.nodeid, n.name) for n in cluster.connect(1).nodelist()] == [
        (1, "pcmk-1"),
        (2, "pcmk-2"),
    ]
    with pytest.raises(ValueError):
        cluster.crash(9)
    with pytest.raises(ValueError):
        cluster.partition([1], [1])
