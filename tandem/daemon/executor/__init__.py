"""The executor: runs resource agents on this node and records what happened.

Public API (what the node daemon and the controller use)
--------------------------------------------------------

Build one per node daemon::

    from tandem.agents.runner import SubprocessRunner
    from tandem.daemon.executor import (
        ExecutorService, OpRequest, CgroupTree, default_cgroup_base, op_elements)

    base = default_cgroup_base()          # <cgroup2 mount><own cgroup>/tandem-rsc, or None
    svc = ExecutorService(
        node_name, SubprocessRunner(node_name=node_name), on_event,
        cgroups=CgroupTree(base) if base else None)   # None = no event-driven detection
    svc.submit(OpRequest(rsc_id, AgentSpec.parse("ocf:heartbeat:IPaddr2"), "start",
                         timeout_ms=20000, params={...}, meta={...},
                         transition_key="ACTION:GRAPH:EXPECTED_RC:UUID"))
    svc.submit(OpRequest(..., "monitor", interval_ms=30000, ...))   # recurring
    svc.cancel(rsc_id, "monitor", 30000)
    svc.close()

``on_event(event: OpEvent)`` is called (on the executor's own thread) for every
result: each run of each operation, each repetition of a recurring monitor
(``event.changed`` tells whether rc/status differ from the previous run; the
daemon may skip unchanged ones as Pacemaker does) and each cancellation
(``event.status is ExecStatus.CANCELLED``).  ``event.trigger`` is
``"request"``, ``"interval"`` or ``"cgroup-empty"``.

Turn an event into CIB status XML with
``op_elements(event, node_name, svc.reload_info(event.request))`` (the
``lrm_rsc_op`` elements to put in the resource's ``lrm_resource``, replacing
those with the same id), ``deleted_record_ids(event)`` (ids to remove: a
cancelled recurring op) or simply ``merge_into(lrm_resource_el, event, node,
reload)``; ``lrm_resource(rsc_id, spec)`` makes the container, and
``merge_into_node_state(node_state_el, event, node, reload)`` does it all
under a ``node_state`` (creating ``lrm``/``lrm_resources``/``lrm_resource``).

Semantics
---------
- one operation at a time per resource, in submission order; different
  resources run in parallel (``workers`` threads);
- a recurring op runs at once, then every ``interval_ms`` after the previous
  run ended; a ``stop`` cancels the resource's recurring ops first;
- ``start`` runs in the resource's own cgroup; if processes remain there
  when it returns (apache), the cgroup is watched and its emptying runs the
  recurring monitor at once (``trigger="cgroup-empty"``).  Resource meta
  attribute ``cgroup-watch=false`` disables it (the default for IPaddr2 and
  kin, which leave no service process: ``core.NO_WATCH_BY_DEFAULT``).  After a successful stop the
  cgroup is removed if empty (leftover processes are left alone and logged);
- timeouts kill the agent's process group (SIGTERM, then SIGKILL):
  ``op-status`` 2 (timeout), rc 1.

Building requests: ``request_from_graph_op(rsc_op_el, transition_id, dc_uuid)``
(a Pacemaker-style transition graph ``<rsc_op>``) or
``request_from_cib(cib_root, rsc_id, action, interval_ms, transition_key=...)``
(parameters, meta and timeout from the CIB: op timeout, then op_defaults,
then 20 s).  Both give the same ``op-digest``.

Both ``ExecutorService`` and ``fakes.InlineExecutor`` satisfy the
:class:`Executor` protocol (submit / cancel / forget / reload_info / close).
Daemon and controller unit tests use ``InlineExecutor(node, on_event)``:
agents run synchronously (``FakeRunner``, which behaves like a Dummy agent
and can be scripted), ``advance(seconds)`` runs due recurring monitors and
``kill(rsc_id)`` plays a crash seen by the cgroup watch.

Pure core for tests: :class:`ExecutorCore` (no threads, no processes) with
``tandem.daemon.executor.fakes`` (FakeClock, FakeRunner, FakeCgroups,
FakeWatcher).
"""

from tandem.daemon.executor.cgroup import (
    CgroupBackend,
    CgroupTree,
    CgroupWatcher,
    InotifyWatcher,
)
from tandem.daemon.executor.cgroup import default_base as default_cgroup_base
from tandem.daemon.executor.core import (
    TRIGGER_CGROUP,
    TRIGGER_INTERVAL,
    TRIGGER_REQUEST,
    Clock,
    ExecutorCore,
    OpEvent,
    OpRequest,
)
from tandem.daemon.executor.records import (
    deleted_record_ids,
    lrm_resource,
    merge_into,
    merge_into_node_state,
    op_attributes,
    op_elements,
)
from tandem.daemon.executor.requests import request_from_cib, request_from_graph_op
from tandem.daemon.executor.service import Executor, ExecutorService, SystemClock

__all__ = [
    "TRIGGER_CGROUP",
    "TRIGGER_INTERVAL",
    "TRIGGER_REQUEST",
    "CgroupBackend",
    "CgroupTree",
    "CgroupWatcher",
    "Clock",
    "Executor",
    "ExecutorCore",
    "ExecutorService",
    "InotifyWatcher",
    "OpEvent",
    "OpRequest",
    "SystemClock",
    "default_cgroup_base",
    "deleted_record_ids",
    "lrm_resource",
    "merge_into",
    "merge_into_node_state",
    "op_attributes",
    "op_elements",
    "request_from_cib",
    "request_from_graph_op",
]
