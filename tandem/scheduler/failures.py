"""Failures, fencing and node health: what the status history makes the scheduler do.

Why a module of its own: these rules (on-fail, hard/fatal errors, failed
stops, fail counts against migration-threshold, fencing and unfencing of
nodes, node-health scores) read the unpacked status and change scores,
node states and resource flags before and after assignment; the core keeps
the order in which they are applied.
"""

from __future__ import annotations

from datetime import datetime

from tandem.cib import scores as S
from tandem.cib.model import Cib, resolve
from tandem.cib.rules import RuleContext
from tandem.cib.unpack import ROLE_STOPPED, ClusterState
from tandem.errors import CibError
from tandem.scheduler import actions as A
from tandem.scheduler.rsc import Rsc

INF = S.INFINITY


def _node_health(state: ClusterState, node_order: list[str]) -> dict[str, int]:
    """Per-node score from ``#health*`` attributes, as node-health-strategy says."""
    strategy = (state.options.get("node-health-strategy") or "none").lower()
    if strategy == "none":
        return {}
    words = {}
    for w in ("red", "yellow", "green"):
        try:
            words[w] = S.parse(state.options.get(f"node-health-{w}") or "0")
        except CibError:
            words[w] = 0
    if strategy == "migrate-on-red":
        words = {"red": -INF, "yellow": 0, "green": 0}
    elif strategy == "only-green":
        words = {"red": -INF, "yellow": -INF, "green": 0}
    out: dict[str, int] = {}
    for n in node_order:
        total = 0
        if strategy in ("progressive", "custom"):
            try:
                total = S.parse(state.options.get("node-health-base") or "0")
            except CibError:
                total = 0
        for name, value in state.nodes[n].attrs.items():
            if not name.startswith("#health"):
                continue
            v = (value or "").strip().lower()
            if v in words:
                total = S.add(total, words[v])
            else:
                try:
                    total = S.add(total, S.parse(v))
                except CibError:
                    continue
        if total:
            out[n] = total
    return out


def _fencing(
    state: ClusterState,
    graph: A.Graph,
    per: dict[str, dict[str, object]],
    have_fencing: bool,
    quorate: bool,
    nqp: str,
    node_order: list[str],
) -> dict[str, A.Action]:
    """Fence unclean nodes when we can; stops there are then implied by the fencing.

    Fencing needs it enabled, a device, and quorum (or no-quorum-policy=ignore,
    or the node still in our membership).  When we cannot fence, stops on an
    unclean node cannot run: those resources are blocked.
    """
    fenced: dict[str, A.Action] = {}
    action = (state.options.get("fencing-action") or state.options.get("stonith-action") or "reboot").lower()
    for n in reversed(node_order):
        info = state.nodes[n]
        if not info.unclean:
            continue
        can = state.options.fencing_enabled and have_fencing and (
            quorate or nqp == "ignore" or info.online
        )
        if can:
            fa = graph.new(None, "stonith", n, optional=False)
            fa.meta["action"] = action
            fenced[n] = fa
    for acts in per.values():
        stops: dict[str, A.Action] = acts["stops"]  # type: ignore[assignment]
        for n, stop in stops.items():
            if not state.nodes[n].unclean:
                continue
            if n in fenced:
                stop.pseudo = True
                stop.optional = False
                A.Graph.order(fenced[n], stop, A.ORDERED)
            else:
                stop.runnable = False
    return fenced


def _unfencing(
    state: ClusterState,
    graph: A.Graph,
    per: dict[str, dict[str, object]],
    rscs: list[Rsc],
    node_order: list[str],
    fenced: dict[str, A.Action],
) -> dict[str, A.Action]:
    """Unfence ("on") nodes before resources are probed or started there.

    When a fencing device provides unfencing (meta ``provides=unfencing``),
    every resource requires its node to be unfenced first; a node counts as
    unfenced once the fencer recorded ``#node-unfenced`` for it.
    """
    if not state.options.fencing_enabled:
        return {}
    if not any(r.is_fencing and (r.meta.get("provides") or "").lower() == "unfencing" for r in rscs):
        return {}
    out: dict[str, A.Action] = {}
    for n in reversed(node_order):
        info = state.nodes[n]
        if not info.online or info.unclean or n in fenced or info.attrs.get("#node-unfenced"):
            continue
        needing = [
            a for r in rscs
            for a in list(per[r.id]["probes"]) + [per[r.id].get("start")]  # type: ignore[operator]
            if a is not None and a.node == n  # type: ignore[union-attr]
        ]
        if not needing:
            continue
        first = needing[0]
        fa = graph.new(None, "stonith", n, optional=False)
        fa.meta["action"] = "on"
        fa.reason = f"required by {first.rsc} {first.task}"  # type: ignore[union-attr]
        for a in needing:
            A.Graph.order(fa, a, A.ORDERED | A.UNRUNNABLE_FIRST_BLOCKS)  # type: ignore[arg-type]
        out[n] = fa
    return out


def _op_def(r: Rsc, name: str, interval: int):  # noqa: ANN202 - OpDef | None
    if r.prim is None:
        return None
    for op in r.prim.ops:
        if op.name == name and op.interval_ms == interval:
            return op
    return None


def _on_fail(r: Rsc, cib: Cib, state: ClusterState, task: str, interval: int) -> str:
    op = _op_def(r, task, interval)
    val = op.get("on-fail") if op is not None else None
    if val is None:
        val = resolve(cib.op_defaults, RuleContext(now=state.now)).get("on-fail")
    if val:
        return val.lower()
    if r.meta.get("container"):
        return "restart-container"  # a resource inside a container: the container is restarted
    if task == "stop":
        return "fence" if state.options.fencing_enabled else "block"
    return "restart"


def _effective_fail_count(r: Rsc, cib: Cib, state: ClusterState, per_op: dict[str, int] | None) -> int:
    """Fail counts that count against migration-threshold.

    Pacemaker Explained: the threshold has an effect only when the failed
    operation's on-fail is ``restart`` (the default); fail counts recorded
    without an operation (old CIBs) always count.
    """
    if not per_op:
        return 0
    total = 0
    for key, count in per_op.items():
        task, _, interval = key.rpartition("_")
        if task and interval.isdigit() and _on_fail(r, cib, state, task, int(interval)) != "restart":
            continue
        total = S.add(total, count)
    return total


def _apply_failures(r: Rsc, cib: Cib, state: ClusterState, node_order: list[str], can_fence) -> list[datetime]:  # noqa: ANN001
    """Pacemaker's reaction to failed operations in the history."""
    from tandem.cib.unpack import PCMK_EXEC_NOT_INSTALLED, classify

    rechecks: list[datetime] = []
    failed = False
    for n, h in r.history.items():
        if n not in state.nodes or not (state.nodes[n].online or state.nodes[n].unclean):
            continue  # offline nodes' history is not considered
        for f in list(h.failures):
            on_fail = _on_fail(r, cib, state, f.task, f.interval_ms)
            if f.task == "stop" and on_fail not in ("ignore", "restart-container") and classify(f) != "not_installed":
                # a resource that failed to stop there must never be placed there again
                # (inside a container, restarting the container recovers it instead)
                r.add_score(n, -INF, f"failed to stop on {n} (rc={f.rc})", "failure")
            if r.failure_timeout_ms > 0 and f.last_rc_change and on_fail != "block":
                expires = f.last_rc_change + r.failure_timeout_ms // 1000
                if state.now.timestamp() >= expires:
                    h.failures.remove(f)
                    if f.task == "monitor" and f.interval_ms > 0 and h.last_start is not None:
                        continue
                    continue
                rechecks.append(datetime.fromtimestamp(expires, tz=state.now.tzinfo))
            kind = classify(f)
            if state.nodes[n].unclean and can_fence(n):
                h.failures.remove(f)  # fencing the node resolves whatever failed there
                continue
            if kind == "not_installed":
                r.add_score(n, -INF, f"the agent is not installed on {n} (probe rc={f.rc})", "failure")
                continue
            if on_fail == "ignore" and f.status == PCMK_EXEC_NOT_INSTALLED:
                on_fail = "restart"  # a missing agent cannot be ignored
            if kind == "hard" and on_fail != "ignore":
                r.add_score(n, -INF, f"hard error on {n}: {f.task} rc={f.rc}", "failure")
            elif kind == "fatal" and on_fail != "ignore":
                for m in node_order:
                    r.add_score(m, -INF, f"fatal error on {n}: {f.task} rc={f.rc}", "failure")
            if on_fail == "ignore":
                h.failures.remove(f)
                r.failure_ignored = True
                if f.task == "stop" and h.ops and max(h.ops, key=lambda o: o.call_id) is f:
                    h.role = ROLE_STOPPED  # pretend the stop succeeded
                continue
            failed = True
            if on_fail == "block" and state.nodes[n].unclean:
                pass  # its stop cannot run anyway until the node is fenced
            elif on_fail == "block":
                r.managed = False
                r.blocked = True
            elif on_fail == "stop":
                r.target_role = ROLE_STOPPED
            elif on_fail == "standby":
                state.nodes[n].standby = True
            elif on_fail == "fence" and state.options.fencing_enabled:
                state.nodes[n].unclean = True
                state.nodes[n].fence_reason = f"{r.id} failed there"
        h.failed = any(classify(f) != "not_installed" for f in h.failures)
        only_probes = all(o.task == "monitor" and o.interval_ms == 0 for o in h.ops)
        if not h.failed and h.role != ROLE_STOPPED and h.last_start is None and only_probes:
            # only failures made it look active, and they no longer count
            h.role = ROLE_STOPPED
    r.failed = failed and any(h.failed for h in r.history.values())
    r.current = [
        n for n, h in r.history.items()
        if h.active and n in state.nodes and (state.nodes[n].online or state.nodes[n].unclean)
    ]
    return rechecks
