"""One-shot questions to this node's running corosync (for the CLI, status and the lab).

Each helper opens its handle, asks, and closes it: cheap (a local IPC
connection) and safe to call from anywhere.  They must run inside the node
(the same network namespace and /dev/shm as corosync).
"""

from __future__ import annotations

from dataclasses import dataclass

from tandem.corosync.transport import (
    CorosyncNotRunningError,
    NodeInfo,
    QuorumState,
    nodelist_from_cmap,
)


def is_running() -> bool:
    """True when corosync answers on this node (its cmap IPC accepts a connection)."""
    from tandem.corosync.bindings import CmapHandle

    try:
        CmapHandle().finalize()
    except CorosyncNotRunningError:
        return False
    return True


@dataclass(frozen=True)
class TotemTimings:
    """The totem timings in force (ms), from ``runtime.config.totem.*``.

    ``token`` is the effective token: corosync already added
    ``(nodes - 2) * token_coefficient`` for 3+ nodes.  Losing a node is
    detected after about ``token + consensus`` (``detection_ms``).
    """

    token: int
    consensus: int
    join: int
    merge: int
    token_retransmits_before_loss_const: int
    token_coefficient: int | None = None

    @property
    def detection_ms(self) -> int:
        return self.token + self.consensus


def read_totem_timings() -> TotemTimings:
    """Ask the running corosync for its totem timings (CorosyncNotRunningError if none)."""
    from tandem.corosync.bindings import CmapHandle

    with CmapHandle() as cmap:
        values = cmap.items("runtime.config.totem.")
        coefficient = cmap.get_or("totem.token_coefficient")

    def ms(name: str) -> int:
        return int(values[f"runtime.config.totem.{name}"])  # type: ignore[arg-type]

    return TotemTimings(
        token=ms("token"),
        consensus=ms("consensus"),
        join=ms("join"),
        merge=ms("merge"),
        token_retransmits_before_loss_const=ms("token_retransmits_before_loss_const"),
        token_coefficient=int(coefficient) if isinstance(coefficient, int) else None,
    )


def cluster_name() -> str:
    """totem.cluster_name of the running corosync ('' when unset)."""
    from tandem.corosync.bindings import CmapHandle

    with CmapHandle() as cmap:
        return str(cmap.get_or("totem.cluster_name", "") or "")


def read_nodelist() -> tuple[NodeInfo, ...]:
    """The nodelist the running corosync uses (cmap ``nodelist.node.*``)."""
    from tandem.corosync.bindings import CmapHandle

    with CmapHandle() as cmap:
        return nodelist_from_cmap(cmap.items("nodelist.node."))


def local_nodeid() -> int:
    """This node's corosync node id."""
    from tandem.corosync.bindings import VotequorumHandle

    with VotequorumHandle() as vq:
        return vq.getinfo().node_id


def quorum_status() -> QuorumState:
    """votequorum's state on this node, with the current members (as corosync-quorumtool -s)."""
    import select

    from tandem.corosync.bindings import CS_TRACK_CURRENT, VotequorumHandle

    seen: list[tuple[bool, list[tuple[int, int]]]] = []
    with VotequorumHandle(lambda q, nodes: seen.append((q, nodes))) as vq:
        info = vq.getinfo()
        vq.trackstart(CS_TRACK_CURRENT)
        fd = vq.fd()
        # CS_TRACK_CURRENT answers at once; wait at most 2 s for it.
        for _ in range(20):
            if seen:
                break
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                vq.dispatch()
    members = tuple(sorted(n for n, state in seen[-1][1] if state == 1)) if seen else ()
    return QuorumState.from_votequorum(info, members)


@dataclass(frozen=True)
class VoteNode:
    """One configured node as votequorum sees it (corosync-quorumtool's membership table)."""

    nodeid: int
    name: str
    votes: int
    state: str  # "member", "dead", "leaving", or "unknown" (never seen since start)


_NODE_STATES = {1: "member", 2: "dead", 3: "leaving"}


def quorum_nodes() -> list[VoteNode]:
    """votes and state of every nodelist node, by node id."""
    from tandem.corosync.bindings import CmapHandle, VotequorumHandle
    from tandem.errors import CorosyncError

    with CmapHandle() as cmap:
        nodes = nodelist_from_cmap(cmap.items("nodelist.node."))
    out = []
    with VotequorumHandle() as vq:
        for node in nodes:
            try:
                info = vq.getinfo(node.nodeid)
            except CorosyncError:
                out.append(VoteNode(node.nodeid, node.name, 0, "unknown"))
                continue
            out.append(
                VoteNode(
                    node.nodeid,
                    node.name,
                    info.node_votes,
                    _NODE_STATES.get(info.node_state, "unknown"),
                )
            )
    return out
