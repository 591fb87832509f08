"""A typed, read-only model of a CIB, built from an lxml root element.

Why: the scheduler must not walk XML.  This module turns the configuration
into plain dataclasses once (nodes, resources as a tree of primitives, groups,
clones and bundles, constraints, option sets) and keeps the original elements
beside them, so that rules can still be evaluated later (they depend on the
node and on ``now``) and nothing unknown is lost.  The status section is
unpacked separately (:mod:`tandem.cib.unpack`).

Entry point: ``Cib.from_element(root)``.  Things Pacemaker tolerates
(constraints naming unknown nodes, unknown attributes) are accepted here;
checking is :mod:`tandem.cib.validate`'s and :mod:`tandem.cib.verify`'s job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from tandem.cib.rules import RuleContext, parse_interval_ms, rules_pass
from tandem.cib.scores import parse as parse_score
from tandem.errors import ScoreError

Element = etree._Element

# ---------------------------------------------------------------- option sets


@dataclass
class NvSet:
    """One ``instance_attributes``/``meta_attributes``/``utilization``/property set."""

    id: str
    score: int
    rules: list[Element]
    pairs: list[tuple[str, str | None]]

    def applies(self, ctx: RuleContext | None) -> bool:
        if not self.rules:
            return True
        if ctx is None:
            return False
        return rules_pass(self.rules, ctx)


def _children(el: Element | None, tag: str) -> Iterator[Element]:
    if el is None:
        return iter(())
    return (c for c in el if c.tag == tag)


class IdIndex:
    """Every element with an id, for ``id-ref`` resolution."""

    def __init__(self, root: Element) -> None:
        self.by_id: dict[str, Element] = {}
        for el in root.iter():
            if isinstance(el.tag, str):
                i = el.get("id")
                if i is not None and i not in self.by_id:
                    self.by_id[i] = el

    def deref(self, el: Element) -> Element:
        ref = el.get("id-ref")
        if ref is not None and ref in self.by_id:
            return self.by_id[ref]
        return el


def parse_nvsets(parent: Element | None, tags: tuple[str, ...], idx: IdIndex, first_id: str | None = None) -> list[NvSet]:
    """Parse the option sets under ``parent`` sorted as Pacemaker applies them.

    Highest ``score`` first (document order among equals); ``first_id`` (such as
    ``cib-bootstrap-options``) goes before all others.
    """
    sets: list[NvSet] = []
    if parent is None:
        return sets
    for raw in parent:
        if raw.tag not in tags:
            continue
        el = idx.deref(raw)
        try:
            score = parse_score(el.get("score"))
        except ScoreError:
            score = 0
        rules = [r for r in _children(el, "rule")]
        rules = [idx.deref(r) for r in rules]
        pairs: list[tuple[str, str | None]] = []
        for nv in _children(el, "nvpair"):
            nv = idx.deref(nv) if nv.get("name") is None else nv
            name = nv.get("name")
            if name is None:
                continue
            pairs.append((name, nv.get("value")))
        sets.append(NvSet(el.get("id", raw.get("id", "")), score, rules, pairs))
    order = sorted(range(len(sets)), key=lambda i: (sets[i].id != first_id, -sets[i].score, i))
    return [sets[i] for i in order]


def resolve(sets: list[NvSet], ctx: RuleContext | None = None, into: dict[str, str] | None = None) -> dict[str, str]:
    """Merge sets: the first set (in application order) that sets a name wins."""
    out: dict[str, str] = {} if into is None else into
    for s in sets:
        if not s.applies(ctx):
            continue
        for name, value in s.pairs:
            if name not in out and value is not None:
                out[name] = value
    return out


def has_rules(sets: list[NvSet]) -> bool:
    return any(s.rules for s in sets)


# ---------------------------------------------------------------- resources


@dataclass
class OpDef:
    """An ``<op>`` of a primitive."""

    id: str
    name: str
    interval_ms: int
    role: str | None
    attrs: dict[str, str]  # the op element's attributes (timeout, on-fail, enabled...)
    params: dict[str, str]  # the op's own instance attributes
    meta: dict[str, str]
    element: Element | None = None

    def get(self, name: str) -> str | None:
        if name in self.attrs:
            return self.attrs[name]
        return self.meta.get(name)


@dataclass
class Resource:
    id: str
    kind: str  # primitive | group | clone | bundle
    element: Element
    meta_sets: list[NvSet]
    parent: Resource | None = None

    def iter_primitives(self) -> Iterator[Primitive]:
        return iter(())

    @property
    def children(self) -> list[Resource]:
        return []


@dataclass
class Primitive(Resource):
    cls: str = ""
    provider: str | None = None
    type: str = ""
    instance_sets: list[NvSet] = field(default_factory=list)
    utilization_sets: list[NvSet] = field(default_factory=list)
    ops: list[OpDef] = field(default_factory=list)
    template: str | None = None

    def iter_primitives(self) -> Iterator[Primitive]:
        yield self

    @property
    def agent(self) -> str:
        """``ocf:heartbeat:IPaddr2`` (crm_mon's spelling)."""
        if self.provider:
            return f"{self.cls}:{self.provider}:{self.type}"
        return f"{self.cls}:{self.type}"

    @property
    def is_fencing(self) -> bool:
        return self.cls == "stonith"


@dataclass
class Group(Resource):
    members: list[Primitive] = field(default_factory=list)

    def iter_primitives(self) -> Iterator[Primitive]:
        for m in self.members:
            yield from m.iter_primitives()

    @property
    def children(self) -> list[Resource]:
        return list(self.members)


@dataclass
class Clone(Resource):
    child: Resource | None = None
    promotable: bool = False

    def iter_primitives(self) -> Iterator[Primitive]:
        if self.child is not None:
            yield from self.child.iter_primitives()

    @property
    def children(self) -> list[Resource]:
        return [self.child] if self.child is not None else []


@dataclass
class Bundle(Resource):
    primitive: Primitive | None = None

    def iter_primitives(self) -> Iterator[Primitive]:
        if self.primitive is not None:
            yield self.primitive

    @property
    def children(self) -> list[Resource]:
        return [self.primitive] if self.primitive is not None else []


# ---------------------------------------------------------------- constraints


@dataclass
class ResourceSet:
    id: str
    resources: list[str]
    sequential: bool = True
    require_all: bool = True
    role: str | None = None
    action: str | None = None
    score: str | None = None


@dataclass
class Location:
    id: str
    rsc: str | None
    rsc_pattern: str | None
    node: str | None
    score: str | None
    score_attribute: str | None
    role: str | None
    rules: list[Element]
    discovery: str | None
    sets: list[ResourceSet]
    element: Element


@dataclass
class Colocation:
    id: str
    rsc: str | None
    with_rsc: str | None
    score: str | None
    rsc_role: str | None
    with_rsc_role: str | None
    node_attribute: str
    influence: str | None
    sets: list[ResourceSet]
    element: Element


@dataclass
class Order:
    id: str
    first: str | None
    then: str | None
    first_action: str
    then_action: str
    kind: str | None
    score: str | None
    symmetrical: str | None
    sets: list[ResourceSet]
    element: Element


@dataclass
class CibNode:
    id: str
    uname: str
    type: str
    attr_sets: list[NvSet]
    utilization_sets: list[NvSet]
    element: Element
    score: int = 0  # the node's base score (``score`` attribute)


@dataclass
class Cib:
    """The configuration part of a CIB, typed."""

    root: Element
    attrs: dict[str, str]
    property_sets: list[NvSet]
    rsc_defaults: list[NvSet]
    op_defaults: list[NvSet]
    nodes: list[CibNode]
    resources: list[Resource]  # top level, document order
    locations: list[Location]
    colocations: list[Colocation]
    orders: list[Order]
    tags: dict[str, list[str]]
    templates: dict[str, Element]
    status: Element | None
    idx: IdIndex

    # ---- derived indexes
    def __post_init__(self) -> None:
        self.by_id: dict[str, Resource] = {}
        for r in self.resources:
            self._index(r)

    def _index(self, r: Resource) -> None:
        self.by_id[r.id] = r
        for c in r.children:
            self._index(c)

    @property
    def have_quorum(self) -> bool:
        v = self.attrs.get("have-quorum", "false").lower()
        return v in ("true", "1", "yes", "on")

    def properties(self, ctx: RuleContext | None = None) -> dict[str, str]:
        return resolve(self.property_sets, ctx)

    def primitives(self) -> Iterator[Primitive]:
        for r in self.resources:
            yield from r.iter_primitives()

    @classmethod
    def from_element(cls, root: Element) -> Cib:
        return _build(root)


# ---------------------------------------------------------------- building


def _ops(el: Element, idx: IdIndex) -> list[OpDef]:
    out: list[OpDef] = []
    ops_el = el.find("operations")
    if ops_el is None:
        return out
    ops_el = idx.deref(ops_el)
    for op in _children(ops_el, "op"):
        op = idx.deref(op)
        params = resolve(parse_nvsets(op, ("instance_attributes",), idx))
        meta = resolve(parse_nvsets(op, ("meta_attributes",), idx))
        attrs = {k: v for k, v in op.attrib.items()}
        interval = attrs.get("interval", meta.get("interval", "0"))
        out.append(
            OpDef(
                id=attrs.get("id", ""),
                name=attrs.get("name", ""),
                interval_ms=parse_interval_ms(interval),
                role=attrs.get("role") or meta.get("role"),
                attrs=attrs,
                params=params,
                meta=meta,
                element=op,
            )
        )
    return out


def _primitive(el: Element, idx: IdIndex, templates: dict[str, Element], parent: Resource | None) -> Primitive:
    tmpl_name = el.get("template")
    tmpl = templates.get(tmpl_name) if tmpl_name else None
    inst = parse_nvsets(el, ("instance_attributes",), idx)
    meta = parse_nvsets(el, ("meta_attributes",), idx)
    util = parse_nvsets(el, ("utilization",), idx)
    ops = _ops(el, idx)
    cls_ = el.get("class")
    provider = el.get("provider")
    typ = el.get("type")
    if tmpl is not None:
        # The primitive's own values win over the template's.
        inst = inst + parse_nvsets(tmpl, ("instance_attributes",), idx)
        meta = meta + parse_nvsets(tmpl, ("meta_attributes",), idx)
        util = util + parse_nvsets(tmpl, ("utilization",), idx)
        names = {(o.name, o.interval_ms) for o in ops}
        ops = ops + [o for o in _ops(tmpl, idx) if (o.name, o.interval_ms) not in names]
        cls_ = cls_ or tmpl.get("class")
        provider = provider or tmpl.get("provider")
        typ = typ or tmpl.get("type")
    return Primitive(
        id=el.get("id", ""),
        kind="primitive",
        element=el,
        meta_sets=meta,
        parent=parent,
        cls=cls_ or "",
        provider=provider,
        type=typ or "",
        instance_sets=inst,
        utilization_sets=util,
        ops=ops,
        template=tmpl_name,
    )


def _resource(el: Element, idx: IdIndex, templates: dict[str, Element], parent: Resource | None = None) -> Resource | None:
    tag = el.tag
    if tag == "primitive":
        return _primitive(el, idx, templates, parent)
    meta = parse_nvsets(el, ("meta_attributes",), idx)
    if tag == "group":
        g = Group(id=el.get("id", ""), kind="group", element=el, meta_sets=meta, parent=parent)
        g.members = [_primitive(c, idx, templates, g) for c in _children(el, "primitive")]
        return g
    if tag in ("clone", "master"):
        promotable = tag == "master" or any(
            n == "promotable" and (v or "").lower() in ("true", "yes", "1", "on")
            for s in meta
            for n, v in s.pairs
        )
        c = Clone(id=el.get("id", ""), kind="clone", element=el, meta_sets=meta, parent=parent, promotable=promotable)
        for child in el:
            if child.tag in ("primitive", "group"):
                c.child = _resource(child, idx, templates, c)
                break
        return c
    if tag == "bundle":
        b = Bundle(id=el.get("id", ""), kind="bundle", element=el, meta_sets=meta, parent=parent)
        p = el.find("primitive")
        if p is not None:
            b.primitive = _primitive(p, idx, templates, b)
        return b
    return None


def _sets(el: Element, idx: IdIndex) -> list[ResourceSet]:
    out: list[ResourceSet] = []
    for s in _children(el, "resource_set"):
        s = idx.deref(s)
        out.append(
            ResourceSet(
                id=s.get("id", ""),
                resources=[r.get("id", "") for r in _children(s, "resource_ref")],
                sequential=(s.get("sequential", "true").lower() in ("true", "1", "yes", "on")),
                require_all=(s.get("require-all", "true").lower() in ("true", "1", "yes", "on")),
                role=s.get("role"),
                action=s.get("action"),
                score=s.get("score"),
            )
        )
    return out


def _safe_score(text: str | None) -> int:
    try:
        return parse_score(text)
    except ScoreError:
        return 0


def _build(root: Element) -> Cib:
    idx = IdIndex(root)
    conf = root.find("configuration")
    crm_config = conf.find("crm_config") if conf is not None else None
    props = parse_nvsets(crm_config, ("cluster_property_set",), idx, first_id="cib-bootstrap-options")
    rsc_def_el = conf.find("rsc_defaults") if conf is not None else None
    op_def_el = conf.find("op_defaults") if conf is not None else None
    rsc_defaults = parse_nvsets(rsc_def_el, ("meta_attributes",), idx)
    op_defaults = parse_nvsets(op_def_el, ("meta_attributes",), idx)

    nodes: list[CibNode] = []
    nodes_el = conf.find("nodes") if conf is not None else None
    for n in _children(nodes_el, "node"):
        nodes.append(
            CibNode(
                id=n.get("id", ""),
                uname=n.get("uname") or n.get("id", ""),
                type=n.get("type", "member"),
                attr_sets=parse_nvsets(n, ("instance_attributes",), idx),
                utilization_sets=parse_nvsets(n, ("utilization",), idx),
                element=n,
                score=_safe_score(n.get("score")),
            )
        )

    resources: list[Resource] = []
    templates: dict[str, Element] = {}
    res_el = conf.find("resources") if conf is not None else None
    if res_el is not None:
        for t in _children(res_el, "template"):
            templates[t.get("id", "")] = t
        for t in _children(res_el, "rsc_template"):
            templates[t.get("id", "")] = t
        for el in res_el:
            if not isinstance(el.tag, str):
                continue
            r = _resource(el, idx, templates)
            if r is not None:
                resources.append(r)

    tags: dict[str, list[str]] = {}
    tags_el = conf.find("tags") if conf is not None else None
    for t in _children(tags_el, "tag"):
        tags[t.get("id", "")] = [o.get("id", "") for o in _children(t, "obj_ref")]

    locations: list[Location] = []
    colocations: list[Colocation] = []
    orders: list[Order] = []
    cons_el = conf.find("constraints") if conf is not None else None
    if cons_el is not None:
        for c in cons_el:
            c = idx.deref(c) if c.get("id-ref") else c
            if c.tag == "rsc_location":
                locations.append(
                    Location(
                        id=c.get("id", ""),
                        rsc=c.get("rsc"),
                        rsc_pattern=c.get("rsc-pattern"),
                        node=c.get("node"),
                        score=c.get("score"),
                        score_attribute=c.get("score-attribute"),
                        role=c.get("role") or c.get("rsc-role"),
                        rules=[idx.deref(r) for r in _children(c, "rule")],
                        discovery=c.get("resource-discovery"),
                        sets=_sets(c, idx),
                        element=c,
                    )
                )
            elif c.tag == "rsc_colocation":
                colocations.append(
                    Colocation(
                        id=c.get("id", ""),
                        rsc=c.get("rsc"),
                        with_rsc=c.get("with-rsc"),
                        score=c.get("score"),
                        rsc_role=c.get("rsc-role"),
                        with_rsc_role=c.get("with-rsc-role"),
                        node_attribute=c.get("node-attribute") or "#uname",
                        influence=c.get("influence"),
                        sets=_sets(c, idx),
                        element=c,
                    )
                )
            elif c.tag == "rsc_order":
                orders.append(
                    Order(
                        id=c.get("id", ""),
                        first=c.get("first"),
                        then=c.get("then"),
                        first_action=c.get("first-action") or "start",
                        then_action=c.get("then-action") or c.get("first-action") or "start",
                        kind=c.get("kind"),
                        score=c.get("score"),
                        symmetrical=c.get("symmetrical"),
                        sets=_sets(c, idx),
                        element=c,
                    )
                )

    return Cib(
        root=root,
        attrs={k: v for k, v in root.attrib.items()},
        property_sets=props,
        rsc_defaults=rsc_defaults,
        op_defaults=op_defaults,
        nodes=nodes,
        resources=resources,
        locations=locations,
        colocations=colocations,
        orders=orders,
        tags=tags,
        templates=templates,
        status=root.find("status"),
        idx=idx,
    )


def load(root: Element) -> Cib:
    """Build the model from a parsed ``<cib>`` element."""
    return Cib.from_element(root)
