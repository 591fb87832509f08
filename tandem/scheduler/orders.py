"""Orderings: ``rsc_order`` constraints, groups' implied orders and pseudo actions.

Why a module of its own: turning constraints into ordering edges (with the
flags the propagation in :mod:`tandem.scheduler.actions` reads) is the
largest single step of building the transition graph.
"""

from __future__ import annotations

from tandem.cib import scores as S
from tandem.cib.model import Cib
from tandem.errors import CibError
from tandem.scheduler import actions as A
from tandem.scheduler.rsc import Rsc


def expand(cib: Cib, name: str | None) -> list[str] | None:
    """A tag or template name -> the resource ids it stands for (None for anything else)."""
    if name is None:
        return None
    if name in cib.tags:
        out: list[str] = []
        for ref in cib.tags[name]:
            out.extend(expand(cib, ref) or [ref])
        return out
    if name in cib.templates:
        return [p.id for p in cib.primitives() if p.template == name]
    return None


def _settle_group_pseudo_actions(graph: A.Graph, groups: dict[str, list[Rsc]]) -> None:
    """A group's start/running (stop/stopped) happen when a member starts (stops).

    Done after propagation: the group's pseudo actions mark progress, they do
    not force anything on members that are already where they should be.
    """
    ids = set(groups)
    by_group: dict[str, dict[str, A.Action]] = {}
    for a in graph.actions:
        if a.pseudo and a.rsc in ids and a.node is None:
            by_group.setdefault(a.rsc, {})[a.task] = a  # type: ignore[index]
    for gid, ga in by_group.items():
        members = {m.id for m in groups[gid]}
        starts = [a for a in graph.actions if a.rsc in members and a.task == "start"]
        stops = [a for a in graph.actions if a.rsc in members and a.task == "stop"]
        if any(not a.optional and a.runnable for a in starts):
            for t in ("start", "running"):
                if t in ga and ga[t].runnable:
                    ga[t].optional = False
        if any(not a.optional and a.runnable for a in stops):
            for t in ("stop", "stopped"):
                if t in ga and ga[t].runnable:
                    ga[t].optional = False


def _order_constraints(cib: Cib, by_id: dict[str, Rsc], groups: dict[str, list[Rsc]], per: dict[str, dict[str, object]], graph: A.Graph, clone_members: dict[str, list[Rsc]] | None = None) -> None:
    chained = dict(groups)
    groups = {**groups, **(clone_members or {})}
    def actions_of_prim(r: Rsc, task: str) -> list[A.Action]:
        acts = per[r.id]
        if task == "start":
            return [acts["start"]] if acts["start"] is not None else []  # type: ignore[list-item]
        if task == "stop":
            return list(acts["stops"].values())  # type: ignore[union-attr]
        return []

    gacts: dict[str, dict[str, A.Action]] = {}
    for gid, members in groups.items():
        if not members:
            continue
        ga = {t: graph.new(gid, t, None, optional=True) for t in ("start", "running", "stop", "stopped")}
        for a in ga.values():
            a.pseudo = True
        gacts[gid] = ga
        for m in members:
            for a in actions_of_prim(m, "start") + actions_of_prim(m, "stop"):
                a.meta["group"] = gid
            for st in actions_of_prim(m, "start"):
                A.Graph.order(ga["start"], st, A.ORDERED | A.UNRUNNABLE_FIRST_BLOCKS | A.FIRST_IMPLIES_THEN)
                A.Graph.order(st, ga["running"], A.ORDERED | A.FIRST_IMPLIES_THEN | A.UNRUNNABLE_FIRST_BLOCKS)
            for sp in actions_of_prim(m, "stop"):
                A.Graph.order(ga["stop"], sp, A.ORDERED | A.FIRST_IMPLIES_THEN)
                A.Graph.order(sp, ga["stopped"], A.ORDERED | A.FIRST_IMPLIES_THEN)
        A.Graph.order(ga["stopped"], ga["start"], A.ORDERED)

    def group_action(name: str, task: str, as_first: bool) -> list[A.Action]:
        ga = gacts.get(name)
        if ga is None:
            return []
        if as_first:
            task = {"start": "running", "stop": "stopped"}.get(task, task)
        return [ga[task]] if task in ga else []

    def actions_of(r: Rsc, task: str) -> list[A.Action]:
        return actions_of_prim(r, task)

    def first_end(name: str, task: str) -> list[Rsc]:
        if name in by_id:
            return [by_id[name]]
        if name in groups and groups[name]:
            return [groups[name][-1] if task in ("start", "promote") else groups[name][0]]
        return []

    def then_end(name: str, task: str) -> list[Rsc]:
        if name in by_id:
            return [by_id[name]]
        if name in groups and groups[name]:
            return [groups[name][0] if task in ("start", "promote") else groups[name][-1]]
        return []

    inverse = {"start": "stop", "stop": "start", "promote": "demote", "demote": "promote"}

    def link(first: Rsc, fa: str, then: Rsc, ta: str, flags: int) -> None:
        for f in actions_of(first, fa):
            for t in actions_of(then, ta):
                A.Graph.order(f, t, flags)

    def link_any(first: str, fa: str, then: str, ta: str, flags: int) -> None:
        fas = group_action(first, fa, True) or [
            a for r in first_end(first, fa) for a in actions_of(r, fa)
        ]
        tas = group_action(then, ta, False) or [
            a for r in then_end(then, ta) for a in actions_of(r, ta)
        ]
        for f in fas:
            for t in tas:
                if f.rsc != t.rsc:
                    A.Graph.order(f, t, flags)

    def one(first: str, fa: str, then: str, ta: str, kind: str, symmetrical: bool) -> None:
        if kind == "mandatory":
            flags = A.ORDERED | A.FIRST_IMPLIES_THEN
            if fa in ("start", "promote"):
                flags |= A.UNRUNNABLE_FIRST_BLOCKS
            if not symmetrical:
                flags = A.ORDERED | A.ASYMMETRIC | A.UNRUNNABLE_FIRST_BLOCKS
        else:
            flags = A.ORDERED
        iflags = A.ORDERED
        if first in gacts or then in gacts:
            link_any(first, fa, then, ta, flags)
            if symmetrical and fa in inverse and ta in inverse:
                link_any(then, inverse[ta], first, inverse[fa], iflags)
            return
        for fr in first_end(first, fa):
            for tr in then_end(then, ta):
                if fr is not tr:
                    link(fr, fa, tr, ta, flags)
        if symmetrical and fa in inverse and ta in inverse:
            for tr in first_end(then, inverse[ta]):
                for fr in then_end(first, inverse[fa]):
                    if fr is not tr:
                        link(tr, inverse[ta], fr, inverse[fa], iflags)

    # group members are ordered one after the other
    for members in chained.values():
        for prev, cur in zip(members, members[1:], strict=False):
            link(prev, "start", cur, "start", A.ORDERED | A.FIRST_IMPLIES_THEN | A.UNRUNNABLE_FIRST_BLOCKS)
            link(cur, "stop", prev, "stop", A.ORDERED | A.THEN_IMPLIES_FIRST | A.UNRUNNABLE_FIRST_BLOCKS)
            if cur.current:
                # a later member that is running must stop before an earlier one (re)starts
                link(cur, "stop", prev, "start", A.ORDERED | A.UNRUNNABLE_FIRST_BLOCKS)

    for o in cib.orders:
        kind = (o.kind or "").lower()
        if not kind:
            if o.score is not None:
                try:
                    kind = "mandatory" if S.parse(o.score) > 0 else "optional"
                except CibError:
                    kind = "mandatory"
            else:
                kind = "mandatory"
        if o.symmetrical is not None:
            sym = o.symmetrical.lower() in ("true", "1", "yes", "on")
        else:
            sym = kind != "serialize"
        if not o.sets and (expand(cib, o.first) is not None or expand(cib, o.then) is not None):
            fx = expand(cib, o.first) or [o.first or ""]
            tx = expand(cib, o.then) or [o.then or ""]
            for rids in (fx, tx):
                for a, b in zip(rids, rids[1:], strict=False):
                    one(a, o.first_action if rids is fx else o.then_action, b,
                        o.first_action if rids is fx else o.then_action, kind, sym)
            for a in fx:
                for b in tx:
                    one(a, o.first_action, b, o.then_action, kind, sym)
            continue
        if o.sets:
            seq: list[list[str]] = []
            for s in o.sets:
                rids = s.resources
                if s.sequential:
                    for a, b in zip(rids, rids[1:], strict=False):
                        one(a, s.action or "start", b, s.action or "start", kind, sym)
                seq.append(rids)
            for i in range(len(seq) - 1):
                fa = o.sets[i].action or "start"
                ta = o.sets[i + 1].action or "start"
                if not o.sets[i].require_all:
                    # one member of this set is enough for the next set to go ahead
                    gate = graph.new(f"one-or-more:{o.sets[i].id}", "one-or-more", None)
                    gate.pseudo = True
                    for a in seq[i]:
                        for f in [x for r in first_end(a, fa) for x in actions_of(r, fa)]:
                            A.Graph.order(f, gate, A.ORDERED | A.ONE_OR_MORE)
                    for b in seq[i + 1]:
                        for t in [x for r in then_end(b, ta) for x in actions_of(r, ta)]:
                            A.Graph.order(gate, t, A.ORDERED | A.UNRUNNABLE_FIRST_BLOCKS)
                    continue
                for a in seq[i]:
                    for b in seq[i + 1]:
                        one(a, fa, b, ta, kind, sym)
            continue
        if o.first is None or o.then is None:
            continue
        one(o.first, o.first_action, o.then, o.then_action, kind, sym)
