"""The main demo (``bash scripts/demo.sh``): the walkthrough, live, in a namespace lab.

It builds a 2-node lab (``demo``), runs the walkthrough's steps with the real
commands inside the nodes (``tandem status``, ``resource create``, ...,
``curl http://192.0.2.100/`` from the lab host, ``lab crash``), prints every
command with its output, and tears the lab down at the end.  When the live
cluster cannot be formed (not root, no namespaces, corosync missing...), it
says so and prints what the scheduler decides for the walkthrough's CIB
instead (``tandem simulate``), which needs nothing but Python.

:class:`Walkthrough` is the driver shared by the demo, the lab test
(tests/lab/test_walkthrough.py) and the benchmark (bench/failover.py): each
method is one walkthrough step or one observation; the test asserts on what
the observations return, the demo only prints.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

VIP = "192.0.2.100"
NODES = ("pcmk-1", "pcmk-2")
APACHE_CONF = "/etc/apache2/apache2.conf"
#: The walkthrough's `resource create WebSite ...` (section 6), shared by the demo,
#: the lab test and bench/failover.py.
CREATE_CLUSTERIP = (
    "resource", "create", "ClusterIP", "ocf:heartbeat:IPaddr2", f"ip={VIP}", "cidr_netmask=32",
    "op", "monitor", "interval=30s",
)  # fmt: skip
CREATE_WEBSITE = (
    "resource", "create", "WebSite", "ocf:heartbeat:apache", f"configfile={APACHE_CONF}",
    "statusurl=http://localhost/server-status", "op", "monitor", "interval=3s",
    "on-fail=restart", "--disabled",
)  # fmt: skip
T = TypeVar("T")

# Scores of the walkthrough (seed-walkthrough.md sections 6 and 7):
# (ClusterIP pcmk-1, ClusterIP pcmk-2, WebSite pcmk-1, WebSite pcmk-2)
INF, NINF = "INFINITY", "-INFINITY"
SECTION6 = {
    "colocation": ("100", "0", NINF, NINF),
    "order+location": ("350", "0", NINF, NINF),
    "enabled": ("450", "0", "350", NINF),
}
SECTION7_PREFER2 = {"first": ("450", "500", NINF, "500"), "settled": ("250", "700", NINF, "600")}
SECTION7_REMOVE = {"first": ("250", "200", "250", NINF), "settled": ("450", "0", "350", NINF)}
CONSTRAINT_FULL = """\
Location Constraints:
  Resource: WebSite
    Enabled on: pcmk-1 (score:250) (id:location-WebSite-pcmk-1-250)
    Enabled on: pcmk-2 (score:500) (id:location-WebSite-pcmk-2-500)
Ordering Constraints:
  start ClusterIP then start WebSite (kind:Mandatory) (id:order-ClusterIP-WebSite-mandatory)
Colocation Constraints:
  WebSite with ClusterIP (score:INFINITY) (id:colocation-WebSite-ClusterIP-INFINITY)
"""


def _zombie(pid: int) -> bool:
    """True if ``pid`` is dead but not reaped yet (or already gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


class StepFailed(AssertionError):
    """A bounded wait ran out: the message says what was awaited and what was last seen."""


def wait_for(check: Callable[[], T], timeout: float, what: str, poll: float = 0.25) -> T:
    """Poll ``check`` until it returns something truthy; StepFailed after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise StepFailed(f"timed out after {timeout:g} s waiting for {what}; last: {last!r}")
        time.sleep(poll)


@dataclass
class Scores:
    """``tandem simulate -s`` allocation scores and its transition summary."""

    values: dict[tuple[str, str], str] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)

    def row(self) -> tuple[str, str, str, str]:
        """The walkthrough's table columns (ClusterIP p1, p2, WebSite p1, p2)."""
        v = self.values
        return (
            v.get(("ClusterIP", "pcmk-1"), "?"),
            v.get(("ClusterIP", "pcmk-2"), "?"),
            v.get(("WebSite", "pcmk-1"), "?"),
            v.get(("WebSite", "pcmk-2"), "?"),
        )


_SCORE = re.compile(r"pcmk__primitive_assign: (\S+) allocation score on (\S+): (\S+)")


def parse_simulate(text: str) -> Scores:
    """Scores and the Transition Summary lines of a ``tandem simulate -s`` output."""
    s = Scores()
    for rsc, node, score in _SCORE.findall(text):
        s.values[(rsc, node)] = score
    if "Transition Summary:" in text:
        tail = text.split("Transition Summary:", 1)[1]
        for line in tail.splitlines()[1:]:
            if not line.strip():
                if s.summary:
                    break
                continue
            if not line.startswith(" "):
                break
            s.summary.append(line.strip().lstrip("* ").strip())
    return s


_STARTED = re.compile(r"^\s*\* (\S+)\t\([^)]*\):\t (.*)$", re.M)


def parse_status(text: str) -> dict[str, str]:
    """``tandem status`` resource lines: {resource: 'Started pcmk-1' | 'Stopped' | ...}."""
    return {rid: state.strip() for rid, state in _STARTED.findall(text)}


class Walkthrough:
    """Drives a lab (``tandem.lab.Lab`` or anything with its methods) through the walkthrough.

    ``echo`` receives every command and its output (the demo prints them; the
    test keeps them for its failure messages).
    """

    def __init__(
        self,
        lab: Any,
        echo: Callable[[str], None] = lambda _s: None,
        venv: Path | None = None,
    ) -> None:
        self.lab = lab
        self.echo = echo
        venv = venv or Path(sys.executable).parent.parent
        self.tandem_bin = str(venv / "bin" / "tandem")
        self.python_bin = str(venv / "bin" / "python")
        self.setup_route = ""  # "api" or "lab-host", once set up
        self.killed_at = 0.0  # time.time() of the last kill_httpd's first SIGKILL

    # ------------------------------------------------------------------ running things

    def _show(self, where: str, argv: list[str], p: subprocess.CompletedProcess[str]) -> None:
        self.echo(f"[{where}]# {' '.join(shlex.quote(a) for a in argv)}")
        out = (p.stdout or "") + (p.stderr or "")
        if out:
            self.echo(out.rstrip("\n"))
        if p.returncode:
            self.echo(f"(exit status {p.returncode})")

    def tandem(
        self, node: str, *args: str, show: bool = True, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """``tandem ARGS`` inside ``node``."""
        p = self.lab.exec(node, [self.tandem_bin, *args], timeout=timeout)
        if show:
            self._show(node, ["tandem", *args], p)
        return p

    def node_sh(
        self, node: str, argv: list[str], show: bool = True
    ) -> subprocess.CompletedProcess[str]:
        p = self.lab.exec(node, argv, timeout=60)
        if show:
            self._show(node, argv, p)
        return p

    def host_tandem(self, *args: str, show: bool = True) -> subprocess.CompletedProcess[str]:
        """``tandem ARGS`` on the lab host (the multi-node forms of docs/daemon.md)."""
        env = dict(os.environ, TANDEM_LAB=self.lab.name)
        env.pop("TANDEM_LAB_NODE", None)
        p = subprocess.run(
            [self.tandem_bin, *args], env=env, capture_output=True, text=True, timeout=300
        )
        if show:
            self._show("lab host", ["tandem", *args], p)
        return p

    def curl(self, show: bool = False, max_time: float = 2) -> str:
        """The page at the VIP as the lab host sees it ('' when nothing answers)."""
        argv = ["curl", "-s", "--max-time", f"{max_time:g}", f"http://{VIP}/"]
        p = self.lab.host_exec(argv, timeout=max_time + 10)
        if show:
            self._show("lab host", argv, p)
        return p.stdout.strip() if p.returncode == 0 else ""

    # ------------------------------------------------------------------ observations

    def vip_nodes(self) -> list[str]:
        """Nodes whose eth0 carries the VIP (``ip -o addr show eth0`` inside each running node)."""
        found = []
        for n in self.lab.nodes:
            if not self.lab.is_running(n):
                continue
            p = self.lab.exec(n, ["ip", "-o", "addr", "show", "eth0"], timeout=30)
            if f" {VIP}/32 " in p.stdout:
                found.append(n)
        return found

    def status(self, node: str, show: bool = False) -> dict[str, str]:
        p = self.tandem(node, "status", show=show)
        return parse_status(p.stdout) if p.returncode == 0 else {}

    def where(self, node: str = "pcmk-1") -> dict[str, str]:
        """{resource: node} for started resources, from ``tandem status`` on ``node``."""
        out = {}
        for rid, state in self.status(node).items():
            m = re.fullmatch(r"Started (\S+)", state)
            if m:
                out[rid] = m.group(1)
        return out

    def scores(self, node: str, show: bool = True, xml_file: str | None = None) -> Scores:
        args = ["simulate", "-x", xml_file, "-s"] if xml_file else ["simulate", "-sL"]
        p = self.tandem(node, *args, show=show)
        if p.returncode:
            raise StepFailed(f"tandem {' '.join(args)} failed: {p.stderr.strip()}")
        return parse_simulate(p.stdout)

    def settled(self, node: str) -> Scores | None:
        """The live scores once the cluster has nothing left to do (empty summary), else None."""
        s = self.scores(node, show=False)
        return s if not s.summary and s.values else None

    def cib(self, node: str) -> ET.Element:
        p = self.tandem(node, "cluster", "cib", show=False)
        if p.returncode:
            raise StepFailed(f"tandem cluster cib on {node}: {p.stderr.strip()}")
        return ET.fromstring(p.stdout)

    @staticmethod
    def fail_count(cib: ET.Element, node: str, rsc: str) -> int:
        """Sum of ``fail-count-RSC#...`` transient attributes of ``node`` (0 when none)."""
        total = 0
        for ns in cib.iter("node_state"):
            if ns.get("uname") != node:
                continue
            for nv in ns.iter("nvpair"):
                name = nv.get("name", "")
                if name.startswith(f"fail-count-{rsc}#"):
                    v = nv.get("value", "0")
                    total += 1_000_000 if v == "INFINITY" else int(v)
        return total

    @staticmethod
    def probed(cib: ET.Element, node: str, rsc: str) -> bool:
        """True once ``node`` has a completed operation of ``rsc`` in its history (the
        probe a (re)joined node gets first)."""
        for ns in cib.iter("node_state"):
            if ns.get("uname") != node:
                continue
            for op in ns.iter("lrm_rsc_op"):
                if op.get("id") == f"{rsc}_last_0" and op.get("op-status") == "0":
                    return True
        return False

    @staticmethod
    def last_failure(cib: ET.Element, node: str, rsc: str) -> dict[str, str] | None:
        """Attributes of ``RSC_last_failure_0`` on ``node``, or None."""
        for ns in cib.iter("node_state"):
            if ns.get("uname") != node:
                continue
            for op in ns.iter("lrm_rsc_op"):
                if op.get("id") == f"{rsc}_last_failure_0":
                    return dict(op.attrib)
        return None

    # ------------------------------------------------------------------ steps

    def write_pages(self) -> None:
        """Per node /var/www/html/index.html = 'My Test Site - NODE' (as the walkthrough)."""
        for n in self.lab.nodes:
            page = f"<html><body>My Test Site - {n}</body></html>\n"
            self.lab.node_path(n, "/var/www/html/index.html").write_text(page)
            self.echo(f"[{n}]# cat /var/www/html/index.html\n{page.rstrip()}")

    def host_auth(self, user: str, password: str) -> subprocess.CompletedProcess[str]:
        """``tandem host auth pcmk-1 pcmk-2 -u USER -p ...`` from pcmk-1 (retried while the
        management daemons are still starting)."""

        def attempt() -> subprocess.CompletedProcess[str] | None:
            p = self.tandem(
                "pcmk-1", "host", "auth", *NODES, "-u", user, "-p", password, show=False
            )
            return p if p.returncode == 0 else None

        p = wait_for(attempt, 60, "host auth", poll=1)
        self._show("pcmk-1", ["tandem", "host", "auth", *NODES, "-u", user, "-p", "********"], p)
        return p

    def setup_and_start(self) -> None:
        """``cluster setup --name mycluster pcmk-1 pcmk-2`` and ``cluster start --all``.

        From pcmk-1 through the management daemons (pcs's way; needs ``host auth``
        first); without host auth (the demo, the benchmark) or without the API wiring,
        the lab-host forms of docs/daemon.md.  ``setup_route`` records which.
        """
        p = self.tandem("pcmk-1", "cluster", "setup", "--name", "mycluster", *NODES)
        if p.returncode == 0:
            self.setup_route = "api"
            q = self.tandem("pcmk-1", "cluster", "start", "--all", "--wait")
        else:
            if "not authenticated" in p.stderr:
                self.echo("(no host auth was done: using the lab-host forms instead)")
            elif "needs the management daemon" in p.stderr:
                self.echo("(not wired inside a node yet: using the lab-host forms instead)")
            else:
                raise StepFailed(f"cluster setup from pcmk-1 failed: {p.stderr.strip()}")
            self.setup_route = "lab-host"
            p = self.host_tandem("cluster", "setup", "--name", "mycluster", *NODES)
            if p.returncode:
                raise StepFailed(f"cluster setup from the lab host failed: {p.stderr.strip()}")
            self._share_known_hosts()
            q = self.host_tandem("cluster", "start", "--all", "--wait")
        if q.returncode:
            raise StepFailed(f"cluster start --all failed: {q.stdout}{q.stderr}".strip())

    def _share_known_hosts(self) -> None:
        """What setup through the daemons does and the lab-host form does not: give every
        node pcmk-1's known-hosts (tokens from ``host auth``), so that PCSD Status works
        from every node."""
        src = self.lab.node_path("pcmk-1", "/var/lib/tandem/known-hosts")
        if not src.is_file():
            return
        for n in self.lab.nodes[1:]:
            dst = self.lab.node_path(n, "/var/lib/tandem/known-hosts")
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
            dst.chmod(0o600)
        self.echo("(pcmk-1's known-hosts copied to the other nodes, as setup through the API does)")

    def both_online(self, node: str = "pcmk-1") -> bool:
        p = self.tandem(node, "status", show=False)
        m = re.search(r"\* Online: \[ (.*) \]", p.stdout)
        return bool(m) and set(m.group(1).split()) == set(NODES) and "with quorum" in p.stdout

    def wait_placement(self, want: dict[str, str], node: str, timeout: float = 90) -> None:
        """Until ``tandem status`` on ``node`` shows exactly these resources started there."""
        wait_for(
            lambda: self.where(node) == want or None,
            timeout,
            f"placement {want} (tandem status on {node})",
            poll=0.5,
        )

    def wait_settled(self, node: str, timeout: float = 60) -> Scores:
        return wait_for(
            lambda: self.settled(node), timeout, "an empty transition summary", poll=0.5
        )

    def stop_node(self, node: str, via: str | None = None) -> subprocess.CompletedProcess[str]:
        """``tandem cluster stop NODE`` run on ``via`` (default: NODE itself; another node
        goes through NODE's management daemon)."""
        return self.tandem(via or node, "cluster", "stop", node)

    def start_node(self, node: str, via: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.tandem(via or node, "cluster", "start", node, "--wait")

    def first_row(self, node: str, *edit: str) -> Scores:
        """The first row of a section 7 table: ``tandem -f`` on a copy of the live CIB, then
        ``tandem simulate -x`` of it (the live cluster starts moving at once otherwise)."""
        fd, path = tempfile.mkstemp(prefix="wt-cib-", suffix=".xml")
        os.close(fd)
        try:
            p = self.tandem(node, "cluster", "cib", path)
            if p.returncode:
                raise StepFailed(f"cluster cib {path}: {p.stderr.strip()}")
            p = self.tandem(node, "-f", path, *edit)
            if p.returncode:
                raise StepFailed(f"tandem -f {path} {' '.join(edit)}: {p.stderr.strip()}")
            return self.scores(node, xml_file=path)
        finally:
            Path(path).unlink(missing_ok=True)

    def kill_httpd(self, node: str) -> list[int]:
        """SIGKILL to every apache2 process of ``node`` (by pid, from the node's cgroup).

        The kill is timed just after a run of the agent (an ``apache`` process in the
        node) has ended, so that no 3 s interval monitor is in flight: one that was
        would see the dead httpd first, and the failure would be recorded as found
        by the interval rather than by the cgroup event.
        """
        seen = False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            running = bool(self.lab.node_pids(node, "apache"))
            if seen and not running:
                break
            seen = seen or running
            time.sleep(0.01)
        # Until none is left: a child that the parent forked between the listing and
        # the kill would otherwise live on (and keep the resource's cgroup populated).
        pids: list[int] = []
        self.killed_at = time.time()
        for _ in range(50):
            alive = [p for p in self.lab.node_pids(node, "apache2") if not _zombie(p)]
            if not alive:
                break
            for pid in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            pids += [p for p in alive if p not in pids]
        self.echo(f"[lab host]# kill -9 {' '.join(map(str, pids))}   # every apache2 of {node}")
        return pids


# ---------------------------------------------------------------------- the demo


@contextlib.contextmanager
def throwaway_admin(prefix: str = "tdm") -> Iterator[tuple[str, str]]:
    """A cluster administrator for ``host auth`` (a member of haclient, as pcsd accepts),
    with a random password, removed again afterwards.

    Why not hacluster: the walkthrough sets hacluster's password; a demo or a test
    must not change an account of the machine it runs on.  Lab nodes share the
    machine's user database, so the account works inside every node.
    """
    user = prefix + secrets.token_hex(3)
    password = "Pw-" + secrets.token_urlsafe(12)
    subprocess.run(["groupadd", "-f", "haclient"], check=True, capture_output=True)
    subprocess.run(
        ["useradd", "--no-create-home", "--gid", "haclient", "--shell", "/usr/sbin/nologin", user],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            ["chpasswd"], input=f"{user}:{password}\n", text=True, check=True, capture_output=True
        )
        yield user, password
    finally:
        subprocess.run(["userdel", user], capture_output=True)


def _form(w: Walkthrough, admin: tuple[str, str] | None = None) -> None:
    """Sections 1-2: the pages, host auth, cluster setup and start; raises if no cluster
    forms."""
    w.echo("\n=== 1. Nodes: two lab nodes, a page per node ===")
    w.write_pages()
    w.echo("\n=== 2. Cluster creation ===")
    if admin is not None:
        w.echo(f"(administrator {admin[0]}: a throwaway member of haclient, removed at the end)")
        w.host_auth(*admin)
    w.setup_and_start()
    wait_for(w.both_online, 60, "both nodes online with quorum", poll=0.5)


def _run_live(w: Walkthrough) -> None:
    """Sections 2 (status) to 8 and the httpd kill, printed; raises on the first thing
    that does not happen."""
    say = w.echo

    def banner(text: str) -> None:
        say(f"\n=== {text} ===")

    w.tandem("pcmk-1", "status")
    banner("3. STONITH check")
    w.tandem("pcmk-1", "verify", "-L", "-V")
    w.tandem("pcmk-1", "property", "set", "stonith-enabled=false")
    w.tandem("pcmk-1", "verify", "-L", "-V")
    banner("4. The virtual IP")
    w.tandem("pcmk-1", *CREATE_CLUSTERIP)
    wait_for(lambda: w.vip_nodes() == ["pcmk-1"] or w.vip_nodes() == ["pcmk-2"], 60, "the VIP")
    w.tandem("pcmk-1", "status")
    w.tandem("pcmk-1", "resource", "--full")
    for n in NODES:
        w.node_sh(n, ["ip", "-o", "-4", "addr", "show", "eth0"])
    banner("5. Failover of the VIP, and no failback")
    first = w.vip_nodes()[0]
    other = NODES[1] if first == NODES[0] else NODES[0]
    w.stop_node(first)
    wait_for(lambda: w.vip_nodes() == [other], 60, f"the VIP on {other}")
    w.tandem(other, "status")
    w.start_node(first)
    wait_for(lambda: w.both_online(other), 60, "both online")
    wait_for(lambda: w.probed(w.cib(other), first, "ClusterIP"), 60, f"the probe on {first}")
    w.wait_settled(other)
    say(f"(the VIP stays on {other}: {w.vip_nodes()})")
    if other != "pcmk-1":
        w.stop_node(other)
        wait_for(lambda: w.vip_nodes() == ["pcmk-1"], 60, "the VIP back on pcmk-1")
        w.start_node(other)
        wait_for(w.both_online, 60, "both online")
    banner("6. Apache, constraints and scores")
    w.tandem("pcmk-1", "resource", "defaults", "resource-stickiness=100")
    w.tandem("pcmk-1", *CREATE_WEBSITE)
    w.tandem(
        "pcmk-1", "constraint", "colocation", "add", "WebSite", "with", "ClusterIP", "INFINITY"
    )
    w.wait_settled("pcmk-1")
    w.scores("pcmk-1")
    w.tandem("pcmk-1", "constraint", "order", "ClusterIP", "then", "WebSite")
    w.tandem("pcmk-1", "constraint", "location", "WebSite", "prefers", "pcmk-1=250")
    w.wait_settled("pcmk-1")
    w.scores("pcmk-1")
    w.tandem("pcmk-1", "resource", "enable", "WebSite")
    w.wait_placement({"ClusterIP": "pcmk-1", "WebSite": "pcmk-1"}, "pcmk-1")
    w.wait_settled("pcmk-1")
    w.scores("pcmk-1")
    w.tandem("pcmk-1", "status")
    wait_for(lambda: w.curl(), 30, "an answer at the VIP")
    w.curl(show=True)
    banner("7. Moving by constraint, and back")
    w.first_row("pcmk-1", "constraint", "location", "WebSite", "prefers", "pcmk-2=500")
    w.tandem("pcmk-1", "constraint", "location", "WebSite", "prefers", "pcmk-2=500")
    w.wait_placement({"ClusterIP": "pcmk-2", "WebSite": "pcmk-2"}, "pcmk-1")
    w.wait_settled("pcmk-1")
    w.scores("pcmk-1")
    w.tandem("pcmk-1", "constraint", "--full")
    w.curl(show=True)
    w.first_row("pcmk-1", "constraint", "remove", "location-WebSite-pcmk-2-500")
    w.tandem("pcmk-1", "constraint", "remove", "location-WebSite-pcmk-2-500")
    w.wait_placement({"ClusterIP": "pcmk-1", "WebSite": "pcmk-1"}, "pcmk-1")
    w.wait_settled("pcmk-1")
    w.scores("pcmk-1")
    w.curl(show=True)
    banner("8. Crash of the active node")
    say("[lab host]# tandem lab crash pcmk-1   # power cut")
    w.lab.crash("pcmk-1")
    w.wait_placement({"ClusterIP": "pcmk-2", "WebSite": "pcmk-2"}, "pcmk-2")
    w.tandem("pcmk-2", "status")
    wait_for(lambda: w.curl(), 30, "an answer at the VIP")
    w.curl(show=True)
    say("[lab host]# tandem lab boot pcmk-1")
    w.lab.boot("pcmk-1")
    w.tandem("pcmk-1", "status")
    w.start_node("pcmk-1")
    w.wait_placement({"ClusterIP": "pcmk-1", "WebSite": "pcmk-1"}, "pcmk-2")
    wait_for(lambda: w.curl(), 30, "an answer at the VIP")
    w.curl(show=True)
    banner("Beyond the walkthrough: httpd killed, recovered by the cgroup event")
    w.kill_httpd("pcmk-1")
    wait_for(lambda: w.fail_count(w.cib("pcmk-1"), "pcmk-1", "WebSite") >= 1, 30, "a fail count")
    wait_for(lambda: w.curl(), 30, "an answer at the VIP")
    w.curl(show=True)
    w.tandem("pcmk-1", "status")
    rec = w.last_failure(w.cib("pcmk-1"), "pcmk-1", "WebSite") or {}
    say(
        f"(WebSite_last_failure_0: operation={rec.get('operation')} "
        f"interval={rec.get('interval')} rc-code={rec.get('rc-code')} "
        f"tandem-trigger={rec.get('tandem-trigger')})"
    )


def _fallback(reason: str) -> int:
    from tandem.cli.main import cli

    print(
        f"\n*** The live lab cluster could not be formed: {reason}\n"
        "*** Falling back to what the scheduler decides for the walkthrough's CIB "
        "(tandem simulate, no cluster involved).\n"
    )
    try:
        from tandem.cib.walkthrough import write_step_cib
    except ImportError:
        print("demo: the walkthrough CIB builder is not available either", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        path = write_step_cib("6c", f"{tmp}/cib.xml")
        print(f"$ tandem simulate -x {path} -S -s   # walkthrough section 6, WebSite enabled\n")
        cli(["simulate", "-x", path, "-S", "-s"], standalone_mode=False)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Build lab ``demo`` (or ``--lab NAME``), run the walkthrough live, tear the lab down."""
    import argparse

    ap = argparse.ArgumentParser(prog="tandem-demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--lab", default="demo", help="lab name (default: demo)")
    ap.add_argument("--keep", action="store_true", help="leave the lab up at the end")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        return _fallback("the lab needs root (namespaces, cgroups)")
    from tandem.lab import Lab

    lab = Lab(args.lab, nodes=2, prefix="pcmk-")
    print(f"[lab host]# tandem lab up --lab {args.lab} --nodes 2")
    formed = False
    stack = contextlib.ExitStack()
    try:
        lab.down()
        lab.up()
        w = Walkthrough(lab, echo=lambda s: print(s, flush=True))
        _form(w, stack.enter_context(throwaway_admin()))
        formed = True
        _run_live(w)
        print("\nThe walkthrough ran end to end.")
        return 0
    except Exception as exc:  # noqa: BLE001 - the demo reports any failure in one line
        if not formed:
            return _fallback(f"{type(exc).__name__}: {exc}")
        print(f"\n*** demo step failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.close()
        if not args.keep:
            print(f"\n[lab host]# tandem lab down --lab {args.lab}")
            lab.down()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
