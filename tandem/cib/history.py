"""Operation history records (``lrm_rsc_op``) exactly as Pacemaker writes them.

Why one builder: the executor records real results, the walkthrough builder and
the benchmark's CIB generator write synthetic histories, and all of them must
be read the same way by tandem's scheduler and by Pacemaker's own tools
(``crm_simulate``, ``crm_mon``).  The attribute set and its order are
Pacemaker 2.1's (as seen in the corpus); the caller supplies the facts.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

#: the feature set tandem's records declare (Pacemaker 2.1.5 refuses newer ones
#: when it simulates a CIB, so this stays at 2.1.5's)
CRM_FEATURE_SET = "3.16.1"

ORIGIN = "do_update_resource"


@dataclass(frozen=True)
class OpRecord:
    """The facts of one operation result on one node."""

    id: str
    rsc: str
    operation: str
    interval_ms: int
    rc: int
    call_id: int
    node: str
    transition_key: str
    op_digest: str
    last_rc_change: int
    exec_ms: int
    queue_ms: int = 0
    op_status: int = 0
    exit_reason: str = ""
    origin: str = ORIGIN

    @property
    def transition_magic(self) -> str:
        return f"{self.op_status}:{self.rc};{self.transition_key}"


def record_attributes(rec: OpRecord) -> dict[str, str]:
    """The attributes of the ``lrm_rsc_op``, in Pacemaker's order."""
    return {
        "id": rec.id,
        "operation_key": f"{rec.rsc}_{rec.operation}_{rec.interval_ms}",
        "operation": rec.operation,
        "crm-debug-origin": rec.origin,
        "crm_feature_set": CRM_FEATURE_SET,
        "transition-key": rec.transition_key,
        "transition-magic": rec.transition_magic,
        "exit-reason": rec.exit_reason,
        "on_node": rec.node,
        "call-id": str(rec.call_id),
        "rc-code": str(rec.rc),
        "op-status": str(rec.op_status),
        "interval": str(rec.interval_ms),
        "last-rc-change": str(rec.last_rc_change),
        "exec-time": str(rec.exec_ms),
        "queue-time": str(rec.queue_ms),
        "op-digest": rec.op_digest,
    }


def append_record(parent: etree._Element, rec: OpRecord) -> etree._Element:
    """Append the record's ``lrm_rsc_op`` to ``parent`` (an ``lrm_resource``)."""
    return etree.SubElement(parent, "lrm_rsc_op", record_attributes(rec))


def transition_key(action_id: int, graph_id: int, target_rc: int, uuid: str) -> str:
    """``ACTION:GRAPH:TARGET_RC:DC_UUID``, the key a DC gives each action."""
    return f"{action_id}:{graph_id}:{target_rc}:{uuid}"
