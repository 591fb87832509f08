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

Entry point: ``render_cluster_status(cib, state, positions=None, title=...)``.
``positions`` overrides where resources are (for the revised status after a
simulated transition): {resource id: (role, [nodes])}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tandem.cib.model import Bundle, Cib, Clone, Group, Primitive, Resource, resolve
from tandem.cib.options import is_true
from tandem.cib.rules import RuleContext
from tandem.cib.unpack import ROLE_STOPPED, ClusterState, norm_role

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
        role = state.role_of(prim.id) if nodes else ROLE_STOPPED
        failed = any(h.failed for h in state.history.get(prim.id, {}).values() if h.active)
    flags = []
    if (norm_role(meta.get("target-role")) or "") == ROLE_STOPPED:
        flags.append("disabled")
    managed = is_true(meta.get("is-managed"), True) and not state.options.maintenance_mode
    blocked = blocked_ids is not None and prim.id in blocked_ids
    if blocked:
        flags.append("blocked")
    elif not managed or is_true(meta.get("maintenance")):
        flags.append("unmanaged")
    nodes = list(nodes)
    status = "FAILED" if failed else role
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
) -> list[str]:
    """Lines of the status (Node List and Full List of Resources)."""
    ctx = RuleContext(now=state.now)
    lines: list[str] = []
    if title:
        lines.append(title)
    lines.append("  * Node List:")
    lines.extend(_node_lines(state, positions))
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
    return lines
