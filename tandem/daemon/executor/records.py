"""Operation history records: ``lrm_rsc_op`` elements exactly as Pacemaker writes them.

Why exact: the scheduler (tandem's and ``crm_simulate``) reads the node's
history to know each resource's state, its failures and whether its
definition changed (``op-digest``).  Records in Pacemaker's form let
``tandem simulate -L`` and Pacemaker's own tools read a live tandem CIB.

Ids (Pacemaker's convention, seen in the corpus):
- the last non-recurring operation of a resource: ``RSC_last_0`` (its
  ``operation_key`` says which: ``RSC_start_0``, ``RSC_monitor_0`` ...);
- a recurring operation: ``RSC_monitor_INTERVAL``;
- the last failed operation, in addition: ``RSC_last_failure_0``.

tandem adds one attribute of its own: ``tandem-trigger`` (``request``,
``interval`` or ``cgroup-empty``) so tests and people can see *why* a
monitor ran.  The status schema accepts any attribute there.
"""

from __future__ import annotations

from lxml import etree

from tandem.agents.ocf import AgentSpec
from tandem.agents.reload import NO_RELOAD, ReloadInfo, restart_attributes
from tandem.cib.digest import op_digest
from tandem.cib.history import ORIGIN, OpRecord, record_attributes
from tandem.daemon.executor.core import OpEvent


def record_id(event: OpEvent, *, failure: bool = False) -> str:
    req = event.request
    if failure:
        return f"{req.rsc_id}_last_failure_0"
    if req.interval_ms > 0:
        return req.op_key
    return f"{req.rsc_id}_last_0"


def op_attributes(
    event: OpEvent,
    node_name: str,
    reload: ReloadInfo = NO_RELOAD,
    *,
    failure: bool = False,
    origin: str = ORIGIN,
) -> dict[str, str]:
    """The attributes of one ``lrm_rsc_op``, in Pacemaker's order."""
    req = event.request
    params = req.agent_params
    attrs = record_attributes(
        OpRecord(
            id=record_id(event, failure=failure),
            rsc=req.rsc_id,
            operation=req.action,
            interval_ms=req.interval_ms,
            rc=event.rc,
            call_id=event.call_id,
            node=node_name,
            transition_key=event.transition_key,
            op_digest=op_digest(
                req.params, req.op_params, interval_ms=req.interval_ms, timeout_ms=req.timeout_ms
            ),
            last_rc_change=event.last_rc_change,
            exec_ms=event.exec_ms,
            queue_ms=event.queue_ms,
            op_status=int(event.status),
            exit_reason=event.exit_reason,
            origin=origin,
        )
    )
    if req.interval_ms == 0:
        attrs.update(restart_attributes(reload, params))
    attrs["tandem-trigger"] = event.trigger
    return attrs


def op_elements(
    event: OpEvent, node_name: str, reload: ReloadInfo = NO_RELOAD
) -> list[etree._Element]:
    """The record(s) an event produces: the main one, plus ``RSC_last_failure_0`` if it failed.

    A cancelled recurring operation produces nothing: its record must be
    *deleted* from the status section (see :func:`deleted_record_ids`).
    """
    if event.status.name == "CANCELLED":
        return []
    out = [etree.Element("lrm_rsc_op", op_attributes(event, node_name, reload))]
    if event.failed:
        out.append(
            etree.Element("lrm_rsc_op", op_attributes(event, node_name, reload, failure=True))
        )
    return out


def deleted_record_ids(event: OpEvent) -> list[str]:
    """Records to remove from the resource's history because of this event."""
    if event.status.name == "CANCELLED":
        return [event.request.op_key]
    return []


def lrm_resource(rsc_id: str, spec: AgentSpec) -> etree._Element:
    """An empty ``lrm_resource`` for ``rsc_id`` (class, provider, type as Pacemaker)."""
    attrs = {"id": rsc_id, "type": spec.type, "class": spec.rclass}
    if spec.provider:
        attrs["provider"] = spec.provider
    return etree.Element("lrm_resource", attrs)


def merge_into(lrm_rsc: etree._Element, event: OpEvent, node_name: str,
               reload: ReloadInfo = NO_RELOAD) -> None:
    """Apply an event to an ``lrm_resource`` element in place (replace by id, delete cancelled)."""
    drop = set(deleted_record_ids(event))
    new = op_elements(event, node_name, reload)
    replace = {el.get("id") for el in new}
    for old in list(lrm_rsc):
        if old.tag == "lrm_rsc_op" and (old.get("id") in replace or old.get("id") in drop):
            lrm_rsc.remove(old)
    for el in new:
        lrm_rsc.append(el)


def merge_into_node_state(node_state: etree._Element, event: OpEvent, node_name: str,
                          reload: ReloadInfo = NO_RELOAD) -> etree._Element:
    """Apply an event under a ``node_state``: creates ``lrm``/``lrm_resources``/``lrm_resource``.

    Returns the ``lrm_resource`` element.  ``lrm`` gets the node_state's id,
    as Pacemaker writes it.
    """
    lrm = node_state.find("lrm")
    if lrm is None:
        lrm = etree.SubElement(node_state, "lrm", {"id": node_state.get("id", node_name)})
    resources = lrm.find("lrm_resources")
    if resources is None:
        resources = etree.SubElement(lrm, "lrm_resources")
    rsc_id = event.request.rsc_id
    rsc = next((r for r in resources.findall("lrm_resource") if r.get("id") == rsc_id), None)
    if rsc is None:
        rsc = lrm_resource(rsc_id, event.request.spec)
        resources.append(rsc)
    merge_into(rsc, event, node_name, reload)
    return rsc
