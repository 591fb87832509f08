"""Status unpacking: what the cluster looks like right now.

Why separate from the model: the configuration says what *should* be; the
status section (``node_state``, ``lrm_rsc_op`` history, transient attributes)
says what *is*.  This module reads the status into plain facts the scheduler
and the status renderer share: which nodes are online/offline/unclean, in
standby, shutting down or in maintenance; where each resource is active and
in which role; which operations failed (rc codes and op-status as the OCF spec
and Pacemaker define them); fail counts; quorum.

Entry point: ``unpack_status(cib, now) -> ClusterState``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tandem.cib.model import Cib, Primitive, resolve
from tandem.cib.options import ClusterOptions, is_true
from tandem.cib.rules import RuleContext, parse_interval_ms
from tandem.cib.scores import INFINITY, clamp

# OCF return codes
OCF_OK = 0
OCF_ERR_GENERIC = 1
OCF_ERR_ARGS = 2
OCF_ERR_UNIMPLEMENTED = 3
OCF_ERR_PERM = 4
OCF_ERR_INSTALLED = 5
OCF_ERR_CONFIGURED = 6
OCF_NOT_RUNNING = 7
OCF_RUNNING_PROMOTED = 8
OCF_FAILED_PROMOTED = 9
OCF_DEGRADED = 190
OCF_DEGRADED_PROMOTED = 191

# LSB "status" exit codes meaning "not running" (dead with pid file, dead with lock, stopped)
LSB_STATUS_NOT_RUNNING = (1, 2, 3)

# op-status (Pacemaker's execution status)
PCMK_EXEC_PENDING = -1
PCMK_EXEC_DONE = 0
PCMK_EXEC_CANCELLED = 1
PCMK_EXEC_TIMEOUT = 2
PCMK_EXEC_NOT_SUPPORTED = 3
PCMK_EXEC_ERROR = 4
PCMK_EXEC_ERROR_HARD = 5
PCMK_EXEC_ERROR_FATAL = 6
PCMK_EXEC_NOT_INSTALLED = 7
PCMK_EXEC_NOT_CONNECTED = 8
PCMK_EXEC_INVALID = 9
PCMK_EXEC_NO_FENCE_DEVICE = 10
PCMK_EXEC_NO_SECRETS = 11

ROLE_UNKNOWN = "Unknown"
ROLE_STOPPED = "Stopped"
ROLE_STARTED = "Started"
ROLE_UNPROMOTED = "Unpromoted"
ROLE_PROMOTED = "Promoted"
ROLE_RANK = {ROLE_UNKNOWN: 0, ROLE_STOPPED: 1, ROLE_STARTED: 2, ROLE_UNPROMOTED: 3, ROLE_PROMOTED: 4}
_ROLE_ALIASES = {"slave": ROLE_UNPROMOTED, "master": ROLE_PROMOTED}


def norm_role(text: str | None) -> str | None:
    if text is None:
        return None
    t = text.strip()
    if t.lower() in _ROLE_ALIASES:
        return _ROLE_ALIASES[t.lower()]
    for r in ROLE_RANK:
        if r.lower() == t.lower():
            return r
    return None


@dataclass
class NodeInfo:
    id: str
    uname: str
    online: bool = False
    unclean: bool = False
    pending: bool = False
    standby: bool = False
    shutdown: bool = False
    maintenance: bool = False
    expected_up: bool = False
    has_state: bool = False
    fence_reason: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    # fail counts: rsc id -> count; last failure: rsc id -> epoch seconds
    fail_counts: dict[str, int] = field(default_factory=dict)
    last_failure: dict[str, int] = field(default_factory=dict)
    # the same per operation: rsc id -> "monitor_10000" (or "" for old-style names) -> count
    fail_count_ops: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        """Can resources be placed here (Pacemaker's pcmk__node_available)?"""
        return self.online and not self.unclean and not self.standby and not self.shutdown and not self.maintenance


@dataclass(slots=True)
class OpRecord:
    id: str
    task: str
    interval_ms: int
    rc: int
    status: int
    call_id: int
    expected_rc: int | None
    digest: str | None
    restart_digest: str | None
    last_rc_change: int | None
    exec_time: int | None
    element: object = None

    @property
    def is_probe(self) -> bool:
        return self.task == "monitor" and self.interval_ms == 0

    @property
    def key(self) -> str:
        return f"{self.task}_{self.interval_ms}"


@dataclass(slots=True)
class RscHistory:
    """One resource's operation history on one node, digested."""

    rsc_id: str
    node: str
    ops: list[OpRecord]
    role: str = ROLE_UNKNOWN
    failed: bool = False
    failed_op: OpRecord | None = None
    on_fail: str | None = None
    pending: OpRecord | None = None
    probed: bool = False
    # recurring monitors that are active (key -> record)
    active_monitors: dict[str, OpRecord] = field(default_factory=dict)
    last_start: OpRecord | None = None
    failures: list[OpRecord] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return ROLE_RANK[self.role] > ROLE_RANK[ROLE_STOPPED]


@dataclass
class ClusterState:
    options: ClusterOptions
    now: datetime
    have_quorum: bool
    nodes: dict[str, NodeInfo]  # by uname, config order
    history: dict[str, dict[str, RscHistory]]  # rsc id -> node -> history
    orphans: dict[str, dict[str, str]]  # lrm resources not in the configuration: id -> class/provider/type
    dc_uuid: str | None = None

    def running_on(self, rsc_id: str) -> list[str]:
        """Nodes where the resource is active.  A node that is offline and not unclean
        (lost with fencing disabled, or cleanly stopped) runs nothing, whatever its old
        history says: crm_mon/crm_simulate do not list it, and the scheduler counts its
        resources as stopped."""
        out = []
        for n, h in self.history.get(rsc_id, {}).items():
            info = self.nodes.get(n)
            if h.active and (info is None or info.online or info.unclean):
                out.append(n)
        return out

    def role_of(self, rsc_id: str) -> str:
        best = ROLE_STOPPED
        for h in self.history.get(rsc_id, {}).values():
            if ROLE_RANK[h.role] > ROLE_RANK[best]:
                best = h.role
        return best


def _int(v: str | None, default: int = 0) -> int:
    if v is None:
        return default
    try:
        return int(v)
    except ValueError:
        return default


def _truthy_state(v: str | None) -> bool:
    """in_ccm/crmd may be true/false, online/offline, or (3.x) a join timestamp."""
    if v is None:
        return False
    low = v.lower()
    if low in ("true", "online", "yes", "1", "member"):
        return True
    if low.isdigit():
        return int(low) > 0
    return False


def _expected_rc(key: str | None, get: Callable[[str], str | None]) -> int | None:
    """The rc the controller expected: third field of the transition key."""
    if not key:
        magic = get("transition-magic")
        if magic and ";" in magic:
            key = magic.split(";", 1)[1]
    if key:
        parts = key.split(":", 3)
        if len(parts) >= 3:
            try:
                return int(parts[2])
            except ValueError:
                return None
    return None


def node_attributes(cib: Cib, now: datetime) -> dict[str, dict[str, str]]:
    """Configured (rule-evaluated) plus transient attributes for every known node."""
    out: dict[str, dict[str, str]] = {}
    dc = cib.attrs.get("dc-uuid")
    cluster_name = cib.properties(RuleContext(now=now)).get("cluster-name")
    for n in cib.nodes:
        base = {"#uname": n.uname, "#id": n.id, "#kind": "cluster",
                "#is_dc": "true" if dc is not None and n.id == dc else "false"}
        if cluster_name:
            base["#cluster-name"] = cluster_name
        ctx = RuleContext(now=now, node_attrs=base)
        attrs = resolve(n.attr_sets, ctx)
        attrs.update(base)
        out[n.uname] = attrs
    return out


def unpack_status(cib: Cib, now: datetime | None = None) -> ClusterState:
    now = now or datetime.now(UTC)
    ctx = RuleContext(now=now)
    options = ClusterOptions(cib.properties(ctx))
    fencing = options.fencing_enabled
    nodes: dict[str, NodeInfo] = {}
    by_id: dict[str, NodeInfo] = {}
    attrs_by_node = node_attributes(cib, now)
    for n in cib.nodes:
        if n.type not in ("member", "normal", "", None) and n.type != "cluster":  # noqa: SIM102
            if n.type in ("remote", "ping"):
                continue
        info = NodeInfo(id=n.id, uname=n.uname, attrs=attrs_by_node.get(n.uname, {}))
        nodes[n.uname] = info
        by_id[n.id] = info
    history: dict[str, dict[str, RscHistory]] = {}
    orphans: dict[str, dict[str, str]] = {}
    config_prims: dict[str, Primitive] = {p.id: p for p in cib.primitives()}
    dc = cib.attrs.get("dc-uuid")

    status = cib.status
    seen: set[str] = set()
    if status is not None:
        for ns in status.iterfind("node_state"):
            nid = ns.get("id", "")
            info = by_id.get(nid)
            if info is None:
                uname = ns.get("uname")
                info = nodes.get(uname or "")
            if info is None:
                continue
            seen.add(info.uname)
            info.has_state = True
            in_ccm = _truthy_state(ns.get("in_ccm"))
            crmd = _truthy_state(ns.get("crmd"))
            join = ns.get("join", "down")
            expected = ns.get("expected", "down")
            info.expected_up = expected == "member"
            old_sd = ns.get("shutdown")  # older CIBs record the shutdown request here
            if old_sd and old_sd not in ("0", "false"):
                info.attrs.setdefault("shutdown", old_sd)
            if in_ccm and crmd and join == "member":
                info.online = True
            elif in_ccm and crmd:
                info.pending = True
            elif fencing and expected == "member":
                info.unclean = True
                info.fence_reason = (
                    "peer is no longer part of the cluster"
                    if not in_ccm
                    else "peer process is no longer available"
                )
            elif in_ccm and not crmd and ns.get("expected") is None and ns.get("crmd") is not None:
                info.pending = True
            if info.pending and fencing:
                # node-pending-timeout: a node that joined the membership (in_ccm holds
                # the time it did) but never joined the controller's group is fenced
                timeout_ms = parse_interval_ms(options.get("node-pending-timeout"), 0)
                since = ns.get("in_ccm", "")
                if timeout_ms > 0 and since.isdigit() and now.timestamp() - int(since) >= timeout_ms / 1000:
                    info.pending = False
                    info.unclean = True
                    info.fence_reason = "peer pending timed out on joining the process group"
            # transient attributes (set at run time, e.g. standby for this boot) win
            for ta in ns.iterfind("transient_attributes"):
                for iset in ta.iterfind("instance_attributes"):
                    for nv in iset.iterfind("nvpair"):
                        name = nv.get("name")
                        if name is None or name in ("#uname", "#id", "#kind", "#is_dc"):
                            continue
                        info.attrs[name] = nv.get("value", "")
            lrm = ns.find("lrm")
            if lrm is None:
                continue
            lrs = lrm.find("lrm_resources")
            if lrs is None:
                continue
            uname = info.uname
            for lr in lrs.iterfind("lrm_resource"):
                rid = lr.get("id", "")
                only = lr.find("lrm_rsc_op")
                if only is not None and only.getnext() is None and rid in config_prims:
                    g = only.get
                    if (
                        g("operation") == "monitor"
                        and g("interval", "0") == "0"
                        and g("rc-code") == "7"
                        and g("op-status", "0") == "0"
                        and g("call-id", "-1") != "-1"
                    ):
                        # the common case on big clusters: probed, not running here
                        h = RscHistory(rsc_id=rid, node=uname, ops=[], role=ROLE_STOPPED, probed=True)
                        history.setdefault(rid, {})[uname] = h
                        continue
                ops = []
                for op in lr.iterfind("lrm_rsc_op"):
                    g = op.get  # bound once: attribute lookups dominate on big CIBs
                    ops.append(
                        OpRecord(
                            g("id", ""),
                            g("operation", ""),
                            _int(g("interval")),
                            _int(g("rc-code")),
                            _int(g("op-status")),
                            _int(g("call-id"), -1),
                            _expected_rc(g("transition-key"), g),
                            g("op-digest"),
                            g("op-restart-digest"),
                            _int(g("last-rc-change"), 0) or None,
                            None,
                            op,
                        )
                    )
                if lr.get("class") == "lsb":
                    for o in ops:
                        if o.task == "monitor" and o.rc in LSB_STATUS_NOT_RUNNING:
                            o.rc = OCF_NOT_RUNNING  # LSB status 1-3: the service is not running
                if rid not in config_prims:
                    orphans[rid] = {
                        "class": lr.get("class", ""),
                        "provider": lr.get("provider", ""),
                        "type": lr.get("type", ""),
                    }
                h = _digest_history(rid, info.uname, ops)
                history.setdefault(rid, {})[info.uname] = h

    for info in nodes.values():
        if not info.has_state and fencing and is_true(options.get("startup-fencing"), True):
            # never seen: Pacemaker treats it as unclean (offline) until fenced
            info.unclean = True
            info.fence_reason = "node is unclean"
        a = info.attrs
        info.standby = is_true(a.get("standby"))
        info.maintenance = is_true(a.get("maintenance"))
        sd = a.get("shutdown")
        info.shutdown = bool(sd) and sd not in ("0", "false")
        for name, value in a.items():
            if name.startswith("fail-count-"):
                rid, _, opkey = name[len("fail-count-"):].partition("#")
                try:
                    from tandem.cib.scores import parse as parse_score

                    v = parse_score(value)
                except Exception:
                    v = 0
                info.fail_counts[rid] = clamp(info.fail_counts.get(rid, 0) + v) if v < INFINITY else INFINITY
                per_op = info.fail_count_ops.setdefault(rid, {})
                per_op[opkey] = clamp(per_op.get(opkey, 0) + v) if v < INFINITY else INFINITY
            elif name.startswith("last-failure-"):
                rid = name[len("last-failure-"):].split("#", 1)[0]
                info.last_failure[rid] = max(info.last_failure.get(rid, 0), _int(value))

    return ClusterState(
        options=options,
        now=now,
        have_quorum=cib.have_quorum,
        nodes=nodes,
        history=history,
        orphans=orphans,
        dc_uuid=dc,
    )


HARD_RCS = {OCF_ERR_ARGS, OCF_ERR_UNIMPLEMENTED, OCF_ERR_PERM, OCF_ERR_INSTALLED}


def classify(o: OpRecord) -> str:
    """ok | not_running | failed | hard | fatal | not_installed | pending | cancelled.

    As Pacemaker's determine_op_status: an unexpected rc is a failure; rc 2-5
    are hard errors (ban the node), rc 6 is fatal (ban everywhere); a probe
    that finds the agent not installed means "stopped here, and banned".
    """
    if o.status == PCMK_EXEC_PENDING or o.call_id < 0:
        return "pending"
    if o.status == PCMK_EXEC_CANCELLED:
        return "cancelled"
    if o.status == PCMK_EXEC_NOT_INSTALLED:
        return "not_installed" if o.is_probe else "hard"
    if o.status in (PCMK_EXEC_ERROR_HARD, PCMK_EXEC_NOT_SUPPORTED, PCMK_EXEC_INVALID):
        return "hard"
    if o.status == PCMK_EXEC_ERROR_FATAL:
        return "fatal"
    if o.status not in (PCMK_EXEC_DONE, PCMK_EXEC_ERROR):
        return "failed"  # timeout...
    # done or error: the rc against the expected rc decides (Pacemaker knows better
    # than the executor whether this result is a failure)
    rc = o.rc
    expected = o.expected_rc if o.expected_rc is not None else (OCF_NOT_RUNNING if o.is_probe else OCF_OK)
    if rc == OCF_NOT_RUNNING:
        if o.is_probe or expected == OCF_NOT_RUNNING or o.task in ("stop",):
            return "not_running"
        return "failed"
    if rc in (OCF_OK, OCF_RUNNING_PROMOTED):
        if rc == expected or o.is_probe:
            return "ok"
        # e.g. a role=Stopped monitor that found it running
        return "failed" if expected == OCF_NOT_RUNNING else "ok"
    if rc in (OCF_DEGRADED, OCF_DEGRADED_PROMOTED):
        return "ok"
    if rc == OCF_ERR_INSTALLED and o.is_probe:
        return "not_installed"
    if rc == OCF_ERR_CONFIGURED:
        return "fatal"
    if rc in HARD_RCS:
        return "hard"
    return "failed"


def _digest_history(rid: str, node: str, ops: list[OpRecord]) -> RscHistory:
    """Walk one resource's ops in call order and work out its role and failures."""
    h = RscHistory(rsc_id=rid, node=node, ops=ops)
    if len(ops) == 1:
        o = ops[0]
        if o.task == "monitor" and o.interval_ms == 0 and o.rc == OCF_NOT_RUNNING and o.status == 0:
            # the common case on big clusters: probed, not running here
            h.probed = True
            h.role = ROLE_STOPPED
            return h
    done = [o for o in ops if o.status != PCMK_EXEC_PENDING and o.call_id >= 0]
    pend = [o for o in ops if o.status == PCMK_EXEC_PENDING or o.call_id < 0]
    done.sort(key=lambda o: o.call_id)
    role = ROLE_UNKNOWN
    for o in done:
        if o.is_probe:
            h.probed = True
        kind = classify(o)
        if kind == "cancelled":
            continue
        if kind == "ok":
            if o.task == "stop":
                role = ROLE_STOPPED
                h.active_monitors.clear()
            elif o.task in ("start", "migrate_from", "migrate_to"):
                role = ROLE_STARTED
                h.last_start = o
            elif o.task == "promote":
                role = ROLE_PROMOTED
            elif o.task == "demote":
                role = ROLE_UNPROMOTED
            elif o.task == "monitor":
                if o.rc == OCF_RUNNING_PROMOTED:
                    role = ROLE_PROMOTED
                elif ROLE_RANK[role] < ROLE_RANK[ROLE_STARTED]:
                    role = ROLE_STARTED
                if o.interval_ms > 0:
                    h.active_monitors[o.key] = o
                elif h.last_start is None:
                    h.last_start = o
            if o.task in ("stop", "start"):
                h.failures = [f for f in h.failures if f.task in ("promote", "demote", "migrate_to", "migrate_from")]
            continue
        if kind == "not_running":
            role = ROLE_STOPPED
            h.active_monitors.clear()
            continue
        if kind == "not_installed":
            role = ROLE_STOPPED
            h.failures.append(o)
            continue
        # a failure: the resource is (possibly) active there and must be recovered
        h.failures.append(o)
        if o.task == "promote" or o.rc in (OCF_RUNNING_PROMOTED, OCF_FAILED_PROMOTED) or o.task == "demote":
            role = ROLE_PROMOTED
        elif ROLE_RANK[role] < ROLE_RANK[ROLE_STARTED]:
            role = ROLE_STARTED
    if pend:
        h.pending = pend[-1]
        if h.pending.task in ("start", "stop", "migrate_to", "migrate_from", "demote"):
            role = ROLE_STARTED if ROLE_RANK[role] < ROLE_RANK[ROLE_STARTED] else role
        elif h.pending.task == "promote":
            role = ROLE_PROMOTED
    h.role = role if role != ROLE_UNKNOWN else ROLE_STOPPED
    h.failed = any(classify(f) != "not_installed" for f in h.failures)
    h.failed_op = h.failures[-1] if h.failures else None
    return h


def op_interval(text: str | None) -> int:
    return parse_interval_ms(text)
