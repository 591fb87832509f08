"""Reading and writing the CIB status section the way Pacemaker lays it out.

Why one module: the DC decides from the status (which operation of its
transition has a result, which failure is new, whose history is stale) and
the nodes write into it (operation records, fail counts).  Both sides must
agree on every path and id, so they live here.

Layout (as Pacemaker writes it, and as ``tandem simulate -L`` reads it)::

    <status>
      <node_state id="1" uname="pcmk-1" ...>
        <transient_attributes id="1">
          <instance_attributes id="status-1">
            <nvpair id="status-1-fail-count-WebSite.monitor_10000"
                    name="fail-count-WebSite#monitor_10000" value="1"/>
            <nvpair id="status-1-last-failure-WebSite.monitor_10000"
                    name="last-failure-WebSite#monitor_10000" value="1700000000"/>
        <lrm id="1" tandem-incarnation="1:4242">
          <lrm_resources>
            <lrm_resource id="WebSite" class="ocf" provider="heartbeat" type="apache">
              <lrm_rsc_op id="WebSite_last_0" .../>

``tandem-incarnation`` is tandem's own: the daemon process whose executor
the history describes.  A node whose current incarnation differs has a fresh
executor, so its old history is wiped and everything is probed again (what
Pacemaker's join does by replacing the node's ``lrm`` section).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from lxml import etree

from tandem.agents.ocf import AgentSpec
from tandem.cib.history import CRM_FEATURE_SET
from tandem.cib.scores import INFINITY
from tandem.cib.scores import parse as parse_score

INCARNATION_ATTR = "tandem-incarnation"
#: tandem's own: the CIB version at whose membership growth the node last
#: re-asserted its history (see :func:`reassert_ops`); the DC compares it
ASSERTED_ATTR = "tandem-asserted"
FAILURE_ATTR_PREFIXES = ("fail-count-", "last-failure-")


@dataclass(frozen=True)
class OpFacts:
    """What the DC needs from one ``lrm_rsc_op`` record."""

    node: str
    rsc: str
    record_id: str
    op_key: str
    operation: str
    interval_ms: int
    call_id: int
    rc: int
    status: int
    transition_key: str
    last_rc_change: int

    @property
    def identity(self) -> tuple[int, int, int, str, int]:
        return (self.call_id, self.rc, self.status, self.transition_key, self.last_rc_change)


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def node_states(cib: etree._Element) -> dict[str, etree._Element]:
    """``node_state`` elements by uname."""
    out: dict[str, etree._Element] = {}
    status = cib.find("status")
    if status is None:
        return out
    for ns in status.iterfind("node_state"):
        uname = ns.get("uname")
        if uname:
            out[uname] = ns
    return out


def node_id(cib: etree._Element, uname: str) -> str | None:
    """The node's id: its ``node_state`` id, else its ``<node>`` entry's."""
    ns = node_states(cib).get(uname)
    if ns is not None and ns.get("id"):
        return ns.get("id")
    for n in cib.iterfind("configuration/nodes/node"):
        if n.get("uname") == uname:
            return n.get("id")
    return None


def incarnation(cib: etree._Element, uname: str) -> str | None:
    """The incarnation the node's recorded history belongs to (None: not marked)."""
    ns = node_states(cib).get(uname)
    if ns is None:
        return None
    lrm = ns.find("lrm")
    return lrm.get(INCARNATION_ATTR) if lrm is not None else None


def asserted(cib: etree._Element, uname: str) -> str | None:
    """The stamp of the node's last re-assertion of its history (None: never re-asserted)."""
    ns = node_states(cib).get(uname)
    if ns is None:
        return None
    lrm = ns.find("lrm")
    return lrm.get(ASSERTED_ATTR) if lrm is not None else None


def online_nodes(cib: etree._Element) -> frozenset[str]:
    """Nodes the daemon's status rebuild shows as joined members (in_ccm, crmd online, join member)."""
    return frozenset(
        n for n, ns in node_states(cib).items()
        if ns.get("in_ccm") == "true" and ns.get("crmd") == "online" and ns.get("join") == "member"
    )


def version_str(cib: etree._Element) -> str:
    """``admin_epoch.epoch.num_updates`` of the CIB (the same on every member once synced)."""
    return ".".join(cib.get(a) or "0" for a in ("admin_epoch", "epoch", "num_updates"))


def own_resources(cib: etree._Element, uname: str) -> dict[str, etree._Element]:
    """The node's ``lrm_resource`` elements (copies) by resource id."""
    ns = node_states(cib).get(uname)
    if ns is None:
        return {}
    return {
        lr.get("id", ""): etree.fromstring(etree.tostring(lr))
        for lr in ns.iterfind("lrm/lrm_resources/lrm_resource")
    }


def failure_attributes(cib: etree._Element, uname: str) -> dict[str, str]:
    """The node's ``fail-count-*`` and ``last-failure-*`` transient attributes."""
    return {
        k: v for k, v in transient_attributes(cib).get(uname, {}).items()
        if k.startswith(FAILURE_ATTR_PREFIXES)
    }


def records(cib: etree._Element) -> dict[tuple[str, str, str], OpFacts]:
    """Every operation record: ``(node, rsc, record id) -> OpFacts``."""
    out: dict[tuple[str, str, str], OpFacts] = {}
    for uname, ns in node_states(cib).items():
        for lr in ns.iterfind("lrm/lrm_resources/lrm_resource"):
            rsc = lr.get("id", "")
            for op in lr.iterfind("lrm_rsc_op"):
                rid = op.get("id", "")
                out[(uname, rsc, rid)] = OpFacts(
                    node=uname,
                    rsc=rsc,
                    record_id=rid,
                    op_key=op.get("operation_key", ""),
                    operation=op.get("operation", ""),
                    interval_ms=_int(op.get("interval")),
                    call_id=_int(op.get("call-id"), -1),
                    rc=_int(op.get("rc-code"), -1),
                    status=_int(op.get("op-status"), -1),
                    transition_key=op.get("transition-key", ""),
                    last_rc_change=_int(op.get("last-rc-change")),
                )
    return out


def record_ids(cib: etree._Element, uname: str) -> set[tuple[str, str]]:
    """``(rsc, record id)`` of every operation record of one node."""
    ns = node_states(cib).get(uname)
    if ns is None:
        return set()
    return {
        (lr.get("id", ""), op.get("id", ""))
        for lr in ns.iterfind("lrm/lrm_resources/lrm_resource")
        for op in lr.iterfind("lrm_rsc_op")
    }


def lrm_resource_ids(cib: etree._Element, uname: str) -> set[str]:
    ns = node_states(cib).get(uname)
    if ns is None:
        return set()
    return {lr.get("id", "") for lr in ns.iterfind("lrm/lrm_resources/lrm_resource")}


def lrm_resource_spec(cib: etree._Element, rsc: str) -> AgentSpec | None:
    """The agent of ``rsc`` as its history records it (for orphans: no configuration left)."""
    status = cib.find("status")
    if status is None:
        return None
    for lr in status.iterfind("node_state/lrm/lrm_resources/lrm_resource"):
        if lr.get("id") == rsc and lr.get("type"):
            return AgentSpec(lr.get("class", "ocf"), lr.get("type", ""), lr.get("provider"))
    return None


def transient_attributes(cib: etree._Element) -> dict[str, dict[str, str]]:
    """Transient node attributes by uname."""
    out: dict[str, dict[str, str]] = {}
    for uname, ns in node_states(cib).items():
        attrs: dict[str, str] = {}
        for nv in ns.iterfind("transient_attributes/instance_attributes/nvpair"):
            name = nv.get("name")
            if name is not None:
                attrs[name] = nv.get("value", "")
        out[uname] = attrs
    return out


def fail_count_value(text: str | None) -> int:
    if text is None:
        return 0
    try:
        return parse_score(text)
    except Exception:  # noqa: BLE001 - a garbled value counts as no failure
        return 0


# --------------------------------------------------------------------------- writers

_STATUS = "/cib/status"


def _q(value: str) -> str:
    """An XPath string literal for ``value``."""
    if "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', "") + '"'


def sanitize_id(text: str) -> str:
    """Pacemaker's id sanitising for attribute nvpairs (``#`` and other odd chars -> ``.``)."""
    return "".join(c if (c.isalnum() or c in "-_.") else "." for c in text)


def wipe_lrm_ops(nid: str, uname: str, incarnation_token: str) -> list[dict[str, object]]:
    """Replace the node's history by an empty one marked with the incarnation.

    The join also publishes the node's ``#feature-set`` attribute, as
    Pacemaker's join does (crm_mon --show-detail prints it per node).
    """
    fs_id = f"status-{nid}-" + sanitize_id("#feature-set")
    return [
        {"op": "delete", "xpath": f"{_STATUS}/node_state[@id={_q(nid)}]/lrm", "missing_ok": True},
        {
            "op": "modify",
            "parent": _STATUS,
            "xml": (
                f"<node_state id={quoteattr(nid)} uname={quoteattr(uname)}>"
                f"<transient_attributes id={quoteattr(nid)}>"
                f"<instance_attributes id={quoteattr(f'status-{nid}')}>"
                f"<nvpair id={quoteattr(fs_id)} name=\"#feature-set\" "
                f"value={quoteattr(CRM_FEATURE_SET)}/>"
                "</instance_attributes></transient_attributes>"
                f"<lrm id={quoteattr(nid)} {INCARNATION_ATTR}={quoteattr(incarnation_token)}>"
                "<lrm_resources/></lrm></node_state>"
            ),
        },
    ]


def reassert_ops(
    nid: str,
    uname: str,
    resources: list[etree._Element],
    failures: dict[str, str],
    stamp: str,
    incarnation_token: str | None,
) -> list[dict[str, object]]:
    """Replace the node's history and failure attributes by what the node itself knows.

    Why a replace and not a merge: after a partition heals the daemon keeps
    one side's status, so this node's section may be the other side's stale
    copy (records missing, or records this node never made any more).  The
    node is the only authority on what its executor did, so its own copy wins
    whole, as Pacemaker's join replaces a node's ``lrm`` section with what
    that node's executor reports.  ``stamp`` marks the re-assertion for the DC.
    """
    base = f"{_STATUS}/node_state[@id={_q(nid)}]"
    ops: list[dict[str, object]] = [
        {"op": "delete", "xpath": f"{base}/lrm/lrm_resources/lrm_resource", "missing_ok": True},
        {"op": "delete", "missing_ok": True, "xpath":
         f"{base}/transient_attributes/instance_attributes/nvpair"
         "[starts-with(@name,'fail-count-') or starts-with(@name,'last-failure-')]"},
    ]
    lrm = etree.Element("lrm", {"id": nid, ASSERTED_ATTR: stamp})
    if incarnation_token is not None:
        lrm.set(INCARNATION_ATTR, incarnation_token)
    lrs = etree.SubElement(lrm, "lrm_resources")
    for lr in resources:
        lrs.append(etree.fromstring(etree.tostring(lr)))
    body = etree.tostring(lrm, encoding="unicode")
    ops.append({"op": "modify", "parent": _STATUS, "xml":
                f"<node_state id={quoteattr(nid)} uname={quoteattr(uname)}>{body}</node_state>"})
    # the node's own attributes go back with it (its #feature-set, as at its join)
    return ops + attribute_ops(nid, uname, {"#feature-set": CRM_FEATURE_SET, **failures})


def record_ops(
    nid: str,
    uname: str,
    rsc: str,
    spec: AgentSpec,
    elements: list[etree._Element],
    deleted: list[str],
) -> list[dict[str, object]]:
    """Put operation records into the node's history (replacing those with the same id)."""
    base = (
        f"{_STATUS}/node_state[@id={_q(nid)}]/lrm/lrm_resources/lrm_resource[@id={_q(rsc)}]"
    )
    ops: list[dict[str, object]] = []
    for rid in [*deleted, *(el.get("id", "") for el in elements)]:
        ops.append({"op": "delete", "xpath": f"{base}/lrm_rsc_op[@id={_q(rid)}]", "missing_ok": True})
    if elements:
        lr = etree.Element("lrm_resource", {"id": rsc, "type": spec.type, "class": spec.rclass})
        if spec.provider:
            lr.set("provider", spec.provider)
        for el in elements:
            lr.append(el)
        body = etree.tostring(lr, encoding="unicode")
        ops.append(
            {
                "op": "modify",
                "parent": _STATUS,
                "xml": (
                    f"<node_state id={quoteattr(nid)} uname={quoteattr(uname)}>"
                    f"<lrm id={quoteattr(nid)}><lrm_resources>{body}</lrm_resources></lrm>"
                    "</node_state>"
                ),
            }
        )
    return ops


def attribute_ops(nid: str, uname: str, values: dict[str, str]) -> list[dict[str, object]]:
    """Set transient node attributes (``values``: name -> value)."""
    if not values:
        return []
    pairs = "".join(
        f"<nvpair id={quoteattr(f'status-{nid}-' + sanitize_id(name))} name={quoteattr(name)} "
        f"value={quoteattr(value)}/>"
        for name, value in values.items()
    )
    return [
        {
            "op": "modify",
            "parent": _STATUS,
            "xml": (
                f"<node_state id={quoteattr(nid)} uname={quoteattr(uname)}>"
                f"<transient_attributes id={quoteattr(nid)}>"
                f"<instance_attributes id={quoteattr(f'status-{nid}')}>{pairs}"
                "</instance_attributes></transient_attributes></node_state>"
            ),
        }
    ]


def cleanup_ops(
    rsc: str | None = None, node: str | None = None, cib: etree._Element | None = None
) -> list[dict[str, object]]:
    """``resource cleanup``: forget the failures and history of ``rsc`` (or of every resource).

    Deleting the resource's ``lrm_resource`` makes the scheduler probe it
    again on that node; deleting ``fail-count-RSC#*`` and ``last-failure-RSC#*``
    lifts migration-threshold bans.  ``node`` limits it to one node.

    With ``cib``, only (node, resource) pairs that have a failure -- a failed
    record or a fail count -- are cleaned, as ``crm_resource --cleanup`` does;
    without it, the histories are forgotten unconditionally (``--refresh``).
    """
    if cib is not None:
        return _failed_only_ops(cib, rsc, node)
    node_sel = f"[@uname={_q(node)}]" if node else ""
    rsc_sel = f"[@id={_q(rsc)}]" if rsc else ""
    if rsc:
        names = (
            f"[starts-with(@name,{_q('fail-count-' + rsc + '#')}) or "
            f"starts-with(@name,{_q('last-failure-' + rsc + '#')})]"
        )
    else:
        names = "[starts-with(@name,'fail-count-') or starts-with(@name,'last-failure-')]"
    return [
        {
            "op": "delete",
            "xpath": f"{_STATUS}/node_state{node_sel}/lrm/lrm_resources/lrm_resource{rsc_sel}",
            "missing_ok": True,
        },
        {
            "op": "delete",
            "xpath": f"{_STATUS}/node_state{node_sel}/transient_attributes/instance_attributes"
            f"/nvpair{names}",
            "missing_ok": True,
        },
    ]


def failed_pairs(cib: etree._Element) -> set[tuple[str, str]]:
    """(node, resource) pairs with a failure on record: a ``*_last_failure_0`` or a fail count."""
    out: set[tuple[str, str]] = set()
    for (node, rsc, rid), _facts in records(cib).items():
        if rid.endswith("_last_failure_0"):
            out.add((node, rsc))
    for node, attrs in transient_attributes(cib).items():
        for name, value in attrs.items():
            for prefix in ("fail-count-", "last-failure-"):
                if name.startswith(prefix) and "#" in name:
                    if prefix == "fail-count-" and fail_count_value(value) <= 0:
                        continue
                    out.add((node, name[len(prefix):].rsplit("#", 1)[0]))
    return out


def _failed_only_ops(cib: etree._Element, rsc: str | None, node: str | None) -> list[dict[str, object]]:
    ops: list[dict[str, object]] = []
    for n, r in sorted(failed_pairs(cib)):
        if (rsc is not None and r != rsc) or (node is not None and n != node):
            continue
        ops += cleanup_ops(r, n)
    return ops


def fail_count_name(rsc: str, operation: str, interval_ms: int) -> str:
    return f"fail-count-{rsc}#{operation}_{interval_ms}"


def last_failure_name(rsc: str, operation: str, interval_ms: int) -> str:
    return f"last-failure-{rsc}#{operation}_{interval_ms}"


def increment(current: int, by_infinity: bool) -> int:
    """The next fail count (saturating at INFINITY)."""
    if by_infinity:
        return INFINITY
    return min(INFINITY, current + 1)
