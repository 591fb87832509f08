"""Clones of a primitive (anonymous or globally unique), first version.

Why separate: a clone is scheduled as ``clone-max`` instances (``child:0``,
``child:1``...) that are ordinary primitives for the assignment and action
code, plus a little clone-level state: the clone's own scores (printed as
``pcmk__clone_assign``), ``clone-node-max`` and the mapping of history to
instances.  Rules followed (Pacemaker Explained, "Clones"):

- ``clone-max`` defaults to the number of nodes, ``clone-node-max`` to 1;
- an anonymous clone's history may be recorded as ``child`` or ``child:N``:
  each node's active entry is given its own instance (the recorded number if
  free, else the first free one); an inactive entry only tells the node was
  probed;
- instances are sticky (default stickiness 1); active instances are placed
  first, then the others; a node holding ``clone-node-max`` instances is
  banned for the remaining ones.

Not handled yet: promotable clones (roles and promotion scores), cloned
groups, colocations with clones, notifications, interleave.
"""

from __future__ import annotations

from tandem.cib.model import Clone, Primitive, resolve
from tandem.cib.options import is_true
from tandem.cib.rules import RuleContext
from tandem.cib.unpack import ClusterState, RscHistory
from tandem.scheduler.provenance import NullRecorder
from tandem.scheduler.rsc import Scored


class CloneState(Scored):
    kind = "clone"

    def __init__(self, cid: str, unique: bool, node_max: int, recorder: NullRecorder) -> None:
        self.id = cid
        self.unique = unique
        self.node_max = node_max
        self.instances: list = []
        self.allowed: dict[str, int] = {}
        self.rec = recorder
        self.printed = False
        self.params: dict[str, str] = {}
        self.meta: dict[str, str] = {}
        self.prim = None


def supported(top: Clone) -> bool:
    return not top.promotable and isinstance(top.child, Primitive)


def clone_meta(top: Clone, ctx: RuleContext) -> dict[str, str]:
    return resolve(top.meta_sets, ctx)


def map_history(top: Clone, prim: Primitive, state: ClusterState, count: int, unique: bool) -> list[str]:
    """Give every instance its history in ``state.history``; return the instance ids."""
    ids = [f"{prim.id}:{i}" for i in range(count)]
    if unique:
        return ids
    entries: dict[str, list[tuple[str, RscHistory]]] = {}
    for key, per_node in list(state.history.items()):
        if key == prim.id or key.startswith(prim.id + ":"):
            for node, h in per_node.items():
                entries.setdefault(node, []).append((key, h))
            if key not in ids:
                del state.history[key]
    used: set[str] = set()
    new: dict[str, dict[str, RscHistory]] = {i: {} for i in ids}
    for node in state.nodes:
        for key, h in entries.get(node, []):
            if h.active:
                want = key if key in ids and key not in used else None
                if want is None:
                    free = [i for i in ids if i not in used]
                    if not free:
                        continue
                    want = free[0]
                used.add(want)
                new[want][node] = h
        for _key, h in entries.get(node, []):
            if not h.active:
                for i in ids:
                    new[i].setdefault(node, h)
    for i in ids:
        state.history[i] = new[i]
    return ids


def instance_count(top: Clone, meta: dict[str, str], state: ClusterState) -> tuple[int, int, bool]:
    def num(name: str, default: int) -> int:
        try:
            return max(0, int(meta.get(name, default)))
        except ValueError:
            return default

    count = num("clone-max", len(state.nodes))
    node_max = num("clone-node-max", 1)
    unique = is_true(meta.get("globally-unique"))
    return count, node_max, unique
