"""Actions, orderings and the transition graph.

Why: once every resource has a node, the scheduler must say *what to do*:
probes where a resource's state is unknown, stops, starts, recurring
monitors, and the orderings between them (``rsc_order`` constraints with
their symmetrical stops, the implied stop-before-start of a move or restart,
probes before starts, starts before monitors).  Orderings carry flags, and a
fixed-point pass propagates them the way Pacemaker does:

- *first implies then*: when the first action is required, so is the second
  (a restarted resource restarts what is ordered after it);
- *then implies first*: the inverse, used by the symmetrical stop orders;
- *unrunnable first blocks*: when the first action cannot run, nor can the
  second ("Stop B due to unrunnable A start");
- *restart*: a required or unrunnable start of an active resource requires
  its stop.

The result is a :class:`Graph` the controller executes later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FIRST_IMPLIES_THEN = 1
THEN_IMPLIES_FIRST = 2
UNRUNNABLE_FIRST_BLOCKS = 4
RESTART = 8
ORDERED = 16
ASYMMETRIC = 32  # one-way order: an unrunnable first only blocks a required then
ONE_OR_MORE = 64  # input of a require-all=false set: the then is blocked only when all are


@dataclass(eq=False)
class Action:
    id: int
    rsc: str | None
    task: str  # start, stop, monitor, promote, demote, probe is monitor interval 0, do_shutdown, stonith
    node: str | None
    interval_ms: int = 0
    optional: bool = True
    runnable: bool = True
    pseudo: bool = False
    reason: str | None = None
    # an action of an unmanaged (or blocked) resource: it may stay optional,
    # but once something requires it, it cannot run
    frozen: bool = False
    inputs: list[tuple[Action, int]] = field(default_factory=list)
    outputs: list[tuple[Action, int]] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.rsc}_{self.task}_{self.interval_ms}"

    @property
    def label(self) -> str:
        """crm_simulate's spelling: ``monitor=10000`` for recurring monitors."""
        if self.task == "monitor" and self.interval_ms:
            return f"monitor={self.interval_ms}"
        return self.task

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        flags = ("" if self.optional else "R") + ("" if self.runnable else "U")
        return f"<{self.key} {self.node} {flags}>"


def _require(a: Action) -> None:
    """Make ``a`` required; a frozen action (unmanaged resource) then cannot run."""
    a.optional = False
    if a.frozen:
        a.runnable = False


def _members_required(a: Action) -> bool:
    """A group's pseudo action counts as required when a member's action it leads to is."""
    return a.pseudo and any(
        not t.optional and t.meta.get("group") == a.rsc for t, _fl in a.outputs
    )


class Graph:
    """The transition graph: actions with their ordering inputs."""

    def __init__(self) -> None:
        self.actions: list[Action] = []

    def new(self, rsc: str | None, task: str, node: str | None, interval_ms: int = 0, *, optional: bool = True) -> Action:
        a = Action(len(self.actions) + 1, rsc, task, node, interval_ms, optional=optional)
        self.actions.append(a)
        return a

    @staticmethod
    def order(first: Action | None, then: Action | None, flags: int) -> None:
        if first is None or then is None or first is then:
            return
        then.inputs.append((first, flags))
        first.outputs.append((then, flags))

    # ----------------------------------------------------------- propagation
    def propagate(self, active_on: dict[str, set[str]]) -> None:
        """Fixed point of the ordering flags (required/unrunnable spread along orders)."""
        work = list(reversed(self.actions))  # popped from the end: creation order first
        queued = set(id(a) for a in work)
        while work:
            a = work.pop()
            queued.discard(id(a))
            changed: list[Action] = []
            for then, flags in a.outputs:
                if flags & ONE_OR_MORE:
                    if not a.runnable and then.runnable and all(
                        not f.runnable for f, fl in then.inputs if fl & ONE_OR_MORE
                    ):
                        then.runnable = False
                        changed.append(then)
                    continue
                if flags & UNRUNNABLE_FIRST_BLOCKS and not a.runnable and then.runnable:  # noqa: SIM102
                    # A pseudo/optional first that will not happen does not block.
                    if not (flags & ASYMMETRIC and then.optional and not _members_required(then)):
                        then.runnable = False
                        same_rsc_move = a.rsc == then.rsc and a.task == "stop"
                        if then.reason is None and not same_rsc_move:
                            if a.task == "one-or-more":
                                then.reason = f"unrunnable {a.rsc}"
                            else:
                                inside = a.pseudo and a.reason and then.meta.get("group") == a.rsc
                                then.reason = a.reason if inside else f"unrunnable {a.rsc} {a.task}"
                        changed.append(then)
                if (
                    flags & FIRST_IMPLIES_THEN
                    and not a.optional
                    and not a.runnable
                    and then.runnable
                    and not a.pseudo
                    and a.rsc != then.rsc
                ):
                    # a required action that cannot run blocks what must follow it
                    then.runnable = False
                    if then.reason is None:
                        then.reason = f"unrunnable {a.rsc} {a.task}"
                    changed.append(then)
                if flags & FIRST_IMPLIES_THEN and not a.optional and then.optional:
                    _require(then)
                    if then.reason is None and a.rsc != then.rsc:
                        # a group's pseudo action passes on why it is required
                        inside = a.pseudo and a.reason and then.meta.get("group") == a.rsc
                        then.reason = a.reason if inside else f"required {a.rsc} {a.task}"
                    changed.append(then)
            for first, flags in a.inputs:
                if flags & THEN_IMPLIES_FIRST and not a.optional and first.optional:
                    _require(first)
                    if first.reason is None and a.rsc != first.rsc:
                        first.reason = f"required {a.rsc} {a.task}"
                    changed.append(first)
                if flags & RESTART and first.optional and (not a.optional or not a.runnable):  # noqa: SIM102
                    if first.node in active_on.get(first.rsc or "", set()):
                        _require(first)
                        if first.reason is None and a.reason is not None and not a.runnable:
                            first.reason = a.reason
                        changed.append(first)
            for c in changed:
                if id(c) not in queued:
                    queued.add(id(c))
                    work.append(c)

    def required(self) -> list[Action]:
        return [a for a in self.actions if not a.optional and a.runnable]

    def execution_order(self, rsc_order: list[str] | None = None) -> list[Action]:
        """The order in which crm_simulate runs the graph.

        Synapses are listed per resource (status order), each resource's actions
        newest first, then actions on no resource (fencing, shutdown).  The graph
        is walked in passes; in each pass every synapse whose inputs are done
        fires, and completes at once (so a later synapse in the same pass may
        follow it).
        """
        todo = [a for a in self.actions if not a.optional and a.runnable]
        live = set(id(a) for a in todo)
        rank = {rid: i for i, rid in enumerate(rsc_order or [])}
        big = len(rank) + 1

        def key(a: Action) -> tuple[int, int]:
            if a.rsc is None:
                return (big + 1, a.id)
            return (rank.get(a.rsc, big), -a.id)

        synapses = sorted(todo, key=key)
        done: set[int] = set()
        out: list[Action] = []
        while len(out) < len(synapses):
            fired = False
            for a in synapses:
                if id(a) in done:
                    continue
                if all(id(f) in done or id(f) not in live for f, _fl in a.inputs):
                    done.add(id(a))
                    out.append(a)
                    fired = True
            if not fired:  # a cycle: give up on the rest (never expected)
                break
        return out
