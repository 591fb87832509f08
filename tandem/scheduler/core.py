"""The scheduler's entry point: ``schedule(cib, now, recorder=None) -> ScheduleResult``.

Pure: no I/O, no clock (``now`` is an input).  Steps, in Pacemaker's order:
unpack the status, build the working resources, apply node criteria
(location constraints, failures and fencing from :mod:`tandem.scheduler.failures`,
stickiness, fail-count bans), assign nodes (:mod:`tandem.scheduler.assign`),
create actions and orderings (:mod:`tandem.scheduler.orders`) and propagate
them (:mod:`tandem.scheduler.actions`), then summarise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tandem.cib import scores as S
from tandem.cib.digest import op_digest
from tandem.cib.model import Cib, Clone, Group, Primitive, resolve
from tandem.cib.rules import RuleContext, eval_rule
from tandem.cib.unpack import ROLE_STOPPED, ClusterState, unpack_status
from tandem.errors import CibError
from tandem.scheduler import actions as A
from tandem.scheduler import clones as clones_mod
from tandem.scheduler.assign import Assigner
from tandem.scheduler.failures import (
    _apply_failures,
    _effective_fail_count,
    _fencing,
    _node_health,
    _op_def,
    _unfencing,
)
from tandem.scheduler.orders import _order_constraints, _settle_group_pseudo_actions, expand
from tandem.scheduler.provenance import Contribution, NullRecorder
from tandem.scheduler.rsc import Coloc, GroupState, Rsc, primitive_meta

INF = S.INFINITY


@dataclass
class ScheduleResult:
    """What the scheduler decided.

    - ``scores``: resource id -> {node: score} as printed (assignment order);
    - ``score_lines``: ``pcmk__primitive_assign: R allocation score on N: S`` lines;
    - ``placement``: resource id -> node or None (stopped);
    - ``summary``: Transition Summary lines (without the ``  * `` prefix);
    - ``graph``: the transition graph (``graph.execution_order()`` to run it);
    - ``recheck_at``: earliest time the decision could change (or None).
    """

    state: ClusterState
    scores: dict[str, dict[str, int]]
    score_lines: list[str]
    placement: dict[str, str | None]
    summary: list[str]
    graph: A.Graph
    recheck_at: datetime | None
    reasons: dict[str, str]
    recorder: NullRecorder
    rscs: list[Rsc] = field(default_factory=list)
    shutdown_nodes: list[str] = field(default_factory=list)

    def executed(self) -> list[str]:
        """The 'Executing Cluster Transition' lines, in execution order."""
        out = []
        order: list[str] = []
        for r in self.rscs:
            if r.group is not None and r.group.id not in order:
                order.append(r.group.id)
            order.append(r.id)
        for a in self.graph.execution_order(order):
            if a.task == "stonith":
                out.append(f"Fencing {a.node} ({a.meta.get('action', 'reboot')})")
                continue
            if a.pseudo:
                out.append(f"Pseudo action:   {a.rsc}_{a.task}_{a.interval_ms}")
                continue
            if a.rsc is None:
                out.append(f"Cluster action:  {a.task} on {a.node}")
            else:
                out.append(f"Resource action: {a.rsc:<15} {a.label} on {a.node}")
        return out


# --------------------------------------------------------------------------- build


def _resources(cib: Cib, state: ClusterState, ctx: RuleContext, recorder: NullRecorder, clones: dict) -> tuple[list[Rsc], dict[str, list[Rsc]]]:  # noqa: ANN001
    """Working objects for primitives (group members and clone instances included), in status order."""
    out: list[Rsc] = []
    groups: dict[str, list[Rsc]] = {}
    for top in cib.resources:
        if top.kind == "primitive":
            prims: list[tuple[Primitive, list]] = [(top, [])]  # type: ignore[list-item]
        elif isinstance(top, Group):
            prims = [(m, [top]) for m in top.members]
        elif isinstance(top, Clone) and clones_mod.supported(top):
            child: Primitive = top.child  # type: ignore[assignment]
            cmeta = clones_mod.clone_meta(top, RuleContext(now=state.now))
            count, node_max, unique = clones_mod.instance_count(top, cmeta, state)
            cs = clones_mod.CloneState(top.id, unique, node_max, recorder)
            ids = clones_mod.map_history(top, child, state, count, unique)
            mctx = RuleContext(now=state.now, rsc_class=child.cls, rsc_provider=child.provider, rsc_type=child.type)
            meta = primitive_meta(child, cib.rsc_defaults, mctx, [top])
            if "resource-stickiness" not in meta:
                meta["resource-stickiness"] = "1"  # clone instances are sticky by default
            params = resolve(child.instance_sets, RuleContext(now=state.now))
            for iid in ids:
                r = Rsc(child, iid, dict(meta), params, child.agent, state, recorder)
                r.parent = top
                r.clone = cs
                cs.instances.append(r)
                out.append(r)
            clones[top.id] = cs
            continue
        else:
            continue  # promotable clones, cloned groups and bundles: not scheduled yet
        members: list[Rsc] = []
        for prim, parents in prims:
            mctx = RuleContext(
                now=state.now, rsc_class=prim.cls, rsc_provider=prim.provider, rsc_type=prim.type
            )
            meta = primitive_meta(prim, cib.rsc_defaults, mctx, parents)
            ctx.next_change.extend(mctx.next_change)
            params = resolve(prim.instance_sets, RuleContext(now=state.now))
            r = Rsc(prim, prim.id, meta, params, prim.agent, state, recorder)
            if parents:
                r.parent = parents[0]
            members.append(r)
            out.append(r)
        if isinstance(top, Group):
            groups[top.id] = members
    # orphans: in the history but no longer configured -> stop them
    by_id_now = {r.id for r in out}
    if state.options.stop_orphan_resources:
        for rid, info in state.orphans.items():
            if rid in cib.by_id or rid.split(":", 1)[0] in cib.by_id or rid in by_id_now:
                continue  # configured (a clone's instances are recorded as child:N)
            agent = f"{info['class']}:{info['provider']}:{info['type']}" if info.get("provider") else f"{info['class']}:{info['type']}"
            r = Rsc(None, rid, {}, {}, agent, state, recorder, orphan=True)
            if r.current:
                r.target_role = ROLE_STOPPED
                out.append(r)
    # Status order: priority, highest first (stable).
    out.sort(key=lambda r: -r.priority)
    return out, groups


def _targets(name: str | None, pattern: str | None, by_id: dict[str, Rsc], groups: dict[str, list[Rsc]], tags: dict[str, list[str]]) -> list[Rsc]:
    if pattern:
        try:
            rx = re.compile(pattern)
        except re.error:
            return []
        return [r for rid, r in by_id.items() if rx.fullmatch(rid) or rx.match(rid)]
    if name is None:
        return []
    if name in by_id:
        return [by_id[name]]
    if name in groups:
        return list(groups[name])
    if name in tags:
        out: list[Rsc] = []
        for t in tags[name]:
            out.extend(_targets(t, None, by_id, groups, tags))
        return out
    tmpl = [r for r in by_id.values() if r.prim is not None and r.prim.template == name]
    return tmpl


def _apply_locations(cib: Cib, state: ClusterState, by_id: dict[str, Rsc], groups: dict[str, list[Rsc]], node_order: list[str], group_states: dict[str, GroupState], clone_states: dict | None = None) -> list[datetime]:  # noqa: ANN001
    clone_states = clone_states or {}
    rechecks: list[datetime] = []
    for loc in cib.locations:
        targets: list[Rsc] = []
        if loc.sets:
            for s in loc.sets:
                for rid in s.resources:
                    targets.extend(_targets(rid, None, by_id, groups, cib.tags))
        else:
            targets = _targets(loc.rsc, loc.rsc_pattern, by_id, groups, cib.tags)
        if not targets:
            continue
        role = (loc.role or "").lower()
        if role in ("promoted", "master", "unpromoted", "slave"):
            continue  # role-specific preferences only matter to promotable clones
        cs = clone_states.get(loc.rsc or "") if not loc.sets and not loc.rsc_pattern else None
        if cs is not None:
            targets = [cs, *cs.instances]  # type: ignore[list-item]
        group_members = groups.get(loc.rsc or "") if not loc.sets and not loc.rsc_pattern else None
        if group_members:
            # The group and its first member take the score; later members
            # only become allowed there (they follow the first one).
            full = group_members[0]
            gstate = group_states.get(loc.rsc or "")
            targets = [full]
            if gstate is not None:
                targets.insert(0, gstate)  # type: ignore[arg-type]
            for m in group_members[1:]:
                for n in ([loc.node] if loc.node else node_order):
                    if n in state.nodes and (loc.node or loc.rules):
                        m.ensure_node(n)
        if loc.rules:
            for rule in loc.rules:
                rscore_txt = rule.get("score")
                rattr = rule.get("score-attribute")
                for node in node_order:
                    info = state.nodes[node]
                    for r in targets:
                        ctx = RuleContext(
                            now=state.now,
                            node_attrs=info.attrs,
                            rsc_params=r.params,
                            rsc_meta=r.meta,
                            rsc_class=r.prim.cls if r.prim else None,
                            rsc_provider=r.prim.provider if r.prim else None,
                            rsc_type=r.prim.type if r.prim else None,
                        )
                        ok = eval_rule(rule, ctx)
                        rechecks.extend(ctx.next_change)
                        if not ok:
                            continue
                        if rattr:
                            val = info.attrs.get(rattr)
                            if val is None:
                                continue
                            try:
                                score = S.parse(val)
                            except CibError:
                                continue
                        else:
                            try:
                                score = S.parse(rscore_txt) if rscore_txt is not None else 0
                            except CibError:
                                continue
                        r.ensure_node(node)
                        r.add_score(node, score, f"location constraint {loc.id} (rule {rule.get('id')})", "location", loc.id)
            continue
        if loc.node is None:
            continue
        try:
            score = S.parse(loc.score) if loc.score is not None else 0
        except CibError:
            continue
        if loc.node not in state.nodes:
            continue
        for r in targets:
            r.ensure_node(loc.node)
            r.add_score(loc.node, score, f"location constraint {loc.id}", "location", loc.id)
    return rechecks


def _colocations(cib: Cib, by_id: dict[str, Rsc], groups: dict[str, list[Rsc]]) -> None:
    def endpoint(name: str | None, dependent: bool) -> Rsc | None:
        if name in by_id:
            return by_id[name]
        if name in groups and groups[name]:
            return groups[name][0]
        return None

    def add(cid: str, dep: Rsc, prim: Rsc, score: int, drole: str | None, prole: str | None, attr: str, influence: bool, name: str | None = None) -> None:
        if dep is prim:
            return
        c = Coloc(cid, dep, prim, score, drole, prole, attr, influence, name)
        dep.this_with.append(c)
        prim.with_this.append(c)

    dep_group = {m.id: members for members in groups.values() for m in members}
    # groups: each member with the previous one
    for gid, members in groups.items():
        for prev, cur in zip(members, members[1:], strict=False):
            add(f"{gid} (group order)", cur, prev, INF, None, None, "#uname", True)
    for c in cib.colocations:
        try:
            score = S.parse(c.score) if c.score is not None else 0
        except CibError:
            continue
        influence = (c.influence or "true").lower() in ("true", "1", "yes", "on")
        sets = [(st.resources, st.sequential) for st in c.sets]
        if not sets:
            dx, px = expand(cib, c.rsc), expand(cib, c.with_rsc)
            if dx is not None or px is not None:
                # a tag or template in a simple constraint means a (sequential) set
                sets = [(dx or [c.rsc or ""], True), (px or [c.with_rsc or ""], True)]
        if sets:
            resolved = []
            for rids, sequential in sets:
                members = []
                for rid in rids:
                    for x in expand(cib, rid) or [rid]:
                        e = endpoint(x, True)
                        if e is not None:
                            members.append(e)
                resolved.append((members, sequential))
            # within a sequential set each member is colocated with the previous one
            for members, sequential in resolved:
                if sequential:
                    for prev, cur in zip(members, members[1:], strict=False):
                        add(c.id, cur, prev, score, None, None, c.node_attribute, influence)
            # each set is colocated with the next one: first (or every) member of
            # the earlier set with the last (or every) member of the later one
            for (m1, seq1), (m2, seq2) in zip(resolved, resolved[1:], strict=False):
                if not m1 or not m2:
                    continue
                deps = [m1[0]] if seq1 else m1
                prims = [m2[-1]] if seq2 else m2
                for d in deps:
                    for p_ in prims:
                        add(c.id, d, p_, score, None, None, c.node_attribute, influence)
            continue
        dep = endpoint(c.rsc, True)
        prim = endpoint(c.with_rsc, False)
        if dep is None or prim is None:
            continue
        if (c.rsc_role or "").lower() in ("promoted", "master", "unpromoted", "slave"):
            continue
        if (c.with_rsc_role or "").lower() in ("promoted", "master", "unpromoted", "slave"):
            continue
        if c.rsc in groups:
            # the first member honours all of the group's colocations, later
            # members only the mandatory ones (they follow the first anyway)
            for i, m in enumerate(groups[c.rsc]):
                if i == 0 or abs(score) >= INF:
                    add(c.id, m, prim, score, c.rsc_role, c.with_rsc_role, c.node_attribute, influence, c.with_rsc)
            continue
        add(c.id, dep, prim, score, c.rsc_role, c.with_rsc_role, c.node_attribute, influence, c.with_rsc)
        g = dep_group.get(dep.id)
        if g is not None and g[0] is not dep and abs(score) >= INF:
            # an inner member's mandatory colocation also places its group's first member
            add(c.id, g[0], prim, score, c.rsc_role, c.with_rsc_role, c.node_attribute, influence, c.with_rsc)


# --------------------------------------------------------------------------- schedule


def schedule(cib: Cib, now: datetime, recorder: NullRecorder | None = None, state: ClusterState | None = None) -> ScheduleResult:
    """Decide placement and actions for ``cib`` at time ``now`` (pure)."""
    recorder = recorder or NullRecorder()
    state = state or unpack_status(cib, now)
    ctx = RuleContext(now=now)
    clones: dict[str, clones_mod.CloneState] = {}
    rscs, groups = _resources(cib, state, ctx, recorder, clones)
    by_id = {r.id: r for r in rscs}
    node_order = list(state.nodes)
    symmetric = state.options.symmetric

    # 1. initial scores
    base = {n.uname: n.score for n in cib.nodes}
    for r in rscs:
        if symmetric:
            for n in node_order:
                r.allowed[n] = 0
                if base.get(n):
                    r.add_score(n, base[n], f"node {n}'s base score", "node")
    group_states = {
        gid: GroupState(gid, members, recorder) for gid, members in groups.items() if members
    }
    for cs in clones.values():
        if symmetric:
            for n in node_order:
                cs.allowed[n] = 0
                if base.get(n):
                    cs.add_score(n, base[n], f"node {n}'s base score", "node")
    for g in group_states.values():
        for m in g.members:
            m.group = g
        if symmetric:
            for n in node_order:
                g.allowed[n] = 0
                if base.get(n):
                    g.add_score(n, base[n], f"node {n}'s base score", "node")
    health = _node_health(state, node_order)
    if health:
        for r in rscs:
            if (r.meta.get("allow-unhealthy-nodes") or "").lower() in ("true", "yes", "1", "on"):
                continue
            for n, h in health.items():
                r.add_score(n, h, f"node {n}'s health ({state.options.get('node-health-strategy')})", "node")
    rechecks = _apply_locations(cib, state, by_id, groups, node_order, group_states, clones)
    rechecks.extend(ctx.next_change)

    # fencing enabled but no device: nothing can be managed
    have_fencing = any(r.is_fencing for r in rscs)
    no_fencing = state.options.fencing_enabled and not have_fencing

    # failures in the history (on-fail, hard errors), before stickiness
    have_fencing = any(r.is_fencing for r in rscs)

    def can_fence(n: str) -> bool:
        return state.options.fencing_enabled and have_fencing and (
            state.have_quorum or state.options.no_quorum_policy == "ignore" or state.nodes[n].online
        )

    if (
        not state.have_quorum
        and state.options.no_quorum_policy in ("suicide", "fence")
        and state.options.fencing_enabled
        and have_fencing
    ):
        # no-quorum-policy=fence: this partition fences every node in it
        for n in node_order:
            info = state.nodes[n]
            if info.online and not info.unclean:
                info.unclean = True
                info.fence_reason = "cluster does not have quorum"
    for r in rscs:
        rechecks.extend(_apply_failures(r, cib, state, node_order, can_fence))
    rechecks.extend(_shutdown_locks(rscs, state, node_order))

    for r in rscs:
        if no_fencing or any(state.nodes[n].maintenance for n in r.current):
            r.managed = False
        if len(r.current) > 1 and r.multiple_active == "stop_only":
            for n in node_order:
                r.add_score(n, -INF, "active on several nodes with multiple-active=stop_only", "failure")
        if not r.managed:
            # an unmanaged (or blocked) resource stays where it is active
            for n in r.current:
                r.ensure_node(n)
                r.add_score(n, INF, "the resource is unmanaged and active here", "unmanaged")

    # 2. stickiness, then fail-count bans
    for r in rscs:
        if r.managed and r.stickiness >= 1 and len(r.current) == 1:
            node = r.current[0]
            if symmetric or node in r.allowed:
                r.ensure_node(node)
                r.add_score(node, r.stickiness, "resource-stickiness (the resource is active here)", "stickiness")
    for n in node_order:
        info = state.nodes[n]
        for r in rscs:
            fc = _effective_fail_count(r, cib, state, info.fail_count_ops.get(r.id))
            if fc <= 0 or r.migration_threshold <= 0:
                continue
            if r.failure_timeout_ms > 0:
                last = info.last_failure.get(r.id, 0)
                expires = last + r.failure_timeout_ms // 1000
                if last and state.now.timestamp() >= expires:
                    continue
                if last:
                    rechecks.append(datetime.fromtimestamp(expires, tz=state.now.tzinfo))
            if fc >= r.migration_threshold:
                r.ensure_node(n)
                r.add_score(n, -INF, f"fail count {S.to_str(fc)} reached migration-threshold {S.to_str(r.migration_threshold)}", "failcount")

    # 3. colocations and assignment
    _colocations(cib, by_id, groups)
    asg = Assigner(state, rscs, node_order)
    if recorder.enabled:
        for r in rscs:
            for n in node_order:
                info = state.nodes[n]
                if not info.available:
                    from tandem.scheduler.assign import _why

                    recorder.note(r.id, f"{n} cannot run resources ({_why(info)})")
    asg.assign_all()

    # 4. actions
    graph = A.Graph()
    quorate = state.have_quorum
    nqp = state.options.no_quorum_policy
    per: dict[str, dict[str, object]] = {}
    active_on: dict[str, set[str]] = {}
    for r in rscs:
        per[r.id] = _create_actions(r, state, graph, quorate, nqp)
        active_on[r.id] = set(r.current)
    _order_constraints(cib, by_id, groups, per, graph, {cid: list(cs.instances) for cid, cs in clones.items()})
    fenced = _fencing(state, graph, per, have_fencing, quorate, nqp, node_order)
    unfenced = _unfencing(state, graph, per, rscs, node_order, fenced)
    graph.propagate(active_on)
    _block_colocated_dependents(rscs, per, graph, active_on)
    for acts in per.values():
        rl, st = acts.get("reload"), acts.get("start")
        if rl is not None and st is not None and not st.optional:  # type: ignore[attr-defined]
            rl.optional = True  # type: ignore[attr-defined]  # restarted anyway: no reload
    _settle_group_pseudo_actions(graph, {**groups, **{cid: list(cs.instances) for cid, cs in clones.items()}})

    # shutdown: nodes asked to shut down get do_shutdown after their stops
    shutdown_nodes = [n for n in node_order if state.nodes[n].shutdown and state.nodes[n].online]
    for n in shutdown_nodes:
        sd = graph.new(None, "do_shutdown", n, optional=False)
        for a in graph.actions:
            if a.task == "stop" and a.node == n and a.rsc is not None:
                A.Graph.order(a, sd, A.ORDERED)

    summary: list[str] = []
    for n, fa in fenced.items():
        summary.append(f"Fence ({fa.meta.get('action', 'reboot')}) {n} '{state.nodes[n].fence_reason}'")
    for n, fa in unfenced.items():
        summary.append(f"Fence (on) {n} '{fa.reason}'")
    for r in rscs:
        summary.extend(_summarise(r, per[r.id]))

    scores = {rid: sc for (_lbl, rid, sc) in asg.score_log}
    score_lines = []
    for lbl, rid, sc in asg.score_log:
        for n, s in sc.items():
            score_lines.append(f"{lbl}: {rid} allocation score on {n}: {S.to_str(s)}")
    future = [t for t in rechecks if t > now]
    return ScheduleResult(
        state=state,
        scores=scores,
        score_lines=score_lines,
        placement={r.id: r.assigned for r in rscs},
        summary=summary,
        graph=graph,
        recheck_at=min(future) if future else None,
        reasons=asg.reasons,
        recorder=recorder,
        rscs=rscs,
        shutdown_nodes=shutdown_nodes,
    )


def _shutdown_locks(rscs: list[Rsc], state: ClusterState, node_order: list[str]) -> list[datetime]:
    """shutdown-lock: a resource stopped by its node's clean shutdown stays with that node.

    The resource's history (``lrm_resource``) carries ``shutdown-lock`` (the time
    of the lock) after its stop there; while the
    node is down and ``shutdown-lock-limit`` (if set) has not passed, the
    resource may run nowhere else (Pacemaker Explained, cluster options).
    """
    from tandem.cib.options import is_true
    from tandem.cib.rules import parse_interval_ms

    if not is_true(state.options.get("shutdown-lock")):
        return []
    limit_s = parse_interval_ms(state.options.get("shutdown-lock-limit"), 0) // 1000
    now = state.now.timestamp()
    rechecks: list[datetime] = []
    for r in rscs:
        for n, h in r.history.items():
            info = state.nodes.get(n)
            if info is None or info.online or not h.ops:
                continue
            last = max(h.ops, key=lambda o: o.call_id)
            el = last.element
            parent = el.getparent() if last.task == "stop" and el is not None else None  # type: ignore[attr-defined]
            lock = parent.get("shutdown-lock") if parent is not None else None  # on lrm_resource
            if not lock or not lock.isdigit():
                continue
            if limit_s > 0:
                expires = int(lock) + limit_s
                if now >= expires:
                    continue
                rechecks.append(datetime.fromtimestamp(expires, tz=state.now.tzinfo))
            for m in node_order:
                if m != n:
                    r.add_score(m, -INF, f"shutdown lock: {r.id} waits for {n} to come back", "location")
    return rechecks


def _block_colocated_dependents(rscs: list[Rsc], per: dict[str, dict[str, object]], graph: A.Graph, active_on: dict[str, set[str]]) -> None:
    """A resource that must run with a primary that cannot start cannot start either.

    Pacemaker 3.x blocks the start of every mandatory (INFINITY) dependent
    of a primary whose start cannot run ("due to colocation with P"); the
    blocked starts then spread along the orderings again.
    """
    for _round in range(10):
        changed = False
        for r in rscs:
            for c in r.this_with:
                if c.score < INF or c.dependent_role or c.primary_role or c.dependent.clone is not None:
                    continue
                if c.primary.clone is not None or c.id.endswith("(group order)"):
                    continue
                dstart = per[r.id].get("start")
                pstart = per[c.primary.id].get("start")
                if dstart is None or pstart is None or not dstart.runnable or pstart.runnable:  # type: ignore[attr-defined]
                    continue
                if pstart.node is None:  # type: ignore[attr-defined]
                    continue  # the primary is not placed: the dependent was not placed either
                dstart.runnable = False  # type: ignore[attr-defined]
                if dstart.reason is None:  # type: ignore[attr-defined]
                    dstart.reason = f"colocation with {c.primary_name or c.primary.id}"  # type: ignore[attr-defined]
                changed = True
        if not changed:
            return
        graph.propagate(active_on)


# --------------------------------------------------------------------------- node health


# --------------------------------------------------------------------------- fencing


# --------------------------------------------------------------------------- failures


# --------------------------------------------------------------------------- actions per resource


def _needs_restart(r: Rsc, node: str) -> bool | str:
    """Did the definition change since the resource was started on ``node``?

    ``"reload"`` when only reloadable parameters changed: the start record
    lists the parameters that force a restart (``op-force-restart``) and the
    digest of those (``op-restart-digest``) still matches (Pacemaker Explained,
    "Reloading Agents").
    """
    h = r.history.get(node)
    if h is None or r.prim is None:
        return False
    start = h.last_start
    if start is None or start.digest is None:
        return False
    op = _op_def(r, "start", 0)
    params = dict(r.params)
    want = op_digest(params, op.params if op else None)
    if want == start.digest:
        return False
    el = start.element
    # Records of devices with sensitive parameters carry a digest we cannot
    # recompute from the configuration (crm_simulate compares a sanitised one).
    if el is not None and el.get("op-secure-params"):  # type: ignore[attr-defined]
        return False
    force = el.get("op-force-restart") if el is not None else None  # type: ignore[attr-defined]
    if force is not None and start.restart_digest:
        names = set(force.split())
        if op_digest({k: v for k, v in params.items() if k in names}) == start.restart_digest:
            return "reload"
    return True


def _version(v: str) -> tuple[int, ...]:
    out = []
    for p in v.split("."):
        try:
            out.append(int(p))
        except ValueError:
            out.append(0)
    return tuple(out)


def _recurring(r: Rsc) -> list:
    if r.prim is None:
        return []
    out = []
    for op in r.prim.ops:
        if op.interval_ms <= 0 or op.name != "monitor":
            continue
        enabled = op.get("enabled")
        if enabled is not None and enabled.lower() in ("false", "no", "0", "off"):
            continue
        out.append(op)
    return out


def _create_actions(r: Rsc, state: ClusterState, graph: A.Graph, quorate: bool, nqp: str) -> dict[str, object]:
    acts: dict[str, object] = {"stops": {}, "start": None, "monitors": [], "probes": [], "restart": False}
    stops: dict[str, A.Action] = acts["stops"]  # type: ignore[assignment]
    nxt = r.assigned
    # probes: every online node where the resource's state is unknown
    if not r.orphan:
        for n, info in state.nodes.items():
            if not info.online or info.unclean or n in r.history or info.maintenance:
                continue
            p = graph.new(r.id, "monitor", n, 0, optional=False)
            acts["probes"].append(p)  # type: ignore[union-attr]
    if len(r.current) > 1 and r.multiple_active == "block":
        r.managed = False
        r.blocked = True
    multiple = len(r.current) > 1
    if multiple and r.multiple_active == "stop_only":
        nxt = None
        r.assigned = None
    restart = False
    if nxt is not None and nxt in r.current and not multiple:
        h = r.history.get(nxt)
        if h is not None and h.failed:
            restart = True
            acts["recover"] = True
        else:
            change = _needs_restart(r, nxt)
            if change == "reload":
                # only reloadable parameters changed: the agent reloads in place
                acts["reload"] = graph.new(r.id, "reload-agent", nxt, optional=False)
            elif change:
                restart = True
                acts["definition_changed"] = True
    for c in r.current:
        required = c != nxt or multiple or restart
        s = graph.new(r.id, "stop", c, optional=not required)
        if nxt is None:
            s.reason = "node availability"
        stops[c] = s
    start = None
    if nxt is None and r.managed:
        # Pacemaker keeps an unrunnable start for a resource that cannot run:
        # it blocks whatever is ordered after it.
        start = graph.new(r.id, "start", None, optional=True)
        start.runnable = False
        acts["start"] = start
        for s in stops.values():
            A.Graph.order(s, start, A.FIRST_IMPLIES_THEN | A.ORDERED)
        start = None
    if nxt is not None:
        start = graph.new(r.id, "start", nxt, optional=(nxt in r.current and not multiple and not restart))
        acts["start"] = start
        info = state.nodes[nxt]
        if not quorate and r.requires != "nothing":
            if nqp == "freeze":
                if not r.current:
                    start.runnable = False
                    start.reason = "quorum freeze"
            elif nqp != "ignore":
                start.runnable = False
                start.reason = "no quorum"
        if not info.available:
            start.runnable = False
        for c, s in stops.items():
            flags = A.FIRST_IMPLIES_THEN | A.RESTART | A.ORDERED
            if c != nxt:
                flags |= A.UNRUNNABLE_FIRST_BLOCKS
            A.Graph.order(s, start, flags)
        for p in acts["probes"]:  # type: ignore[union-attr]
            A.Graph.order(p, start, A.UNRUNNABLE_FIRST_BLOCKS & 0 | A.ORDERED)
        for op in _recurring(r):
            role = (op.role or "Started").lower()
            if role in ("stopped",):
                continue
            if role not in ("started",):
                continue
            h = r.history.get(nxt)
            have = h.active_monitors.get(f"monitor_{op.interval_ms}") if h else None
            changed = False
            if have is not None and have.digest:
                timeout_ms = _timeout_ms(op)
                want = op_digest(r.params, op.params, interval_ms=op.interval_ms, timeout_ms=timeout_ms)
                changed = want != have.digest
            reload = acts.get("reload")
            m = graph.new(r.id, "monitor", nxt, op.interval_ms, optional=(have is not None and not changed and reload is None))
            acts["monitors"].append(m)  # type: ignore[union-attr]
            A.Graph.order(start, m, A.FIRST_IMPLIES_THEN | A.UNRUNNABLE_FIRST_BLOCKS | A.ORDERED)
            A.Graph.order(reload, m, A.ORDERED)  # type: ignore[arg-type]
    # monitors for role Stopped: on the nodes where it will not run
    for op in _recurring(r):
        if (op.role or "").lower() != "stopped":
            continue
        for n, info in state.nodes.items():
            if n == nxt or not info.online:
                continue
            h = r.history.get(n)
            have = h.active_monitors.get(f"monitor_{op.interval_ms}") if h else None
            if have is not None:
                continue
            m = graph.new(r.id, "monitor", n, op.interval_ms, optional=False)
            if n in stops:
                A.Graph.order(stops[n], m, A.UNRUNNABLE_FIRST_BLOCKS | A.ORDERED)
            for p in acts["probes"]:  # type: ignore[union-attr]
                if p.node == n:
                    A.Graph.order(p, m, A.ORDERED)
            acts["monitors"].append(m)  # type: ignore[union-attr]
    acts["restart"] = restart
    if not r.managed:
        # an unmanaged or blocked resource: whatever it is required to do cannot
        # run (and blocks what depends on it); optional actions stay possible
        for a in list(stops.values()) + ([acts["start"]] if acts["start"] is not None else []):  # type: ignore[list-item]
            a.frozen = True
            if not a.optional:
                a.runnable = False
        for m in acts["monitors"]:  # type: ignore[union-attr]
            m.optional = True
            m.runnable = False
    return acts


def _timeout_ms(op) -> int | None:  # noqa: ANN001
    from tandem.cib.rules import parse_interval_ms

    t = op.get("timeout")
    return parse_interval_ms(t) if t else None


# --------------------------------------------------------------------------- summary


def _fmt(action: str, rid: str, details: str, reason: str | None, blocked: bool) -> str:
    line = f"{action:<10} {rid:<7} ( {details} )"
    if reason:
        line += f"  due to {reason}"
        if blocked:
            line += " (blocked)"
    elif blocked:
        line += "  blocked"
    return line


def _summarise(r: Rsc, acts: dict[str, object]) -> list[str]:
    if not r.managed:
        return []
    start: A.Action | None = acts.get("start")  # type: ignore[assignment]
    stops: dict[str, A.Action] = acts.get("stops", {})  # type: ignore[assignment]
    nxt = r.assigned
    cur = r.current
    out: list[str] = []
    start_req = start is not None and not start.optional
    start_ok = start is not None and start.runnable
    if len(cur) > 1:
        if nxt is not None and start_ok:
            verb = "Recover" if r.failed else ("Restart" if nxt in cur else "Move")
            why = (
                "being multiply active"
                if r.multiple_active == "stop_unexpected" and verb == "Recover"
                else None
            )
            return [_fmt(verb, r.id, nxt, why, False)]
        return [_fmt("Stop", r.id, n, "node availability", False) for n in cur]
    if cur and nxt is not None and start is not None:
        c = cur[0]
        if not start_ok:
            s = stops.get(c)
            blocked = s is not None and not s.runnable
            return [_fmt("Stop", r.id, c, (s.reason if s else None) or start.reason, blocked)]
        if c != nxt:
            verb = "Recover" if r.failed else ("Migrate" if r.allow_migrate and _can_migrate(r) else "Move")
            return [_fmt(verb, r.id, f"{c} -> {nxt}", None, False)]
        if not start_req and acts.get("reload") is not None and acts["reload"].runnable:  # type: ignore[attr-defined]
            return [_fmt("Reload", r.id, c, None, False)]
        if start_req:
            s = stops.get(c)
            if acts.get("recover") or r.failed:
                return [_fmt("Recover", r.id, c, None, False)]
            if acts.get("definition_changed"):
                return [_fmt("Restart", r.id, c, "resource definition change", False)]
            reason = start.reason or (s.reason if s else None)
            return [_fmt("Restart", r.id, c, reason, False)]
        return []
    if cur and (nxt is None or start is None):
        for c in cur:
            s = stops.get(c)
            if s is None or s.optional:
                continue
            out.append(_fmt("Stop", r.id, c, s.reason, not s.runnable))
        return out
    if not cur and nxt is not None and start is not None and (start_req or not start_ok):
        return [_fmt("Start", r.id, nxt, start.reason, not start_ok)]
    return out


def _can_migrate(r: Rsc) -> bool:
    return False  # live migration is not scheduled yet (tier 4)


def default_now() -> datetime:
    """Only for callers at the edge (CLI): the scheduler itself never reads the clock."""
    from datetime import UTC

    return datetime.now(UTC)


_ = (timedelta, Contribution)
