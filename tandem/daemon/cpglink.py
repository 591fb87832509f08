"""A ClusterTransport over the real corosync (libcpg + libvotequorum), for tandemd.

Why here: tandemd needs only a small part of the corosync layer (one group,
quorum tracking, the nodelist) wired to its asyncio loop; the corosync layer's
own :class:`tandem.corosync.transport.CorosyncTransport`, when present, is
preferred by :func:`open_transport` -- this is the fallback with the same
contract.  Callbacks only queue events; the loop's readers dispatch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from tandem.corosync import bindings as B
from tandem.corosync.transport import (
    ClusterEvent,
    ConfChange,
    CpgMember,
    Deliver,
    NodeInfo,
    QuorumChange,
    QuorumState,
    TransportClosed,
)
from tandem.errors import CorosyncError


class CpgLink:
    """One process's CPG group + votequorum tracking, fed into asyncio."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self._events: deque[ClusterEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._group: str | None = None
        self._view: tuple[CpgMember, ...] = ()
        self._closed = False
        self._out: deque[bytes] = deque()
        self._retry: asyncio.TimerHandle | None = None
        self._cpg = B.CpgHandle(self._on_deliver, self._on_confchg)
        try:
            self._vq = B.VotequorumHandle(self._on_quorum)
        except BaseException:
            self._cpg.finalize()
            raise
        self._nodeid = self._cpg.local_get()
        self._quorum = QuorumState(False, ())
        self._vq.trackstart()
        self._cmap_nodes: tuple[NodeInfo, ...] | None = None

    # -- callbacks (inside dispatch) -----------------------------------------------

    def _push(self, ev: ClusterEvent) -> None:
        self._events.append(ev)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _on_deliver(self, group: str, nodeid: int, pid: int, payload: bytes) -> None:
        self._push(Deliver(group, nodeid, pid, payload))

    def _on_confchg(
        self,
        group: str,
        members: tuple[CpgMember, ...],
        left: tuple[CpgMember, ...],
        joined: tuple[CpgMember, ...],
    ) -> None:
        self._view = tuple(sorted(members))
        self._push(ConfChange(group, self._view, tuple(sorted(joined)), tuple(sorted(left))))

    def _on_quorum(self, quorate: bool, nodes: list[tuple[int, int]]) -> None:
        # votequorum lists every configured node with its state; 1 = member
        members = tuple(sorted(n for n, state in nodes if state == 1))
        self._quorum = QuorumState(quorate, members)
        self._push(QuorumChange(quorate, members))

    # -- asyncio ------------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Register the handles' fds with ``loop`` (call once, inside the loop)."""
        self._loop = loop
        loop.add_reader(self._cpg.fd(), self._dispatch, self._cpg)
        loop.add_reader(self._vq.fd(), self._dispatch, self._vq)

    def _dispatch(self, handle: B._Handle) -> None:
        try:
            handle.dispatch()
        except CorosyncError as exc:
            self._gone(str(exc))

    def _gone(self, reason: str) -> None:
        if self._closed:
            return
        self._detach()
        self._closed = True
        self._push(TransportClosed(reason))

    def _detach(self) -> None:
        if self._loop is not None:
            for h in (self._cpg, self._vq):
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(h.fd())

    # -- ClusterTransport -----------------------------------------------------------------

    @property
    def local_nodeid(self) -> int:
        return self._nodeid

    def join(self, group: str) -> None:
        self._group = group
        self._cpg.join(group)

    def leave(self, group: str) -> None:
        self._cpg.leave(group)

    def mcast(self, group: str, payload: bytes) -> None:
        self._out.append(payload)
        self._flush()

    def _flush(self) -> None:
        self._retry = None
        while self._out and not self._closed:
            try:
                rc = self._cpg.mcast(self._out[0])
            except CorosyncError as exc:
                self._gone(str(exc))
                return
            if rc == B.CsError.CS_ERR_TRY_AGAIN:
                if self._loop is not None and self._retry is None:
                    self._retry = self._loop.call_later(0.005, self._flush)
                return
            self._out.popleft()

    def members(self, group: str) -> tuple[CpgMember, ...]:
        return self._view

    def quorum(self) -> QuorumState:
        return self._quorum

    def nodelist(self) -> tuple[NodeInfo, ...]:
        if self._cmap_nodes is None:
            nodes = []
            with B.CmapHandle() as cmap:
                items = cmap.items("nodelist.node.")
            by_index: dict[str, dict[str, object]] = {}
            for key, value in items.items():
                parts = key.split(".")
                if len(parts) >= 4:
                    by_index.setdefault(parts[2], {})[parts[3]] = value
            for entry in by_index.values():
                if "nodeid" in entry:
                    name = entry.get("name") or entry.get("ring0_addr") or ""
                    nodes.append(NodeInfo(int(entry["nodeid"]), str(name)))  # type: ignore[call-overload]
            self._cmap_nodes = tuple(sorted(nodes, key=lambda n: n.nodeid))
        return self._cmap_nodes

    def poll(self) -> list[ClusterEvent]:
        out = list(self._events)
        self._events.clear()
        return out

    async def next_event(self) -> ClusterEvent:
        while not self._events:
            loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._events.popleft()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._detach()
        if self._retry is not None:
            self._retry.cancel()
        for h in (self._cpg, self._vq):
            with contextlib.suppress(Exception):
                h.finalize()
