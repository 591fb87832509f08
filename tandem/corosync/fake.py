"""An in-memory corosync for multi-node tests: total order, CPG, votequorum, partitions.

Why: the node daemon's logic must be exercised with several nodes, joins,
crashes, partitions and concurrent updates in milliseconds and with the same
result every run.  So this fake has no threads, no sleeps and no clock: every
change is either applied at once (cluster controls such as :meth:`partition`)
or queued in one global FIFO that :meth:`InMemoryCorosync.run_until_idle` (or
:meth:`step`) pumps.

Model (what real corosync guarantees, see :mod:`tandem.corosync.transport`):

- *Nodes* are configured (the nodelist) and either running corosync or not.
  Running nodes that can reach each other form a *component* (a totem ring).
  :meth:`partition` splits reachability into sides, :meth:`heal` joins them.
- *Processes* connect with :meth:`connect` (a transport).  ``join``,
  ``leave``, ``mcast`` and a process exit are queued as ring messages, in one
  global order; when pumped, each is applied in the sender's component at
  that time: a message reaches every process joined to the group in that
  component, the sender included.
- *Membership changes* (start, stop, crash, partition, heal) first flush the
  queue (extended virtual synchrony: what was sent in the old configuration is
  delivered in it), then emit ``ConfChange`` (reasons NODEDOWN / NODEUP) and
  ``QuorumChange`` events to the affected processes.  ``crash(n,
  lose_pending=True)`` instead drops n's undelivered messages first (they had
  not reached the token yet).
- *Quorum* follows votequorum: each node has ``votes`` (default 1);
  expected votes = the sum over the nodelist unless given; quorum =
  expected // 2 + 1, or 1 with ``two_node`` and 2 expected votes; a component
  is quorate when its total votes reach quorum.  ``wait_for_all`` (default on
  with ``two_node``, as in corosync) keeps a freshly started node inquorate
  until it has seen every node at once, or has joined a quorate component.

Example::

    >>> cluster = InMemoryCorosync(nodes=[1, 2, 3])
    >>> t = {n: cluster.connect(n) for n in (1, 2, 3)}
    >>> for n in t: t[n].join("g")
    >>> _ = cluster.run_until_idle()
    >>> cluster.partition([3])            # node 3 alone, 1+2 on the other side
    >>> t[3].quorum().quorate, t[1].quorum().quorate
    (False, True)
    >>> [e.left for e in t[1].poll() if isinstance(e, ConfChange)][-1]
    (CpgMember(nodeid=3, pid=1003, reason=<CpgReason.NODEDOWN: 3>),)
    >>> cluster.heal(); t[3].quorum().quorate
    True
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tandem.corosync.transport import (
    ClusterEvent,
    ConfChange,
    CorosyncNotRunningError,
    CpgMember,
    CpgReason,
    Deliver,
    EventListener,
    NodeInfo,
    QuorumChange,
    QuorumState,
    TransportClosed,
)
from tandem.errors import CorosyncError, Report

__all__ = ["InMemoryCorosync", "InMemoryTransport"]


def _cs_error(name: str, what: str) -> CorosyncError:
    return CorosyncError(
        Report("COROSYNC_ERROR", f"{what} failed: {name}", {"cs_error": name, "call": what})
    )


@dataclass
class _Queued:
    """One ring message waiting for delivery."""

    kind: str  # "mcast" | "join" | "leave" | "exit"
    sender: InMemoryTransport
    group: str
    payload: bytes = b""


class InMemoryTransport:
    """One simulated process's connection; implements ``ClusterTransport``."""

    def __init__(self, cluster: InMemoryCorosync, nodeid: int, pid: int) -> None:
        self._cluster = cluster
        self._nodeid = nodeid
        self.pid = pid
        self._events: deque[ClusterEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._listener: EventListener | None = None
        self._views: dict[str, tuple[CpgMember, ...]] = {}
        # Groups this process asked to join (a join may still be queued).
        self._joined: set[str] = set()
        self.closed = False  # closed by the process itself
        self.dead = False  # corosync gone (stop/crash) or closed

    # -- ClusterTransport -------------------------------------------------------------

    @property
    def local_nodeid(self) -> int:
        self._check("cpg_local_get")
        return self._nodeid

    @property
    def local_pid(self) -> int:
        return self.pid

    def join(self, group: str) -> None:
        if self._lost():
            return
        self._check("cpg_join")
        if group in self._joined:
            raise _cs_error("CS_ERR_EXIST", f"cpg_join of group {group!r}")
        self._joined.add(group)
        self._cluster._enqueue(_Queued("join", self, group))

    def leave(self, group: str) -> None:
        if self._lost():
            return
        self._check("cpg_leave")
        if group not in self._joined:
            raise _cs_error("CS_ERR_NOT_EXIST", f"cpg_leave of group {group!r}")
        self._joined.discard(group)
        self._cluster._enqueue(_Queued("leave", self, group))

    def mcast(self, group: str, payload: bytes) -> None:
        if self._lost():
            return
        self._check("cpg_mcast_joined")
        if group not in self._joined:
            raise _cs_error("CS_ERR_NOT_EXIST", f"cpg_mcast_joined to group {group!r}")
        self._cluster._enqueue(_Queued("mcast", self, group, bytes(payload)))

    def members(self, group: str) -> tuple[CpgMember, ...]:
        self._check("cpg_membership_get")
        return self._views.get(group, ())

    def quorum(self) -> QuorumState:
        self._check("votequorum_getinfo")
        return self._cluster.quorum_of(self._nodeid)

    def nodelist(self) -> tuple[NodeInfo, ...]:
        self._check("cmap_get")
        return self._cluster.nodelist()

    def poll(self) -> list[ClusterEvent]:
        out = list(self._events)
        self._events.clear()
        return out

    async def next_event(self) -> ClusterEvent:
        while not self._events:
            if self.dead:
                raise _cs_error("CS_ERR_BAD_HANDLE", "dispatch on a closed transport")
            if self._cluster.pending:
                self._cluster.run_until_idle()
                continue
            loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._events.popleft()

    def close(self) -> None:
        if self.dead:
            self.closed = True  # from now on, calls are errors
            return
        self.closed = True
        self._cluster._process_exit(self)

    # -- fake-only ---------------------------------------------------------------

    def set_listener(self, listener: EventListener | None) -> None:
        """Hand events to ``listener`` synchronously instead of queueing them.

        Lets a test wire a state machine straight to the transport; messages it
        sends from inside the listener are queued and pumped by the same
        ``run_until_idle``.
        """
        self._listener = listener
        if listener is not None:
            while self._events:
                listener(self._events.popleft())

    def _push(self, event: ClusterEvent) -> None:
        if self._listener is not None:
            self._listener(event)
            return
        self._events.append(event)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _lost(self) -> bool:
        """corosync went away under a live process (stop): calls are ignored, not errors."""
        return self.dead and not self.closed

    def _check(self, call: str) -> None:
        if self.dead:
            raise _cs_error("CS_ERR_BAD_HANDLE", call)

    def __repr__(self) -> str:
        return f"<InMemoryTransport node={self._nodeid} pid={self.pid}>"


class InMemoryCorosync:
    """A simulated corosync cluster; hands out :class:`InMemoryTransport`s.

    ``nodes`` is a count (ids 1..n), node ids, or ``{nodeid: name}``.  Names
    default to ``node<id>``.  All nodes run corosync from the start unless
    ``running`` names a subset.  ``two_node`` defaults to "exactly two nodes"
    (as pcs writes it); ``wait_for_all`` defaults to ``two_node``.
    """

    def __init__(
        self,
        nodes: int | Iterable[int] | Mapping[int, str] = 2,
        *,
        running: Iterable[int] | None = None,
        votes: Mapping[int, int] | None = None,
        expected_votes: int | None = None,
        two_node: bool | None = None,
        wait_for_all: bool | None = None,
        pid_base: int = 1000,
    ) -> None:
        if isinstance(nodes, int):
            names = {i: f"node{i}" for i in range(1, nodes + 1)}
        elif isinstance(nodes, Mapping):
            names = {int(k): str(v) for k, v in nodes.items()}
        else:
            names = {int(i): f"node{i}" for i in nodes}
        if not names or any(i <= 0 for i in names):
            raise ValueError("nodes must be positive node ids (at least one)")
        self._names = dict(sorted(names.items()))
        self._votes = {n: (votes or {}).get(n, 1) for n in self._names}
        self._expected = expected_votes or sum(self._votes.values())
        self.two_node = len(self._names) == 2 if two_node is None else two_node
        self.wait_for_all = self.two_node if wait_for_all is None else wait_for_all
        self._pid_base = pid_base
        self._next_pid: dict[int, int] = {n: 0 for n in self._names}
        self._running: set[int] = set()
        self._wfa_done: dict[int, bool] = {n: False for n in self._names}
        self._side: dict[int, int] = {n: 0 for n in self._names}  # reachability classes
        self._procs: list[InMemoryTransport] = []
        # group -> members (live processes whose join has been delivered)
        self._groups: dict[str, list[InMemoryTransport]] = {}
        self._queue: deque[_Queued] = deque()
        self._last_quorum: dict[int, QuorumState] = {}
        for n in self._names if running is None else running:
            self.start(n)

    # -- inspection -----------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Ring messages queued and not yet delivered."""
        return len(self._queue)

    @property
    def running(self) -> frozenset[int]:
        return frozenset(self._running)

    def nodelist(self) -> tuple[NodeInfo, ...]:
        return tuple(NodeInfo(n, name, ()) for n, name in self._names.items())

    def component(self, nodeid: int) -> tuple[int, ...]:
        """Running nodes reachable from ``nodeid`` (its partition), ascending."""
        if nodeid not in self._running:
            return ()
        side = self._side[nodeid]
        return tuple(sorted(n for n in self._running if self._side[n] == side))

    def quorum_of(self, nodeid: int) -> QuorumState:
        """votequorum's answer on ``nodeid`` (not quorate when not running)."""
        self._node(nodeid)
        comp = self.component(nodeid)
        total = sum(self._votes[n] for n in comp)
        expected = max(self._expected, total)
        if self.two_node and expected == 2:
            quorum = 1
        else:
            quorum = expected // 2 + 1
        quorate = (
            bool(comp) and total >= quorum and (not self.wait_for_all or self._wfa_done[nodeid])
        )
        return QuorumState(
            quorate=quorate,
            members=comp,
            node_votes=self._votes[nodeid],
            expected_votes=self._expected,
            highest_expected=expected,
            total_votes=total,
            quorum=quorum,
            two_node=self.two_node,
            wait_for_all=self.wait_for_all,
        )

    # -- processes --------------------------------------------------------------------

    def connect(self, nodeid: int, pid: int | None = None) -> InMemoryTransport:
        """A process on ``nodeid`` connects (cpg/votequorum initialize + trackstart).

        Raises :class:`CorosyncNotRunningError` when corosync is not running there.
        The new transport's first event is the current quorum state, as
        ``votequorum_trackstart(CS_TRACK_CURRENT | CS_TRACK_CHANGES)`` gives.
        """
        self._node(nodeid)
        if nodeid not in self._running:
            raise CorosyncNotRunningError(
                Report(
                    "COROSYNC_NOT_RUNNING",
                    f"corosync is not running on this node ({self._names[nodeid]})",
                    {"node": self._names[nodeid], "nodeid": nodeid, "cs_error": "CS_ERR_LIBRARY"},
                )
            )
        if pid is None:
            self._next_pid[nodeid] += 1
            pid = self._pid_base * self._next_pid[nodeid] + nodeid
        t = InMemoryTransport(self, nodeid, pid)
        self._procs.append(t)
        q = self.quorum_of(nodeid)
        t._push(QuorumChange(q.quorate, q.members))
        return t

    # -- pumping ----------------------------------------------------------------------

    def step(self) -> bool:
        """Deliver the oldest queued ring message; False when there was none."""
        if not self._queue:
            return False
        self._apply(self._queue.popleft())
        return True

    def run_until_idle(self, limit: int = 1_000_000) -> int:
        """Deliver queued messages (also those queued meanwhile) until none is left.

        Returns how many were delivered; raises RuntimeError after ``limit``
        (a listener that answers every message with another never settles).
        """
        count = 0
        while self.step():
            count += 1
            if count >= limit:
                raise RuntimeError(f"run_until_idle: still busy after {limit} messages")
        return count

    # -- cluster controls ------------------------------------------------------------------

    def start(self, nodeid: int) -> None:
        """corosync starts on ``nodeid`` (after boot or ``stop``)."""
        self._node(nodeid)
        if nodeid in self._running:
            return
        self._membership_change(lambda: self._running.add(nodeid))

    def stop(self, nodeid: int) -> None:
        """corosync stops cleanly on ``nodeid``: its processes get TransportClosed."""
        self._kill(nodeid, "corosync stopped", lose_pending=False, notify=True)

    def crash(self, nodeid: int, *, lose_pending: bool = False) -> None:
        """Power cut of ``nodeid``: corosync and every process of it vanish at once.

        Its processes get no event (they are dead too); calls on their
        transports raise CS_ERR_BAD_HANDLE.  ``lose_pending`` drops the node's
        queued, undelivered messages instead of delivering them first.
        """
        self._kill(nodeid, "node crashed", lose_pending=lose_pending, notify=False)

    def partition(self, *sides: Iterable[int]) -> None:
        """Split reachability: each argument is one side; unlisted nodes form another.

        A new partition replaces the previous one (as ``tandem lab partition``).
        """
        seen: set[int] = set()
        mapping: dict[int, int] = {}
        for i, side in enumerate(sides, start=1):
            for n in side:
                self._node(n)
                if n in seen:
                    raise ValueError(f"node {n} is listed on two sides")
                seen.add(n)
                mapping[n] = i
        for n in self._names:
            mapping.setdefault(n, 0)
        self._membership_change(lambda: self._side.update(mapping))

    def heal(self) -> None:
        """Every node reaches every other again."""
        self._membership_change(lambda: self._side.update({n: 0 for n in self._names}))

    # -- internals ------------------------------------------------------------------------

    def _node(self, nodeid: int) -> None:
        if nodeid not in self._names:
            raise ValueError(f"node {nodeid} is not in the nodelist {list(self._names)}")

    def _enqueue(self, item: _Queued) -> None:
        self._queue.append(item)

    def _live_procs(self, nodes: Iterable[int]) -> list[InMemoryTransport]:
        wanted = set(nodes)
        return [p for p in self._procs if not p.dead and p._nodeid in wanted]

    def _group_view(self, group: str, comp: Iterable[int]) -> tuple[CpgMember, ...]:
        c = set(comp)
        return tuple(
            sorted(
                CpgMember(p._nodeid, p.pid) for p in self._groups.get(group, []) if p._nodeid in c
            )
        )

    def _emit_confchg(
        self,
        group: str,
        comp: tuple[int, ...],
        joined: tuple[CpgMember, ...],
        left: tuple[CpgMember, ...],
    ) -> None:
        members = self._group_view(group, comp)
        ev = ConfChange(group, members, tuple(sorted(joined)), tuple(sorted(left)))
        for p in self._groups.get(group, []):
            if p._nodeid in comp and not p.dead:
                p._views[group] = members
                p._push(ev)

    def _apply(self, item: _Queued) -> None:
        sender = item.sender
        if item.kind != "exit" and sender.dead:
            return  # the process died before its message reached the ring
        comp = self.component(sender._nodeid)
        if not comp:
            return
        members = self._groups.setdefault(item.group, [])
        me = CpgMember(sender._nodeid, sender.pid)
        if item.kind == "mcast":
            if sender not in members:
                return
            ev = Deliver(item.group, sender._nodeid, sender.pid, item.payload)
            for p in members:
                if p._nodeid in comp and not p.dead:
                    p._push(ev)
        elif item.kind == "join":
            if sender in members:
                return
            members.append(sender)
            self._emit_confchg(
                item.group, comp, (CpgMember(me.nodeid, me.pid, CpgReason.JOIN),), ()
            )
        elif item.kind in ("leave", "exit"):
            if sender not in members:
                return
            members.remove(sender)
            reason = CpgReason.LEAVE if item.kind == "leave" else CpgReason.PROCDOWN
            self._emit_confchg(item.group, comp, (), (CpgMember(me.nodeid, me.pid, reason),))
            sender._views.pop(item.group, None)

    def _process_exit(self, proc: InMemoryTransport) -> None:
        for group in sorted(proc._joined):
            self._enqueue(_Queued("exit", proc, group))
        proc._joined.clear()
        proc.dead = True

    def _kill(self, nodeid: int, reason: str, *, lose_pending: bool, notify: bool) -> None:
        self._node(nodeid)
        if nodeid not in self._running:
            return
        if lose_pending:
            self._queue = deque(q for q in self._queue if q.sender._nodeid != nodeid)
        victims = self._live_procs([nodeid])

        def change() -> None:
            self._running.discard(nodeid)
            self._wfa_done[nodeid] = False
            for p in victims:
                if notify:
                    p._push(TransportClosed(reason))
                else:
                    p._events.clear()  # a dead process reads nothing more
                p.dead = True
            self._last_quorum.pop(nodeid, None)

        self._membership_change(change)
        # Dead processes leave their groups without a trace on their own node.
        for members in self._groups.values():
            members[:] = [p for p in members if p._nodeid != nodeid]

    def _membership_change(self, mutate: Callable[[], None]) -> None:
        """Flush the old configuration, change it, then tell everyone what changed."""
        self.run_until_idle()
        before = {n: self.component(n) for n in self._running}
        mutate()
        after = {n: self.component(n) for n in self._running}
        self._update_wfa()
        # CPG: per group and per new component, who appeared and who vanished.
        for group, members in self._groups.items():
            for comp in sorted(set(after.values())):
                # Processes of the new component may come from different old
                # components (a heal): each sees the difference from its own old view.
                views: dict[tuple[int, ...], list[InMemoryTransport]] = {}
                for p in members:
                    if p._nodeid in comp and not p.dead:
                        views.setdefault(before.get(p._nodeid, ()), []).append(p)
                new_view = self._group_view(group, comp)
                for old_comp, procs in views.items():
                    old_view = self._group_view(group, old_comp) if old_comp else ()
                    left = tuple(
                        CpgMember(m.nodeid, m.pid, CpgReason.NODEDOWN)
                        for m in old_view
                        if m not in new_view
                    )
                    joined = tuple(
                        CpgMember(m.nodeid, m.pid, CpgReason.NODEUP)
                        for m in new_view
                        if m not in old_view
                    )
                    if not left and not joined:
                        continue
                    ev = ConfChange(group, new_view, joined, left)
                    for p in procs:
                        p._views[group] = new_view
                        p._push(ev)
        # Drop group members whose node went away from every component.
        for members in self._groups.values():
            members[:] = [p for p in members if not p.dead]
        self._emit_quorum()

    def _update_wfa(self) -> None:
        """wait_for_all: satisfied by seeing every node, or by joining a quorate side."""
        if not self.wait_for_all:
            return
        for comp in {self.component(n) for n in self._running}:
            if set(comp) == set(self._names) or any(
                self._last_quorum.get(n) is not None
                and self._last_quorum[n].quorate
                and self._wfa_done[n]
                for n in comp
            ):
                for n in comp:
                    self._wfa_done[n] = True

    def _emit_quorum(self) -> None:
        for n in sorted(self._running):
            q = self.quorum_of(n)
            old = self._last_quorum.get(n)
            self._last_quorum[n] = q
            if old is not None and (old.quorate, old.members) == (q.quorate, q.members):
                continue
            ev = QuorumChange(q.quorate, q.members)
            for p in self._live_procs([n]):
                p._push(ev)
