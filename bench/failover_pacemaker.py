"""The failover benchmark of bench/failover.py, run with Debian's Pacemaker 2.1.5 instead of tandem.

Why: the issue asks for tandem's failover figures side by side with
Pacemaker's where it is installed.  Same lab layout (2 nodes pcmk-1/pcmk-2 on
192.0.2.0/24, lab ``pmkbench``), same corosync.conf (written with tandem's own
writer from the arguments of bench/failover.py's ``cluster setup --name
mycluster pcmk-1 pcmk-2``: corosync's default token and consensus), same
walkthrough configuration (made with Debian's pcs 0.11.5 run inside pcmk-1,
with bench/failover.py's arguments, ``tandem.demo.CREATE_WEBSITE`` included),
same lab-host prober and the same downtime definition (both imported from
bench/failover.py).  Scenarios, N times each:

- ``clean``: ``pcs node standby pcmk-1`` -> served by pcmk-2; then
  ``unstandby`` and wait until it is back on pcmk-1 (not measured);
- ``crash``: ``lab crash pcmk-1`` -> served by pcmk-2; then ``failback``:
  ``lab boot pcmk-1`` + corosync and pacemakerd started again inside it ->
  served by pcmk-1 again (250 beats the 200 of stickiness);
- ``httpd``: SIGKILL to every apache2 of pcmk-1 -> served again (at a random
  instant of the 3 s monitor interval, or just after a monitor run with
  ``--httpd-kill after-monitor``, as bench/failover.py does for tandem).

Before every run pcmk-1 is made the DC (``--dc active``, the default: Pacemaker
on pcmk-2 is restarted when it holds the DC role), so that the crash kills the
DC, as in bench/failover.py's tandem runs.  ``--dc any`` leaves the DC where
the election put it (after a crash it is the survivor, pcmk-2).

The split comes from Pacemaker's own log (/var/log/pacemaker/pacemaker.log of
each node, info level) and the CIB's ``lrm_rsc_op`` records:

- detection: crash: the cut -> the survivor's controller logs pcmk-1 lost;
  httpd: the kill -> the DC starts processing its recovery graph;
- DC transition: "Processing graph N" -> "Transition N (...): Complete"
  (tandem's "transition N started" is also logged once the graph is computed);
- agents in it: exec-time of the same operations as bench/failover.py;
- Pacemaker's own: the transition time not spent in those agents, plus (crash)
  the reaction from pcmk-1 lost to "Processing graph" (the DC election, the
  join and the scheduler when the DC died);
- also per run (notes, and a line after the table): ``planning``, the DC's
  S_POLICY_ENGINE -> "Processing graph", i.e. the scheduler round trip that the
  transition window leaves out.

    .venv/bin/python bench/failover_pacemaker.py                   # 5 runs of clean, crash, httpd
    .venv/bin/python bench/failover_pacemaker.py --scenarios clean --json pmk.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package

import failover  # noqa: E402  (also puts the checkout on sys.path)
from failover import Prober, Run  # noqa: E402

from tandem.corosync import conf as cconf  # noqa: E402
from tandem.demo import Walkthrough, wait_for  # noqa: E402
from tandem.lab import Lab  # noqa: E402

NODES = ("pcmk-1", "pcmk-2")
#: bench/failover.py's lab is set up with ``cluster setup --name mycluster pcmk-1 pcmk-2``
#: (the lab-host form): no totem options, so corosync's defaults (token 3000 ms, consensus
#: 1.2 x token).  The same arguments go through the same writer here.
SETUP_ARGS = ["pcmk-1", "pcmk-2"]
CLUSTER_NAME = "mycluster"
#: Debian's pacemaker package: these folders, hacluster:haclient, mode 0750 (logs 0770).
PCMK_DIRS = ("/var/lib/pacemaker/cib", "/var/lib/pacemaker/pengine",
             "/var/lib/pacemaker/blackbox", "/var/lib/pacemaker/cores")  # fmt: skip
PCMK_LOG = "/var/log/pacemaker/pacemaker.log"


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class Pacemaker:
    """Debian's corosync + Pacemaker in the nodes of a tandem lab (no tandemd at all).

    Daemons are started detached inside a node (``setsid ... &`` under ``sh``), so
    they are orphans of the node's init, which reaps them; they live in the node's
    cgroup, so ``lab.crash`` and ``lab.down`` take them with the node.
    """

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    # ------------------------------------------------------------ files and daemons

    def write_files(self) -> None:
        """corosync.conf + authkey on every node (tandem's writer, one key and uuid for
        all), and Pacemaker's private state and log folders owned by hacluster."""
        spec = cconf.parse_setup_argv(SETUP_ARGS, name=CLUSTER_NAME)
        key = cconf.generate_authkey()
        cluster_uuid = uuid.uuid4().hex
        for n in self.lab.nodes:
            cconf.setup_files(
                spec, self.lab.node_path(n, "/etc/corosync"), authkey=key, cluster_uuid=cluster_uuid
            )
            self.own_dirs(n)

    def own_dirs(self, node: str) -> None:
        for d, mode in [(d, 0o750) for d in PCMK_DIRS] + [("/var/log/pacemaker", 0o770)]:
            path = self.lab.node_path(node, d)
            path.mkdir(parents=True, exist_ok=True)
            shutil.chown(path, "hacluster", "haclient")
            path.chmod(mode)
        shutil.chown(self.lab.node_path(node, "/var/lib/pacemaker"), "hacluster", "haclient")

    def _detach(self, node: str, cmd: str, log: str) -> None:
        p = self.lab.exec(node, ["sh", "-c", f"setsid {cmd} >>{log} 2>&1 </dev/null &"], timeout=30)
        if p.returncode:
            raise RuntimeError(f"{node}: could not start {cmd}: {p.stderr.strip()}")

    def pids(self, node: str, prefix: str) -> list[int]:
        return [p for p in self.lab.node_pids(node) if _comm(p).startswith(prefix)]

    def start(self, node: str) -> None:
        """corosync (if not running) then pacemakerd, as the systemd units order them."""
        if not self.pids(node, "corosync"):
            self._detach(node, "corosync -f", "/var/log/corosync/corosync.out")
            wait_for(
                lambda: self.lab.exec(node, ["corosync-cfgtool", "-s"], timeout=30).returncode == 0,
                30,
                f"corosync on {node}",
            )
        if not self.pids(node, "pacemakerd"):
            self._detach(node, "/usr/sbin/pacemakerd", "/var/log/pacemaker/pacemakerd.out")
        wait_for(lambda: len(self.pids(node, "pacemaker")) >= 7, 30, f"pacemaker on {node}")

    def stop(self, node: str, timeout: float = 120) -> None:
        """Graceful stop of Pacemaker (SIGTERM to pacemakerd, by pid), corosync stays."""
        for pid in self.pids(node, "pacemakerd"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not self.pids(node, "pacemaker"), timeout, f"pacemaker gone on {node}")

    # ------------------------------------------------------------ commands and views

    def run(self, node: str, *argv: str, timeout: float = 120) -> str:
        p = self.lab.exec(node, list(argv), timeout=timeout)
        if p.returncode:
            raise RuntimeError(f"{node}: {' '.join(argv)}: {(p.stderr or p.stdout).strip()}")
        return p.stdout

    def pcs(self, node: str, *args: str) -> str:
        return self.run(node, "pcs", *args)

    def view(self) -> str:
        """A running node to ask (pcmk-2 first: pcmk-1 is the one crashed)."""
        for n in reversed(self.lab.nodes):
            if self.lab.is_running(n) and self.pids(n, "pacemaker-contr"):
                return n
        raise RuntimeError("no node runs Pacemaker")

    def mon(self, node: str | None = None) -> ET.Element:
        out = self.run(node or self.view(), "crm_mon", "-1", "--output-as=xml", timeout=60)
        return ET.fromstring(out)

    def cib(self, node: str) -> ET.Element:
        """The live CIB as ``node`` sees it (what failover.exec_detail reads)."""
        return ET.fromstring(self.run(node, "cibadmin", "-Q", timeout=60))

    @staticmethod
    def dc(mon: ET.Element) -> str | None:
        cur = mon.find("summary/current_dc")
        return cur.get("name") if cur is not None and cur.get("present") == "true" else None

    @staticmethod
    def where(mon: ET.Element) -> dict[str, str]:
        out = {}
        for r in mon.iter("resource"):
            nodes = [n.get("name", "") for n in r.findall("node")]
            if r.get("role") == "Started" and len(nodes) == 1:
                out[r.get("id", "")] = nodes[0]
        return out

    @staticmethod
    def online(mon: ET.Element) -> set[str]:
        return {n.get("name", "") for n in mon.iter("node") if n.get("online") == "true"
                and n.get("name") in NODES and n.get("pending") != "true"}  # fmt: skip

    def idle(self, node: str) -> bool:
        """The DC's controller is in S_IDLE (nothing scheduled, nothing running)."""
        dc = self.dc(self.mon(node))
        if dc is None:
            return False
        p = self.lab.exec(node, ["crmadmin", "-S", dc], timeout=60)
        return "S_IDLE" in (p.stdout + p.stderr)

    def formed(self, want_online: set[str]) -> bool:
        m = self.mon()
        return self.dc(m) is not None and self.online(m) == want_online and self.idle(self.view())

    def ensure_dc(self, node: str) -> None:
        """Make ``node`` the DC by restarting Pacemaker on every other node holding it
        (the older controller wins Pacemaker's election)."""
        for _ in range(3):
            dc = self.dc(self.mon())
            if dc == node:
                return
            if dc is not None:
                self.stop(dc)
                self.start(dc)
            wait_for(lambda: self.formed(set(NODES)), 120, "both nodes online, DC idle", poll=0.5)
        raise RuntimeError(f"{node} did not become the DC")


# ------------------------------------------------------------------------ Pacemaker's log

_LOG = re.compile(
    r"^(\w{3} +\d+ \d\d:\d\d:\d\d\.\d{3}) \S+ (pacemaker[\w-]*) *\[\d+\] \(\w+\)\s+\w+: (.*)$"
)


def pm_events(lab: Lab, node: str, since: float) -> list[tuple[float, str, str]]:
    """(time, daemon, message) of ``node``'s pacemaker.log lines at or after ``since``."""
    path = lab.node_path(node, PCMK_LOG)
    if not path.exists():
        return []
    year = datetime.now().year
    out = []
    for line in path.read_text(errors="replace").splitlines():
        m = _LOG.match(line)
        if not m:
            continue
        t = datetime.strptime(f"{year} {m.group(1)}", "%Y %b %d %H:%M:%S.%f").timestamp()
        if t >= since - 0.002:
            out.append((t, m.group(2), m.group(3)))
    return out


def graph_window(lab: Lab, since: float, actions: str) -> dict[str, Any] | None:
    """The first graph processed after ``since`` whose scheduler summary has an action
    matching ``actions`` (e.g. ``Move\\s+ClusterIP\\s+\\( pcmk-1 -> pcmk-2 \\)``), on
    any node: {"dc", "planning" (the DC's last S_POLICY_ENGINE entry before it),
    "start" ("Processing graph N"), "end" (the first "Transition M (...): Complete"
    at or after it, so an aborted graph and its replanned successor count together)}.

    A calculated graph can be superseded before it runs (the controller asked again
    meanwhile): the first one of the matching graphs that the controller processes
    is taken."""
    rx = re.compile(actions)
    best: dict[str, Any] | None = None
    for node in lab.nodes:
        ev = pm_events(lab, node, since)
        matched: set[str] = set()
        pending = False
        start = None
        for t, d, m in ev:
            if d == "pacemaker-schedulerd":
                if m.startswith("Actions:") and rx.search(m):
                    pending = True
                calc = re.match(r"Calculated transition (\d+)", m)
                if calc:
                    if pending:
                        matched.add(calc.group(1))
                    pending = False
            elif d == "pacemaker-controld":
                g = re.match(r"Processing graph (\d+) ", m)
                if g and g.group(1) in matched:
                    start = t
                    break
        if start is None:
            continue
        end = next((t for t, d, m in ev if t >= start and d == "pacemaker-controld"
                    and re.match(r"Transition \d+ \(.*\): Complete", m)), None)  # fmt: skip
        plan = [t for t, d, m in ev if t <= start and d == "pacemaker-controld"
                and re.search(r"State transition \S+ -> S_POLICY_ENGINE", m)]  # fmt: skip
        if end is not None and (best is None or start < best["start"]):
            best = {"dc": node, "planning": plan[-1] if plan else start, "start": start, "end": end}
    return best


def lost_at(lab: Lab, survivor: str, lost: str, since: float) -> float | None:
    """When the survivor's controller learnt that ``lost`` left the membership."""
    return next((t for t, d, m in pm_events(lab, survivor, since) if d == "pacemaker-controld"
                 and re.search(rf"Node {lost} state is now lost|Quorum retained", m)), None)  # fmt: skip


# ------------------------------------------------------------------------ scenarios


class Bench:
    def __init__(self, lab: Lab, pm: Pacemaker, pr: Prober | None, dc: str) -> None:
        self.lab, self.pm, self.pr, self.dc_policy = lab, pm, pr, dc
        self.w = Walkthrough(lab)  # lab-only helpers: write_pages, curl, fail_count

    @property
    def prober(self) -> Prober:
        assert self.pr is not None
        return self.pr

    def steady(self, node: str, online: set[str] | None = None) -> None:
        want = {"ClusterIP": node, "WebSite": node}
        wait_for(lambda: self.pm.where(self.pm.mon()) == want or None, 120,
                 f"placement {want}", poll=0.5)  # fmt: skip
        wait_for(lambda: self.w.curl().endswith(f"{node}</body></html>"), 30, f"{node} serving")
        wait_for(lambda: self.pm.idle(self.pm.view()), 60, "the DC idle", poll=0.5)
        if online is not None:
            wait_for(lambda: self.pm.online(self.pm.mon()) == online, 60, f"{online} online")

    def build(self) -> None:
        self.w.write_pages()
        self.pm.write_files()
        # pcmk-1's controller starts first: the older controller wins the DC election.
        self.pm.start("pcmk-1")
        time.sleep(2)
        self.pm.start("pcmk-2")
        wait_for(lambda: self.pm.formed(set(NODES)), 180, "both nodes online, a DC", poll=1)
        for args in failover.CONFIG:
            self.pm.pcs("pcmk-1", *args)
        self.steady("pcmk-1")

    def prepare_run(self) -> str | None:
        if self.dc_policy == "active":
            self.pm.ensure_dc("pcmk-1")
            self.steady("pcmk-1", set(NODES))
        return self.pm.dc(self.pm.mon())

    def exec_detail(self, view: str, wanted: list[tuple[str, str, str]]) -> dict[str, int]:
        return failover.exec_detail(self.pm, view, wanted)  # type: ignore[arg-type]

    def clean(self) -> Run:
        dc = self.prepare_run()
        t0 = time.time()
        self.pm.pcs("pcmk-1", "node", "standby", "pcmk-1")
        self.steady("pcmk-2")
        down = self.prober.outage(t0, None, "pcmk-2")
        win = graph_window(self.lab, t0, r"Move\s+ClusterIP\s+\( pcmk-1 -> pcmk-2 \)")
        detail = self.exec_detail("pcmk-2", failover.moved(None, "pcmk-1", "pcmk-2"))  # type: ignore[arg-type]
        self.pm.pcs("pcmk-1", "node", "unstandby", "pcmk-1")
        self.steady("pcmk-1")
        return Run("clean", down, agents=sum(detail.values()) / 1000,
                   transition=(win["end"] - win["start"]) if win else 0.0,
                   notes=self._notes(win, dc, exec_ms=detail))  # fmt: skip

    def crash_and_failback(self) -> tuple[Run, Run]:
        dc = self.prepare_run()
        cut = self.lab.crash("pcmk-1")
        self.steady("pcmk-2")
        down = self.prober.outage(cut, cut, "pcmk-2")
        member = lost_at(self.lab, "pcmk-2", "pcmk-1", cut)
        win = graph_window(self.lab, cut, r"Start\s+ClusterIP\s+\( pcmk-2 \)")
        wanted = [("pcmk-2", "ClusterIP_last_0", "start"), ("pcmk-2", "WebSite_last_0", "start"),
                  ("pcmk-2", "WebSite_monitor_3000", "monitor")]  # fmt: skip
        detail = self.exec_detail("pcmk-2", wanted)
        crash = Run(
            "crash",
            down,
            detection=(member - cut) if member else 0.0,
            agents=sum(detail.values()) / 1000,
            reaction=(win["start"] - member) if member and win else None,
            transition=(win["end"] - win["start"]) if win else 0.0,
            notes=self._notes(win, dc, exec_ms=detail, dc_died=dc == "pcmk-1"),
        )
        self.lab.boot("pcmk-1")
        self.pm.own_dirs("pcmk-1")
        t0 = time.time()
        self.pm.start("pcmk-1")
        self.steady("pcmk-1", set(NODES))
        down = self.prober.outage(t0, None, "pcmk-1")
        win = graph_window(self.lab, t0, r"Move\s+ClusterIP\s+\( pcmk-2 -> pcmk-1 \)")
        detail = self.exec_detail("pcmk-1", failover.moved(None, "pcmk-2", "pcmk-1"))  # type: ignore[arg-type]
        back = Run("failback", down, agents=sum(detail.values()) / 1000,
                   transition=(win["end"] - win["start"]) if win else 0.0,
                   notes=self._notes(win, self.pm.dc(self.pm.mon()), exec_ms=detail))  # fmt: skip
        return crash, back

    def kill_apache(self, node: str, when: str) -> float:
        """SIGKILL every apache2 of ``node`` (by pid, until none is left); returns the
        instant.  ``random``: at a random point of the 3 s monitor interval;
        ``after-monitor``: just after a monitor run ended (bench/failover.py's timing)."""
        if when == "after-monitor":
            self.w.kill_httpd(node)
            return self.w.killed_at
        time.sleep(random.uniform(0.0, 3.0))
        t = time.time()
        for _ in range(50):
            alive = [p for p in self.lab.node_pids(node, "apache2") if _comm(p) == "apache2"]
            if not alive:
                break
            for pid in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        return t

    def httpd(self, when: str) -> Run:
        dc = self.prepare_run()
        before = self.w.fail_count(self.pm.cib("pcmk-1"), "pcmk-1", "WebSite")
        t0 = self.kill_apache("pcmk-1", when)
        wait_for(lambda: self.w.curl().endswith("pcmk-1</body></html>"), 30, "pcmk-1 serving")
        down = self.prober.outage(t0, t0, "pcmk-1")
        wait_for(lambda: self.w.fail_count(self.pm.cib("pcmk-1"), "pcmk-1", "WebSite") > before,
                 30, "fail count")  # fmt: skip
        # the recovery graph's "Complete" line comes after its first monitor, which may
        # still run when the page answers again
        wait_for(lambda: self.pm.idle(self.pm.view()), 60, "the DC idle", poll=0.5)
        win = graph_window(self.lab, t0, r"Recover\s+WebSite")
        detail = self.exec_detail("pcmk-1", [("pcmk-1", "WebSite_last_0", "start"),
                                             ("pcmk-1", "WebSite_monitor_3000", "monitor")])  # fmt: skip
        r = Run("httpd", down, detection=(win["start"] - t0) if win else 0.0,
                agents=sum(detail.values()) / 1000,
                transition=(win["end"] - win["start"]) if win else 0.0,
                notes=self._notes(win, dc, exec_ms=detail, kill=when))  # fmt: skip
        self.pm.pcs("pcmk-1", "resource", "cleanup", "WebSite")
        self.steady("pcmk-1")
        return r

    @staticmethod
    def _notes(win: dict[str, Any] | None, dc: str | None, **more: Any) -> dict[str, Any]:
        notes: dict[str, Any] = {"dc_before": dc, "load": _load()}
        if win:
            notes |= {"graph_on": win["dc"], "planning": round(win["start"] - win["planning"], 3)}
        return notes | more


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def summary(runs: list[Run]) -> list[str]:
    """bench/failover.py's table, with Pacemaker in tandem's column."""
    lines = failover.summary(runs)
    lines[0] = lines[0].replace("tandem's own", "Pacemaker's own")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per scenario (default 5)")
    ap.add_argument("--lab", default="pmkbench")
    ap.add_argument("--json", default=None, help="also write the runs to this file")
    ap.add_argument("--keep", action="store_true", help="leave the lab up (to read its logs)")
    ap.add_argument("--scenarios", default="clean,crash,httpd",
                    help="clean,crash,httpd (crash includes failback)")  # fmt: skip
    ap.add_argument("--dc", choices=("active", "any"), default="active",
                    help="active: make pcmk-1 the DC before each run (default)")  # fmt: skip
    ap.add_argument("--httpd-kill", choices=("random", "after-monitor"), default="random")
    args = ap.parse_args(argv)
    for tool in ("pacemakerd", "pcs", "corosync"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            print(f"{tool} is not installed: apt-get install pacemaker pcs corosync")
            return 2
    lab = Lab(args.lab, nodes=2, prefix="pcmk-", enable_api=False)
    lab.down()
    lab.up()
    pm = Pacemaker(lab)
    runs: list[Run] = []
    bench = Bench(lab, pm, None, args.dc)
    loads = [_load()]
    try:
        t = time.monotonic()
        bench.build()
        print(f"cluster formed and configured in {time.monotonic() - t:.1f} s "
              f"(DC {pm.dc(pm.mon())})", flush=True)  # fmt: skip
        p = lab.exec("pcmk-1", [sys.executable, "-c", failover.TOTEM], timeout=60)
        token, consensus = (p.stdout.split() + ["?", "?"])[:2]
        print(f"corosync in force: token {token} ms, consensus {consensus} ms (2 nodes)")
        bench.pr = Prober(lab, Path(f"/tmp/failover-probe-{args.lab}.log"))
        pr = bench.pr
        wait_for(lambda: pr.samples() and pr.samples()[-1][1], 10, "the prober")
        wanted = args.scenarios.split(",")
        for i in range(args.runs):
            if "clean" in wanted:
                runs.append(bench.clean())
                print(f"run {i + 1} clean: {runs[-1]}", flush=True)
            if "crash" in wanted:
                c, f = bench.crash_and_failback()
                runs += [c, f]
                print(f"run {i + 1} crash: {c}\nrun {i + 1} failback: {f}", flush=True)
            if "httpd" in wanted:
                runs.append(bench.httpd(args.httpd_kill))
                print(f"run {i + 1} httpd: {runs[-1]}", flush=True)
            loads.append(_load())
        print(f"\nload average during the runs (1/5/15 min, after each round): {' | '.join(loads)}")
        print("\n".join(summary(runs)))
        for sc in ("clean", "crash", "httpd", "failback"):
            pl = [r.notes["planning"] for r in runs if r.scenario == sc and "planning" in r.notes]
            if pl:
                print(f"{sc}: scheduler round trip before each graph (S_POLICY_ENGINE -> "
                      f"Processing graph), median {statistics.median(pl):.3f} s")  # fmt: skip
        if args.json:
            Path(args.json).write_text(json.dumps(
                [r.__dict__ | {"own": r.tandem, "stack": "pacemaker-2.1.5"} for r in runs],
                indent=1))  # fmt: skip
        return 0
    finally:
        if bench.pr is not None:
            bench.pr.close()
        if not args.keep:
            lab.down()


if __name__ == "__main__":
    sys.exit(main())
