"""A simulated cluster of tandemd cores over the in-memory corosync (tests, no I/O).

Why in the package: the controller and the executor layers build on the node
daemon and need the same multi-node harness for their own tests.  Everything
is deterministic: no threads, no sleeps, time only moves with :meth:`tick`.

Example::

    >>> sim = SimCluster({1: "pcmk-1", 2: "pcmk-2"})
    >>> sim.start_all(); sim.settle()
    >>> sim.info(1)["dc"], sim.info(2)["dc"]
    ('pcmk-1', 'pcmk-1')
    >>> sim.request(2, "apply", ops=[{"op": "create", "parent": "resources",
    ...     "xml": '<primitive id="A" class="ocf" provider="heartbeat" type="Dummy"/>'}]).ok
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tandem.corosync.fake import InMemoryCorosync, InMemoryTransport
from tandem.daemon import cibops
from tandem.daemon.core import (
    GROUP,
    Action,
    CibChanged,
    DaemonCore,
    LeaveAndExit,
    LocalRequest,
    Log,
    Multicast,
    Persist,
    Reply,
    Tick,
    ViewChanged,
)
from tandem.daemon.storage import FakeClock, InMemoryCibStorage


@dataclass
class SimNode:
    nodeid: int
    name: str
    storage: InMemoryCibStorage = field(default_factory=InMemoryCibStorage)
    core: DaemonCore | None = None
    transport: InMemoryTransport | None = None
    replies: dict[int, Reply] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    changes: list[CibChanged] = field(default_factory=list)
    views: list[ViewChanged] = field(default_factory=list)
    exit: LeaveAndExit | None = None

    @property
    def running(self) -> bool:
        return self.core is not None and self.exit is None


class SimCluster:
    """N simulated nodes, each a :class:`DaemonCore` with in-memory storage."""

    def __init__(
        self,
        nodes: int | Mapping[int, str] = 2,
        *,
        cluster_name: str = "simcluster",
        corrupt_wait: float = 10.0,
        shutdown_escalation: float = 60.0,
        **corosync_opts: Any,
    ) -> None:
        names = (
            {i: f"node{i}" for i in range(1, nodes + 1)} if isinstance(nodes, int) else dict(nodes)
        )
        self.corosync = InMemoryCorosync(names, **corosync_opts)
        self.nodes = {n: SimNode(n, nm) for n, nm in names.items()}
        self.names = names
        self.cluster_name = cluster_name
        self.corrupt_wait = corrupt_wait
        self.shutdown_escalation = shutdown_escalation
        self.clock = FakeClock()
        self._req = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self, n: int) -> None:
        """``cluster start`` on node ``n``: corosync (if not running), then tandemd."""
        node = self.nodes[n]
        if n not in self.corosync.running:
            self.corosync.start(n)
        loaded = node.storage.load()
        t = self.corosync.connect(n)
        node.transport = t
        node.exit = None
        node.core = DaemonCore(
            nodeid=n,
            pid=t.pid,
            name=node.name,
            nodelist=dict(self.names),
            cluster_name=self.cluster_name,
            cib_xml=loaded.xml,
            disk_problem=loaded.problem,
            now=self.clock.monotonic(),
            corrupt_wait=self.corrupt_wait,
            shutdown_escalation=self.shutdown_escalation,
        )
        self._run(node, node.core.step(Tick(self.clock.monotonic(), self.clock.time())))
        t.join(GROUP)

    def start_all(self) -> None:
        for n in self.nodes:
            self.start(n)

    def crash(self, n: int) -> None:
        """Power cut: corosync and tandemd of ``n`` vanish; its disk stays."""
        self.corosync.crash(n)
        self.nodes[n].core = None
        self.nodes[n].transport = None

    def boot(self, n: int) -> None:
        """corosync back on ``n`` (tandemd not started: call :meth:`start`)."""
        self.corosync.start(n)

    def stop(self, n: int) -> Reply:
        """``cluster stop``: clean shutdown of tandemd, then corosync stops."""
        reply = self.request(n, "shutdown")
        self.settle()
        self.corosync.stop(n)
        self.settle()
        self.nodes[n].core = None
        return reply

    def partition(self, *sides: Iterable[int]) -> None:
        self.corosync.partition(*sides)

    def heal(self) -> None:
        self.corosync.heal()

    # ------------------------------------------------------------------ driving

    def _run(self, node: SimNode, actions: list[Action]) -> None:
        for a in actions:
            if isinstance(a, Multicast):
                if node.transport is not None and not node.transport.dead:
                    node.transport.mcast(GROUP, a.payload)
            elif isinstance(a, Persist):
                node.storage.save(a.xml)
            elif isinstance(a, Reply):
                node.replies[a.req_id] = a
            elif isinstance(a, Log):
                node.log.append(a.text)
            elif isinstance(a, CibChanged):
                node.changes.append(a)
            elif isinstance(a, ViewChanged):
                node.views.append(a)
            elif isinstance(a, LeaveAndExit):
                node.exit = a
                if node.transport is not None and not node.transport.dead:
                    node.transport.close()

    def settle(self, limit: int = 100_000) -> int:
        """Deliver everything and feed every node until nothing moves; returns steps."""
        steps = 0
        while True:
            self.corosync.run_until_idle()
            moved = False
            for node in self.nodes.values():
                if node.transport is None or node.core is None:
                    continue
                for ev in node.transport.poll():
                    moved = True
                    steps += 1
                    if node.exit is None:
                        self._run(node, node.core.step(ev))
            if not moved and not self.corosync.pending:
                return steps
            if steps > limit:
                raise RuntimeError("the simulated cluster never settles")

    def tick(self, seconds: float = 1.0) -> None:
        self.clock.advance(seconds)
        for node in self.nodes.values():
            if node.running:
                assert node.core is not None
                self._run(node, node.core.step(Tick(self.clock.monotonic(), self.clock.time())))
        self.settle()

    def send(self, n: int, cmd: str, **args: Any) -> int:
        """Hand a local request to node ``n`` without settling; returns its id."""
        self._req += 1
        node = self.nodes[n]
        assert node.core is not None, f"tandemd is not running on {node.name}"
        self._run(node, node.core.step(LocalRequest(self._req, cmd, args, self.clock.time())))
        return self._req

    def request(self, n: int, cmd: str, **args: Any) -> Reply:
        """A local request on ``n``, settled; returns its reply."""
        req = self.send(n, cmd, **args)
        self.settle()
        return self.nodes[n].replies[req]

    # ------------------------------------------------------------------ views

    def info(self, n: int) -> dict[str, Any]:
        core = self.nodes[n].core
        assert core is not None
        return core.info()

    def cib(self, n: int) -> str:
        core = self.nodes[n].core
        assert core is not None
        return cibops.to_text(core.cib)

    def running(self) -> list[int]:
        return [n for n, node in self.nodes.items() if node.running]
