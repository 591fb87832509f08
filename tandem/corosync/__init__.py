"""tandem's corosync layer: the cluster transport, its in-memory fake, corosync.conf.

Public surface (see docs/corosync.md):

- :mod:`tandem.corosync.transport`: ``ClusterTransport`` (Protocol), events
  ``Deliver``, ``ConfChange``, ``QuorumChange``, ``TransportClosed``,
  ``CpgMember``/``CpgReason``, ``QuorumState``, ``NodeInfo``, the real
  ``CorosyncTransport`` and ``CorosyncNotRunningError``;
- :mod:`tandem.corosync.fake`: ``InMemoryCorosync`` (deterministic multi-node
  simulation) handing out ``InMemoryTransport``;
- :mod:`tandem.corosync.conf`: corosync.conf as pcs 0.11.5 writes it, parser,
  authkey;
- :mod:`tandem.corosync.runtime`: one-shot questions to the running corosync
  (``is_running``, ``read_totem_timings``, ``quorum_status``...);
- :mod:`tandem.corosync.bindings`: the raw ctypes handles (CPG, votequorum,
  quorum, cmap).

Importing this package loads no C library; bindings load on first use.
"""

from tandem.corosync.fake import InMemoryCorosync, InMemoryTransport
from tandem.corosync.transport import (
    ClusterEvent,
    ClusterTransport,
    ConfChange,
    CorosyncNotRunningError,
    CorosyncTransport,
    CpgEvent,
    CpgMember,
    CpgReason,
    Deliver,
    NodeInfo,
    QuorumChange,
    QuorumState,
    TransportClosed,
)

__all__ = [
    "ClusterEvent",
    "ClusterTransport",
    "ConfChange",
    "CorosyncNotRunningError",
    "CorosyncTransport",
    "CpgEvent",
    "CpgMember",
    "CpgReason",
    "Deliver",
    "InMemoryCorosync",
    "InMemoryTransport",
    "NodeInfo",
    "QuorumChange",
    "QuorumState",
    "TransportClosed",
]
