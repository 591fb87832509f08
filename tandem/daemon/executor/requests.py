"""Building :class:`OpRequest` objects from what the controller has in hand.

Why here: the controller holds either a Pacemaker-style transition graph
action (``<rsc_op>`` with ``<primitive>`` and ``<attributes>``, as in the
scheduler corpus's ``exp/`` files) or a resource id in a CIB.  Both roads
must give the same request, hence the same ``op-digest``; keeping the two
constructors beside the executor keeps that knowledge in one place.
"""

from __future__ import annotations

from lxml import etree

from tandem.agents.ocf import DEFAULT_TIMEOUT_MS, AgentSpec
from tandem.cib.rules import parse_interval_ms
from tandem.daemon.executor.core import OpRequest
from tandem.errors import CibError, Report

_GENERATED_META = {"timeout", "interval", "name", "on_node", "on_node_uuid"}


def request_from_graph_op(
    rsc_op: etree._Element, transition_id: int | str, dc_uuid: str
) -> OpRequest:
    """An OpRequest from a transition graph ``<rsc_op>`` element.

    ``<attributes>`` holds the instance parameters (plain names) and the meta
    values (``CRM_meta_*``); ``CRM_meta_op_target_rc`` is the expected rc that
    goes into the transition key ``ACTION_ID:GRAPH:TARGET_RC:DC_UUID``.
    """
    prim = rsc_op.find("primitive")
    attrs_el = rsc_op.find("attributes")
    if prim is None or attrs_el is None:
        raise CibError(Report("GRAPH_ACTION_INVALID",
                              f"graph action {rsc_op.get('operation_key')} has no "
                              "<primitive> or <attributes>", {"id": rsc_op.get("id")}))
    spec = AgentSpec(prim.get("class", "ocf"), prim.get("type", ""), prim.get("provider"))
    params: dict[str, str] = {}
    meta: dict[str, str] = {}
    for name, value in attrs_el.attrib.items():
        if name.startswith("CRM_meta_"):
            meta[name[len("CRM_meta_"):]] = value
        else:
            params[name] = value
    action = rsc_op.get("operation", "")
    interval_ms = int(meta.get("interval", "0") or 0)
    timeout_ms = int(meta.get("timeout", str(DEFAULT_TIMEOUT_MS)) or DEFAULT_TIMEOUT_MS)
    target = meta.get("op_target_rc")
    if target is None:
        target = "7" if action == "monitor" and interval_ms == 0 else "0"
    key = f"{rsc_op.get('id')}:{transition_id}:{target}:{dc_uuid}"
    return OpRequest(
        rsc_id=prim.get("id", ""),
        spec=spec,
        action=action,
        interval_ms=interval_ms,
        timeout_ms=timeout_ms,
        params=params,
        meta={k: v for k, v in meta.items() if k not in _GENERATED_META},
        transition_key=key,
    )


def _nvpairs(parent: etree._Element | None, tag: str) -> dict[str, str]:
    """nvpairs of every ``tag`` block without rules (first value of a name wins)."""
    out: dict[str, str] = {}
    if parent is None:
        return out
    for block in parent.findall(tag):
        if block.find("rule") is not None:
            continue
        for nv in block.findall("nvpair"):
            name = nv.get("name")
            if name and name not in out and nv.get("value") is not None:
                out[name] = nv.get("value", "")
    return out


def _find_primitive(cib: etree._Element, rsc_id: str) -> etree._Element:
    base_id = rsc_id.split(":", 1)[0]
    for el in cib.iter("primitive"):
        if el.get("id") == base_id:
            return el
    raise CibError(Report("RESOURCE_NOT_FOUND",
                          f"resource '{base_id}' does not exist in the CIB",
                          {"id": base_id}))


def _find_op(prim: etree._Element, action: str, interval_ms: int) -> etree._Element | None:
    ops = prim.find("operations")
    if ops is None:
        return None
    for op in ops.findall("op"):
        if op.get("name") == action and parse_interval_ms(op.get("interval"), 0) == interval_ms:
            return op
    if action == "monitor" and interval_ms == 0:
        # a probe without its own definition takes the first monitor's timeout
        for op in ops.findall("op"):
            if op.get("name") == "monitor":
                return op
    return None


def request_from_cib(
    cib: etree._Element,
    rsc_id: str,
    action: str,
    interval_ms: int = 0,
    *,
    transition_key: str = "",
) -> OpRequest:
    """An OpRequest for ``action`` of ``rsc_id`` as defined in ``cib``.

    Parameters: the primitive's ``instance_attributes``; the matching ``<op>``'s
    own ``instance_attributes`` are ``op_params``.  Meta: ``rsc_defaults``,
    then enclosing group/clone meta, then the primitive's.  Timeout: the op's
    ``timeout`` (or its meta ``timeout``), then ``op_defaults``, then 20 s.
    Rules inside attribute blocks are not evaluated (such blocks are skipped).
    """
    prim = _find_primitive(cib, rsc_id)
    spec = AgentSpec(prim.get("class", "ocf"), prim.get("type", ""), prim.get("provider"))
    meta: dict[str, str] = {}
    meta.update(_nvpairs(cib.find(".//rsc_defaults"), "meta_attributes"))
    parents = [p for p in prim.iterancestors() if p.tag in ("group", "clone", "master", "bundle")]
    for parent in reversed(parents):
        meta.update(_nvpairs(parent, "meta_attributes"))
    meta.update(_nvpairs(prim, "meta_attributes"))
    op = _find_op(prim, action, interval_ms)
    op_params = _nvpairs(op, "instance_attributes") if op is not None else {}
    timeout_text = None
    if op is not None:
        timeout_text = op.get("timeout") or _nvpairs(op, "meta_attributes").get("timeout")
    if timeout_text is None:
        timeout_text = _nvpairs(cib.find(".//op_defaults"), "meta_attributes").get("timeout")
    timeout_ms = parse_interval_ms(timeout_text, DEFAULT_TIMEOUT_MS) or DEFAULT_TIMEOUT_MS
    return OpRequest(
        rsc_id=rsc_id,
        spec=spec,
        action=action,
        interval_ms=interval_ms,
        timeout_ms=timeout_ms,
        params=_nvpairs(prim, "instance_attributes"),
        op_params=op_params,
        meta=meta,
        transition_key=transition_key,
    )
