"""The controller: the DC plans and runs transitions; every node runs and records operations.

Public API
----------

Pure state machines (no I/O, no clock, no asyncio; ``now`` is an input)::

    from tandem.daemon.controller import Controller, NodeAgent
    ctl = Controller(node_name, uuid)            # one per node, active on the DC
    outputs = ctl.step(event, now)               # BecameDC, LostDC, CibUpdated(cib),
                                                 # MembershipChanged({name: incarnation|None}),
                                                 # TimerFired, ResultSeen (fallback only)
    # outputs: ExecuteOp(node, OpRequest), CancelOp, CibOps(ops), Log, SetTimer(at),
    #          ShutdownReleased(node)
    ctl.resources_released(node_name) -> bool    # for the daemon's shutdown ack

    agent = NodeAgent(node_name)                 # one per node
    agent.on_cib(cib) / on_request(req) / on_cancel(...) / on_event(op_event)
    # outputs: Submit(req), Cancel(...), Forget(rsc), Record(ops, ticket), Log
    agent.applied(ticket)

``resource cleanup``: ``cleanup_ops(rsc=None, node=None, cib=None)`` gives the
CIB operations (apply them through the daemon like any change; with ``cib``
only resources with failures are cleaned, as ``crm_resource --cleanup``); the
DC then re-probes.

Asyncio glue for tandemd: :class:`tandem.daemon.controller.service.ControllerService`
(see docs/controller.md for what the daemon's main loop must call).
In-memory cluster for tests: :class:`tandem.daemon.controller.sim.ControllerSim`.
"""

from tandem.daemon.controller.core import TRANSITIONS, Controller, Phase
from tandem.daemon.controller.events import (
    BecameDC,
    Cancel,
    CancelOp,
    CibOps,
    CibUpdated,
    ExecuteOp,
    Forget,
    Log,
    LostDC,
    MembershipChanged,
    Record,
    ResultSeen,
    SetTimer,
    ShutdownReleased,
    Submit,
    TimerFired,
)
from tandem.daemon.controller.node import NodeAgent
from tandem.daemon.controller.status import cleanup_ops

__all__ = [
    "TRANSITIONS",
    "BecameDC",
    "Cancel",
    "CancelOp",
    "CibOps",
    "CibUpdated",
    "Controller",
    "ExecuteOp",
    "Forget",
    "Log",
    "LostDC",
    "MembershipChanged",
    "NodeAgent",
    "Phase",
    "Record",
    "ResultSeen",
    "SetTimer",
    "ShutdownReleased",
    "Submit",
    "TimerFired",
    "cleanup_ops",
]
