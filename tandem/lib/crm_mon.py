"""The cluster status renderer, in crm_mon / crm_simulate 3.x layout.

Why one renderer: ``tandem simulate`` prints the current and revised cluster
status, and ``tandem status`` prints the live one; administrators compare
them line by line, so both come from here.  Layout (tab-separated resource
lines, as Pacemaker prints them)::

    Current cluster status:
      * Node List:
        * Online: [ node1 node2 ]
        * OFFLINE: [ node3 ]

      * Full List of Resources:
        * rsc1\t(ocf:heartbeat:apache):\t Started node1

Entry points: ``render_cluster_status(cib, state, positions=None, title=...)``
(crm_simulate's indentation; ``positions`` overrides where resources are, for
the revised status after a simulated transition: {resource id: (role,
[nodes])}) and ``crm_mon_lines(cib, state, failcounts=, detail=)`` (crm_mon's
own indentation, with its "Migration Summary" and "Failed Resource Actions"
sections; docs/status-output.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tandem.agents.ocf import rc_text
from tandem.cib.model import Bundle, Cib, Clone, Group, Primitive, Resource, resolve
from tandem.cib.options import is_true
from tandem.cib.rules import RuleContext, parse_interval_ms
from tandem.cib.scores import INFINITY
from tandem.cib.scores import parse as score_parse
from tandem.cib.unpack import (
    PCMK_EXEC_DONE,
    ROLE_PROMOTED,
    ROLE_RANK,
    ROLE_STOPPED,
    ROLE_UNPROMOTED,
    ClusterState,
    OpRecord,
    classify,
    norm_role,
)

Positions = Mapping[str, tuple[str, Sequence[str]]]


def _node_lines(state: ClusterState, positions: Positions | None = None) -> list[str]:
    online: list[str] = []
    offline: list[str] = []
    special: list[str] = []
    for name, n in state.nodes.items():
        if n.unclean:
            special.append(f"Node {name}: UNCLEAN ({'online' if n.online else 'offline'})")
        elif n.pending:
            special.append(f"Node {name}: pending")
        elif not n.online:
            if n.standby:
                special.append(f"Node {name}: OFFLINE (standby)")
            else:
                offline.append(name)
        elif n.maintenance:
            special.append(f"Node {name}: maintenance")
        elif n.standby:
            if positions is not None:
                active = any(name in nodes for _role, nodes in positions.values())
            else:
                active = any(name in state.running_on(r) for r in state.history)
            special.append(f"Node {name}: standby" + (" (with active resources)" if active else ""))
        else:
            online.append(name)
    out = [f"    * {s}" for s in special]
    if online:
        out.append(f"    * Online: [ {' '.join(sorted(online))} ]")
    if offline:
        out.append(f"    * OFFLINE: [ {' '.join(sorted(offline))} ]")
    return out


def _natural(name: str) -> list[object]:
    """Pacemaker's node order: names compared with their digit runs as numbers."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


#: Pacemaker 2.1's feature set is shown as "<3.15.1" for a node that has not
#: published its own (the ``#feature-set`` node attribute).
_OLD_FEATURE_SET = "<3.15.1"


def _node_detail_lines(state: ClusterState, positions: Positions | None = None) -> list[str]:
    """crm_mon --show-detail's node list: one line per node, with its id and feature set."""
    out = []
    for name in sorted(state.nodes, key=_natural):
        n = state.nodes[name]
        if n.unclean:
            word = f"UNCLEAN ({'online' if n.online else 'offline'})"
        elif n.pending:
            word = "pending"
        elif not n.online:
            word = "OFFLINE (standby)" if n.standby else "OFFLINE"
        elif n.maintenance:
            word = "maintenance"
        elif n.standby:
            if positions is not None:
                active = any(name in nodes for _role, nodes in positions.values())
            else:
                active = any(name in state.running_on(r) for r in state.history)
            word = "standby" + (" (with active resources)" if active else "")
        else:
            word = "online"
        if n.online and not n.unclean and not n.pending:
            word += f", feature set {n.attrs.get('#feature-set', _OLD_FEATURE_SET)}"
        out.append(f"    * Node {name} ({n.id}): {word}")
    return out


#: Node attributes crm_mon --show-node-attributes leaves out (its own bookkeeping).
_HIDDEN_ATTRS = ("standby", "shutdown", "terminate", "probe_complete")
_HIDDEN_PREFIXES = ("#", "fail-count-", "last-failure-")


def render_node_attributes(state: ClusterState) -> list[str]:
    """crm_mon --show-node-attributes's ``Node Attributes`` (blank line first), or nothing.

    Each online node's attributes (configured and transient), by name, in
    crm_mon's columns: the name padded to 32, a tab, the value padded to 10.
    """
    lines: list[str] = []
    for name in sorted(state.nodes, key=_natural):
        n = state.nodes[name]
        if not n.online:
            continue
        shown = sorted(
            (k, v) for k, v in n.attrs.items()
            if k not in _HIDDEN_ATTRS and not k.startswith(_HIDDEN_PREFIXES)
        )
        if shown:
            lines.append(f"    * Node: {name} ({n.id}):")
            lines += [f"      * {k:<32}\t: {v:<10}" for k, v in shown]
    return ["", "  * Node Attributes:", *lines] if lines else []


def _meta(cib: Cib, rsc: Resource, ctx: RuleContext) -> dict[str, str]:
    meta = resolve(rsc.meta_sets, ctx)
    p = rsc.parent
    while p is not None:
        resolve(p.meta_sets, ctx, into=meta)
        p = p.parent
    resolve(cib.rsc_defaults, ctx, into=meta)
    return meta


def _prim_line(
    cib: Cib,
    state: ClusterState,
    prim: Primitive,
    positions: Positions | None,
    ctx: RuleContext,
    indent: str,
    blocked_ids: set[str] | None = None,
) -> str:
    meta = _meta(cib, prim, ctx)
    if positions is not None and prim.id in positions:
        role, nodes = positions[prim.id]
        failed = False
    else:
        nodes = state.running_on(prim.id)
        role, failed, blocked_here = (
            _role_and_failed(cib, state, prim, ctx) if nodes else (ROLE_STOPPED, False, False)
        )
        if blocked_ids is None and blocked_here:
            blocked_ids = {prim.id}  # crm_mon: on-fail=block leaves it blocked where it failed
    flags = []
    if (norm_role(meta.get("target-role")) or "") == ROLE_STOPPED:
        flags.append("disabled")
    managed = is_true(meta.get("is-managed"), True) and not state.options.maintenance_mode
    blocked = blocked_ids is not None and prim.id in blocked_ids
    if blocked:
        flags.append("blocked")
    elif not managed or is_true(meta.get("maintenance")):
        flags.append("unmanaged")
    if failure_ignored(cib, state, prim):
        flags.append("failure ignored")
    nodes = list(nodes)
    status = role
    if failed:
        # crm_mon names the role of a failed promotable instance: "FAILED Promoted"
        status = f"FAILED {role}" if role in (ROLE_PROMOTED, ROLE_UNPROMOTED) else "FAILED"
    if not nodes:
        status = "Stopped"
    text = f"{indent}* {prim.id}\t({prim.agent}):\t {status}"
    if len(nodes) == 1:
        text += f" {nodes[0]}"
        if state.nodes.get(nodes[0]) is not None and state.nodes[nodes[0]].unclean:
            flags.append("UNCLEAN")
    if flags:
        text += f" ({', '.join(flags)})"
    if len(nodes) > 1:
        text += f" [ {' '.join(nodes)} ]"
    return text


def _role_and_failed(cib: Cib, state: ClusterState, prim: Primitive, ctx: RuleContext) -> tuple[str, bool, bool]:
    """The role shown, whether it is FAILED, and whether a failure blocks it (on-fail=block).

    An offline node that is not UNCLEAN (lost with fencing disabled, or
    stopped) runs nothing whatever its old records say, so its role does not
    count.  Failures count on online nodes only (an UNCLEAN node's will be
    settled by fencing: crm_mon shows "Started NODE (UNCLEAN)"), and neither
    expired failures nor ``on-fail=ignore`` ones do (crm_mon shows those as
    "failure ignored" instead).
    """
    role = ROLE_STOPPED
    failed = blocked = False
    timeout = _failure_timeout_ms(cib, prim, ctx)
    for node, h in state.history.get(prim.id, {}).items():
        if not h.active or not _shows_history(state, node):
            continue
        if ROLE_RANK[h.role] > ROLE_RANK[role]:
            role = h.role
        info = state.nodes.get(node)
        if info is not None and not info.online:
            continue
        for f in h.failures:
            if not _is_failure(f) or _expired(f, timeout, state):
                continue
            on_fail = _on_fail(cib, prim, f, ctx, state)
            if on_fail != "ignore":
                failed = True
                blocked = blocked or on_fail == "block"
    return role, failed, blocked


def _resource_lines(cib: Cib, state: ClusterState, rsc: Resource, positions: Positions | None, ctx: RuleContext, blocked_ids: set[str] | None = None) -> list[str]:
    if isinstance(rsc, Primitive):
        return [_prim_line(cib, state, rsc, positions, ctx, "    ", blocked_ids)]
    if isinstance(rsc, Group):
        meta = _meta(cib, rsc, ctx)
        head = f"    * Resource Group: {rsc.id}"
        if (norm_role(meta.get("target-role")) or "") == ROLE_STOPPED:
            head += " (disabled)"
        lines = [head + ":"]
        for m in rsc.members:
            lines.append(_prim_line(cib, state, m, positions, ctx, "      ", blocked_ids))
        return lines
    if isinstance(rsc, Clone):
        return _clone_lines(cib, state, rsc, positions, ctx, blocked_ids)
    if isinstance(rsc, Bundle):
        return [f"    * Container bundle: {rsc.id}:"]
    return []


def _clone_lines(
    cib: Cib,
    state: ClusterState,
    rsc: Clone,
    positions: Positions | None,
    ctx: RuleContext,
    blocked_ids: set[str] | None,
) -> list[str]:
    child = rsc.child
    cid = child.id if child is not None else ""
    meta = _meta(cib, rsc, ctx)
    unique = is_true(meta.get("globally-unique"))
    flag = " (promotable)" if rsc.promotable else (" (unique)" if unique else "")
    lines = [f"    * Clone Set: {rsc.id} [{cid}]{flag}:"]
    try:
        count = int(meta.get("clone-max", len(state.nodes)))
    except ValueError:
        count = len(state.nodes)
    ids = [f"{cid}:{i}" for i in range(count)]
    where: dict[str, list[str]] = {}
    for iid in ids:
        if positions is not None and iid in positions:
            where[iid] = list(positions[iid][1])
        else:
            where[iid] = state.running_on(iid)
    if positions is None and not unique:
        # anonymous history may be recorded under the bare child id
        for key in (cid,):
            for n in state.running_on(key):
                if not any(n in v for v in where.values()):
                    where.setdefault(key, []).append(n)
    if unique and isinstance(child, Primitive):
        for iid in ids:
            nodes = where.get(iid, [])
            status = f"Started {nodes[0]}" if len(nodes) == 1 else (
                f"Started [ {' '.join(nodes)} ]" if nodes else "Stopped"
            )
            lines.append(f"      * {iid}\t({child.agent}):\t {status}")
        return lines
    started = sorted({n for v in where.values() for n in v})
    if started:
        lines.append(f"      * Started: [ {' '.join(started)} ]")
    stopped = sorted(n for n in state.nodes if n not in started)
    if stopped:
        lines.append(f"      * Stopped: [ {' '.join(stopped)} ]")
    return lines


def _counts(cib: Cib, ctx: RuleContext) -> tuple[int, int]:
    total = disabled = 0
    for top in cib.resources:
        for p in top.iter_primitives():
            total += 1
            if (norm_role(_meta(cib, p, ctx).get("target-role")) or "") == ROLE_STOPPED:
                disabled += 1
    return total, disabled


def render_header(cib: Cib, state: ClusterState, blocked_ids: set[str] | None = None) -> list[str]:
    """The line crm_simulate prints before the status when instances are disabled or blocked."""
    ctx = RuleContext(now=state.now)
    total, disabled = _counts(cib, ctx)
    blocked = len(blocked_ids or ())
    if disabled or blocked:
        return [
            f"{disabled} of {total} resource instances DISABLED and {blocked} BLOCKED from "
            "further action due to failure",
            "",
        ]
    return []


def render_cluster_status(
    cib: Cib,
    state: ClusterState,
    positions: Positions | None = None,
    title: str | None = "Current cluster status:",
    order: Sequence[str] | None = None,
    blocked_ids: set[str] | None = None,
    *,
    failures: bool | None = None,
    failcounts: bool = False,
    detail: bool = False,
) -> list[str]:
    """Lines of the status (Node List and Full List of Resources, then crm_mon's failure sections).

    ``failures``: add crm_mon's "Failed Resource Actions" (when there are
    any).  By default it follows ``title``: ``title=None`` is crm_mon's
    layout (``tandem status``), a titled block is crm_simulate's, which has
    no such section.  ``failcounts`` adds "Migration Summary" (crm_mon
    --failcounts, part of ``pcs status --full``); ``detail`` is crm_mon's
    --show-detail --show-node-attributes (the rest of ``pcs status --full``):
    one line per node with its id and feature set, "Node Attributes", node
    ids in the Migration Summary, failed actions worded with op key, rc,
    call id and times.
    """
    ctx = RuleContext(now=state.now)
    lines: list[str] = []
    if title:
        lines.append(title)
    lines.append("  * Node List:")
    lines.extend(_node_detail_lines(state, positions) if detail else _node_lines(state, positions))
    lines.append("")
    lines.append("  * Full List of Resources:")
    tops = list(cib.resources)
    if order is not None:
        rank = {rid: i for i, rid in enumerate(order)}
        tops.sort(key=lambda r: rank.get(r.id, len(rank)))
    if not tops:
        lines.append("    * No resources")
    for r in tops:
        lines.extend(_resource_lines(cib, state, r, positions, ctx, blocked_ids))
    if detail:
        lines.extend(render_node_attributes(state))
    if failcounts:
        lines.extend(render_migration_summary(cib, state, detail=detail))
    if (title is None) if failures is None else failures:
        lines.extend(render_failed_actions(cib, state, detail=detail))
    return lines


# --------------------------------------------------------------------------- failures
#
# crm_mon's "Failed Resource Actions" and "Migration Summary" (--failcounts),
# as Pacemaker 2.1.5 prints them.  What counts, observed on crm_mon itself:
# - only nodes that are online (an offline node, clean or UNCLEAN, shows no
#   failed action, whatever its old history says);
# - every failed record there, in status order (node_state, lrm_resource,
#   call-id), one line per (operation key, node): the ``RSC_last_failure_0``
#   twin of a failed monitor is not listed twice, the lowest call id wins;
# - a record that stays after the recovery (``RSC_last_failure_0``) is still
#   listed until ``resource cleanup`` deletes it; a failure older than the
#   resource's ``failure-timeout`` is not (Pacemaker treats it as expired).


_EXEC_STATUS_TEXT = {
    -1: "pending",
    0: "complete",
    1: "Cancelled",
    2: "Timed Out",
    3: "NOT SUPPORTED",
    4: "Error",
    5: "Hard error",
    6: "Fatal error",
    7: "Not installed",
    8: "Internal communication failure",
    9: "Cannot execute now",
    10: "No fence device",
    11: "CIB secrets unavailable",
}

_MS_DAY, _MS_HOUR, _MS_MIN, _MS_SEC = 86_400_000, 3_600_000, 60_000, 1000


def readable_interval(ms: int) -> str:
    """A duration as crm_mon 2.1.5 words it: ``3s``, ``1m30.500s``, ``60m``, ``24h``, ``1000ms``.

    Why not the obvious form: crm_mon only carries a unit over once the value is
    *strictly* above it (60000 ms is ``60s``, 3600000 ms ``60m``, 61000 ms
    ``1m1000ms``), and administrators compare the two outputs verbatim.
    """
    out = ""
    rest = max(ms, 0)
    for unit, suffix in ((_MS_DAY, "d"), (_MS_HOUR, "h"), (_MS_MIN, "m")):
        if rest > unit:
            out += f"{rest // unit}{suffix}"
            rest %= unit
    if rest > _MS_SEC:
        secs, frac = divmod(rest, _MS_SEC)
        out += f"{secs}.{frac:03d}s" if frac else f"{secs}s"
    elif rest > 0:
        out += f"{rest}ms"
    return out or "0s"


def epoch_text(epoch: int) -> str:
    """Local time in ctime's layout (``Mon Nov  6 19:46:40 2023``), crm_mon's timestamps."""
    t = time.localtime(epoch)
    return time.strftime("%a %b ", t) + f"{t.tm_mday:>2}" + time.strftime(" %H:%M:%S %Y", t)


def _int_attr(el: object, name: str) -> int | None:
    get = getattr(el, "get", None)
    text = get(name) if get is not None else None
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class FailedAction:
    """One line of "Failed Resource Actions" (the record's facts, as crm_mon reads them)."""

    rsc: str
    node: str
    op_key: str
    task: str
    interval_ms: int
    rc: int
    status: int
    call_id: int
    exit_reason: str
    last_rc_change: int | None
    exec_ms: int | None
    queue_ms: int | None

    def friendly(self) -> str:
        """crm_mon's default wording (what ``pcs status`` prints)."""
        what = "probe" if self.task == "monitor" and self.interval_ms == 0 else self.task
        text = self.rsc + " "
        if self.interval_ms:
            text += f"{readable_interval(self.interval_ms)}-interval "
        text += f"{what} on {self.node}"
        if self.status == PCMK_EXEC_DONE:
            text += f" returned '{rc_text(self.rc)}'"
            if self.exit_reason:
                text += f" ({self.exit_reason})"
        else:
            text += f" could not be executed ({_EXEC_STATUS_TEXT.get(self.status, 'unknown')}"
            text += f": {self.exit_reason})" if self.exit_reason else ")"
        if self.last_rc_change is not None:
            text += f" at {epoch_text(self.last_rc_change)}"
        if self.exec_ms:
            text += f" after {readable_interval(self.exec_ms)}"
        return text

    def technical(self) -> str:
        """crm_mon --show-detail's wording (what ``pcs status --full`` prints)."""
        text = (
            f"{self.op_key} on {self.node} '{rc_text(self.rc)}' ({self.rc}): "
            f"call={self.call_id}, status='{_EXEC_STATUS_TEXT.get(self.status, 'unknown')}'"
        )
        if self.exit_reason:
            text += f", exitreason='{self.exit_reason}'"
        if self.last_rc_change is not None:
            text += f", last-rc-change='{epoch_text(self.last_rc_change)}'"
        if self.queue_ms is not None:
            text += f", queued={self.queue_ms}ms"
        if self.exec_ms is not None:
            text += f", exec={self.exec_ms}ms"
        return text


def _shows_history(state: ClusterState, node: str) -> bool:
    """Does crm_mon count this node's history for where resources are (online or UNCLEAN)?"""
    info = state.nodes.get(node)
    return info is None or info.online or info.unclean


def _failure_timeout_ms(cib: Cib, prim: Primitive | None, ctx: RuleContext) -> int:
    if prim is None:
        return 0
    return parse_interval_ms(_meta(cib, prim, ctx).get("failure-timeout"), 0)


def _expired(op: OpRecord, timeout_ms: int, state: ClusterState) -> bool:
    if timeout_ms <= 0 or not op.last_rc_change:
        return False
    return state.now.timestamp() >= op.last_rc_change + timeout_ms // 1000


def _is_failure(op: OpRecord) -> bool:
    return classify(op) in ("failed", "hard", "fatal")


def _on_fail(cib: Cib, prim: Primitive | None, op: OpRecord, ctx: RuleContext, state: ClusterState) -> str:
    """The op's ``on-fail`` (op, then op_defaults; a stop's default: fence, or block without
    fencing), lowercased."""
    value = None
    if prim is not None:
        for d in prim.ops:
            if d.name == op.task and d.interval_ms == op.interval_ms:
                value = d.get("on-fail")
                break
    if value is None:
        value = resolve(cib.op_defaults, ctx).get("on-fail")
    if not value and op.task == "stop":
        value = "fence" if state.options.fencing_enabled else "block"
    return (value or "restart").lower()


def _rsc_failures(
    cib: Cib, state: ClusterState, rid: str, prim: Primitive | None, ctx: RuleContext
) -> list[tuple[str, OpRecord]]:
    """(node, record) of every unexpired failed record of ``rid`` on an online node."""
    timeout = _failure_timeout_ms(cib, prim, ctx)
    out = []
    for node, h in state.history.get(rid, {}).items():
        info = state.nodes.get(node)
        if info is None or not info.online:
            continue
        out += [(node, op) for op in h.ops if _is_failure(op) and not _expired(op, timeout, state)]
    return out


def _live_failures(cib: Cib, state: ClusterState, ctx: RuleContext) -> list[tuple[str, str, OpRecord]]:
    """(rsc, node, record) of every unexpired failed record on an online node, in status order."""
    prims = {p.id: p for p in cib.primitives()}
    found = [
        (rid, node, op)
        for rid in state.history
        for node, op in _rsc_failures(cib, state, rid, prims.get(rid), ctx)
    ]
    if not found:
        return []
    order: dict[int, int] = {}
    if cib.status is not None:
        order = {id(el): i for i, el in enumerate(cib.status.iter("lrm_rsc_op"))}
    # status order of the lrm_resource (its first failed record), then call id
    first: dict[tuple[str, str], int] = {}
    for rid, node, op in found:
        pos = order.get(id(op.element), len(order))
        first[(rid, node)] = min(first.get((rid, node), pos), pos)
    found.sort(key=lambda f: (first[(f[0], f[1])], f[2].call_id, order.get(id(f[2].element), 0)))
    return found


def failed_actions(cib: Cib, state: ClusterState) -> list[FailedAction]:
    """The entries of crm_mon's "Failed Resource Actions", in its order."""
    ctx = RuleContext(now=state.now)
    seen: set[tuple[str, str]] = set()
    out: list[FailedAction] = []
    for rid, node, op in _live_failures(cib, state, ctx):
        el = op.element
        get = getattr(el, "get", None)
        op_key = (get("operation_key") if get is not None else None) or f"{rid}_{op.key}"
        if (op_key, node) in seen:
            continue
        seen.add((op_key, node))
        out.append(
            FailedAction(
                rsc=rid,
                node=node,
                op_key=op_key,
                task=op.task,
                interval_ms=op.interval_ms,
                rc=op.rc,
                status=op.status,
                call_id=op.call_id,
                exit_reason=(get("exit-reason") if get is not None else None) or "",
                last_rc_change=op.last_rc_change,
                exec_ms=_int_attr(el, "exec-time"),
                queue_ms=_int_attr(el, "queue-time"),
            )
        )
    return out


def failure_ignored(cib: Cib, state: ClusterState, prim: Primitive) -> bool:
    """Has ``prim`` an unexpired failure, on an online node, whose on-fail is ``ignore``?"""
    ctx = RuleContext(now=state.now)
    return any(
        _on_fail(cib, prim, op, ctx, state) == "ignore"
        for _node, op in _rsc_failures(cib, state, prim.id, prim, ctx)
    )


def render_failed_actions(cib: Cib, state: ClusterState, *, detail: bool = False) -> list[str]:
    """``Failed Resource Actions`` (blank line first), or nothing when no action failed."""
    actions = failed_actions(cib, state)
    if not actions:
        return []
    lines = ["", "  * Failed Resource Actions:"]
    lines += [f"    * {a.technical() if detail else a.friendly()}" for a in actions]
    return lines


def render_migration_summary(cib: Cib, state: ClusterState, *, detail: bool = False) -> list[str]:
    """crm_mon --failcounts's ``Migration Summary`` (blank line first).

    Each online node with a fail count, then each resource with one there:
    ``migration-threshold=N fail-count=N last-failure='...'`` (INFINITY
    printed as 1000000, as crm_mon does).
    """
    ctx = RuleContext(now=state.now)
    lines = ["", "  * Migration Summary:"]
    prims = list(cib.primitives())
    for name, info in state.nodes.items():
        if not info.online:
            continue
        rows = []
        for p in prims:
            count = info.fail_counts.get(p.id, 0)
            if count <= 0:
                continue
            meta = _meta(cib, p, ctx)
            last = info.last_failure.get(p.id, 0)
            timeout = parse_interval_ms(meta.get("failure-timeout"), 0)
            if timeout > 0 and last and state.now.timestamp() >= last + timeout // 1000:
                continue
            try:
                threshold = min(score_parse(meta.get("migration-threshold", "1000000")), INFINITY)
            except Exception:  # noqa: BLE001 - a garbled threshold is Pacemaker's default
                threshold = INFINITY
            row = f"      * {p.id}: migration-threshold={threshold} fail-count={min(count, INFINITY)}"
            if last:
                row += f" last-failure='{epoch_text(last)}'"
            rows.append(row)
        if rows:
            lines.append(f"    * Node: {name} ({info.id}):" if detail else f"    * Node: {name}:")
            lines += rows
    return lines


def crm_mon_lines(
    cib: Cib, state: ClusterState, *, failcounts: bool = False, detail: bool = False
) -> list[str]:
    """The body of ``crm_mon -1 --inactive`` after its summary, in crm_mon's own indentation.

    From "Node List:" on: the node list, the resources, then "Migration
    Summary" (``failcounts``) and "Failed Resource Actions".  ``tandem
    status`` prints this; ``pcs status --full`` is crm_mon with
    ``--failcounts --show-detail`` (``detail`` covers the failed actions'
    wording only; the node list stays in the short form).
    """
    lines = render_cluster_status(cib, state, title=None, failcounts=failcounts, detail=detail)
    out = []
    for line in lines:
        if line.startswith("  * ") and line.endswith(":"):
            out.append(line[4:])  # a section header: "  * Node List:" -> "Node List:"
        else:
            out.append(line[2:] if line.startswith("  ") else line)
    return out
