"""The cluster transport boundary: what tandem needs from corosync, as a Protocol.

Why a Protocol: the node daemon's decisions (DC choice, CIB sync, quorum
handling) must be testable with several nodes in memory in milliseconds, and
provable against the real corosync in the lab.  Both sides implement
:class:`ClusterTransport`:

- :class:`tandem.corosync.fake.InMemoryCorosync` hands out in-memory
  transports for simulated nodes (total order, membership, votequorum,
  partitions; deterministic, no threads, no sleeps);
- :class:`CorosyncTransport` wraps the real libcpg + libvotequorum + libcmap
  through ctypes (:mod:`tandem.corosync.bindings`) and the asyncio loop.

What the transport promises (corosync's CPG "agreed" ordering, extended
virtual synchrony):

- every process joined to a group receives the group's messages in the same
  total order, its own messages included;
- a membership change (:class:`ConfChange`) is delivered at the same point of
  that order to every member that stays; messages sent before the change are
  delivered before it;
- quorum notifications (:class:`QuorumChange`) come on a separate channel: in
  real corosync their order relative to CPG events is not guaranteed, so the
  daemon must not rely on it (the fake delivers a node's CPG events of a
  membership change before its quorum event).

Example (with the in-memory fake)::

    >>> from tandem.corosync.fake import InMemoryCorosync
    >>> cluster = InMemoryCorosync(nodes=[1, 2])
    >>> a, b = cluster.connect(1), cluster.connect(2)
    >>> a.join("tandem"); b.join("tandem")
    >>> a.mcast("tandem", b"hello")
    >>> _ = cluster.run_until_idle()
    >>> [type(e).__name__ for e in b.poll()]
    ['QuorumChange', 'ConfChange', 'Deliver']
    >>> b.quorum().quorate
    True
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tandem.errors import CorosyncError, NotRunningError, Report

# --------------------------------------------------------------------------- errors


class CorosyncNotRunningError(CorosyncError, NotRunningError):
    """corosync is not running on this node (its IPC refused the connection).

    Both a CorosyncError (a corosync call failed with CS_ERR_LIBRARY) and a
    NotRunningError (the CLI's "start the cluster first" family).
    """

    default_code = "COROSYNC_NOT_RUNNING"


# --------------------------------------------------------------------------- events


class CpgReason(enum.IntEnum):
    """Why a process appears in a CPG joined/left list (cpg_reason_t)."""

    UNDEFINED = 0
    JOIN = 1  # the process called cpg_join
    LEAVE = 2  # the process called cpg_leave
    NODEDOWN = 3  # its node left the corosync membership (crash, partition, stop)
    NODEUP = 4  # its node (re)joined the corosync membership (heal, start)
    PROCDOWN = 5  # the process went away without leaving (exit, kill)


@dataclass(frozen=True, order=True)
class CpgMember:
    """One process in a CPG group (struct cpg_address)."""

    nodeid: int
    pid: int
    reason: CpgReason = field(default=CpgReason.UNDEFINED, compare=False)


@dataclass(frozen=True)
class Deliver:
    """A message delivered in total order (cpg_deliver_fn)."""

    group: str
    sender_nodeid: int
    sender_pid: int
    payload: bytes


@dataclass(frozen=True)
class ConfChange:
    """The membership of a CPG group changed (cpg_confchg_fn).

    ``members`` is the whole new membership, sorted by (nodeid, pid).
    """

    group: str
    members: tuple[CpgMember, ...]
    joined: tuple[CpgMember, ...] = ()
    left: tuple[CpgMember, ...] = ()

    @property
    def member_nodeids(self) -> tuple[int, ...]:
        """Distinct node ids with at least one member, ascending."""
        return tuple(sorted({m.nodeid for m in self.members}))


@dataclass(frozen=True)
class QuorumChange:
    """The votequorum state seen from this node changed (or was first reported).

    ``members`` are the node ids in this node's corosync membership
    (its partition), ascending.
    """

    quorate: bool
    members: tuple[int, ...]


@dataclass(frozen=True)
class TransportClosed:
    """corosync went away under this transport (stopped, crashed, killed).

    No more events follow; every further call raises
    :class:`tandem.errors.CorosyncError`.
    """

    reason: str


CpgEvent = Deliver | ConfChange
ClusterEvent = Deliver | ConfChange | QuorumChange | TransportClosed


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class QuorumState:
    """votequorum's view from one node (struct votequorum_info + the member list)."""

    quorate: bool
    members: tuple[int, ...]
    node_votes: int = 1
    expected_votes: int = 0
    highest_expected: int = 0
    total_votes: int = 0
    quorum: int = 0
    two_node: bool = False
    wait_for_all: bool = False

    @classmethod
    def from_votequorum(cls, info: Any, members: tuple[int, ...]) -> QuorumState:
        """From the bindings' ``votequorum_getinfo`` result (names as in the C struct)."""
        return cls(
            quorate=info.quorate,
            members=members,
            node_votes=info.node_votes,
            expected_votes=info.node_expected_votes,
            highest_expected=info.highest_expected,
            total_votes=info.total_votes,
            quorum=info.quorum,
            two_node=info.two_node,
            wait_for_all=info.wait_for_all,
        )


@dataclass(frozen=True)
class NodeInfo:
    """One entry of corosync.conf's nodelist (as cmap reports it)."""

    nodeid: int
    name: str
    addrs: tuple[str, ...] = ()


EventListener = Callable[[ClusterEvent], None]


# --------------------------------------------------------------------------- protocol


@runtime_checkable
class ClusterTransport(Protocol):
    """One process's connection to the cluster's corosync.

    Contract:
    - ``join``/``leave``/``mcast`` never block; their effects arrive later as
      events (also to the caller: you receive your own join and messages);
    - ``poll()`` returns the events that arrived so far and forgets them;
      ``next_event()`` waits for one (the asyncio outer loop uses it);
    - errors are :class:`tandem.errors.CorosyncError` (cs_error name in the
      payload) and :class:`tandem.errors.NotRunningError` when corosync is not
      running on this node;
    - once corosync went away (a :class:`TransportClosed` event is queued),
      ``join``/``leave``/``mcast`` are silently ignored, so that a daemon can
      finish its current step and then handle the event; after our own
      ``close()`` every call raises CS_ERR_BAD_HANDLE.
    """

    @property
    def local_nodeid(self) -> int:
        """This node's corosync node id."""
        ...

    @property
    def local_pid(self) -> int:
        """This process's pid as CPG member lists show it (with local_nodeid: "me")."""
        ...

    def join(self, group: str) -> None:
        """Join a CPG group (one handle per group underneath)."""
        ...

    def leave(self, group: str) -> None:
        """Leave a CPG group; the others see reason LEAVE."""
        ...

    def mcast(self, group: str, payload: bytes) -> None:
        """Multicast ``payload`` to ``group`` in total (agreed) order."""
        ...

    def members(self, group: str) -> tuple[CpgMember, ...]:
        """The group's membership as of the last ConfChange this process saw."""
        ...

    def quorum(self) -> QuorumState:
        """The current votequorum state seen from this node."""
        ...

    def nodelist(self) -> tuple[NodeInfo, ...]:
        """The configured nodes (corosync.conf nodelist), by node id."""
        ...

    def poll(self) -> list[ClusterEvent]:
        """Events received so far, oldest first; the queue is emptied."""
        ...

    async def next_event(self) -> ClusterEvent:
        """Wait for and return the next event."""
        ...

    def close(self) -> None:
        """Disconnect; idempotent.  Joined groups see this process leave."""
        ...


# --------------------------------------------------------------------------- real corosync


class CorosyncTransport:
    """:class:`ClusterTransport` on the real corosync (libcpg + libvotequorum + libcmap).

    Use :meth:`connect` (inside the node: the same network namespace and
    /dev/shm as corosync).  With an asyncio loop (the running one by default)
    every handle's fd is a loop reader and callbacks become queued events;
    without one, :meth:`poll` dispatches whatever is pending first.

    Flow control: ``cpg_mcast_joined`` answering CS_ERR_TRY_AGAIN queues the
    message; queued messages are retried in order (10 ms later with a loop,
    or at the next ``mcast``/``poll`` without), so ``mcast`` never fails for
    a full queue and never reorders a sender's messages.
    """

    RETRY_DELAY = 0.01

    def __init__(
        self, loop: asyncio.AbstractEventLoop | None = None, *, bindings: Any = None
    ) -> None:
        if bindings is None:
            from tandem.corosync import bindings
        self._b = bindings
        self._loop = loop
        self._events: deque[ClusterEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._cpg: dict[str, Any] = {}
        self._views: dict[str, tuple[CpgMember, ...]] = {}
        self._outbox: dict[str, deque[bytes]] = {}
        self._retry: asyncio.TimerHandle | None = None
        self._quorum_members: tuple[int, ...] = ()
        self._quorate = False
        self._closed = False
        self._fds: dict[int, int] = {}
        self._lost = False  # corosync went away (not closed by us)
        self._retired: list[Any] = []  # left groups' handles, finalized outside dispatch
        self._pid = os.getpid()
        #: how many times corosync answered CS_ERR_TRY_AGAIN (messages were queued)
        self.flow_control_waits = 0
        # votequorum answers "how many votes"; libquorum notifies every
        # membership change (votequorum's own notification fires only when
        # quorate flips, so it would miss a node loss that keeps quorum).
        self._vq = bindings.VotequorumHandle()
        self._q: Any = None
        self._cmap: Any = None
        try:
            self._nodeid = self._vq.getinfo().node_id
            self._q = bindings.QuorumHandle(self._on_quorum)
            self._q.trackstart()
            self._cmap = bindings.CmapHandle()
        except BaseException:
            for h in (self._vq, self._q, self._cmap):
                if h is not None:
                    h.finalize()
            raise
        self._watch(self._q)

    @classmethod
    def connect(
        cls, loop: asyncio.AbstractEventLoop | None = None, *, bindings: Any = None
    ) -> CorosyncTransport:
        """Connect to this node's corosync.

        Raises :class:`CorosyncNotRunningError` ("corosync is not running on
        this node") when the IPC connection is refused.  ``bindings`` replaces
        :mod:`tandem.corosync.bindings` (unit tests pass a stub module).
        """
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
        return cls(loop, bindings=bindings)

    # -- ClusterTransport -------------------------------------------------------------

    @property
    def local_nodeid(self) -> int:
        self._check("local_nodeid")
        return self._nodeid

    @property
    def local_pid(self) -> int:
        """Our pid as corosync reports it in CPG member lists."""
        return self._pid

    def join(self, group: str) -> None:
        if self._lost:
            return
        self._check("cpg_join")
        if group in self._cpg:
            raise CorosyncError(
                Report(
                    "COROSYNC_ERROR",
                    f"cpg_join (group={group}) failed: CS_ERR_EXIST",
                    {"call": "cpg_join", "cs_error": "CS_ERR_EXIST", "group": group},
                )
            )
        try:
            handle = self._b.CpgHandle(self._on_deliver, self._on_confchg)
        except CorosyncError as exc:
            if self._connection_lost(exc):
                return
            raise
        try:
            handle.join(group)
        except BaseException as exc:
            handle.finalize()
            if isinstance(exc, CorosyncError) and self._connection_lost(exc):
                return
            raise
        self._cpg[group] = handle
        self._outbox[group] = deque()
        self._watch(handle)

    def leave(self, group: str) -> None:
        if self._lost:
            return
        self._check("cpg_leave")
        handle = self._group_handle(group, "cpg_leave")
        try:
            handle.leave(group)
        except CorosyncError as exc:
            if not self._connection_lost(exc):
                raise
        # The handle stays open until our own leave is delivered (see _on_confchg).

    def mcast(self, group: str, payload: bytes) -> None:
        if self._lost:
            return
        self._check("cpg_mcast_joined")
        self._group_handle(group, "cpg_mcast_joined")
        self._outbox[group].append(bytes(payload))
        self._flush()

    def members(self, group: str) -> tuple[CpgMember, ...]:
        self._check("cpg_membership_get")
        return self._views.get(group, ())

    def quorum(self) -> QuorumState:
        self._check("votequorum_getinfo")
        return QuorumState.from_votequorum(self._vq.getinfo(), self._quorum_members)

    def nodelist(self) -> tuple[NodeInfo, ...]:
        self._check("cmap_get")
        return nodelist_from_cmap(self._cmap.items("nodelist.node."))

    def poll(self) -> list[ClusterEvent]:
        while self._retired:
            self._retired.pop().finalize()
        if not self._closed and self._loop is None:
            self._flush()
            for handle in [self._q, *self._cpg.values()]:
                self._dispatch(handle)
        out = list(self._events)
        self._events.clear()
        return out

    async def next_event(self) -> ClusterEvent:
        while not self._events:
            if self._closed:
                raise CorosyncError(
                    Report(
                        "COROSYNC_ERROR",
                        "next_event on a closed transport: CS_ERR_BAD_HANDLE",
                        {"cs_error": "CS_ERR_BAD_HANDLE"},
                    )
                )
            if self._loop is None:
                raise RuntimeError("CorosyncTransport.next_event needs an asyncio loop; use poll()")
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._events.popleft()

    def close(self) -> None:
        self._lost = False  # from now on, calls are errors (we closed it ourselves)
        if self._closed:
            return
        self._shutdown()

    # -- internals ---------------------------------------------------------------------

    def _check(self, call: str) -> None:
        if self._closed:
            raise CorosyncError(
                Report(
                    "COROSYNC_ERROR",
                    f"{call} on a closed transport: CS_ERR_BAD_HANDLE",
                    {"call": call, "cs_error": "CS_ERR_BAD_HANDLE"},
                )
            )

    def _group_handle(self, group: str, call: str) -> Any:
        try:
            return self._cpg[group]
        except KeyError:
            raise CorosyncError(
                Report(
                    "COROSYNC_ERROR",
                    f"{call} (group={group}) failed: CS_ERR_NOT_EXIST; join the group first",
                    {"call": call, "cs_error": "CS_ERR_NOT_EXIST", "group": group},
                )
            ) from None

    def _push(self, event: ClusterEvent) -> None:
        self._events.append(event)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _watch(self, handle: Any) -> None:
        if self._loop is not None:
            fd = handle.fd()
            self._fds[id(handle)] = fd
            self._loop.add_reader(fd, self._dispatch, handle)

    def _unwatch(self, handle: Any) -> None:
        fd = self._fds.pop(id(handle), None)
        if self._loop is not None and fd is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(fd)

    def _dispatch(self, handle: Any) -> None:
        try:
            handle.dispatch()
        except CorosyncError as exc:
            if self._closed:
                return
            self._shutdown(f"corosync connection lost: {exc}")

    def _connection_lost(self, exc: CorosyncError) -> bool:
        """CS_ERR_LIBRARY from a call: corosync is gone.  Close with TransportClosed."""
        if exc.reports[0].payload.get("cs_error") != "CS_ERR_LIBRARY":
            return False
        if not self._closed:
            self._shutdown(f"corosync connection lost: {exc}")
        return True

    def _shutdown(self, reason: str | None = None) -> None:
        self._closed = True
        self._lost = reason is not None
        if self._retry is not None:
            self._retry.cancel()
        for handle in [self._q, *self._cpg.values(), *self._retired]:
            self._unwatch(handle)
            handle.finalize()
        self._retired.clear()
        self._vq.finalize()
        self._cmap.finalize()
        self._cpg.clear()
        if reason is not None:
            self._push(TransportClosed(reason))
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _flush(self) -> None:
        """Send queued messages in order until corosync says TRY_AGAIN."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        for group, box in self._outbox.items():
            handle = self._cpg.get(group)
            while box and handle is not None:
                try:
                    rc = handle.mcast(box[0])
                except CorosyncError as exc:
                    if self._connection_lost(exc):
                        return
                    raise
                if rc != self._b.CsError.CS_OK:  # TRY_AGAIN: flow control
                    self.flow_control_waits += 1
                    if self._loop is not None:
                        self._retry = self._loop.call_later(self.RETRY_DELAY, self._flush)
                    break
                box.popleft()

    def _on_deliver(self, group: str, nodeid: int, pid: int, payload: bytes) -> None:
        self._push(Deliver(group, nodeid, pid, payload))

    def _on_confchg(
        self,
        group: str,
        members: tuple[CpgMember, ...],
        left: tuple[CpgMember, ...],
        joined: tuple[CpgMember, ...],
    ) -> None:
        view = tuple(sorted(CpgMember(m.nodeid, m.pid) for m in members))
        first = group not in self._views
        self._views[group] = view
        mine = [m for m in joined if m.nodeid == self._nodeid]
        if first and mine and all(m.pid != self._pid for m in view):
            # corosync sees us under another pid (a different PID namespace):
            # our first confchg's joined entry on this node is us.
            self._pid = mine[0].pid
        self._push(ConfChange(group, view, tuple(sorted(joined)), tuple(sorted(left))))
        me = (self._nodeid, self._pid)
        if any((m.nodeid, m.pid) == me for m in left) and group in self._cpg:
            handle = self._cpg.pop(group)
            self._outbox.pop(group, None)
            self._views.pop(group, None)
            # Never finalize a handle from inside its own dispatch: later.
            self._unwatch(handle)
            if self._loop is not None:
                self._loop.call_soon(handle.finalize)
            else:
                self._retired.append(handle)

    def _on_quorum(self, quorate: bool, ring_seq: int, nodes: list[int]) -> None:
        del ring_seq
        members = tuple(sorted(nodes))
        self._quorate, self._quorum_members = quorate, members
        self._push(QuorumChange(quorate, members))


def nodelist_from_cmap(items: Mapping[str, object]) -> tuple[NodeInfo, ...]:
    """Turn cmap's ``nodelist.node.N.*`` keys into NodeInfo, ordered by node id."""
    nodes: dict[str, dict[str, object]] = {}
    for key, value in items.items():
        parts = key.split(".")
        if len(parts) == 4 and parts[:2] == ["nodelist", "node"]:
            nodes.setdefault(parts[2], {})[parts[3]] = value
    out = []
    for attrs in nodes.values():
        rings = sorted(
            (int(k[4:-5]), str(v))
            for k, v in attrs.items()
            if k.startswith("ring") and k.endswith("_addr") and k[4:-5].isdigit()
        )
        nodeid = int(str(attrs.get("nodeid", 0)))
        name = str(attrs.get("name", rings[0][1] if rings else ""))
        out.append(NodeInfo(nodeid, name, tuple(a for _, a in rings)))
    return tuple(sorted(out, key=lambda n: n.nodeid))
