"""The ctypes bindings and CorosyncTransport against a real corosync 3, in private namespaces.

Each "node" here is a network namespace (``tcs-<id>-nN``, a veth to a bridge
inside a helper namespace ``tcs-<id>-h``, addresses 192.0.2.101...) plus a
private mount namespace made by ``unshare --mount`` with its own
/etc/corosync, /var/lib/corosync, /var/log/corosync, /run and /dev/shm, in
which ``corosync -f`` runs.  Clients run inside the node with
``nsenter -t <corosync pid> -n -m``: corosync's IPC uses abstract unix
sockets (per network namespace) and ring buffers in /dev/shm (per mount
namespace here), so both must be shared.

Everything created is removed in a ``finally`` (only our own pids and
``tcs-`` namespaces).  Needs root.  Run:

    sudo .venv/bin/pytest -m lab tests/lab/test_corosync_bindings.py -v
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tandem.corosync.conf import parse_setup_argv, render, write_authkey, write_conf

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SUBNET = "192.0.2"


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=60)


class NsCluster:
    """N corosync nodes in private namespaces (see the module docstring)."""

    def __init__(self, nodes: int, state: Path, token: int = 1000) -> None:
        self.n = nodes
        self.state = state
        self.token = token
        self.tag = f"tcs-{uuid.uuid4().hex[:6]}"
        self.host = f"{self.tag}-h"
        self.netns: list[str] = []
        self.corosync: dict[int, subprocess.Popen[bytes]] = {}
        self.clients: list[subprocess.Popen[bytes]] = []

    # -- life cycle ---------------------------------------------------------------

    def up(self) -> None:
        sh("ip", "netns", "add", self.host)
        self.netns.append(self.host)
        sh("ip", "-n", self.host, "link", "set", "lo", "up")
        sh("ip", "-n", self.host, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.host, "link", "set", "br0", "up")
        argv = ["tcs"]
        for i in range(1, self.n + 1):
            argv += [f"pcmk-{i}", f"addr={SUBNET}.{100 + i}"]
        argv += ["totem", f"token={self.token}"]
        text = render(parse_setup_argv(argv))
        key = os.urandom(256)
        for i in range(1, self.n + 1):
            ns = f"{self.tag}-n{i}"
            sh("ip", "netns", "add", ns)
            self.netns.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh(
                "ip",
                "-n",
                self.host,
                "link",
                "add",
                f"v{i}",
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns,
            )
            sh("ip", "-n", self.host, "link", "set", f"v{i}", "master", "br0")
            sh("ip", "-n", self.host, "link", "set", f"v{i}", "up")
            sh("ip", "-n", ns, "addr", "add", f"{SUBNET}.{100 + i}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            root = self.state / f"n{i}"
            for d in ("etc", "lib", "log"):
                (root / d).mkdir(parents=True, exist_ok=True)
            write_conf(text, root / "etc" / "corosync.conf")
            write_authkey(root / "etc" / "authkey", key)
            self.start(i)
        self.wait_members(range(1, self.n + 1), self.n)

    def start(self, i: int) -> None:
        root = self.state / f"n{i}"
        script = (
            f"mount --bind {root}/etc /etc/corosync && "
            f"mount --bind {root}/lib /var/lib/corosync && "
            f"mount --bind {root}/log /var/log/corosync && "
            "mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /dev/shm && "
            "exec corosync -f"
        )
        # ip netns exec and unshare both exec: the Popen pid is corosync's.
        self.corosync[i] = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                f"{self.tag}-n{i}",
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
            ],
            stdout=open(root / "corosync.out", "wb"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
        )

    def down(self) -> None:
        for p in self.clients:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
        for p in self.corosync.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
        for ns in reversed(self.netns):
            sh("ip", "netns", "del", ns, check=False)
        self.netns.clear()

    # -- running code inside a node -------------------------------------------------

    def node_cmd(self, i: int, *argv: str) -> list[str]:
        pid = self.corosync[i].pid
        return ["nsenter", "-t", str(pid), "-n", "-m", *argv]

    def py(self, i: int, code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.node_cmd(i, PYTHON, "-c", code),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )

    def py_json(self, i: int, code: str) -> object:
        proc = self.py(i, code)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def spawn(self, i: int, code: str, *args: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            self.node_cmd(i, PYTHON, "-u", "-c", code, *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
        )
        self.clients.append(p)
        return p

    def wait_members(self, nodes, count: int, timeout: float = 60) -> None:
        code = (
            "import json; from tandem.corosync.runtime import quorum_status;"
            "print(json.dumps(list(quorum_status().members)))"
        )
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            done = True
            for i in nodes:
                proc = self.py(i, code)
                last = (i, proc.stdout, proc.stderr)
                if proc.returncode != 0 or len(json.loads(proc.stdout.strip() or "[]")) != count:
                    done = False
                    break
            if done:
                return
            time.sleep(0.3)
        raise AssertionError(f"corosync membership did not reach {count} nodes: {last}")


_BUFFERS: dict[int, bytes] = {}


def read_events(proc: subprocess.Popen[bytes], until, timeout: float) -> list[dict]:
    """JSON lines from a client until ``until(event)`` holds (or fail after ``timeout``).

    Reads the pipe with os.read and keeps the partial rest per process:
    a buffered readline() would hide lines that select() no longer reports.
    """
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while True:
        buf = _BUFFERS.get(fd, b"")
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            _BUFFERS[fd] = buf
            ev = json.loads(line)
            out.append(ev)
            if until(ev):
                return out
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            _BUFFERS[fd] = buf + chunk
    err = proc.stderr.read().decode() if proc.poll() is not None and proc.stderr else ""
    raise AssertionError(f"expected event not seen within {timeout}s: {out} {err}")


@pytest.fixture
def cluster_factory(tmp_path: Path):
    if os.geteuid() != 0:
        pytest.fail("lab tests need root (network and mount namespaces)")
    made: list[NsCluster] = []

    def make(nodes: int) -> NsCluster:
        c = NsCluster(nodes, tmp_path / f"c{len(made)}")
        made.append(c)
        c.up()
        return c

    try:
        yield make
    finally:
        for c in made:
            c.down()


SINGLE_NODE_PROBE = r"""
import json, select
from tandem.corosync import bindings as b
from tandem.corosync import runtime

events = []
cpg = b.CpgHandle(lambda *a: events.append(("deliver",) + a), lambda *a: events.append(("confchg",) + a))
out = {"local": cpg.local_get()}
cpg.join("tcs-probe")
assert cpg.mcast(b"ping \x00 binary") == b.CsError.CS_OK
for _ in range(50):
    if any(e[0] == "deliver" for e in events):
        break
    if select.select([cpg.fd()], [], [], 0.1)[0]:
        cpg.dispatch()
conf = [e for e in events if e[0] == "confchg"][0]
deliver = [e for e in events if e[0] == "deliver"][0]
out["confchg_members"] = [[m.nodeid, m.pid] for m in conf[2]]
out["confchg_joined_reason"] = [int(m.reason) for m in conf[4]]
out["deliver"] = [deliver[1], deliver[2], deliver[3], deliver[4].hex()]
out["membership"] = [[m.nodeid, m.pid] for m in cpg.membership_get("tcs-probe")]
out["mypid"] = __import__("os").getpid()
try:
    cpg.join("tcs-other")
except b.CorosyncError as exc:
    out["second_join"] = exc.reports[0].payload["cs_error"]
cpg.leave("tcs-probe")
cpg.finalize()
vq = b.VotequorumHandle()
info = vq.getinfo()
out["vq"] = [info.node_id, info.quorate, info.node_votes, info.total_votes, info.quorum]
vq.finalize()
q = b.QuorumHandle()
out["quorate"] = q.getquorate()
q.finalize()
with b.CmapHandle() as cm:
    out["token"] = cm.get("runtime.config.totem.token")
    out["cluster_name"] = cm.get("totem.cluster_name")
    try:
        cm.get("no.such.key")
    except b.CorosyncError as exc:
        out["missing_key"] = exc.reports[0].payload["cs_error"]
t = runtime.read_totem_timings()
out["timings"] = [t.token, t.consensus, t.detection_ms]
out["nodelist"] = [[n.nodeid, n.name, list(n.addrs)] for n in runtime.read_nodelist()]
out["running"] = runtime.is_running()
out["qs"] = [runtime.quorum_status().quorate, list(runtime.quorum_status().members)]

# CorosyncTransport without an asyncio loop (poll mode): join, mcast, leave, join again.
import time
from tandem.corosync.transport import ConfChange, CorosyncTransport, Deliver


def wait_for(t, pred):
    for _ in range(100):
        for ev in t.poll():
            if pred(ev):
                return ev
        time.sleep(0.02)
    raise AssertionError("event not seen")


t = CorosyncTransport.connect()
kinds = []
for round_ in range(2):
    t.join("tcs-poll")
    t.mcast("tcs-poll", b"r%d" % round_)
    ev = wait_for(t, lambda e: isinstance(e, Deliver))
    kinds.append(ev.payload.decode())
    t.leave("tcs-poll")
    ev = wait_for(t, lambda e: isinstance(e, ConfChange) and e.left)
    kinds.append(int(ev.left[0].reason))
    t.poll()
t.close()
out["poll_mode"] = kinds
print(json.dumps(out))
"""


def test_single_node_bindings_round_trip(cluster_factory) -> None:
    c = cluster_factory(1)
    out = c.py_json(1, SINGLE_NODE_PROBE)
    assert out["local"] == 1
    assert out["confchg_members"] == [[1, out["mypid"]]]
    assert out["confchg_joined_reason"] == [1]  # CPG_REASON_JOIN
    assert out["deliver"] == ["tcs-probe", 1, out["mypid"], b"ping \x00 binary".hex()]
    assert out["membership"] == [[1, out["mypid"]]]
    assert out["second_join"] == "CS_ERR_EXIST"
    assert out["vq"] == [1, True, 1, 1, 1]
    assert out["quorate"] is True
    assert out["token"] == 1000 and out["cluster_name"] == "tcs"
    assert out["missing_key"] == "CS_ERR_NOT_EXIST"
    assert out["timings"] == [1000, 1200, 2200]  # consensus = 1.2 x token
    assert out["nodelist"] == [[1, "pcmk-1", ["192.0.2.101"]]]
    assert out["running"] is True
    assert out["qs"] == [True, [1]]
    assert out["poll_mode"] == ["r0", 2, "r1", 2]  # 2 = CPG_REASON_LEAVE


NOT_RUNNING_PROBE = r"""
import json
from tandem.corosync import bindings as b
from tandem.corosync.runtime import is_running
from tandem.corosync.transport import CorosyncTransport, CorosyncNotRunningError
out = {"running": is_running()}
for make in (lambda: b.CpgHandle(print, print), b.CmapHandle, b.VotequorumHandle, CorosyncTransport.connect):
    try:
        make()
        out.setdefault("errors", []).append(None)
    except CorosyncNotRunningError as exc:
        out.setdefault("errors", []).append([str(exc), exc.reports[0].payload["cs_error"]])
print(json.dumps(out))
"""


def test_clear_error_where_corosync_is_not_running(cluster_factory) -> None:
    c = cluster_factory(1)
    # The helper namespace has no corosync: same machine, different netns.
    proc = subprocess.run(
        ["ip", "netns", "exec", c.host, PYTHON, "-c", NOT_RUNNING_PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["running"] is False
    assert len(out["errors"]) == 4
    for err in out["errors"]:
        assert err is not None
        assert err[0].startswith("corosync is not running on this node")
        assert err[1] == "CS_ERR_LIBRARY"


CLIENT = r"""
import asyncio, json, sys, time
from tandem.corosync.transport import (
    ConfChange, CorosyncTransport, Deliver, QuorumChange, TransportClosed)

N, COUNT, GROUP = int(sys.argv[1]), int(sys.argv[2]), "tcs-order"

def emit(kind, **kw):
    print(json.dumps({"kind": kind, "t": time.monotonic(), **kw}), flush=True)

async def main():
    t = CorosyncTransport.connect()
    me = t.local_nodeid
    t.join(GROUP)
    while True:
        ev = await t.next_event()
        if isinstance(ev, ConfChange) and len(ev.members) == N:
            break
    emit("ready", nodeid=me, members=[m.nodeid for m in ev.members])
    for i in range(COUNT):
        t.mcast(GROUP, f"{me}:{i}:".encode() + bytes(range(256)) * (i % 3))
    got = []
    while len(got) < N * COUNT:
        ev = await t.next_event()
        if isinstance(ev, Deliver):
            got.append([ev.sender_nodeid, int(ev.payload.split(b":")[1]), len(ev.payload)])
    q = t.quorum()
    emit("order", nodeid=me, order=got, quorate=q.quorate, members=list(q.members),
         two_node=q.two_node, expected=q.expected_votes,
         nodelist=[[n.nodeid, n.name] for n in t.nodelist()])
    while True:
        ev = await t.next_event()
        if isinstance(ev, ConfChange):
            emit("confchg", members=[m.nodeid for m in ev.members],
                 left=[[m.nodeid, int(m.reason)] for m in ev.left],
                 joined=[[m.nodeid, int(m.reason)] for m in ev.joined])
        elif isinstance(ev, QuorumChange):
            emit("quorum", quorate=ev.quorate, members=list(ev.members))
        elif isinstance(ev, TransportClosed):
            emit("closed", reason=ev.reason)
            return

asyncio.run(main())
"""


def test_two_nodes_total_order_membership_and_quorum(cluster_factory) -> None:
    c = cluster_factory(2)
    count = 200
    clients = {i: c.spawn(i, CLIENT, "2", str(count)) for i in (1, 2)}
    orders = {}
    for i, p in clients.items():
        evs = read_events(p, lambda e: e["kind"] == "order", timeout=60)
        orders[i] = evs[-1]
    assert len(orders[1]["order"]) == 2 * count
    assert orders[1]["order"] == orders[2]["order"]  # the same total order on both nodes
    for sender in (1, 2):  # and each sender's messages in its own order
        seq = [x[1] for x in orders[1]["order"] if x[0] == sender]
        assert seq == list(range(count))
    sizes = {x[2] - len(f"{x[0]}:{x[1]}:") for x in orders[1]["order"]}
    assert sizes == {0, 256, 512}  # binary payloads arrive intact in length
    for i in (1, 2):
        o = orders[i]
        assert o["quorate"] and o["members"] == [1, 2] and o["two_node"] and o["expected"] == 2
        assert o["nodelist"] == [[1, "pcmk-1"], [2, "pcmk-2"]]

    # Power-cut node 2's corosync: node 1 sees it leave (NODEDOWN) and keeps
    # quorum (two_node); node 2's client learns that corosync went away.
    t0 = time.monotonic()
    c.corosync[2].kill()
    closed = read_events(clients[2], lambda e: e["kind"] == "closed", timeout=30)
    assert closed[-1]["reason"].startswith("corosync connection lost")
    seen = read_events(
        clients[1],
        lambda e: e["kind"] == "quorum" and e["members"] == [1],
        timeout=30,
    )
    conf = [e for e in seen if e["kind"] == "confchg"]
    assert conf and conf[-1]["members"] == [1] and conf[-1]["left"] == [[2, 3]]  # NODEDOWN
    assert seen[-1]["quorate"] is True
    detection = seen[-1]["t"] - t0
    print(f"node loss seen after {detection:.2f} s (token 1000, consensus 1200)")

    # corosync comes back on node 2: node 1 sees it rejoin the ring.
    c.start(2)
    seen = read_events(
        clients[1], lambda e: e["kind"] == "quorum" and e["members"] == [1, 2], timeout=60
    )
    assert seen[-1]["quorate"] is True


FLOOD = r"""
import asyncio, json, sys, time
from tandem.corosync.transport import ConfChange, CorosyncTransport, Deliver

COUNT, SIZE = int(sys.argv[1]), int(sys.argv[2])

async def main():
    t = CorosyncTransport.connect()
    t.join("tcs-flood")
    while not isinstance(await t.next_event(), ConfChange):
        pass
    start = time.monotonic()
    for i in range(COUNT):
        t.mcast("tcs-flood", i.to_bytes(4, "big") + b"x" * (SIZE - 4))
    got = []
    while len(got) < COUNT:
        ev = await t.next_event()
        if isinstance(ev, Deliver):
            got.append(int.from_bytes(ev.payload[:4], "big"))
    took = time.monotonic() - start
    print(json.dumps({"in_order": got == list(range(COUNT)), "waits": t.flow_control_waits,
                      "seconds": took}))
    t.close()

asyncio.run(main())
"""


def test_flow_control_queues_and_keeps_order(cluster_factory) -> None:
    """A burst larger than corosync's queues: TRY_AGAIN is absorbed, order kept."""
    c = cluster_factory(1)
    count, size = 2000, 60000
    proc = subprocess.run(
        c.node_cmd(1, PYTHON, "-c", FLOOD, str(count), str(size)),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["in_order"] is True
    assert out["waits"] > 0, "the burst never hit flow control: make it larger"
    print(
        f"{count} x {size} B through CPG in {out['seconds']:.2f} s, {out['waits']} TRY_AGAIN waits"
    )


def test_three_nodes_partition_and_heal(cluster_factory) -> None:
    """Cut node 3 off (blackhole routes both ways): it loses quorum, 1+2 keep it; heal rejoins.

    The same semantics the in-memory fake promises (reasons NODEDOWN/NODEUP).
    """
    c = cluster_factory(3)
    clients = {i: c.spawn(i, CLIENT, "3", "10") for i in (1, 2, 3)}
    for p in clients.values():
        read_events(p, lambda e: e["kind"] == "order", timeout=60)

    def routes(action: str) -> None:
        for peer in (1, 2):
            sh("ip", "-n", f"{c.tag}-n3", "route", action, "blackhole", f"{SUBNET}.{100 + peer}/32")
            sh("ip", "-n", f"{c.tag}-n{peer}", "route", action, "blackhole", f"{SUBNET}.103/32")

    routes("add")
    lone = read_events(clients[3], lambda e: e["kind"] == "quorum" and e["members"] == [3], 30)
    assert lone[-1]["quorate"] is False
    major = read_events(clients[1], lambda e: e["kind"] == "quorum" and e["members"] == [1, 2], 30)
    assert major[-1]["quorate"] is True
    left = [e for e in major if e["kind"] == "confchg"][-1]["left"]
    assert left == [[3, 3]]  # CPG_REASON_NODEDOWN
    states = c.py_json(
        1,
        "import json; from tandem.corosync.runtime import quorum_nodes;"
        "print(json.dumps([[n.nodeid, n.name, n.votes, n.state] for n in quorum_nodes()]))",
    )
    assert states == [
        [1, "pcmk-1", 1, "member"],
        [2, "pcmk-2", 1, "member"],
        [3, "pcmk-3", 1, "dead"],
    ]

    routes("del")
    back = read_events(
        clients[3], lambda e: e["kind"] == "quorum" and e["members"] == [1, 2, 3], 60
    )
    assert back[-1]["quorate"] is True
    joined = [e for e in back if e["kind"] == "confchg"][-1]["joined"]
    assert joined == [[1, 4], [2, 4]]  # CPG_REASON_NODEUP


QUORATE = (
    "import json; from tandem.corosync.runtime import quorum_status; q = quorum_status();"
    "print(json.dumps([q.quorate, list(q.members), q.wait_for_all, q.two_node]))"
)


def test_two_node_wait_for_all_after_a_full_restart(cluster_factory) -> None:
    """two_node implies wait_for_all: a node started alone stays inquorate until it sees its peer.

    The in-memory fake promises the same (test_two_node_wait_for_all_keeps_a_lone_fresh_node_inquorate).
    """
    c = cluster_factory(2)
    assert c.py_json(1, QUORATE) == [True, [1, 2], True, True]
    for i in (1, 2):
        c.corosync[i].kill()
        c.corosync[i].wait(timeout=30)
    c.start(1)
    c.wait_members([1], 1)
    assert c.py_json(1, QUORATE) == [False, [1], True, True]
    c.start(2)
    c.wait_members([1, 2], 2)
    assert c.py_json(1, QUORATE)[:2] == [True, [1, 2]]
    # Now that all were seen, losing the peer keeps quorum.
    c.corosync[2].kill()
    c.wait_members([1], 1)
    assert c.py_json(1, QUORATE)[:2] == [True, [1]]
