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

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from tandem.errors import CorosyncError, NotRunningError

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
      running on this node.
    """

    @property
    def local_nodeid(self) -> int:
        """This node's corosync node id."""
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
