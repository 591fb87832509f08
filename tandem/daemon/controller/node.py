"""The node side of the controller: runs the DC's requests here and records their results.

Why every node records its own results (as Pacemaker's controllers do): the
record goes through the replicated CIB in corosync's total order, so the DC
(whichever node it is, even one elected a moment later) learns each result
from the CIB, and a failure seen by a recurring monitor is in the status
section even when no transition is running.  The DC never has to trust a
message that the CIB does not also show.

Inputs: :meth:`NodeAgent.on_request` (an operation the DC asked for),
:meth:`on_event` (the local executor's result), :meth:`on_cib` (the CIB
changed), :meth:`applied` (a recorded change landed).  Outputs: ``Submit``,
``Cancel`` and ``Forget`` for the executor, ``Record`` (CIB operations).

Fail counts are written by the node together with the failed record (one
atomic change), the way Pacemaker's attribute manager names them:
``fail-count-RSC#OP_INTERVAL`` (+1; INFINITY for a failed start when
``start-failure-is-fatal`` is true, and for a failed stop) and
``last-failure-RSC#OP_INTERVAL`` (the failure's time).  Probes never count;
a failure of an operation whose ``on-fail`` is ``ignore`` only gets its
``last-failure`` time (as Pacemaker's controller does).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from lxml import etree

from tandem.agents.ocf import ExecStatus
from tandem.agents.reload import NO_RELOAD, ReloadInfo
from tandem.cib.options import is_true
from tandem.cib.rules import parse_interval_ms
from tandem.daemon.controller import status as st
from tandem.daemon.controller.events import AgentOutput, Cancel, Forget, Log, Record, Submit
from tandem.daemon.executor.core import OpEvent, OpRequest
from tandem.daemon.executor.records import deleted_record_ids, op_elements

_RUNNING_RCS = (0, 8)
SEEN_REQUESTS = 4096


def op_on_fail(cib: etree._Element | None, rsc: str, action: str, interval_ms: int) -> str:
    """The ``on-fail`` in force for an operation (its own, then op_defaults, then the default)."""
    value = None
    if cib is not None:
        for prim in cib.iter("primitive"):
            if prim.get("id") != rsc:
                continue
            for op in prim.iterfind("operations/op"):
                if op.get("name") == action and parse_interval_ms(op.get("interval"), 0) == interval_ms:
                    value = op.get("on-fail")
                    break
            break
        if value is None:
            for nv in cib.iterfind("configuration/op_defaults/meta_attributes/nvpair"):
                if nv.get("name") == "on-fail":
                    value = nv.get("value")
                    break
    if value:
        return value.lower()
    if action == "stop":
        return "fence" if _fencing_enabled(cib) else "block"
    return "restart"


def _crm_option(cib: etree._Element | None, name: str) -> str | None:
    if cib is None:
        return None
    for nv in cib.iterfind("configuration/crm_config/cluster_property_set/nvpair"):
        if nv.get("name") == name:
            return nv.get("value")
    return None


def _fencing_enabled(cib: etree._Element | None) -> bool:
    value = _crm_option(cib, "fencing-enabled")
    if value is None:
        value = _crm_option(cib, "stonith-enabled")
    return is_true(value, True)


def counts_as_failure(event: OpEvent) -> bool:
    """Does this result raise a fail count?  Probes and cancellations never do."""
    if event.status is ExecStatus.CANCELLED or event.request.is_probe:
        return False
    req = event.request
    if req.action == "stop" and event.status is ExecStatus.DONE and event.rc == 7:
        return False  # "not running" is what a stop wants
    return event.failed


class NodeAgent:
    """One node's half of the controller (see the module docstring)."""

    def __init__(self, node_name: str) -> None:
        self.name = node_name
        self.cib: etree._Element | None = None
        self._tickets = itertools.count(1)
        self._pending: dict[int, dict[str, int]] = {}
        #: params of the last start per resource: a stop uses them (Pacemaker's stop_params)
        self._start_request: dict[str, OpRequest] = {}
        self._known: set[str] | None = None
        self._incarnation: str | None = None
        self._seen: dict[tuple[str, str], None] = {}

    # -- inputs ------------------------------------------------------------------

    def on_cib(self, cib: etree._Element) -> list[AgentOutput]:
        """The CIB changed: a resource whose history vanished was cleaned up -> Forget."""
        self.cib = cib
        now_known = st.lrm_resource_ids(cib, self.name)
        inc = st.incarnation(cib, self.name)
        out: list[AgentOutput] = []
        if self._known is not None and inc == self._incarnation:
            for rsc in sorted(self._known - now_known):
                out.append(Forget(rsc))
                self._start_request.pop(rsc, None)
        self._known = now_known
        self._incarnation = inc
        return out

    def on_request(self, req: OpRequest) -> list[AgentOutput]:
        """Run an operation the DC asked for (a stop reuses the last start's parameters).

        A request seen twice (the daemon re-multicasts messages of an
        interrupted join round) runs once: requests are told apart by their
        transition key.
        """
        if req.transition_key:
            ident = (req.transition_key, req.op_key)
            if ident in self._seen:
                return []
            self._seen[ident] = None
            while len(self._seen) > SEEN_REQUESTS:
                del self._seen[next(iter(self._seen))]
        if req.action == "stop":
            started = self._start_request.get(req.rsc_id)
            if started is not None and (not req.params or started.spec == req.spec):
                req = replace(req, params=dict(started.params), op_params={})
        elif req.action == "start":
            self._start_request[req.rsc_id] = req
        return [Submit(req)]

    def on_cancel(self, rsc_id: str, action: str, interval_ms: int) -> list[AgentOutput]:
        return [Cancel(rsc_id, action, interval_ms)]

    def on_event(self, event: OpEvent, reload: ReloadInfo = NO_RELOAD) -> list[AgentOutput]:
        """Record a result in the CIB (unchanged recurring results are not written)."""
        req = event.request
        if req.interval_ms > 0 and not event.changed and event.status is not ExecStatus.CANCELLED:
            return []
        cib = self.cib
        nid = st.node_id(cib, self.name) if cib is not None else None
        if nid is None:
            return [Log("warning", f"cannot record {req.op_key} on {self.name}: "
                                   "this node has no node_state in the CIB yet")]
        elements = op_elements(event, self.name, reload)
        if req.is_probe and event.status is ExecStatus.DONE and event.rc in _RUNNING_RCS:
            # a probe that finds the resource running found a fact, not a failure
            elements = [el for el in elements if not el.get("id", "").endswith("_last_failure_0")]
        ops = st.record_ops(nid, self.name, req.rsc_id, req.spec, elements,
                            deleted_record_ids(event))
        pending: dict[str, int] = {}
        why = f"{req.op_key} on {self.name}: rc={event.rc} status={event.status.name.lower()}"
        if counts_as_failure(event):
            fc_name = st.fail_count_name(req.rsc_id, req.action, req.interval_ms)
            lf_name = st.last_failure_name(req.rsc_id, req.action, req.interval_ms)
            # The failure time is written even for on-fail=ignore (so it can be
            # shown), the count only when the failure counts.
            attrs: dict[str, str] = {}
            if op_on_fail(cib, req.rsc_id, req.action, req.interval_ms) != "ignore":
                current = self._current_count(fc_name)
                fatal = req.action == "stop" or (
                    req.action == "start"
                    and is_true(_crm_option(cib, "start-failure-is-fatal"), True)
                )
                value = st.increment(current, fatal)
                pending[fc_name] = value
                attrs[fc_name] = "INFINITY" if value >= st.INFINITY else str(value)
                why += f"; {fc_name}={attrs[fc_name]}"
            attrs[lf_name] = str(event.last_rc_change)
            ops += st.attribute_ops(nid, self.name, attrs)
        if not ops:
            return []
        ticket = next(self._tickets)
        if pending:
            self._pending[ticket] = pending
        return [Record(tuple(ops), ticket, why, pending)]

    def applied(self, ticket: int) -> None:
        """The change with ``ticket`` was applied (or refused): the CIB is the truth again."""
        self._pending.pop(ticket, None)

    # -- helpers -----------------------------------------------------------------

    def _current_count(self, name: str) -> int:
        value = 0
        if self.cib is not None:
            attrs = st.transient_attributes(self.cib).get(self.name, {})
            value = st.fail_count_value(attrs.get(name))
        for pending in self._pending.values():
            value = max(value, pending.get(name, 0))
        return value
