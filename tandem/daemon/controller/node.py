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

Re-assertion after a membership merge (Pacemaker's join re-reads every
node's history from its executor): the agent keeps its own copy of what it
recorded -- every ``lrm_resource`` with its records, and its failure
attributes -- the way Pacemaker's controller keeps a history cache.  When a
CIB shows the online membership *grew* (a partition healed, or any node
joined), the daemon's join sync may have replaced this node's section with
another side's stale copy, so the agent writes its own copy back whole
(:func:`status.reassert_ops`), stamped with that CIB's version so the DC
knows it happened.  Operations still running here are awaited first: their
results are part of the history the DC must plan on.  Between merges the
copy follows the CIB's legitimate deletions (cleanup, expired failures,
forgotten orphans) and the DC's wipe of a new incarnation.
"""

from __future__ import annotations

import itertools
from collections import Counter
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
        #: this daemon's incarnation (``PID-TOKEN``) when the glue knows it; written
        #: back with a re-assertion (without it, the marker the node had is kept)
        self.incarnation: str | None = None
        #: the agent's own history: lrm_resource elements by resource, failure attributes
        self.ledger: dict[str, etree._Element] = {}
        self.failures: dict[str, str] = {}
        self._online: frozenset[str] | None = None
        self._record_ids: set[tuple[str, str]] = set()
        self._failure_names: set[str] = set()
        self._wrote_marker: str | None = None
        #: the marker of our history before the last merge (written back when
        #: :attr:`incarnation` is not known)
        self._own_marker: str | None = None
        #: operations submitted to the executor and not reported yet
        self._running: Counter[tuple[str, str, int]] = Counter()
        #: a re-assertion waiting for the operations in flight (its stamp)
        self._reassert_due: str | None = None
        self.reassertions = 0

    # -- inputs ------------------------------------------------------------------

    def on_cib(self, cib: etree._Element) -> list[AgentOutput]:
        """The CIB changed: follow cleanups (Forget) or, after a merge, re-assert the history.

        A CIB whose online membership grew is a merge (or a join): what it says
        about this node may be another partition's stale copy, so nothing
        vanished from it counts as a cleanup, and the agent writes its own
        copy back (see the module docstring).
        """
        self.cib = cib
        now_known = st.lrm_resource_ids(cib, self.name)
        inc = st.incarnation(cib, self.name)
        online = st.online_nodes(cib)
        rec_ids = st.record_ids(cib, self.name)
        fail_names = set(st.failure_attributes(cib, self.name))
        grew = (self._online is not None and self.name in online
                and bool(online - self._online))
        out: list[AgentOutput] = []
        if self._known is None or grew:
            pass  # first sight, or a merge: nothing in this CIB is a deletion of ours
        elif inc != self._incarnation and inc != self._wrote_marker:
            # the DC replaced our history (a new incarnation's wipe): start from it
            self.ledger = st.own_resources(cib, self.name)
            self.failures = st.failure_attributes(cib, self.name)
        else:
            if inc == self._incarnation:
                for rsc in sorted(self._known - now_known):
                    out.append(Forget(rsc))
                    self._start_request.pop(rsc, None)
                    for key in [k for k in self._running if k[0] == rsc]:
                        del self._running[key]  # the executor drops its queue unreported
            self._follow_deletions(rec_ids, fail_names)
        self._known = now_known
        self._online = online
        self._record_ids = rec_ids
        self._failure_names = fail_names
        if not grew:
            self._own_marker = inc
        else:
            self._reassert_due = st.version_str(cib)
        # (the daemon may report the merged CIB twice: the second look must see
        # the same marker, not mistake the merged copy for a wipe)
        self._incarnation = inc
        return out + self._maybe_reassert()

    def _follow_deletions(self, rec_ids: set[tuple[str, str]], fail_names: set[str]) -> None:
        """Records and failure attributes that vanished since the last CIB were deleted on purpose."""
        for rsc, rid in self._record_ids - rec_ids:
            lr = self.ledger.get(rsc)
            if lr is None:
                continue
            for op in lr.findall("lrm_rsc_op"):
                if op.get("id") == rid:
                    lr.remove(op)
            if len(lr) == 0:
                del self.ledger[rsc]
        for name in self._failure_names - fail_names:
            self.failures.pop(name, None)

    def _maybe_reassert(self) -> list[AgentOutput]:
        """Write the history back once no operation is running here (their results belong in it)."""
        stamp = self._reassert_due
        if stamp is None or +self._running:
            return []
        cib = self.cib
        nid = st.node_id(cib, self.name) if cib is not None else None
        if nid is None:
            return []
        self._reassert_due = None
        marker = self.incarnation or self._own_marker
        self._wrote_marker = marker
        self.reassertions += 1
        ops = st.reassert_ops(nid, self.name, [self.ledger[r] for r in sorted(self.ledger)],
                              dict(self.failures), stamp, marker)
        n_ops = sum(len(lr) for lr in self.ledger.values())
        why = (f"{self.name} re-asserts its operation history after the membership grew "
               f"({len(self.ledger)} resource(s), {n_ops} record(s))")
        return [Log("info", why), Record(tuple(ops), next(self._tickets), why)]

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
        if req.interval_ms == 0:  # a recurring monitor's results keep coming: not awaited
            self._running[(req.rsc_id, req.action, 0)] += 1
        return [Submit(req)]

    def on_cancel(self, rsc_id: str, action: str, interval_ms: int) -> list[AgentOutput]:
        return [Cancel(rsc_id, action, interval_ms)]

    def on_event(self, event: OpEvent, reload: ReloadInfo = NO_RELOAD) -> list[AgentOutput]:
        """Record a result in the CIB (unchanged recurring results are not written)."""
        req = event.request
        key = (req.rsc_id, req.action, req.interval_ms)
        if self._running[key] > 0:
            self._running[key] -= 1
        out = self._record(event, reload)
        return out + self._maybe_reassert()

    def _record(self, event: OpEvent, reload: ReloadInfo) -> list[AgentOutput]:
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
        deleted = deleted_record_ids(event)
        ops = st.record_ops(nid, self.name, req.rsc_id, req.spec, elements, deleted)
        self._remember(req, elements, deleted)
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
            self.failures.update(attrs)
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

    def _remember(self, req: OpRequest, elements: list[etree._Element], deleted: list[str]) -> None:
        """Keep what this node records in its own history copy (the re-assertion's source)."""
        lr = self.ledger.get(req.rsc_id)
        if lr is None:
            if not elements:
                return
            lr = etree.Element("lrm_resource", {"id": req.rsc_id, "type": req.spec.type,
                                                "class": req.spec.rclass})
            if req.spec.provider:
                lr.set("provider", req.spec.provider)
            self.ledger[req.rsc_id] = lr
        gone = set(deleted) | {el.get("id", "") for el in elements}
        for op in lr.findall("lrm_rsc_op"):
            if op.get("id") in gone:
                lr.remove(op)
        for el in elements:
            lr.append(etree.fromstring(etree.tostring(el)))
        if len(lr) == 0:
            del self.ledger[req.rsc_id]

    def _current_count(self, name: str) -> int:
        value = 0
        if self.cib is not None:
            attrs = st.transient_attributes(self.cib).get(self.name, {})
            value = st.fail_count_value(attrs.get(name))
        for pending in self._pending.values():
            value = max(value, pending.get(name, 0))
        return value
