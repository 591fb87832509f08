"""Placement: node scores and the choice of a node for each resource.

Why this shape: Pacemaker's decisions are a function of the order in which
resources are assigned and of how colocations move scores between partners.
The rules followed here (from Pacemaker Explained and the regression corpus):

1. every resource starts with 0 on every node in a symmetric cluster (only
   the nodes named by location constraints in an asymmetric one);
2. location constraints add their score (rules evaluated per node), then the
   resource's stickiness is added on the node it is active on, then a fail
   count at or over ``migration-threshold`` bans the node;
3. resources are assigned by priority, then by their score on their current
   node, then by their score on each node in name order (scores here include
   those of the resources they are colocated with, scaled);
4. assigning a resource first assigns the resources it must be colocated
   with and applies those colocations (a mandatory one bans every other node,
   an advisory one adds its score where the primary went), then merges in the
   preferences of the resources colocated with it, scaled by
   ``score / INFINITY`` and followed transitively, rolled back when the merge
   would leave no node available;
5. the best node wins; ties go to the node with fewer resources assigned,
   then the current node, then node-name order; a negative best score or an
   unavailable node leaves the resource stopped.
"""

from __future__ import annotations

from tandem.cib import scores as S
from tandem.cib.unpack import ClusterState, NodeInfo
from tandem.scheduler.provenance import Contribution
from tandem.scheduler.rsc import Coloc, Rsc

INF = S.INFINITY


class Assigner:
    def __init__(self, state: ClusterState, rscs: list[Rsc], node_order: list[str]) -> None:
        self.state = state
        self.rscs = rscs
        self.nodes: dict[str, NodeInfo] = state.nodes
        self.node_order = node_order
        self.num_resources: dict[str, int] = {n: 0 for n in node_order}
        # node states do not change while assigning: precompute availability
        self.avail = {n for n, info in state.nodes.items() if info.available}
        self.balance = state.options.placement_strategy != "minimal"
        self.sorted_strategy = state.options.placement_strategy != "default"
        self.score_log: list[tuple[str, str, dict[str, int]]] = []  # (label, rsc, scores)
        self.reasons: dict[str, str] = {}

    # ---------------------------------------------------------------- helpers
    def available(self, node: str, score: int | None = None) -> bool:
        if node not in self.avail:
            return False
        return score is None or score >= 0

    def any_available(self, table: dict[str, int]) -> bool:
        return any(self.available(n, s) for n, s in table.items())

    def node_attr(self, node: str, attr: str) -> str | None:
        info = self.nodes.get(node)
        if info is None:
            return None
        if attr == "#uname":
            return node
        return info.attrs.get(attr)

    def sort_nodes(self, table: dict[str, int], preferred: str | None) -> list[str]:
        def key(n: str) -> tuple:
            s = table[n] if self.available(n) else -INF
            cnt = self.num_resources.get(n, 0) if self.balance else 0
            return (-s, cnt, 0 if n == preferred else 1, n)

        return sorted(table, key=key)

    # ---------------------------------------------------------------- colocated scores
    def best_by_value(self, coloc: Coloc, source: Rsc) -> dict[str | None, int] | None:
        """Best available score of ``source`` per value of the colocation's node attribute."""
        attr = coloc.node_attribute
        if attr == "#uname":
            return None
        best: dict[str | None, int] = {}
        for n, s in source.allowed.items():
            if n not in self.avail:
                continue
            v = self.node_attr(n, attr)
            if v is None:
                continue
            if s > best.get(v, -INF):
                best[v] = s
        return best

    def best_score_matching(self, coloc: Coloc, source: Rsc, value: str | None) -> int:
        best = -INF
        attr = coloc.node_attribute
        for n, s in source.allowed.items():
            if s > best and self.available(n) and self.node_attr(n, attr) == value and value is not None:
                best = s
        return best

    def add_colocated(
        self,
        source: Rsc,
        target: Rsc | None,
        work: dict[str, int] | None,
        coloc: Coloc | None,
        factor: float,
        this_with: bool,
        select_active: bool,
        nonneg: bool,
        contribs: dict[str, list[Contribution]] | None,
        path: str,
    ) -> tuple[dict[str, int] | None, dict[str, list[Contribution]] | None]:
        """Merge ``source``'s scores (and, transitively, its partners') into ``work``.

        Returns the new table and contributions, or the inputs unchanged when
        the merge is rolled back (it would leave no node available).
        """
        if source.updating:
            return work, contribs
        source.updating = True
        try:
            if work is None:
                new = dict(source.allowed)
                target = source
                new_contribs = None
            else:
                assert coloc is not None and target is not None
                new = dict(work)
                new_contribs = (
                    {n: list(v) for n, v in contribs.items()} if contribs is not None else None
                )
                by_value = self.best_by_value(coloc, source)
                for n in new:
                    if by_value is None:
                        # #uname: the only matching node is the node itself
                        score = source.allowed.get(n, -INF) if n in self.avail else -INF
                    else:
                        score = by_value.get(self.node_attr(n, coloc.node_attribute), -INF)
                    delta_f = factor * score
                    delta = int(delta_f - 0.5) if delta_f < 0 else int(delta_f + 0.5)
                    if delta == 0 and score != 0:
                        delta = 1 if factor > 0 else -1 if factor < 0 else 0
                    delta = S.clamp(delta)
                    new_score = S.add(delta, new[n])
                    if nonneg and new_score < 0 and new[n] > 0:
                        new[n] = 1
                        continue
                    if nonneg and new_score < 0 and new[n] == 0:
                        continue
                    new[n] = new_score
                    if new_contribs is not None:
                        label = (
                            f"colocation {coloc.id}: {source.id}'s score {S.to_str(score)}"
                            f" x {factor:g}{path}"
                        )
                        new_contribs.setdefault(n, []).append(
                            Contribution(label, delta, "colocation", coloc.id)
                        )
            if self.any_available(new):
                cons = source.this_with if this_with else source.with_this
                for c in cons:
                    if this_with:
                        other = c.primary
                    else:
                        if not self.has_influence(c):
                            continue
                        other = c.dependent
                    ofactor = factor * c.score / INF
                    new, new_contribs = self.add_colocated(  # type: ignore[assignment]
                        other, target, new, c, ofactor, this_with, select_active, nonneg,
                        new_contribs, f" (through {source.id})",
                    )
            elif select_active and work is not None:
                return work, contribs
            return new, new_contribs
        finally:
            source.updating = False

    def has_influence(self, c: Coloc) -> bool:
        return c.influence or not c.primary.current

    # ---------------------------------------------------------------- order of assignment
    def sort_resources(self) -> list[Rsc]:
        nodes = sorted(self.node_order)

        def key(r: Rsc) -> tuple:
            merged = self.add_colocated(r, None, None, None, 1.0, True, False, False, None, "")[0]
            merged = merged or {}
            cur = r.current_node if r.current else None
            cur_score = merged.get(cur, -INF) if cur is not None else -INF
            return (-r.priority, -cur_score, tuple(-merged.get(n, -INF) for n in nodes))

        keyed = [(key(r), i, r) for i, r in enumerate(self.rscs)]
        keyed.sort(key=lambda t: (t[0], t[1]))
        return [t[2] for t in keyed]

    # ---------------------------------------------------------------- assignment
    def assign_all(self) -> None:
        # With the default placement strategy resources are assigned in status
        # order (priority, then configuration order); the other strategies
        # sort them by their scores first.
        order = self.rscs if not self.sorted_strategy else self.sort_resources()
        for r in order:
            self.assign(r)

    def apply_coloc_to_dependent(self, c: Coloc) -> None:
        dep, prim = c.dependent, c.primary
        if not dep.unassigned or prim.unassigned:
            # nothing to apply yet (a colocation loop is broken here, as Pacemaker does)
            return
        archive = None
        if c.score < 0 and c.score > -INF:
            archive = dict(dep.allowed)
        pnode = prim.assigned
        work = dict(dep.allowed)
        deltas: dict[str, int] = {}
        value = self.node_attr(pnode, c.node_attribute) if pnode else None
        for n in work:
            if pnode is None:
                d = -c.score if c.score < INF else -INF
                if c.score <= -INF:
                    continue
                deltas[n] = d
            elif self.node_attr(n, c.node_attribute) == value:
                if c.score < INF:
                    deltas[n] = c.score
            elif c.score >= INF:
                deltas[n] = -INF
        for n, d in deltas.items():
            work[n] = S.add(work[n], d)
        if c.score <= -INF or c.score >= INF or self.any_available(work):
            for n, d in deltas.items():
                if pnode is None:
                    label = f"colocation {c.id}: {prim.id} is not running anywhere"
                elif d == -INF:
                    label = f"colocation {c.id}: {prim.id} is placed on another node ({pnode})"
                else:
                    label = f"colocation {c.id}: with {prim.id} (placed on {pnode})"
                dep.add_score(n, d, label, "colocation", c.id)
        if archive is not None and not self.any_available(dep.allowed):
            dep.allowed = archive

    def assign(self, r: Rsc) -> str | None:
        if not r.unassigned:
            return r.assigned
        if r.assigning:
            return None
        cs = r.clone
        if cs is not None and not cs.printed:
            return self.assign_clone(cs, r)
        r.assigning = True
        g = r.group
        if g is not None and not g.printed:
            g.printed = True
            self.score_log.append(("pcmk__group_assign", g.id, dict(g.allowed)))
            for m in g.members:
                self.score_log.append(("pcmk__group_assign", m.id, dict(m.allowed)))
        for c in r.this_with:
            if c.primary.unassigned:
                self.assign(c.primary)
            self.apply_coloc_to_dependent(c)
        for c in r.with_this:
            if not self.has_influence(c):
                continue
            factor = c.score / INF
            contribs = {n: [] for n in r.allowed} if r.rec.enabled else None
            new, got = self.add_colocated(
                c.dependent, r, r.allowed, c, factor, False, True, False, contribs, ""
            )
            if new is not r.allowed and new is not None:
                r.allowed = new
                if r.rec.enabled and got is not None:
                    for n, items in got.items():
                        for item in items:
                            r.rec.contribute(r.id, n, item)
        # roles
        if r.next_role == "Stopped" or r.target_role == "Stopped":
            for n in list(r.allowed):
                r.add_score(n, -INF, "target-role is Stopped (disabled)", "role")
            r.next_role = "Stopped"
        self.score_log.append(("pcmk__primitive_assign", r.id, dict(r.allowed)))
        chosen: str | None = None
        if not r.managed:
            chosen = r.current_node if len(r.current) == 1 else (r.current[0] if r.current else None)
            self.reasons[r.id] = "the resource is unmanaged: it stays where it is"
            self.force_assign(r, chosen)
        elif self.state.options.stop_all:
            self.reasons[r.id] = "stop-all-resources is set"
            self.force_assign(r, None)
        else:
            self.assign_best(r)
        r.assigning = False
        return r.assigned

    def assign_clone(self, cs, asked: Rsc) -> str | None:  # noqa: ANN001
        """Print the clone's scores, then place active instances first, then the rest."""
        cs.printed = True
        self.score_log.append(("pcmk__clone_assign", cs.id, dict(cs.allowed)))
        for inst in cs.instances:
            self.score_log.append(("pcmk__clone_assign", inst.id, dict(inst.allowed)))
        per_node: dict[str, int] = {}
        active = [i for i in cs.instances if len(i.current) == 1]
        rest = [i for i in cs.instances if i not in active]
        for inst in active + rest:
            for n in list(inst.allowed):
                if inst.allowed[n] <= -INF:
                    continue
                if per_node.get(n, 0) >= cs.node_max:
                    inst.add_score(n, -INF, f"clone {cs.id} already has clone-node-max instances on {n}", "clone")
                elif not self.available(n):
                    inst.add_score(n, -INF, f"{n} cannot run clone instances now", "clone")
                elif inst.allowed[n] < 0:
                    inst.add_score(n, -INF, f"negative score for {inst.id} on {n}", "clone")
            node = self.assign(inst)
            if node is not None:
                per_node[node] = per_node.get(node, 0) + 1
        return asked.assigned

    def force_assign(self, r: Rsc, node: str | None) -> None:
        r.unassigned = False
        r.assigned = node
        if node is not None:
            self.num_resources[node] = self.num_resources.get(node, 0) + 1
        if node is None:
            r.next_role = "Stopped"

    def assign_best(self, r: Rsc) -> None:
        cur = r.current_node if len(r.current) >= 1 else None
        nodes = self.sort_nodes(r.allowed, cur)
        chosen = nodes[0] if nodes else None
        if chosen is not None and r.allowed[chosen] > 0 and self.available(chosen) and cur is not None:  # noqa: SIM102
            if self.available(cur, r.allowed.get(cur)) and r.allowed.get(cur) == r.allowed[chosen]:
                chosen = cur
        if chosen is not None and not self.available(chosen, r.allowed[chosen]):
            info = self.nodes.get(chosen)
            if r.allowed[chosen] < 0:
                self.reasons[r.id] = "no node has a non-negative score"
            else:
                self.reasons[r.id] = f"no node can run resources ({chosen}: {_why(info)})"
            chosen = None
        elif chosen is None:
            self.reasons[r.id] = "no node is allowed"
        else:
            ties = [n for n in nodes if r.allowed[n] == r.allowed[chosen] and self.available(n)]
            if len(ties) > 1:
                self.reasons[r.id] = (
                    f"highest score {S.to_str(r.allowed[chosen])}, shared by {len(ties)} nodes: "
                    + ("kept on its current node" if chosen == cur else
                       "the one with fewest resources, then by name")
                )
            else:
                self.reasons[r.id] = f"highest score ({S.to_str(r.allowed[chosen])})"
        self.force_assign(r, chosen)


def _why(info: NodeInfo | None) -> str:
    if info is None:
        return "unknown node"
    for flag, word in (
        (not info.online, "offline"),
        (info.unclean, "unclean"),
        (info.standby, "standby"),
        (info.shutdown, "shutting down"),
        (info.maintenance, "maintenance"),
    ):
        if flag:
            return word
    return "available"
