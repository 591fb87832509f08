"""The node daemon's decision logic: a pure state machine (no I/O, no clock, no asyncio).

Theory of operation
===================

Every tandemd joins one CPG group (``tandem``).  corosync gives the group
*extended virtual synchrony*: all members see the same messages and the same
membership changes (confchg) in the same total order.  Everything here is a
deterministic function of that stream, so every node reaches the same CIB and
the same DC with no extra protocol rounds:

* **CIB changes** are multicast as operations (``ops``, ``push``) and applied
  by every node when *delivered*, in delivery order, after validation (the
  same validation everywhere, so a change rejected on one node is rejected on
  all).  The node that asked replies to its local client at that point.

* **Join sync.**  At every confchg each member multicasts an ``offer``: its
  CIB version (admin_epoch, epoch, num_updates), configuration digest, and
  whether it already was in sync.  Once the offers of every member have been
  delivered, each node computes the same winner: the highest version; on equal
  versions a node that was already in sync (the DC's side) before one that was
  not, then the lowest node id -- i.e. the DC's copy.  If all offers are equal
  the round ends there; otherwise the winner multicasts its CIB (``sync``) and
  the round ends when that is delivered.  Change messages delivered during a
  round are *queued* and applied, in order, when it ends, so the copy the
  winner sent and the changes made meanwhile compose identically everywhere.
  A node whose CIB file was corrupt offers no version and takes any valid
  copy; alone, it gives up after ``corrupt_wait`` seconds.

* **DC** = the lowest node id among members that completed a sync and are not
  shutting down (if all are shutting down, the lowest of them).  All nodes
  compute it from the same membership at the same point of the stream, so they
  agree without an election; Pacemaker's election exists because its
  messaging layer once lacked virtual synchrony -- corosync CPG has it.

* **Status section** is rebuilt from membership at the end of each round and
  on shutdown announcements (``node_state`` with in_ccm/crmd/join/expected and
  the ``shutdown`` transient attribute); it is never restored from disk.  A
  node that left cleanly gets join/expected "down"; a lost one keeps
  "member" (UNCLEAN when fencing is enabled, as in Pacemaker).
  ``have-quorum`` follows votequorum (a local, non-ordered signal).

* **Clean shutdown**: the node multicasts ``shutdown`` (Pacemaker's shutdown
  node attribute); the DC acknowledges once it has moved or stopped that
  node's resources (:meth:`DaemonCore.resources_released` -- the controller's
  hook; until the controller exists nothing runs, so it acknowledges at once);
  on the ack the node leaves the group and exits.  Past ``shutdown-escalation``
  it exits anyway.

Local lifecycle (transition table :data:`TRANSITIONS`)::

    STARTING --confchg with self--> RUNNING --shutdown request--> STOPPING
    STARTING/RUNNING --corosync gone--> STOPPED      STOPPING --ack/escalation--> STOPPED
    STARTING/RUNNING --corrupt CIB, no copy within corrupt_wait--> FAILED

Inputs are the transport's event dataclasses (:class:`ConfChange`,
:class:`Deliver`, :class:`QuorumChange`, :class:`TransportClosed`) plus
:class:`Tick` and :class:`LocalRequest`; :meth:`DaemonCore.step` returns the
list of actions for the outer loop to carry out, in order.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from tandem.cib.rules import parse_interval_ms
from tandem.corosync.transport import ConfChange, Deliver, QuorumChange, TransportClosed
from tandem.daemon import cibops
from tandem.errors import CibError, Report, TandemError

GROUP = "tandem"
DAEMON_VERSION = "tandem-0.1.0"


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Tick:
    """Logical clock: ``now`` is monotonic seconds (only compared with earlier ticks);
    ``wall`` is wall-clock time, only ever *carried* in messages (timestamps)."""

    now: float
    wall: float = 0.0


@dataclass(frozen=True)
class LocalRequest:
    """A request from a local client; ``wall`` is the wall-clock time it arrived."""

    req_id: int
    cmd: str
    args: dict[str, Any] = field(default_factory=dict)
    wall: float = 0.0


Event = ConfChange | Deliver | QuorumChange | TransportClosed | Tick | LocalRequest


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Multicast:
    payload: bytes


@dataclass(frozen=True)
class Persist:
    """Write this configuration (status stripped) to stable storage."""

    xml: str
    version: cibops.Version


@dataclass(frozen=True)
class Reply:
    req_id: int
    ok: bool
    result: Any = None
    reports: tuple[Report, ...] = ()


@dataclass(frozen=True)
class Log:
    level: str
    text: str


@dataclass(frozen=True)
class CibChanged:
    """The live CIB changed (hook for the controller: re-run the scheduler)."""

    version: cibops.Version
    config_changed: bool


@dataclass(frozen=True)
class LeaveAndExit:
    code: int
    reason: str


@dataclass(frozen=True)
class ViewChanged:
    """Who is DC and which nodes are online changed (hook for the controller).

    ``incarnations`` gives each online node's tandemd pid: a new value means
    that node's daemon restarted (its resources must be re-probed).
    """

    dc: str | None
    online: tuple[str, ...]
    incarnations: tuple[tuple[str, int], ...]
    i_am_dc: bool


Action = Multicast | Persist | Reply | Log | CibChanged | LeaveAndExit | ViewChanged


# --------------------------------------------------------------------------- lifecycle


class Phase(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


TRANSITIONS: dict[Phase, dict[str, Phase]] = {
    Phase.STARTING: {
        "joined": Phase.RUNNING,
        "shutdown": Phase.STOPPED,
        "corosync-gone": Phase.STOPPED,
        "no-valid-cib": Phase.FAILED,
    },
    Phase.RUNNING: {
        "shutdown": Phase.STOPPING,
        "corosync-gone": Phase.STOPPED,
        "no-valid-cib": Phase.FAILED,
    },
    Phase.STOPPING: {
        "acked": Phase.STOPPED,
        "escalated": Phase.STOPPED,
        "corosync-gone": Phase.STOPPED,
    },
    Phase.STOPPED: {},
    Phase.FAILED: {},
}


class IllegalTransition(TandemError):
    default_code = "DAEMON_ILLEGAL_TRANSITION"


@dataclass
class Peer:
    """What this node knows about one node of the cluster (identical on every member)."""

    nodeid: int
    name: str
    member: bool = False
    pid: int = 0
    synced: bool = False
    shutting_down: bool = False
    shutdown_ts: float = 0.0
    acked: bool = False
    left_cleanly: bool = False
    seen: bool = False  # has ever been a member while we watched


@dataclass
class Round:
    """One join-sync round, opened by a confchg."""

    members: tuple[tuple[int, int], ...]
    offers: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    awaiting_from: tuple[int, int] | None = None  # sync sender once decided


def _encode(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode()


class DaemonCore:
    """One node's replicated CIB, membership view, DC choice and shutdown logic.

    ``cib_xml`` is what storage loaded (None: no file, a fresh empty CIB);
    ``disk_problem`` says why the file could not be used (corrupt, bad digest):
    the node then takes the cluster's copy.  ``nodelist`` is corosync's
    configured nodes ``{nodeid: name}``.
    """

    def __init__(
        self,
        *,
        nodeid: int,
        pid: int,
        name: str,
        nodelist: dict[int, str] | None = None,
        cluster_name: str = "",
        cib_xml: str | None = None,
        disk_problem: str | None = None,
        now: float = 0.0,
        corrupt_wait: float = 10.0,
        shutdown_escalation: float = 1200.0,
    ) -> None:
        self.nodeid = nodeid
        self.pid = pid
        self.name = name
        self.cluster_name = cluster_name
        self.nodelist = dict(nodelist or {nodeid: name})
        self.nodelist.setdefault(nodeid, name)
        self.phase = Phase.STARTING
        self.now = now
        self.wall = 0.0
        self.started_at = now
        self.corrupt_wait = corrupt_wait
        self.shutdown_escalation = shutdown_escalation
        self.shutdown_deadline: float | None = None
        self.shutdown_ts = 0.0
        self.disk_problem = disk_problem
        self.valid = disk_problem is None
        self.cib = cibops.parse(cib_xml) if (cib_xml and self.valid) else cibops.empty()
        status = self.cib.find("status")
        for child in list(status):
            status.remove(child)
        self.persisted: cibops.Version = cibops.version_of(self.cib) if cib_xml else (-1, -1, -1)
        self.synced = False
        self.quorate = False
        self.dc: int | None = None
        self.peers: dict[int, Peer] = {n: Peer(n, nm) for n, nm in sorted(self.nodelist.items())}
        self.members: tuple[tuple[int, int], ...] = ()
        self.round: Round | None = None
        self.queue: list[tuple[tuple[int, int], dict[str, Any]]] = []
        self.pending: dict[int, str] = {}  # req_id -> cmd awaiting delivery
        self.last_decision = "starting"
        self._last_view: ViewChanged | None = None
        self._out: list[Action] = []

    # ------------------------------------------------------------------ plumbing

    def _go(self, trigger: str) -> None:
        table = TRANSITIONS[self.phase]
        if trigger not in table:
            raise IllegalTransition(
                f"can't handle '{trigger}' when node={self.name} and phase={self.phase.value}"
            )
        self.phase = table[trigger]

    def _emit(self, action: Action) -> None:
        self._out.append(action)

    def _log(self, text: str, level: str = "info") -> None:
        self.last_decision = text
        self._emit(Log(level, text))

    def _mcast(self, msg: dict[str, Any]) -> None:
        self._emit(Multicast(_encode(msg)))

    def _name_of(self, nodeid: int | None) -> str | None:
        if nodeid is None:
            return None
        peer = self.peers.get(nodeid)
        return peer.name if peer else f"node{nodeid}"

    @property
    def me(self) -> tuple[int, int]:
        return (self.nodeid, self.pid)

    # ------------------------------------------------------------------ entry point

    def step(self, event: Event) -> list[Action]:
        """Feed one event; return the actions to carry out, in order."""
        self._out = []
        if self.phase in (Phase.STOPPED, Phase.FAILED):
            if isinstance(event, LocalRequest):
                self._reply_error(event.req_id, "NOT_RUNNING", "tandemd is stopping")
            return self._out
        if isinstance(event, ConfChange):
            if event.group == GROUP:
                self._on_confchg(event)
        elif isinstance(event, Deliver):
            if event.group == GROUP:
                self._on_deliver(event)
        elif isinstance(event, QuorumChange):
            self._on_quorum(event.quorate)
        elif isinstance(event, TransportClosed):
            self._fail_pending("corosync stopped before the change was applied")
            self._go("corosync-gone")
            self._emit(LeaveAndExit(1, f"corosync went away: {event.reason}"))
        elif isinstance(event, Tick):
            self._on_tick(event.now, event.wall)
        elif isinstance(event, LocalRequest):
            self._on_request(event)
        return self._out

    # ------------------------------------------------------------------ membership

    def _on_confchg(self, ev: ConfChange) -> None:
        members = tuple(sorted((m.nodeid, m.pid) for m in ev.members))
        if self.me not in members:
            return  # our own leave: the outer loop exits on LeaveAndExit
        if self.phase is Phase.STARTING:
            self._go("joined")
        left = {(m.nodeid, m.pid) for m in ev.left}
        self.members = members
        member_ids = {n for n, _ in members}
        for peer in self.peers.values():
            was = peer.member
            peer.member = peer.nodeid in member_ids
            if was and not peer.member:
                peer.left_cleanly = peer.acked
                peer.synced = False
                peer.shutting_down = False
                peer.acked = False
        for n, p in members:
            peer = self._peer(n)
            if peer.pid != p:
                peer.synced = False
            peer.pid = p
            peer.seen = True
        # A new round.  Changes queued by an unfinished round are dropped by every
        # member alike (a node that just joined never saw them); their senders
        # multicast them again, so they land in this round's queue.
        discarded, self.queue = self.queue, []
        self.round = Round(members=members)
        if self.dc is not None and (self.dc not in member_ids or not self.peers[self.dc].synced):
            self.dc = None
        self._mcast(
            {
                "t": "offer",
                "name": self.name,
                "version": list(cibops.version_of(self.cib)) if self.valid else None,
                "digest": cibops.full_digest(self.cib) if self.valid else None,
                "synced": self.synced,
                "nodes": sorted([n, nm] for n, nm in self.nodelist.items()),
                "cluster_name": self.cluster_name,
                "shutting_down": self.phase is Phase.STOPPING,
                "shutdown_ts": self.shutdown_ts,
                "ts": self.wall,
            }
        )
        for sender, msg in discarded:
            if sender == self.me:
                self._mcast(msg)
        self._emit_view()
        names = ", ".join(self._name_of(n) or "?" for n in sorted(member_ids))
        gone = ", ".join(sorted(self._name_of(n) or "?" for n, _ in left))
        self._log(f"membership is now [{names}]" + (f" ({gone} left)" if gone else ""))

    def _peer(self, nodeid: int) -> Peer:
        if nodeid not in self.peers:
            self.peers[nodeid] = Peer(nodeid, f"node{nodeid}")
        return self.peers[nodeid]

    # ------------------------------------------------------------------ delivery

    def _on_deliver(self, ev: Deliver) -> None:
        try:
            msg = json.loads(ev.payload)
        except ValueError:
            self._log(f"ignored an undecodable message from node {ev.sender_nodeid}", "warning")
            return
        sender = (ev.sender_nodeid, ev.sender_pid)
        kind = msg.get("t")
        if kind == "offer":
            self._on_offer(sender, msg)
        elif kind == "sync":
            self._on_sync(sender, msg)
        elif self.round is not None or not self.synced:
            self.queue.append((sender, msg))
        else:
            self._apply_msg(sender, msg)

    def _on_offer(self, sender: tuple[int, int], msg: dict[str, Any]) -> None:
        rnd = self.round
        if rnd is None or sender not in rnd.members:
            return
        rnd.offers[sender] = msg
        if len(rnd.offers) < len(rnd.members) or rnd.awaiting_from is not None:
            return
        valid = [(s, o) for s, o in rnd.offers.items() if o.get("version") is not None]
        if not valid:
            self._log("no member has a valid CIB: waiting for a node with a good copy", "warning")
            return
        best_sender, best = max(
            valid, key=lambda so: (tuple(so[1]["version"]), bool(so[1].get("synced")), -so[0][0])
        )
        same = len(valid) == len(rnd.offers) and all(
            o["version"] == best["version"] and o.get("digest") == best.get("digest")
            for _, o in valid
        )
        if same:
            self._finish_round(
                f"all {len(rnd.members)} members have CIB {cibops.version_str(best['version'])}"
            )
            return
        rnd.awaiting_from = best_sender
        if best_sender == self.me:
            self._mcast({"t": "sync", "xml": cibops.to_text(self.cib, pretty=False)})

    def _on_sync(self, sender: tuple[int, int], msg: dict[str, Any]) -> None:
        rnd = self.round
        if rnd is None or rnd.awaiting_from != sender:
            return
        if sender != self.me:
            new = cibops.parse(str(msg["xml"]), source=f"CIB from {self._name_of(sender[0])}")
            for attr in ("have-quorum",):
                new.attrib.pop(attr, None)
            self.cib = new
            self.valid = True
            self._set_quorum_attr()
            self._persist_if_needed()
            self._emit(CibChanged(cibops.version_of(self.cib), True))
        self._finish_round(
            f"took CIB {cibops.version_str(cibops.version_of(self.cib))} from {self._name_of(sender[0])}"
        )

    def _finish_round(self, why: str) -> None:
        rnd = self.round
        assert rnd is not None
        self.round = None
        self.synced = True
        self.valid = True
        if self.disk_problem:
            self._log(
                f"replaced the unusable CIB file ({self.disk_problem}) with the cluster's copy"
            )
            self.disk_problem = None
            self._persist_if_needed(force=True)
        # Everything below depends only on the offers (identical on every member).
        names: dict[int, str] = {}
        for offer in rnd.offers.values():
            for n, nm in offer.get("nodes") or []:
                names.setdefault(int(n), str(nm))
        cluster_names = sorted(
            {str(o.get("cluster_name") or "") for o in rnd.offers.values()} - {""}
        )
        for sender, offer in sorted(rnd.offers.items()):
            peer = self._peer(sender[0])
            peer.synced = True
            peer.name = str(offer.get("name") or peer.name)
            names[sender[0]] = peer.name
            peer.shutting_down = bool(offer.get("shutting_down"))
            peer.shutdown_ts = float(offer.get("shutdown_ts") or 0)
        for n, nm in names.items():
            if n not in self.peers:
                self.peers[n] = Peer(n, nm)
        if cluster_names:
            self.cluster_name = cluster_names[0]
        ts = max(float(o.get("ts") or 0) for o in rnd.offers.values())
        self._bootstrap_config(names, ts)
        self._choose_dc()
        self._rebuild_status()
        self._log(f"in sync: {why}; DC is {self._name_of(self.dc)}")
        self._emit_view()
        queued, self.queue = self.queue, []
        for sender, msg in queued:
            if self.round is not None:  # a message in the queue cannot open a round, but be safe
                self.queue.append((sender, msg))
                continue
            self._apply_msg(sender, msg)
        self._ack_shutdowns()

    def _bootstrap_config(self, names: dict[int, str], ts: float) -> None:
        """What Pacemaker's DC writes at join: node entries and cib-bootstrap-options.

        Done identically by every member at the end of a round (same CIB, same
        inputs), so it needs no message of its own.
        """
        ops: list[dict[str, Any]] = []
        nodes = self.cib.find("configuration/nodes")
        known = {e.get("id") for e in nodes.findall("node")} if nodes is not None else set()
        known_names = (
            {e.get("uname") for e in nodes.findall("node")} if nodes is not None else set()
        )
        for n, name in sorted(names.items()):
            if str(n) not in known and name not in known_names:
                ops.append(
                    {"op": "create", "parent": "nodes", "xml": f'<node id="{n}" uname="{name}"/>'}
                )
        wanted = {
            "have-watchdog": "false",
            "dc-version": DAEMON_VERSION,
            "cluster-infrastructure": "corosync",
        }
        if self.cluster_name:
            wanted["cluster-name"] = self.cluster_name
        props = self.cib.find(
            "configuration/crm_config/cluster_property_set[@id='cib-bootstrap-options']"
        )
        current = {}
        if props is not None:
            current = {nv.get("name"): nv.get("value") for nv in props.findall("nvpair")}
        changed = {k: v for k, v in wanted.items() if current.get(k) != v}
        if changed:
            pairs = "".join(
                f'<nvpair id="cib-bootstrap-options-{k}" name="{k}" value="{v}"/>'
                for k, v in changed.items()
            )
            ops.append(
                {
                    "op": "modify",
                    "parent": "crm_config",
                    "xml": f'<cluster_property_set id="cib-bootstrap-options">{pairs}</cluster_property_set>',
                }
            )
        if not ops:
            return
        try:
            self.cib = cibops.apply_ops(
                self.cib, ops, origin=self._name_of(self._lowest_member()) or "", ts=ts
            )
        except CibError as exc:
            self._log(f"could not record nodes/cluster options in the CIB: {exc}", "warning")
            return
        self._persist_if_needed()
        self._emit(CibChanged(cibops.version_of(self.cib), True))

    def _lowest_member(self) -> int | None:
        return min((n for n, _ in self.members), default=None)

    def _emit_view(self) -> None:
        online = sorted((p.name, p.pid) for p in self.peers.values() if p.member and p.synced)
        view = ViewChanged(
            self._name_of(self.dc),
            tuple(n for n, _ in online),
            tuple(online),
            self.dc == self.nodeid,
        )
        if view != self._last_view:
            self._last_view = view
            self._emit(view)

    def _choose_dc(self) -> None:
        synced = [p.nodeid for p in self.peers.values() if p.member and p.synced]
        willing = [n for n in synced if not self.peers[n].shutting_down]
        new = min(willing or synced, default=None)
        if new != self.dc:
            old = self.dc
            self.dc = new
            self._log(f"DC is now {self._name_of(new)} (was {self._name_of(old)})")
        if self.dc is not None:
            self.cib.set("dc-uuid", str(self.dc))
        else:
            self.cib.attrib.pop("dc-uuid", None)

    # ------------------------------------------------------------------ status section

    def _rebuild_status(self) -> None:
        """node_state entries from membership: deterministic on every synced member."""
        status = self.cib.find("status")
        before = etree.tostring(status)
        by_id = {e.get("id"): e for e in status.findall("node_state")}
        for peer in sorted(self.peers.values(), key=lambda p: p.nodeid):
            el = by_id.get(str(peer.nodeid))
            if el is None:
                if not peer.member:
                    continue
                el = etree.SubElement(status, "node_state", id=str(peer.nodeid))
            el.set("uname", peer.name)
            if peer.member:
                el.set("in_ccm", "true")
                el.set("crmd", "online")
                el.set("crm-debug-origin", "tandem-join")
                el.set("join", "member" if peer.synced else "pending")
                el.set("expected", "down" if peer.shutting_down else "member")
            else:
                el.set("in_ccm", "false")
                el.set("crmd", "offline")
                el.set("crm-debug-origin", "tandem-leave")
                # As Pacemaker: only a clean (acknowledged) leave, or fencing, marks
                # the node down; a lost node keeps join/expected "member", which the
                # scheduler reads as UNCLEAN (offline) when fencing is enabled.
                if peer.left_cleanly:
                    el.set("join", "down")
                    el.set("expected", "down")
                # a node that left: its transient attributes go (Pacemaker clears them)
                for ta in el.findall("transient_attributes"):
                    el.remove(ta)
            self._set_transient(el, peer)
        if etree.tostring(status) != before:
            a, e, n = cibops.version_of(self.cib)
            cibops.set_version(self.cib, (a, e, n + 1))
            self._emit(CibChanged(cibops.version_of(self.cib), False))

    def _set_transient(self, el: etree._Element, peer: Peer) -> None:
        if not peer.member:
            return
        ta = el.find("transient_attributes")
        if peer.shutting_down:
            if ta is None:
                ta = etree.SubElement(el, "transient_attributes", id=str(peer.nodeid))
            ia = ta.find("instance_attributes")
            if ia is None:
                ia = etree.SubElement(ta, "instance_attributes", id=f"status-{peer.nodeid}")
            nv = ia.find("nvpair[@name='shutdown']")
            if nv is None:
                nv = etree.SubElement(
                    ia, "nvpair", id=f"status-{peer.nodeid}-shutdown", name="shutdown"
                )
            nv.set("value", str(int(peer.shutdown_ts)))
        elif ta is not None:
            for nv in ta.findall("instance_attributes/nvpair[@name='shutdown']"):
                nv.getparent().remove(nv)

    # ------------------------------------------------------------------ applying messages

    def _apply_msg(self, sender: tuple[int, int], msg: dict[str, Any]) -> None:
        kind = msg.get("t")
        origin = self._name_of(sender[0]) or "?"
        mine = sender == self.me
        req_id = msg.get("req")
        if kind in ("ops", "push"):
            try:
                if kind == "ops":
                    # status-only batches (operation records) change the live tree
                    new, config_changed = cibops.apply_ops_live(
                        self.cib,
                        list(msg.get("ops") or []),
                        origin=origin,
                        ts=float(msg.get("ts", 0)),
                    )
                else:
                    pushed = cibops.parse(str(msg.get("xml", "")), source="pushed CIB")
                    new = cibops.push(self.cib, pushed, origin=origin, ts=float(msg.get("ts", 0)))
                    config_changed = cibops.config_text(new) != cibops.config_text(self.cib)
            except CibError as exc:
                if mine and isinstance(req_id, int):
                    self.pending.pop(req_id, None)
                    self._emit(Reply(req_id, False, None, exc.reports))
                return
            self.cib = new
            self._persist_if_needed()
            self._emit(CibChanged(cibops.version_of(self.cib), config_changed))
            if mine and isinstance(req_id, int):
                self.pending.pop(req_id, None)
                self._emit(
                    Reply(
                        req_id, True, {"version": cibops.version_str(cibops.version_of(self.cib))}
                    )
                )
        elif kind == "shutdown":
            peer = self._peer(sender[0])
            if not peer.member:
                return
            peer.shutting_down = True
            peer.shutdown_ts = float(msg.get("ts", 0))
            self._log(f"{peer.name} announced its shutdown")
            self._choose_dc()
            self._rebuild_status()
            self._emit_view()
            self._ack_shutdowns()
        elif kind == "shutdown-ack":
            target = int(msg.get("node", 0))
            peer = self._peer(target)
            if not peer.shutting_down or peer.acked:
                return
            peer.acked = True
            if target == self.nodeid and self.phase is Phase.STOPPING:
                self._go("acked")
                self._fail_pending("tandemd is shutting down")
                self._emit(LeaveAndExit(0, f"clean shutdown acknowledged by DC {origin}"))

    def resources_released(self, node: str) -> bool:
        """Controller hook: True once no resource is active on node ``node`` any more.

        The DC only acknowledges a node's shutdown when this is true.  Until the
        controller (issue 5) exists no resource ever runs, so the answer is yes;
        the controller will override this and call :meth:`recheck_shutdowns`
        when its transition that stops/moves the node's resources completes.
        """
        return True

    def recheck_shutdowns(self) -> list[Action]:
        """Re-evaluate pending shutdown acks (controller calls this; returns actions)."""
        self._out = []
        self._ack_shutdowns()
        return self._out

    def _ack_shutdowns(self) -> None:
        if self.dc != self.nodeid or self.round is not None:
            return
        for peer in self.peers.values():
            if (
                peer.member
                and peer.shutting_down
                and not peer.acked
                and self.resources_released(peer.name)
            ):
                self._mcast({"t": "shutdown-ack", "node": peer.nodeid})

    # ------------------------------------------------------------------ quorum, persistence

    def _on_quorum(self, quorate: bool) -> None:
        if quorate != self.quorate:
            self._log(f"partition {'has' if quorate else 'lost'} quorum")
        self.quorate = quorate
        self._set_quorum_attr()

    def _set_quorum_attr(self) -> None:
        self.cib.set("have-quorum", "1" if self.quorate else "0")

    def _persist_if_needed(self, force: bool = False) -> None:
        v = cibops.version_of(self.cib)
        if force or v[:2] != self.persisted[:2]:
            self.persisted = v
            self._emit(Persist(cibops.to_text(cibops.strip_status(self.cib)), v))

    # ------------------------------------------------------------------ timer

    def _on_tick(self, now: float, wall: float) -> None:
        self.now = now
        self.wall = wall
        if (
            not self.synced
            and not self.valid
            and now - self.started_at >= self.corrupt_wait
            and self.phase in (Phase.STARTING, Phase.RUNNING)
        ):
            self._go("no-valid-cib")
            self._emit(
                LeaveAndExit(
                    2,
                    f"the CIB on disk is unusable ({self.disk_problem}) and no running node has a "
                    f"good copy to give after {self.corrupt_wait:g} s: refusing to start; start "
                    "another node of the cluster first, or restore a previous version (cib-N.xml "
                    "beside the file) and start again",
                )
            )
            return
        if (
            self.phase is Phase.STOPPING
            and self.shutdown_deadline is not None
            and now >= self.shutdown_deadline
        ):
            self._go("escalated")
            self._fail_pending("tandemd is shutting down")
            self._emit(
                LeaveAndExit(
                    0,
                    f"shutdown-escalation ({self._escalation():g} s) reached before the DC "
                    "acknowledged the shutdown: leaving anyway",
                )
            )

    # ------------------------------------------------------------------ local requests

    def _escalation(self) -> float:
        """shutdown-escalation from the CIB's cluster options (seconds), else the default."""
        value = None
        for nv in self.cib.iterfind("configuration/crm_config/cluster_property_set/nvpair"):
            if nv.get("name") == "shutdown-escalation":
                value = nv.get("value")
        ms = parse_interval_ms(value, int(self.shutdown_escalation * 1000))
        return ms / 1000 if ms > 0 else self.shutdown_escalation

    def _reply_error(self, req_id: int, code: str, message: str) -> None:
        self._emit(Reply(req_id, False, None, (Report(code, message, {"node": self.name}),)))

    def _fail_pending(self, why: str) -> None:
        for req_id in sorted(self.pending):
            self._reply_error(req_id, "CIB_CHANGE_ABORTED", f"the change was not confirmed: {why}")
        self.pending.clear()

    def _on_request(self, req: LocalRequest) -> None:
        cmd = req.cmd
        self.wall = max(self.wall, req.wall)
        if cmd == "get_cib":
            self._emit(Reply(req.req_id, True, cibops.to_text(self.cib)))
        elif cmd == "info":
            self._emit(Reply(req.req_id, True, self.info()))
        elif cmd in ("apply", "replace"):
            # A stopping node is still a member: it must record the results of the
            # stops the DC asks of it before it leaves.
            if self.phase not in (Phase.RUNNING, Phase.STOPPING):
                self._reply_error(
                    req.req_id,
                    "CLUSTER_NOT_READY",
                    f"tandemd on {self.name} is {self.phase.value}: it cannot take changes now",
                )
                return
            try:
                if cmd == "apply":
                    ops = req.args.get("ops")
                    if not isinstance(ops, list):
                        raise CibError("'ops' must be a list of operations")
                    cibops.check_ops(self.cib, ops)  # early check: refuse before multicasting
                    msg = {"t": "ops", "req": req.req_id, "ops": ops, "ts": req.wall}
                else:
                    pushed = cibops.parse(str(req.args.get("xml", "")), source="pushed CIB")
                    cibops.push(self.cib, pushed, origin=self.name, ts=req.wall)
                    msg = {
                        "t": "push",
                        "req": req.req_id,
                        "xml": cibops.to_text(pushed, False),
                        "ts": req.wall,
                    }
            except CibError as exc:
                self._emit(Reply(req.req_id, False, None, exc.reports))
                return
            self.pending[req.req_id] = cmd
            self._mcast(msg)
        elif cmd == "shutdown":
            if self.phase is Phase.STARTING:
                self._go("shutdown")
                self._emit(Reply(req.req_id, True, {"state": "stopped"}))
                self._emit(LeaveAndExit(0, "shutdown requested before joining the cluster"))
                return
            if self.phase is Phase.RUNNING:
                self._go("shutdown")
                self.shutdown_deadline = self.now + self._escalation()
                self.shutdown_ts = req.wall
                self._mcast({"t": "shutdown", "ts": req.wall})
                self._log("shutdown requested: announcing it to the DC")
            self._emit(Reply(req.req_id, True, {"state": self.phase.value}))
        else:
            self._reply_error(req.req_id, "UNKNOWN_REQUEST", f"unknown request '{cmd}'")

    # ------------------------------------------------------------------ views

    def info(self) -> dict[str, Any]:
        """The status summary the CLI shows (and the tests compare across nodes)."""
        nodes = []
        for peer in sorted(self.peers.values(), key=lambda p: p.nodeid):
            nodes.append(
                {
                    "id": peer.nodeid,
                    "name": peer.name,
                    "online": peer.member and peer.synced,
                    "member": peer.member,
                    "shutting_down": peer.shutting_down,
                }
            )
        return {
            "name": self.name,
            "nodeid": self.nodeid,
            "cluster_name": self.cluster_name,
            "phase": self.phase.value,
            "synced": self.synced,
            "members": [self._name_of(n) for n, _ in self.members],
            "dc": self._name_of(self.dc),
            "quorate": self.quorate,
            "version": cibops.version_str(cibops.version_of(self.cib)),
            "digest": cibops.config_digest(self.cib),
            "nodes": nodes,
            "last_decision": self.last_decision,
            "daemon_version": DAEMON_VERSION,
        }
