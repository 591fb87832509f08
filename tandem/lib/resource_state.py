"""Where a resource runs, read from the CIB status section (lrm_rsc_op history).

Why here: ``resource ban`` without a node, ``resource move`` (which waits for
the resource to arrive), and ``resource delete`` on a live cluster (which
waits for the stop) need to know where a resource is active.  This is the
plain reading of the operation history, the same one the scheduler makes:
the most recent non-recurring result decides, a later recurring monitor that
says "not running" overrides it.
"""

from __future__ import annotations

from lxml import etree

_OCF_SUCCESS = 0
_OCF_NOT_RUNNING = 7
_OCF_RUNNING_PROMOTED = 8


def _int(value: str | None, default: int = -1) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _is_active(lrm_resource: etree._Element) -> bool:
    ops = [op for op in lrm_resource.iterfind("lrm_rsc_op") if _int(op.get("op-status"), 0) != -1]
    if not ops:
        return False
    ops.sort(key=lambda op: _int(op.get("call-id")))
    active = False
    for op in ops:
        task = op.get("operation", "")
        rc = _int(op.get("rc-code"), 0)
        status = _int(op.get("op-status"), 0)
        if status != 0:
            # Failed execution (timeout, error): a failed stop leaves it active,
            # a failed start too (Pacemaker treats it as needing recovery).
            if task in ("start", "stop", "promote", "demote", "migrate_to", "migrate_from"):
                active = True
            continue
        if task in ("start", "promote", "demote", "migrate_from"):
            # Success means running; a failure leaves it (possibly) active too.
            active = True
        elif task in ("stop", "migrate_to"):
            active = rc != _OCF_SUCCESS
        elif task == "monitor":
            if rc in (_OCF_SUCCESS, _OCF_RUNNING_PROMOTED):
                active = True
            elif rc == _OCF_NOT_RUNNING:
                active = False
            else:
                active = True
    return active


def running_nodes(cib: etree._Element, rsc_id: str) -> list[str]:
    """Names of the nodes where ``rsc_id`` (or an instance ``rsc_id:N``) is active."""
    status = cib.find("status")
    if status is None:
        return []
    nodes: list[str] = []
    for node_state in status.iterfind("node_state"):
        name = node_state.get("uname") or node_state.get("id", "")
        if node_state.get("crmd") not in (None, "online") or node_state.get("in_ccm") == "false":
            continue
        for lrm_rsc in node_state.iterfind("lrm/lrm_resources/lrm_resource"):
            rid = lrm_rsc.get("id", "")
            if (rid == rsc_id or rid.startswith(rsc_id + ":")) and _is_active(lrm_rsc):
                nodes.append(name)
                break
    return nodes
