"""Will a moved resource stay where ``resource move`` puts it?  (pcs 0.11's check)

Why: pcs 0.11's ``resource move`` removes its constraint once the resource has
moved, so the move only makes sense when the resource then *stays*.  pcs asks
crm_simulate before touching anything; tandem asks its own scheduler:

1. schedule the CIB with the move constraint -> where everything goes (P1);
2. rewrite the status as if that transition had run (each resource whose
   placement changed now runs on its P1 node), drop the constraint, schedule
   again -> P2;
3. the resource stays iff P2 == P1 for it.

Pure: no I/O; ``now`` is an input.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass

from lxml import etree

from tandem.lib.resource_state import running_nodes


@dataclass(frozen=True)
class MoveForecast:
    #: where the resource goes with the constraint (None: stopped)
    with_constraint: str | None
    #: where it goes once the constraint is removed after the move
    after_removal: str | None
    #: other resources that the move also moves (id -> (from, to))
    others: dict[str, tuple[str | None, str | None]]

    @property
    def stays(self) -> bool:
        return self.with_constraint is not None and self.after_removal == self.with_constraint


def _placement(root: etree._Element, now: datetime.datetime) -> dict[str, str | None]:
    from tandem.cib.model import Cib
    from tandem.scheduler.core import schedule

    return dict(schedule(Cib.from_element(root), now).placement)


def _node_state(root: etree._Element, node: str) -> etree._Element:
    status = root.find("status")
    if status is None:
        status = etree.SubElement(root, "status")
    for ns in status.iterfind("node_state"):
        if ns.get("uname") == node:
            return ns
    node_id = node
    for n in root.iterfind("configuration/nodes/node"):
        if n.get("uname") == node:
            node_id = n.get("id", node)
    ns = etree.SubElement(status, "node_state", id=node_id, uname=node)
    ns.set("in_ccm", "true")
    ns.set("crmd", "online")
    ns.set("join", "member")
    ns.set("expected", "member")
    return ns


def _run_on(root: etree._Element, rsc: str, node: str | None) -> None:
    """Rewrite the history of ``rsc`` so that it runs on ``node`` only (or nowhere)."""
    template: etree._Element | None = None
    for lrm_rsc in root.iterfind("status/node_state/lrm/lrm_resources/lrm_resource"):
        if lrm_rsc.get("id") == rsc:
            template = template if template is not None else lrm_rsc
            lrm_rsc.getparent().remove(lrm_rsc)
    if node is None:
        return
    ns = _node_state(root, node)
    lrm = ns.find("lrm")
    if lrm is None:
        lrm = etree.SubElement(ns, "lrm", id=ns.get("id", node))
    lrs = lrm.find("lrm_resources")
    if lrs is None:
        lrs = etree.SubElement(lrm, "lrm_resources")
    el = etree.SubElement(lrs, "lrm_resource", id=rsc)
    prim = next(
        (p for p in root.iter("primitive") if p.get("id") == rsc.split(":")[0]), None
    )
    src = template if template is not None else prim
    for attr in ("class", "provider", "type"):
        if src is not None and src.get(attr):
            el.set(attr, src.get(attr))
    op = etree.SubElement(el, "lrm_rsc_op", id=f"{rsc}_last_0", operation="start")
    op.set("operation_key", f"{rsc}_start_0")
    op.set("interval", "0")
    op.set("rc-code", "0")
    op.set("op-status", "0")
    op.set("call-id", "999999")
    op.set("transition-key", "0:0:0:00000000-0000-0000-0000-000000000000")
    op.set("transition-magic", "0:0;0:0:0:00000000-0000-0000-0000-000000000000")
    op.set("on_node", node)
    if template is not None:
        # keep the digest of the last real run so that no restart is predicted
        for old in template.iterfind("lrm_rsc_op"):
            if old.get("op-digest") and old.get("operation") in ("start", "monitor"):
                op.set("op-digest", old.get("op-digest", ""))
                break


def forecast_move(
    cib_with_constraint: etree._Element,
    rsc: str,
    constraint_id: str,
    now: datetime.datetime,
) -> MoveForecast:
    """Where ``rsc`` goes with the constraint, and whether it stays once it is removed."""
    first = _placement(cib_with_constraint, now)
    moved = copy.deepcopy(cib_with_constraint)
    others: dict[str, tuple[str | None, str | None]] = {}
    for rid, target in first.items():
        current = running_nodes(moved, rid)
        if (current[:1] or [None])[0] != target:
            _run_on(moved, rid, target)
            if rid != rsc:
                others[rid] = ((current[:1] or [None])[0], target)
    for c in moved.iterfind("configuration/constraints/rsc_location"):
        if c.get("id") == constraint_id:
            c.getparent().remove(c)
            break
    second = _placement(moved, now)
    return MoveForecast(first.get(rsc), second.get(rsc), others)
