"""The scheduler's working view of resources (one object per schedulable resource).

Why a separate runtime object: the model is read-only and shared; the
scheduler needs mutable per-run state (allowed node scores, the assigned node,
next role, flags) next to resolved meta attributes.  Groups, clones and
bundles get their own subclasses later; everything the assignment and action
code needs goes through the small interface of :class:`Rsc` (``allowed``,
``assigned``, ``current``, ``this_with``/``with_this`` colocations), so adding
them does not change the primitive path.
"""

from __future__ import annotations

from dataclasses import dataclass

from tandem.cib import scores as S
from tandem.cib.model import Primitive, resolve
from tandem.cib.options import is_true
from tandem.cib.rules import RuleContext, parse_interval_ms
from tandem.cib.unpack import ROLE_STARTED, ROLE_STOPPED, ClusterState, RscHistory, norm_role
from tandem.scheduler.provenance import Contribution, NullRecorder


@dataclass
class Coloc:
    id: str
    dependent: Rsc
    primary: Rsc
    score: int
    dependent_role: str | None
    primary_role: str | None
    node_attribute: str
    influence: bool
    primary_name: str | None = None  # as the constraint names it (a group, not its first member)


class Scored:
    """Node scores with provenance, shared by resources, groups and clones.

    Why a mixin: all three keep ``allowed`` and record each contribution the
    same way; subclasses set ``id``, ``allowed`` and ``rec``.
    """

    id: str
    allowed: dict[str, int]
    rec: NullRecorder

    def add_score(self, node: str, amount: int, label: str, kind: str, source: str | None = None) -> None:
        if node not in self.allowed:
            return
        self.allowed[node] = S.add(self.allowed[node], amount)
        if self.rec.enabled:
            self.rec.contribute(self.id, node, Contribution(label, amount, kind, source))

    def ensure_node(self, node: str, initial: int = 0) -> None:
        if node not in self.allowed:
            self.allowed[node] = initial


class Rsc(Scored):
    """A primitive being scheduled."""

    kind = "primitive"

    def __init__(
        self,
        prim: Primitive | None,
        rid: str,
        meta: dict[str, str],
        params: dict[str, str],
        agent: str,
        state: ClusterState,
        recorder: NullRecorder,
        orphan: bool = False,
    ) -> None:
        self.prim = prim
        self.id = rid
        self.meta = meta
        self.params = params
        self.agent = agent
        self.orphan = orphan
        self.parent: object | None = None
        self.rec = recorder
        self.is_fencing = agent.startswith("stonith:")
        self.priority = S.parse(meta.get("priority"), default=0) if _is_num(meta.get("priority")) else 0
        self.stickiness = _score(meta.get("resource-stickiness"), 0)
        self.target_role = norm_role(meta.get("target-role")) or ROLE_STARTED
        if norm_role(meta.get("target-role")) is None and meta.get("target-role"):
            self.target_role = ROLE_STARTED
        maint = is_true(meta.get("maintenance"))
        self.managed = is_true(meta.get("is-managed"), True) and not maint and not state.options.maintenance_mode
        mt = meta.get("migration-threshold")
        self.migration_threshold = _score(mt, S.INFINITY) if mt is not None else S.INFINITY
        self.failure_timeout_ms = parse_interval_ms(meta.get("failure-timeout"), 0)
        self.allow_migrate = is_true(meta.get("allow-migrate"))
        self.multiple_active = (meta.get("multiple-active") or "stop_start").lower()
        req = (meta.get("requires") or "").lower()
        if not req:
            if self.is_fencing:
                req = "quorum"
            elif state.options.fencing_enabled:
                req = "fencing"
            else:
                req = "quorum"
        self.requires = req
        # history
        self.history: dict[str, RscHistory] = state.history.get(rid, {})
        self.current: list[str] = [
            n for n, h in self.history.items() if h.active and _counts(state, n)
        ]
        self.role = ROLE_STOPPED
        for n in self.current:
            r = self.history[n].role
            if _rank(r) > _rank(self.role):
                self.role = r
        self.failed = any(h.failed for h in self.history.values() if h.node in state.nodes)
        self.next_role: str | None = None
        # scheduling state
        self.allowed: dict[str, int] = {}
        self.assigned: str | None = None
        self.unassigned = True
        self.assigning = False
        self.updating = False
        self.this_with: list[Coloc] = []
        self.with_this: list[Coloc] = []
        self.blocked = False
        self.restart_reason: str | None = None
        self.group: GroupState | None = None
        self.clone: object | None = None
        self.failure_ignored = False

    @property
    def current_node(self) -> str | None:
        return self.current[0] if self.current else None

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Rsc {self.id}>"


def _counts(state: ClusterState, node: str) -> bool:
    """History counts on online nodes, and on unclean ones (active until fenced)."""
    info = state.nodes.get(node)
    return info is not None and (info.online or info.unclean)


def _rank(role: str) -> int:
    from tandem.cib.unpack import ROLE_RANK

    return ROLE_RANK.get(role, 0)


def _is_num(v: str | None) -> bool:
    if v is None:
        return False
    try:
        S.parse(v)
        return True
    except Exception:
        return False


def _score(v: str | None, default: int) -> int:
    if v is None:
        return default
    try:
        return S.parse(v, default=default)
    except Exception:
        return default


def primitive_meta(prim: Primitive, cib_rsc_defaults: list, ctx: RuleContext, parents: list) -> dict[str, str]:
    """Own meta attributes, then the parents' (group/clone), then rsc_defaults."""
    meta = resolve(prim.meta_sets, ctx)
    for p in parents:
        resolve(p.meta_sets, ctx, into=meta)
    resolve(cib_rsc_defaults, ctx, into=meta)
    return meta


class GroupState(Scored):
    """A group's own scores (printed as ``pcmk__group_assign``); members do the placing."""

    kind = "group"

    def __init__(self, gid: str, members: list[Rsc], recorder: NullRecorder) -> None:
        self.id = gid
        self.members = members
        self.allowed: dict[str, int] = {}
        self.rec = recorder
        self.printed = False
        self.params: dict[str, str] = {}
        self.meta: dict[str, str] = {}
        self.prim = None
