"""The DC's controller: a pure state machine that turns scheduler graphs into executed actions.

Theory of operation
===================

Only the DC plans.  Every input that can change a decision -- the CIB
(configuration, status, operation results), the membership, the clock --
reaches :meth:`Controller.step` as an event, with ``now``.  The controller
answers with outputs: operations to run on some node's executor
(:class:`ExecuteOp`), status changes to replicate (:class:`CibOps`), a timer
(:class:`SetTimer`), one explaining :class:`Log` sentence per cycle, and
:class:`ShutdownReleased` when a node that is leaving has nothing left.

Results are not messages to the DC: each node records its own results in the
replicated CIB (:mod:`tandem.daemon.controller.node`), and the DC matches the
records' ``transition-key`` (``ACTION:GRAPH:EXPECTED_RC:DC_UUID``) against the
actions it has in flight.  So a result is "seen" exactly when the CIB shows
it, on every node, in the same order.

A transition is one scheduler run and the execution of its graph:

* **computing** -- ``schedule(cib, now)``; nothing to do -> back to idle
  ("cluster is stable"); otherwise the required, runnable actions of the
  graph are the transition.
* **executing** -- every action whose ordering inputs are complete is sent at
  once (independent actions run in parallel; the executor serialises the
  operations of one resource).  Pseudo actions complete by themselves.  An
  action is complete when its record appears; it failed when the record's
  rc/status is not the expected one, when its node leaves, or when nothing
  came within its timeout plus ``cluster-delay``.
* **aborted** -- anything the graph did not foresee (a failure, an
  unexpected result, a configuration change, a node joining or leaving, a
  history cleanup): no new action is sent; once those in flight are
  complete the scheduler runs again on the new state.
* **complete** -- every action done (or blocked behind one that cannot run,
  such as fencing, which tandem does not do yet): back to idle.

Before planning, the DC makes sure each member's recorded history belongs to
the member's current incarnation (its daemon process): a node that (re)joined
gets an empty history, so the scheduler probes every resource there.

After a membership merge the status is one partition's copy, stale for the
nodes of the other side.  Whenever a CIB shows the online membership grew,
every node's agent writes its own history back (re-assertion, stamped on its
``lrm``), and the DC does not plan until each member's stamp moved past the
one it had in that CIB (or the member's history was wiped for a new
incarnation, which replaces it anyway).  Past ``cluster-delay`` the DC stops
waiting and plans with what it has (warning).

Node loss with ``stonith-enabled=false``: the daemon marks the node offline
in the status; the scheduler then treats its resources as stopped and places
them elsewhere.  With fencing enabled and no fencing device the scheduler
leaves everything unmanaged, so nothing starts.

Housekeeping the scheduler's graph does not carry, done by the DC at each
plan: cancel recurring monitors the configuration no longer has, clear
failures whose ``failure-timeout`` expired, and forget the history of deleted
resources once they are stopped everywhere.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from tandem.agents.ocf import DEFAULT_TIMEOUT_MS
from tandem.cib.rules import parse_interval_ms
from tandem.daemon.controller import status as st
from tandem.daemon.controller.events import (
    BecameDC,
    CancelOp,
    CibOps,
    CibUpdated,
    ControllerEvent,
    ControllerOutput,
    ExecuteOp,
    Log,
    LostDC,
    MembershipChanged,
    ResultSeen,
    SetTimer,
    ShutdownReleased,
    TimerFired,
)
from tandem.daemon.controller.node import op_on_fail
from tandem.daemon.executor.core import OpRequest
from tandem.daemon.executor.requests import request_from_cib
from tandem.errors import CibError, TandemError

DEFAULT_CLUSTER_DELAY_S = 60.0
DEFAULT_RECHECK_S = 15 * 60.0
WIPE_RETRY_S = 10.0
ABORT_BRAKE = 5
MAX_BRAKE_S = 30.0


class Phase(enum.Enum):
    NOT_DC = "not-dc"
    IDLE = "idle"
    COMPUTING = "computing"
    EXECUTING = "executing"
    ABORTING = "aborting"


#: The transition lifecycle.  ``complete`` and ``aborted`` are the two ends of
#: an executing graph; an aborted one drains its in-flight actions first.
TRANSITIONS: dict[Phase, dict[str, Phase]] = {
    Phase.NOT_DC: {"became-dc": Phase.IDLE, "lost-dc": Phase.NOT_DC},
    Phase.IDLE: {"compute": Phase.COMPUTING, "lost-dc": Phase.NOT_DC, "became-dc": Phase.IDLE},
    Phase.COMPUTING: {
        "graph": Phase.EXECUTING,
        "nothing-to-do": Phase.IDLE,
        "not-ready": Phase.IDLE,
        "lost-dc": Phase.NOT_DC,
    },
    Phase.EXECUTING: {
        "complete": Phase.IDLE,
        "abort": Phase.ABORTING,
        "lost-dc": Phase.NOT_DC,
        "became-dc": Phase.EXECUTING,
    },
    Phase.ABORTING: {
        "drained": Phase.IDLE,
        "abort": Phase.ABORTING,
        "lost-dc": Phase.NOT_DC,
        "became-dc": Phase.ABORTING,
    },
}


class IllegalTransition(TandemError):
    default_code = "CONTROLLER_ILLEGAL_TRANSITION"


class ActionState(enum.Enum):
    WAITING = "waiting"
    IN_FLIGHT = "in-flight"
    DONE = "done"
    FAILED = "failed"
    BLOCKED = "blocked"


@dataclass
class TAction:
    """One action of the running transition."""

    id: int
    rsc: str | None
    task: str
    node: str | None
    interval_ms: int
    pseudo: bool
    inputs: list[int]
    key: str = ""
    expected_rc: int = 0
    state: ActionState = ActionState.WAITING
    deadline: float | None = None
    rc: int | None = None

    @property
    def label(self) -> str:
        if self.task == "monitor":
            what = f"{self.interval_ms} ms monitor" if self.interval_ms else "probe"
        else:
            what = self.task
        return f"{what} of {self.rsc} on {self.node}" if self.rsc else f"{self.task} on {self.node}"


@dataclass
class Transition:
    id: int
    started: float
    actions: dict[int, TAction]
    summary: list[str]
    abort_reason: str | None = None
    by_key: dict[str, TAction] = field(default_factory=dict)


@dataclass(frozen=True)
class _Snapshot:
    """The facts of one CIB the controller compares from one update to the next."""

    version: tuple[int, int, int]
    config: bytes
    quorum: str | None
    node_attrs: dict[str, tuple[str | None, ...]]
    incarnations: dict[str, str | None]
    transient: dict[str, dict[str, str]]
    records: dict[tuple[str, str, str], st.OpFacts]

    @classmethod
    def of(cls, cib: etree._Element) -> _Snapshot:
        conf = cib.find("configuration")
        states = st.node_states(cib)
        return cls(
            version=(_int(cib.get("admin_epoch")), _int(cib.get("epoch")), _int(cib.get("num_updates"))),
            config=etree.tostring(conf, method="c14n") if conf is not None else b"",
            quorum=cib.get("have-quorum"),
            node_attrs={
                n: tuple(ns.get(a) for a in ("in_ccm", "crmd", "join", "expected"))
                for n, ns in states.items()
            },
            incarnations={n: st.incarnation(cib, n) for n in states},
            transient=st.transient_attributes(cib),
            records=st.records(cib),
        )


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _epoch(dt: datetime) -> float:
    return dt.timestamp()


class Controller:
    """The DC's planner and graph executor (see the module docstring).

    ``uuid`` goes into every transition key: records carrying another DC's
    uuid are results this controller did not ask for.  ``schedule`` is the
    scheduler entry point (injected so tests can count calls; the default is
    :func:`tandem.scheduler.schedule`).
    """

    def __init__(self, node_name: str, uuid: str, *, schedule=None) -> None:  # noqa: ANN001
        self.name = node_name
        self.uuid = uuid
        self.phase = Phase.NOT_DC
        self.now = 0.0
        self.cib: etree._Element | None = None
        self.snap: _Snapshot | None = None
        self.members: dict[str, str | None] = {}
        self.transition: Transition | None = None
        self.graph_ids = 0
        self.last_decision = "not the DC"
        self.last_summary: list[str] = []
        # Counters for the exporter (tandem_transitions_total, tandem_last_failover_seconds):
        # a failover runs from the membership event that lost a node to the end of the
        # first transition that completes after it (None until one happened).
        self.transitions_total = 0
        self.last_failover_seconds: float | None = None
        self._failover_since: float | None = None
        self.released: set[str] = set()
        self.recheck_at: float | None = None
        self._dirty = False
        self._dirty_reason = ""
        self._wipes: dict[tuple[str, str], float] = {}
        self._timer: float | None = None
        self._waiting_for: str | None = None
        #: aborted transitions in a row, and no replanning before this time (a brake
        #: against a graph that fails the same way again and again)
        self._aborts_in_row = 0
        self._hold_until = 0.0
        self._cancels: set[tuple[str, str, int]] = set()
        self._expired_sent: set[tuple[str, str, str]] = set()
        #: nodes released for shutdown that have left: their departure aborts nothing
        self._departed: set[str] = set()
        #: the online membership of the last CIB; after it grew: member -> the
        #: re-assertion stamp it had then (waiting for it to move), and since when
        self._online_cib: frozenset[str] | None = None
        self._reassert: dict[str, str | None] = {}
        self._reassert_since: float | None = None
        self._out: list[ControllerOutput] = []
        if schedule is None:
            from tandem.scheduler import schedule as default_schedule

            schedule = default_schedule
        self._schedule = schedule

    # ------------------------------------------------------------------ plumbing

    def _go(self, trigger: str) -> None:
        table = TRANSITIONS[self.phase]
        if trigger not in table:
            raise IllegalTransition(
                f"can't handle '{trigger}' when node={self.name} and phase={self.phase.value}"
            )
        self.phase = table[trigger]
        if trigger == "graph":
            self.transitions_total += 1
        elif trigger in ("complete", "nothing-to-do") and self._failover_since is not None:
            if trigger == "complete":
                self.last_failover_seconds = max(0.0, self.now - self._failover_since)
            self._failover_since = None

    def _log(self, text: str, level: str = "info") -> None:
        self.last_decision = text
        self._out.append(Log(level, text))

    # ------------------------------------------------------------------ entry point

    def step(self, event: ControllerEvent, now: float) -> list[ControllerOutput]:
        """Feed one event at time ``now`` (epoch seconds); return the outputs, in order."""
        self._out = []
        self.now = max(self.now, now)
        if isinstance(event, BecameDC):
            if self.phase is Phase.NOT_DC:
                self._go("became-dc")
                self._dirty, self._dirty_reason = True, "became the DC"
        elif isinstance(event, LostDC):
            if self.phase is not Phase.NOT_DC:
                if self.transition is not None:
                    self._log(f"transition {self.transition.id} abandoned: no longer the DC")
                else:
                    self._log("no longer the DC")
                self._go("lost-dc")
                self.transition = None
                self._wipes.clear()
                self.released.clear()
                self._set_timer(None)
        elif isinstance(event, CibUpdated):
            self._on_cib(event.cib)
        elif isinstance(event, MembershipChanged):
            self._on_membership(dict(event.members))
        elif isinstance(event, TimerFired):
            self._on_timer()
        elif isinstance(event, ResultSeen):
            self._on_result_seen(event)
        if self.phase is not Phase.NOT_DC:
            self._run()
        return self._out

    def resources_released(self, node: str) -> bool:
        """True once a transition has stopped or moved everything off ``node`` (shutdown)."""
        return node in self.released

    # ------------------------------------------------------------------ inputs

    def _on_cib(self, cib: etree._Element) -> None:
        old = self.snap
        self.cib = cib
        self.snap = new = _Snapshot.of(cib)
        self._track_reassertions(cib)
        if self.phase is Phase.NOT_DC:
            return
        if old is not None and new.version == old.version:
            return
        t = self.transition
        if t is None or old is None:
            if not self._dirty:
                self._dirty, self._dirty_reason = True, "the CIB changed"
            return
        # During a transition, expected results only confirm actions; anything
        # else aborts it (and the replanning after the abort sees everything).
        reason = self._diff(t, old, new)
        if reason is not None:
            self._abort(reason)

    def _track_reassertions(self, cib: etree._Element) -> None:
        """After the online membership grew, wait for every member to re-assert its history.

        Done in every phase: a node that becomes the DC right after a merge
        must know which re-assertions are still to come.
        """
        online = st.online_nodes(cib)
        prev, self._online_cib = self._online_cib, online
        if prev is not None and online - prev:
            self._reassert = {n: st.asserted(cib, n) for n in sorted(online)}
            self._reassert_since = self.now
            if self.phase is not Phase.NOT_DC:
                self._dirty, self._dirty_reason = True, "the membership grew"
            return
        for n, stamp in list(self._reassert.items()):
            if n not in online or st.asserted(cib, n) != stamp:
                del self._reassert[n]
        if not self._reassert:
            self._reassert_since = None

    def _reassert_pending(self) -> list[str]:
        """Members whose history is not re-asserted yet since the membership grew."""
        since = self._reassert_since
        if not self._reassert or since is None:
            return []
        if self.now - since >= self._cluster_delay():
            late = ", ".join(sorted(self._reassert))
            self._log(f"{late} did not re-assert its operation history within cluster-delay "
                      "after the membership grew: planning with the history the CIB has",
                      "warning")
            self._reassert.clear()
            self._reassert_since = None
            return []
        return sorted(self._reassert)

    def _on_membership(self, members: dict[str, str | None]) -> None:
        old = self.members
        self.members = members
        gone = sorted(set(old) - set(members))
        came = sorted(n for n in members if members[n] is not None and old.get(n) != members[n])
        # a node released for its shutdown leaving is what the plan expected
        self._departed = (self._departed | (set(gone) & self.released)) - set(members)
        gone = [n for n in gone if n not in self.released]
        for n in set(old) - set(members):
            self.released.discard(n)
        if gone and self._failover_since is None:
            self._failover_since = self.now
        if self.phase is Phase.NOT_DC:
            return
        if gone or came:
            self._dirty, self._dirty_reason = True, "the membership changed"
        t = self.transition
        if t is None:
            return
        for a in t.actions.values():
            if a.state is ActionState.IN_FLIGHT and a.node in gone:
                a.state = ActionState.FAILED
        parts = []
        if gone:
            parts.append(f"{', '.join(gone)} left the cluster")
        if came:
            parts.append(f"{', '.join(came)} joined")
        if parts:
            self._abort(" and ".join(parts))

    def _on_timer(self) -> None:
        self._timer = None
        t = self.transition
        if t is not None:
            for a in t.actions.values():
                if a.state is ActionState.IN_FLIGHT and a.deadline is not None and self.now >= a.deadline:
                    a.state = ActionState.FAILED
                    self._abort(f"no result for the {a.label} within its timeout plus cluster-delay")
        if self.recheck_at is not None and self.now >= self.recheck_at:
            self.recheck_at = None
            self._dirty, self._dirty_reason = True, "a failure-timeout or a time-based rule fell due"

    def _on_result_seen(self, ev: ResultSeen) -> None:
        t = self.transition
        a = t.by_key.get(ev.transition_key) if t is not None else None
        if t is None or a is None or a.state is not ActionState.IN_FLIGHT:
            return
        fake = st.OpFacts(a.node or "", a.rsc or "", "", "", a.task, a.interval_ms, 0,
                          ev.rc, ev.status, ev.transition_key, 0)
        a.rc = ev.rc
        if self._ok(a, fake):
            a.state = ActionState.DONE
        else:
            a.state = ActionState.FAILED
            self._abort(f"the {a.label} failed (rc={ev.rc}, status={ev.status})")

    # ------------------------------------------------------------------ diff of two CIBs

    def _diff(self, t: Transition, old: _Snapshot, new: _Snapshot) -> str | None:
        """Confirm in-flight actions from new records; say why the transition must abort, if so."""
        reasons: list[str] = []
        general: list[str] = []
        unexpected: list[str] = []
        if new.config != old.config:
            general.append("the configuration changed")
        if new.quorum != old.quorum:
            general.append("quorum changed")
        expected_gone = self._departed
        if _without(new.node_attrs, expected_gone) != _without(old.node_attrs, expected_gone):
            general.append("a node's membership state changed")
        if new.incarnations != old.incarnations:
            general.append("a node's operation history was reset")
        if _without(_plain_attrs(new.transient), expected_gone) != _without(
            _plain_attrs(old.transient), expected_gone
        ):
            general.append("node attributes changed")
        for k, rec in new.records.items():
            prev = old.records.get(k)
            if prev is not None and prev.identity == rec.identity:
                continue
            a = t.by_key.get(rec.transition_key)
            if a is None:
                unexpected.append(f"{rec.op_key} on {rec.node} (rc={rec.rc})")
                continue
            if a.state is not ActionState.IN_FLIGHT:
                if a.state is ActionState.DONE and not self._ok(a, rec):
                    # e.g. a recurring monitor of this transition that failed since
                    a.state = ActionState.FAILED
                    reasons.append(f"the {a.label} failed (rc={rec.rc}, status={rec.status})")
                continue  # else: the last_failure twin of a record already matched
            a.rc = rec.rc
            self._log(f"{a.label}: rc={rec.rc} status={rec.status}", "debug")
            if self._ok(a, rec):
                a.state = ActionState.DONE
            else:
                a.state = ActionState.FAILED
                if a.task == "monitor" and a.interval_ms == 0 and rec.status == 0 and rec.rc in (0, 8):
                    reasons.append(f"the probe found {a.rsc} running on {a.node}")
                else:
                    reasons.append(f"the {a.label} failed (rc={rec.rc}, status={rec.status})")
        for k, rec in old.records.items():
            if k not in new.records and rec.interval_ms == 0:
                reasons.append(f"the history of {rec.rsc} on {rec.node} was cleared")
                break
        if len(unexpected) == 1:
            reasons.append(f"unexpected result of {unexpected[0]}")
        elif unexpected:
            shown = ", ".join(unexpected[:2]) + (", ..." if len(unexpected) > 2 else "")
            reasons.append(f"{len(unexpected)} unexpected results ({shown})")
        reasons += general
        if not reasons:
            return None
        seen: list[str] = []
        for r in reasons:
            if r not in seen:
                seen.append(r)
        return "; ".join(seen)

    def _ok(self, a: TAction, rec: st.OpFacts) -> bool:
        if a.rsc is not None and op_on_fail(self.cib, a.rsc, a.task, a.interval_ms) == "ignore":
            return True  # "pretend the resource did not fail": the transition goes on
        if rec.status != 0:
            return False
        if a.task == "stop" and rec.rc == 7:
            return True
        return rec.rc == a.expected_rc

    def _abort(self, reason: str) -> None:
        t = self.transition
        if t is None:
            return
        if t.abort_reason is None:
            t.abort_reason = reason
        else:
            if reason not in t.abort_reason:
                t.abort_reason += f"; {reason}"
        if self.phase is Phase.EXECUTING:
            self._go("abort")
            busy = len(self._in_flight())
            if busy:
                self._log(f"transition {t.id} aborting: {reason}; waiting for {busy} action(s) "
                          "in flight before replanning")

    # ------------------------------------------------------------------ the cycle

    def _run(self) -> None:
        """Do whatever the current phase allows, until nothing changes."""
        for _ in range(8):
            before = (self.phase, self._dirty)
            if self.phase is Phase.EXECUTING:
                self._dispatch()
            if self.phase is Phase.ABORTING and not self._in_flight():
                self._finish("aborted")
            if self.phase is Phase.IDLE and self._dirty and self.now >= self._hold_until:
                self._compute()
            if (self.phase, self._dirty) == before:
                break
        self._update_timer()

    def _in_flight(self) -> list[TAction]:
        t = self.transition
        return [a for a in t.actions.values() if a.state is ActionState.IN_FLIGHT] if t else []

    def _members_ready(self) -> str | None:
        """None when every member's history is its current incarnation's; else who we wait for."""
        cib = self.cib
        if cib is None:
            return ""
        # The CIB's node states must show the same membership as the view:
        # planning on a status the daemon has not rebuilt yet would send
        # actions to a node that is gone (the rebuild arrives a moment later).
        states = st.node_states(cib)
        online_in_cib = {
            n for n, ns in states.items()
            if ns.get("in_ccm") == "true" and ns.get("crmd") == "online"
            and ns.get("join") == "member"
        }
        if online_in_cib != set(self.members):
            return ""
        waiting = []
        unknown = []
        ops: list[dict[str, object]] = []
        wiped = []
        for n, inc in sorted(self.members.items()):
            if inc is None:
                unknown.append(n)
                continue
            if st.incarnation(cib, n) == inc:
                continue
            waiting.append(n)
            # its history is replaced by the wipe: no re-assertion to wait for
            self._reassert.pop(n, None)
            nid = st.node_id(cib, n)
            if nid is None:
                continue
            sent = self._wipes.get((n, inc))
            if sent is None or self.now - sent >= WIPE_RETRY_S:
                self._wipes[(n, inc)] = self.now
                ops += st.wipe_lrm_ops(nid, n, inc)
                wiped.append(n)
        if ops:
            self._out.append(CibOps(tuple(ops), f"{', '.join(wiped)} joined: "
                                                "operation history starts afresh"))
        parts = []
        if waiting:
            parts.append(f"the operation history of {', '.join(waiting)} to be reset")
        reassert = [n for n in self._reassert_pending() if n not in waiting and n not in unknown]
        if reassert:
            parts.append(f"the operation history of {', '.join(reassert)} to be re-asserted "
                         "after the membership grew")
        if unknown:
            parts.append(f"{', '.join(unknown)} to announce its daemon")
        return " and ".join(parts) if parts else None

    def _compute(self) -> None:
        self._go("compute")
        reason = self._dirty_reason or "the CIB changed"
        self._dirty, self._dirty_reason = False, ""
        waiting = self._members_ready()
        if waiting is not None:
            self._go("not-ready")
            self._dirty, self._dirty_reason = True, reason  # any later input retries
            if waiting and waiting != self._waiting_for:
                self._waiting_for = waiting
                self._log(f"waiting for {waiting} before planning")
            return
        self._waiting_for = None
        assert self.cib is not None and self.snap is not None
        from tandem.cib.model import Cib

        now_dt = datetime.fromtimestamp(self.now, UTC)
        try:
            model = Cib.from_element(self.cib)
            result = self._schedule(model, now_dt)
        except TandemError as exc:
            self._go("not-ready")
            self._log(f"cannot plan: the scheduler refused the CIB ({exc})", "error")
            return
        except Exception as exc:  # noqa: BLE001 - a scheduler bug must not stop the DC
            self._go("not-ready")
            self._log(f"cannot plan: the scheduler failed ({type(exc).__name__}: {exc})", "error")
            return
        self._cancel_stale_monitors()
        self._clear_expired_failures(result)
        recheck = _epoch(result.recheck_at) if result.recheck_at is not None else None
        floor = self.now + self._recheck_interval()
        self.recheck_at = min(recheck, floor) if recheck is not None else floor
        order = result.graph.execution_order()
        if not order:
            self._aborts_in_row = 0
            self._forget_stopped_orphans(getattr(result, "state", None))
            self._go("nothing-to-do")
            self.last_summary = []
            self._log(f"cluster is stable: nothing to do ({reason})")
            self._release_idle_shutdowns(result)
            return
        self.graph_ids += 1
        live = {id(a) for a in order}
        actions: dict[int, TAction] = {}
        for a in order:
            actions[a.id] = TAction(
                id=a.id,
                rsc=a.rsc,
                task=a.task,
                node=a.node,
                interval_ms=a.interval_ms,
                pseudo=a.pseudo or a.task in ("do_shutdown",) or a.node is None,
                inputs=[f.id for f, _fl in a.inputs if id(f) in live],
            )
        t = Transition(self.graph_ids, self.now, actions, list(result.summary))
        for ta in actions.values():
            probe = ta.task == "monitor" and ta.interval_ms == 0
            ta.expected_rc = 7 if probe else 0
            ta.key = f"{ta.id}:{t.id}:{ta.expected_rc}:{self.uuid}"
            t.by_key[ta.key] = ta
        self.transition = t
        self.last_summary = list(result.summary)
        self._go("graph")
        what = "; ".join(result.summary) or f"{len(actions)} action(s): probes and monitors"
        self._log(f"transition {t.id} started ({reason}): {_squash(what)}")

    def _cancel_stale_monitors(self) -> None:
        """Cancel recurring monitors the configuration no longer has (interval changed, removed).

        Pacemaker's scheduler puts such cancels in the graph; tandem's does not,
        so the controller sends them itself, once per (node, resource, interval).
        Orphans are left to their stop, which cancels their monitors anyway.
        """
        assert self.cib is not None and self.snap is not None
        configured: dict[str, set[int]] = {}
        for prim in self.cib.iterfind(".//resources//primitive"):
            intervals = configured.setdefault(prim.get("id", ""), set())
            for op in prim.iterfind("operations/op"):
                enabled = (op.get("enabled") or "true").lower() not in ("false", "no", "0", "off")
                if op.get("name") == "monitor" and enabled:
                    intervals.add(parse_interval_ms(op.get("interval"), 0))
        live: set[tuple[str, str, int]] = set()
        for (node, rsc, _rid), f in sorted(self.snap.records.items()):
            if f.operation != "monitor" or f.interval_ms <= 0 or f.status == 1:
                continue
            key = (node, rsc, f.interval_ms)
            live.add(key)
            if node not in self.members or rsc not in configured:
                continue
            if f.interval_ms in configured[rsc] or key in self._cancels:
                continue
            self._cancels.add(key)
            self._out.append(CancelOp(node, rsc, "monitor", f.interval_ms))
        self._cancels &= live

    def _configured(self) -> set[str]:
        assert self.cib is not None
        return {p.get("id", "") for p in self.cib.iterfind(".//resources//primitive")}

    def _forget_stopped_orphans(self, state) -> None:  # noqa: ANN001 - ClusterState | None
        """Delete the history of resources no longer configured once they are stopped everywhere.

        Pacemaker's controller does the same (the orphan's ``lrm_resource``
        goes away after its stop), so listings stop showing deleted resources.
        """
        if state is None or self.cib is None:
            return
        configured = self._configured()
        ops: list[dict[str, object]] = []
        names: list[str] = []
        for rsc, per_node in sorted(state.history.items()):
            if rsc in configured or any(h.active for h in per_node.values()):
                continue
            if any(node not in self.members for node in per_node):
                continue  # an offline node's history is rewritten when it rejoins anyway
            ops.append({"op": "delete", "missing_ok": True, "xpath":
                        f"/cib/status/node_state/lrm/lrm_resources/lrm_resource[@id='{rsc}']"})
            names.append(rsc)
        if ops:
            self._out.append(CibOps(tuple(ops), f"forgetting deleted resource(s) {', '.join(names)}"))

    def _clear_expired_failures(self, result) -> None:  # noqa: ANN001 - ScheduleResult
        """Delete fail counts (and the failure record) whose ``failure-timeout`` has passed.

        The scheduler already ignores them; Pacemaker also clears them, so that
        status listings stop showing failures that no longer count.
        """
        assert self.snap is not None
        timeouts = {
            r.id: r.failure_timeout_ms for r in getattr(result, "rscs", [])
            if getattr(r, "failure_timeout_ms", 0) > 0
        }
        if not timeouts:
            return
        ops: list[dict[str, object]] = []
        cleared: list[str] = []
        present = {(n, k, v) for n, attrs in self.snap.transient.items() for k, v in attrs.items()}
        self._expired_sent &= present
        for node, attrs in sorted(self.snap.transient.items()):
            if node not in self.members:
                continue
            for name, value in sorted(attrs.items()):
                if not name.startswith("last-failure-") or "#" not in name:
                    continue
                rsc, op = name[len("last-failure-"):].rsplit("#", 1)
                timeout_ms = timeouts.get(rsc)
                if timeout_ms is None or _int(value) + timeout_ms / 1000.0 > self.now:
                    continue
                key = (node, name, value)
                if key in self._expired_sent:
                    continue
                self._expired_sent.add(key)
                base = f"/cib/status/node_state[@uname='{node}']"
                for attr in (name, f"fail-count-{rsc}#{op}"):
                    ops.append({"op": "delete", "missing_ok": True, "xpath":
                                f"{base}/transient_attributes/instance_attributes/nvpair[@name='{attr}']"})
                rec = self.snap.records.get((node, rsc, f"{rsc}_last_failure_0"))
                if rec is not None and rec.last_rc_change + timeout_ms / 1000.0 <= self.now:
                    ops.append({"op": "delete", "missing_ok": True, "xpath":
                                f"{base}/lrm/lrm_resources/lrm_resource[@id='{rsc}']"
                                f"/lrm_rsc_op[@id='{rsc}_last_failure_0']"})
                cleared.append(f"{rsc} ({op}) on {node}")
        if ops:
            self._out.append(CibOps(tuple(ops), "failure-timeout expired: clearing the failures "
                                                f"of {', '.join(cleared)}"))

    def _recheck_interval(self) -> float:
        cib = self.cib
        if cib is not None:
            for nv in cib.iterfind("configuration/crm_config/cluster_property_set/nvpair"):
                if nv.get("name") == "cluster-recheck-interval":
                    ms = parse_interval_ms(nv.get("value"), 0)
                    if ms > 0:
                        return ms / 1000.0
        return DEFAULT_RECHECK_S

    def _cluster_delay(self) -> float:
        cib = self.cib
        if cib is not None:
            for nv in cib.iterfind("configuration/crm_config/cluster_property_set/nvpair"):
                if nv.get("name") == "cluster-delay":
                    ms = parse_interval_ms(nv.get("value"), 0)
                    if ms > 0:
                        return ms / 1000.0
        return DEFAULT_CLUSTER_DELAY_S

    def _release_idle_shutdowns(self, result) -> None:  # noqa: ANN001 - ScheduleResult
        for n in getattr(result, "shutdown_nodes", []) or []:
            if n not in self.released:
                self.released.add(n)
                self._out.append(ShutdownReleased(n))

    def _dispatch(self) -> None:
        t = self.transition
        assert t is not None
        progressed = True
        while progressed and self.phase is Phase.EXECUTING:
            progressed = False
            for a in t.actions.values():
                if a.state is not ActionState.WAITING:
                    continue
                ins = [t.actions[i] for i in a.inputs]
                if any(i.state in (ActionState.FAILED, ActionState.BLOCKED) for i in ins):
                    a.state = ActionState.BLOCKED
                    progressed = True
                    continue
                if not all(i.state is ActionState.DONE for i in ins):
                    continue
                progressed = True
                self._fire(t, a)
        if self.phase is not Phase.EXECUTING:
            return
        if not self._in_flight() and all(a.state is not ActionState.WAITING for a in t.actions.values()):
            self._finish("complete")

    def _fire(self, t: Transition, a: TAction) -> None:
        if a.task == "do_shutdown":
            a.state = ActionState.DONE
            if a.node and a.node not in self.released:
                self.released.add(a.node)
                self._out.append(ShutdownReleased(a.node))
            return
        if a.task == "stonith":
            a.state = ActionState.BLOCKED
            self._log(f"cannot fence {a.node}: fencing is not implemented yet", "warning")
            return
        if a.pseudo:
            a.state = ActionState.DONE
            return
        if a.node not in self.members:
            a.state = ActionState.FAILED
            self._abort(f"{a.node} is not a member any more")
            return
        try:
            req = self._request(a)
        except TandemError as exc:
            a.state = ActionState.FAILED
            self._abort(f"cannot build the {a.label}: {exc}")
            return
        a.state = ActionState.IN_FLIGHT
        self._log(f"executing the {a.label}", "debug")
        a.deadline = self.now + req.timeout_ms / 1000.0 + self._cluster_delay()
        self._out.append(ExecuteOp(a.node or "", req, self.members.get(a.node or "")))

    def _request(self, a: TAction) -> OpRequest:
        assert self.cib is not None and a.rsc is not None
        try:
            return request_from_cib(self.cib, a.rsc, a.task, a.interval_ms, transition_key=a.key)
        except CibError:
            spec = st.lrm_resource_spec(self.cib, a.rsc)
            if spec is None:
                raise
            # an orphan (deleted from the configuration): the node stops it with the
            # parameters it started it with
            return OpRequest(a.rsc, spec, a.task, a.interval_ms, DEFAULT_TIMEOUT_MS,
                             transition_key=a.key)

    def _finish(self, how: str) -> None:
        t = self.transition
        assert t is not None
        done = sum(1 for a in t.actions.values() if a.state is ActionState.DONE)
        failed = sum(1 for a in t.actions.values() if a.state is ActionState.FAILED)
        blocked = sum(1 for a in t.actions.values() if a.state in (ActionState.BLOCKED, ActionState.WAITING))
        took = self.now - t.started
        self.transition = None
        if how == "complete":
            self._aborts_in_row = 0
            self._go("complete")
            extra = f", {blocked} could not run" if blocked else ""
            self._log(f"transition {t.id} complete: {done} action(s) done in {took:.2f} s{extra}")
            configured = self._configured() if self.cib is not None else set()
            if any(a.task == "stop" and a.rsc not in configured and a.state is ActionState.DONE
                   for a in t.actions.values()):
                from tandem.cib.model import Cib
                from tandem.cib.unpack import unpack_status

                assert self.cib is not None
                now_dt = datetime.fromtimestamp(self.now, UTC)
                self._forget_stopped_orphans(unpack_status(Cib.from_element(self.cib), now_dt))
        else:
            self._go("drained")
            self._log(
                f"transition {t.id} aborted: {t.abort_reason}; replanning "
                f"({done} done, {failed} failed, {blocked} not started)"
            )
            self._dirty, self._dirty_reason = True, f"transition {t.id} was aborted"
            self._aborts_in_row += 1
            if self._aborts_in_row >= ABORT_BRAKE:
                delay = min(2.0 ** (self._aborts_in_row - ABORT_BRAKE), MAX_BRAKE_S)
                self._hold_until = self.now + delay
                self._log(f"{self._aborts_in_row} transitions in a row were aborted: "
                          f"replanning in {delay:g} s", "warning")

    def _update_timer(self) -> None:
        if self.phase is Phase.NOT_DC:
            return
        cib = self.cib
        for n, inc in list(self._wipes):
            if self.members.get(n) != inc or (cib is not None and st.incarnation(cib, n) == inc):
                del self._wipes[(n, inc)]
        times = []
        if self.recheck_at is not None:
            times.append(self.recheck_at)
        t = self.transition
        if t is not None:
            times += [a.deadline for a in t.actions.values()
                      if a.state is ActionState.IN_FLIGHT and a.deadline is not None]
        for sent in self._wipes.values():
            times.append(sent + WIPE_RETRY_S)
        if self._reassert and self._reassert_since is not None:
            times.append(self._reassert_since + self._cluster_delay())
        if self._dirty and self._hold_until > self.now:
            times.append(self._hold_until)
        at = min(times) if times else None
        self._set_timer(at)

    def _set_timer(self, at: float | None) -> None:
        if at != self._timer:
            self._timer = at
            self._out.append(SetTimer(at))


def _without(by_node: dict, nodes: set[str]) -> dict:  # noqa: ANN001 - any per-node mapping
    return {n: v for n, v in by_node.items() if n not in nodes}


def _plain_attrs(transient: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Transient attributes without fail counts: those only change along with a
    failure record or a cleanup, which the record diff already explains."""
    return {
        n: {k: v for k, v in attrs.items()
            if not k.startswith(("fail-count-", "last-failure-"))}
        for n, attrs in transient.items()
    }


def _squash(text: str) -> str:
    return " ".join(text.split())
