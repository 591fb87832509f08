"""Asyncio glue: drives the pure :class:`Controller` and :class:`NodeAgent` inside tandemd.

Why a separate object: the daemon owns corosync, the replicated CIB and the
local socket; the controller owns planning and running operations.  This
class only translates between them, so neither state machine does I/O:

- the daemon calls :meth:`on_cib_changed` after every CIB change,
  :meth:`on_view` when the DC or the online nodes change, and
  :meth:`on_message` for every message delivered in its CPG group;
- the service reads the CIB (``read_cib``), submits status changes through
  replication (``submit_ops``), multicasts controller messages (``send``),
  runs operations on the local executor, and sets its own timer;
- :meth:`resources_released` answers the daemon's shutdown question.

Requests to another node travel as ``ctl-exec`` messages in the daemon's own
group (:mod:`tandem.daemon.controller.messages`): the same total order as the
CIB changes, so a node never runs a request "before" the CIB change the DC
made ahead of it.  Results come back as CIB changes, never as messages.

Incarnations: each service makes a random token at start and multicasts it
(``ctl-hello``) whenever the view changes; a node's incarnation is
``PID-TOKEN``.  The token, not the pid alone, tells a restarted daemon from
the old one (a rebooted node's tandemd often gets the same pid again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from lxml import etree

from tandem.daemon.controller import messages as msgs
from tandem.daemon.controller.core import Controller
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
from tandem.daemon.executor.core import OpEvent
from tandem.daemon.executor.service import Executor

log = logging.getLogger("tandemd.controller")


class ApplyReply(Protocol):
    """What ``submit_ops`` resolves to (the daemon's ``Reply``)."""

    ok: bool
    reports: Any


SubmitOps = Callable[[list[dict[str, Any]]], Awaitable[ApplyReply]]


class ControllerService:
    """One per tandemd (see the module docstring).

    ``read_cib()`` returns the live CIB root; the service copies it, so the
    daemon may keep changing its own tree.  ``submit_ops(ops)`` must send the
    change *synchronously* (before returning its awaitable) so that changes
    keep their order.  ``executor_factory(on_event)`` builds the local
    executor (``ExecutorService`` on a real node, ``InlineExecutor`` in
    tests); ``on_released(node)`` is called when the DC has emptied a node
    that is shutting down (the daemon then re-checks its shutdown acks).
    """

    def __init__(
        self,
        node_name: str,
        *,
        read_cib: Callable[[], etree._Element],
        submit_ops: SubmitOps,
        send: Callable[[bytes], None],
        executor_factory: Callable[[Callable[[OpEvent], None]], Executor],
        on_released: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
        token: str | None = None,
        pid: int | None = None,
        still_dc: Callable[[], bool] | None = None,
    ) -> None:
        self.name = node_name
        self.read_cib = read_cib
        self.submit_ops = submit_ops
        self.send = send
        self.on_released = on_released
        self.clock = clock
        #: the daemon's current answer to "am I the DC?" (its view event may come later)
        self.still_dc = still_dc
        self.token = token or uuidlib.uuid4().hex[:12]
        self.controller = Controller(node_name, self.token)
        self.agent = NodeAgent(node_name)
        self.loop = asyncio.get_running_loop()
        self.executor = executor_factory(self._event_from_any_thread)
        self.is_dc = False
        self.online: dict[str, int] = {}
        #: this daemon's pid as corosync reports it in the view (tandemd's own pid)
        self.pid = os.getpid() if pid is None else pid
        #: node -> (pid, token) from the ctl-hello messages
        self.tokens: dict[str, tuple[int, str]] = {node_name: (self.pid, self.token)}
        # a re-assertion after a merge writes this daemon's own incarnation back
        self.agent.incarnation = self.incarnation
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # ------------------------------------------------------------------ daemon -> service

    def on_cib_changed(self, _event: object = None) -> None:
        """After every CIB change (``Daemon.on_cib_changed``): feed both state machines."""
        if self._closed:
            return
        if self.is_dc and self.still_dc is not None and not self.still_dc():
            # The daemon emits the CIB change of a DC handover before the view that
            # announces it: an outgoing DC must not plan on that CIB.
            self.is_dc = False
            self._step(LostDC())
        root = self.read_cib()
        log.debug("CIB changed: %s", root.get("num_updates"))
        cib = etree.fromstring(etree.tostring(root))
        self._agent_out(self._guard(self.agent.on_cib, cib))
        self._step(CibUpdated(cib))

    def on_view(self, dc: str | None, online: Mapping[str, int], i_am_dc: bool) -> None:
        """The DC or the online nodes changed (``Daemon.on_view_changed``)."""
        if self._closed:
            return
        if not i_am_dc and self.is_dc:
            # first: a DC on its way out must not plan on the new view
            self.is_dc = False
            self._step(LostDC())
        self.online = dict(online)
        # A node that left forgets its token: when it comes back, even with the same
        # pid (a rebooted node's pid namespace gives tandemd the same pid again), its
        # incarnation is unknown until its new hello arrives.
        for n in list(self.tokens):
            if n not in self.online and n != self.name:
                del self.tokens[n]
        self.send(msgs.encode({"t": "ctl-hello", "node": self.name, "pid": self.pid,
                               "token": self.token}))
        self._feed_membership()
        if i_am_dc and not self.is_dc:
            self.is_dc = True
            self._step(BecameDC())
            self.on_cib_changed()

    def on_message(self, payload: bytes) -> bool:
        """A message delivered in the daemon's group; True if it was the controller's."""
        msg = msgs.decode(payload)
        if msg is None or self._closed:
            return False
        kind = msg.get("t")
        node = msg.get("node")
        if kind == "ctl-hello":
            hello = (int(msg.get("pid") or 0), str(msg.get("token")))
            if isinstance(node, str) and self.tokens.get(node) != hello:
                self.tokens[node] = hello
                self._feed_membership()
        elif kind == "ctl-exec" and node == self.name:
            if msg.get("inc") not in (None, self.incarnation):
                log.info("dropped a request meant for an earlier incarnation of this node")
                return True
            try:
                req = msgs.request_from_dict(msg["req"])
            except (KeyError, TypeError, ValueError) as exc:
                log.error("malformed ctl-exec message ignored: %s", exc)
                return True
            self._agent_out(self._guard(self.agent.on_request, req))
        elif kind == "ctl-cancel" and node == self.name:
            self._agent_out(self._guard(self.agent.on_cancel, str(msg.get("rsc")),
                                        str(msg.get("action")), int(msg.get("interval") or 0)))
        elif kind == "ctl-record" and self.is_dc:
            ops = list(msg.get("ops") or [])
            self._submit(ops, f"results of {node} (its daemon is stopping)",
                         on_refused=lambda: self._results_from_ops(ops))
        return True

    @property
    def incarnation(self) -> str:
        """This daemon's incarnation as the DC knows it (``PID-TOKEN``)."""
        return f"{self.pid}-{self.token}"

    def resources_released(self, node: str) -> bool:
        """The daemon's shutdown question: has the DC emptied ``node``?"""
        return self.controller.resources_released(node)

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        for t in self._tasks:
            t.cancel()
        with contextlib.suppress(Exception):
            self.executor.close()

    # ------------------------------------------------------------------ internals

    def _feed_membership(self) -> None:
        # A node's incarnation is known once its hello for the pid in the view
        # arrived: the view can show a restarted daemon's new pid before that.
        members: dict[str, str | None] = {}
        for n, pid in self.online.items():
            hello = self.tokens.get(n)
            members[n] = f"{pid}-{hello[1]}" if hello is not None and hello[0] == pid else None
        # (the same PID-TOKEN as :attr:`incarnation` on that node)
        self._step(MembershipChanged(members))

    def _step(self, event: Any) -> None:
        self._ctl_out(self._guard(self.controller.step, event, self.clock()))

    @staticmethod
    def _guard(fn: Callable[..., list[Any]], *args: Any) -> list[Any]:
        """Run a state machine input; a bug there is logged, never raised into the daemon."""
        try:
            return fn(*args)
        except Exception:  # noqa: BLE001
            log.exception("controller error in %s", getattr(fn, "__qualname__", fn))
            return []

    def _event_from_any_thread(self, event: OpEvent) -> None:
        """The executor's callback: hop onto the daemon's loop."""
        with contextlib.suppress(RuntimeError):  # a closed loop: the daemon is exiting
            self.loop.call_soon_threadsafe(self._on_event, event)

    def _on_event(self, event: OpEvent) -> None:
        if self._closed:
            return
        try:
            reload = self.executor.reload_info(event.request)
        except Exception:  # noqa: BLE001 - records without reload facts are still records
            from tandem.agents.reload import NO_RELOAD

            reload = NO_RELOAD
        self._agent_out(self._guard(self.agent.on_event, event, reload))

    def _results_from_ops(self, ops: list[dict[str, Any]]) -> None:
        """Nobody can record these results (every daemon is stopping): tell the DC directly."""
        for op in ops:
            xml = op.get("xml")
            if not isinstance(xml, str) or "lrm_rsc_op" not in xml:
                continue
            try:
                root = etree.fromstring(xml.encode())
            except etree.XMLSyntaxError:
                continue
            for rec in root.iter("lrm_rsc_op"):
                if rec.get("id", "").endswith("_last_failure_0"):
                    continue
                try:
                    ev = ResultSeen(rec.get("transition-key", ""), int(rec.get("rc-code", "-1")),
                                    int(rec.get("op-status", "-1")))
                except ValueError:
                    continue
                self._step(ev)

    def _submit(self, ops: list[dict[str, Any]], why: str, ticket: int | None = None,
                on_refused: Callable[[], None] | None = None) -> None:
        log.debug("submitting %d CIB operation(s): %s", len(ops), why)
        try:
            fut = self.submit_ops(ops)
        except Exception as exc:  # noqa: BLE001 - report, never kill the daemon loop
            log.error("could not submit CIB change (%s): %s", why, exc)
            if ticket is not None:
                self.agent.applied(ticket)
            return

        async def wait() -> None:
            try:
                reply = await fut
                if not reply.ok:
                    codes = {getattr(r, "code", "") for r in (reply.reports or ())}
                    if "CLUSTER_NOT_READY" in codes and ticket is not None:
                        # our daemon is stopping: the DC records our results for us
                        self.send(msgs.record_msg(self.name, ops))
                    elif "CLUSTER_NOT_READY" in codes and on_refused is not None:
                        on_refused()
                    else:
                        log.error("CIB change refused (%s): %s", why,
                                  "; ".join(str(r) for r in (reply.reports or ())))
            finally:
                if ticket is not None:
                    self.agent.applied(ticket)

        task = self.loop.create_task(wait())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _agent_out(self, outs: list[Any]) -> None:
        for o in outs:
            if isinstance(o, Submit):
                self.executor.submit(o.request)
            elif isinstance(o, Cancel):
                self.executor.cancel(o.rsc_id, o.action, o.interval_ms)
            elif isinstance(o, Forget):
                self.executor.forget(o.rsc_id)
            elif isinstance(o, Record):
                self._submit(list(o.ops), o.why, o.ticket)
            elif isinstance(o, Log):
                _emit(o)

    def _ctl_out(self, outs: list[Any]) -> None:
        for o in outs:
            if isinstance(o, ExecuteOp):
                if o.node == self.name:
                    self._agent_out(self._guard(self.agent.on_request, o.request))
                else:
                    self.send(msgs.exec_msg(o.node, o.request, o.incarnation))
            elif isinstance(o, CancelOp):
                if o.node == self.name:
                    self._agent_out(self._guard(self.agent.on_cancel, o.rsc_id, o.action,
                                                o.interval_ms))
                else:
                    self.send(msgs.cancel_msg(o.node, o.rsc_id, o.action, o.interval_ms))
            elif isinstance(o, CibOps):
                self._submit(list(o.ops), o.why)
            elif isinstance(o, Log):
                _emit(o)
            elif isinstance(o, SetTimer):
                self._set_timer(o.at)
            elif isinstance(o, ShutdownReleased) and self.on_released is not None:
                self.on_released(o.node)

    def _set_timer(self, at: float | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if at is None:
            return
        delay = max(0.0, at - self.clock())
        self._timer = self.loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if not self._closed:
            self._step(TimerFired())


def _emit(o: Any) -> None:
    """Log a state machine's ``Log`` output at its level (unknown levels: info)."""
    level = o.level if o.level in ("debug", "info", "warning", "error") else "info"
    getattr(log, level)(o.text)


# --------------------------------------------------------------------------- daemon wiring


def attach(daemon: Any, executor_factory: Callable[[Callable[[OpEvent], None]], Executor]) -> ControllerService:
    """Wire a :class:`ControllerService` into a running ``tandem.daemon.main.Daemon``.

    Call it from inside the daemon's event loop, before ``transport.join``
    (e.g. at the start of ``Daemon.run``).  It uses only the daemon's hooks:
    ``on_cib_changed``, ``on_view_changed``, ``on_transport_event``,
    ``submit("apply", ops=...)``, ``transport.mcast`` and
    ``core.resources_released``/``core.recheck_shutdowns``.
    """
    from tandem.corosync.transport import Deliver
    from tandem.daemon.core import GROUP

    core = daemon.core

    def submit_ops(ops: list[dict[str, Any]]) -> Awaitable[ApplyReply]:
        return daemon.submit("apply", ops=ops)

    def send(payload: bytes) -> None:
        try:
            daemon.transport.mcast(GROUP, payload)
        except Exception as exc:  # noqa: BLE001 - corosync going away is the daemon's business
            log.error("controller multicast failed: %s", exc)

    def released(_node: str) -> None:
        daemon.run_actions(core.recheck_shutdowns())

    svc = ControllerService(
        core.name,
        read_cib=lambda: core.cib,
        submit_ops=submit_ops,
        send=send,
        executor_factory=executor_factory,
        on_released=released,
        clock=daemon.clock.time,
        pid=core.pid,
        still_dc=lambda: core.dc == core.nodeid,
    )
    daemon.on_cib_changed.append(svc.on_cib_changed)

    def view(v: Any) -> None:
        svc.on_view(v.dc, dict(v.incarnations), v.i_am_dc)

    daemon.on_view_changed.append(view)

    def transport_event(ev: Any) -> None:
        if isinstance(ev, Deliver) and ev.group == GROUP:
            svc.on_message(ev.payload)

    daemon.on_transport_event.append(transport_event)
    core.resources_released = svc.resources_released
    return svc


def real_executor_factory(node_name: str) -> Callable[[Callable[[OpEvent], None]], Executor]:
    """The executor of a real node: OCF/LSB agents, cgroup watch when cgroup v2 is there."""

    def make(on_event: Callable[[OpEvent], None]) -> Executor:
        from tandem.agents.runner import SubprocessRunner
        from tandem.daemon.executor import CgroupTree, ExecutorService, default_cgroup_base

        base = default_cgroup_base()
        return ExecutorService(
            node_name,
            SubprocessRunner(node_name=node_name),
            on_event,
            cgroups=CgroupTree(base) if base else None,
        )

    return make
