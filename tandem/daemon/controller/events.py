"""Inputs and outputs of the controller's pure state machines.

Why dataclasses and not callbacks: the DC's controller and each node's agent
are pure (no I/O, no clock, no asyncio).  The glue
(:mod:`tandem.daemon.controller.service`) turns the daemon's hooks into
these inputs and carries out the outputs; unit tests do the same in memory.

Time is always an input: every ``step`` takes ``now`` (epoch seconds, the
wall clock of the node that runs it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from tandem.daemon.executor.core import OpRequest

# --------------------------------------------------------------------------- DC inputs


@dataclass(frozen=True)
class BecameDC:
    """This node is now the DC: take over (re-read everything, plan)."""


@dataclass(frozen=True)
class LostDC:
    """Another node is (or no node is) the DC: stop planning, forget in-flight actions."""


@dataclass(frozen=True)
class CibUpdated:
    """The live CIB (configuration *and* status) as it is now.

    The controller keeps a reference and never modifies it; the caller must
    not modify it afterwards either (hand over a fresh parse or a copy).
    """

    cib: etree._Element


@dataclass(frozen=True)
class MembershipChanged:
    """The nodes that are members and in sync now: ``{name: incarnation}``.

    The incarnation changes when the node's daemon restarts (tandemd's pid,
    or any token that differs per process): a new incarnation means a fresh
    executor whose resources' state is unknown, so the DC wipes that node's
    operation history and the scheduler probes everything there.  ``None``:
    the node is a member but its incarnation is not known yet (the DC waits).
    """

    members: Mapping[str, str | None]


@dataclass(frozen=True)
class TimerFired:
    """The timer set by :class:`SetTimer` fell due (or any periodic tick)."""


@dataclass(frozen=True)
class ResultSeen:
    """An operation result that could not be written to the CIB (every daemon is stopping).

    Only a fallback: normally the DC learns results from the records in the CIB.
    When the whole cluster stops, no daemon accepts CIB changes any more, yet the
    DC must see the stops complete before it can release the nodes.
    """

    transition_key: str
    rc: int
    status: int


ControllerEvent = BecameDC | LostDC | CibUpdated | MembershipChanged | TimerFired | ResultSeen


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class ExecuteOp:
    """Ask ``node``'s executor to run ``request`` (its result comes back in the CIB)."""

    node: str
    request: OpRequest
    #: the node's incarnation the request is meant for: a copy delivered late to a
    #: restarted daemon (the daemon re-multicasts interrupted rounds) is dropped
    incarnation: str | None = None


@dataclass(frozen=True)
class CancelOp:
    """Ask ``node``'s executor to cancel a recurring operation."""

    node: str
    rsc_id: str
    action: str
    interval_ms: int


@dataclass(frozen=True)
class CibOps:
    """Status changes to submit through replication (``cibops`` operations)."""

    ops: tuple[dict[str, Any], ...]
    why: str = ""


@dataclass(frozen=True)
class Log:
    level: str
    text: str


@dataclass(frozen=True)
class SetTimer:
    """Feed :class:`TimerFired` at ``at`` (epoch seconds); None cancels the timer."""

    at: float | None


@dataclass(frozen=True)
class ShutdownReleased:
    """``node`` has no resource left: the daemon may acknowledge its shutdown now."""

    node: str


ControllerOutput = ExecuteOp | CancelOp | CibOps | Log | SetTimer | ShutdownReleased


# --------------------------------------------------------------------------- node agent outputs


@dataclass(frozen=True)
class Submit:
    """Give ``request`` to this node's executor."""

    request: OpRequest


@dataclass(frozen=True)
class Cancel:
    rsc_id: str
    action: str
    interval_ms: int


@dataclass(frozen=True)
class Forget:
    """The resource's history was cleaned up: the executor drops what it knows of it."""

    rsc_id: str


@dataclass(frozen=True)
class Record:
    """CIB changes recording an operation result on this node.

    ``pending`` holds the fail-count values this record writes, so the agent
    keeps counting from them until the service says the change was applied
    (:meth:`NodeAgent.applied`) with this ``ticket``.
    """

    ops: tuple[dict[str, Any], ...]
    ticket: int
    why: str = ""
    pending: Mapping[str, int] = field(default_factory=dict)


AgentOutput = Submit | Cancel | Forget | Record | Log
