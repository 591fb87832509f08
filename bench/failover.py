"""HTTP downtime at the walkthrough's VIP for five failover scenarios, in a real lab.

Builds a 2-node lab (default ``wtbench``) with the walkthrough's configuration
(ClusterIP + WebSite colocated and ordered, ``WebSite prefers pcmk-1=250``,
stickiness 100, apache monitor every 3 s), then, N times each:

- ``clean``: ``tandem node standby pcmk-1`` (both move to pcmk-2), then
  ``unstandby`` (they come back; not measured);
- ``stop``: ``tandem cluster stop pcmk-1`` (the DC leaves cleanly; both move to
  pcmk-2), then ``cluster start pcmk-1`` (they come back; not measured);
- ``crash``: ``lab crash pcmk-1`` (power cut; pcmk-1 is also the DC) -> served by pcmk-2;
- ``crash-not-dc``: with ``WebSite prefers pcmk-2=500`` both run on pcmk-2, the DC stays
  pcmk-1; ``lab crash pcmk-2`` -> served by pcmk-1 (then the constraint goes and pcmk-2
  boots and rejoins; not measured);
- ``failback``: ``lab boot pcmk-1`` + ``cluster start`` inside it -> served by
  pcmk-1 again (250 beats the 200 of stickiness);
- ``httpd``: SIGKILL to every apache2 process of pcmk-1 -> served again.

A prober in the lab host GETs http://VIP/ every 50 ms (0.25 s timeout) and
logs each answer.  Downtime = from the last good answer before the outage (or
the instant of the fault, for crash and httpd) to the first good answer after.
It is split, from the daemons' own log timestamps and the CIB's records, into:

- detection: crash: the cut -> the survivor's tandemd logs the new membership
  (corosync's token + consensus); httpd: the kill -> the DC starts its recovery
  transition (cgroup event, the failed monitor, its CIB record);
- DC transition: its "transition N started" -> "complete" log lines;
- agents in it: exec-time of the operations it ran (``lrm_rsc_op`` records:
  stops, starts and the first apache monitor, which are ordered one after the
  other);
- tandem's own: the transition time not spent in agents, plus (crash) the
  reaction from the new membership to the transition's start.

The rest of a downtime is the probe period (50 ms), ARP, and for ``clean`` and
``failback`` the part of apache's stop that ran while it still answered.

Also printed: the corosync token and consensus in force (read inside a node
with ``tandem.corosync.runtime.read_totem_timings``) and, per run, tandem's
reaction on crash: new membership on the survivor -> "transition started".

    .venv/bin/python bench/failover.py            # 5 runs each
    .venv/bin/python bench/failover.py --runs 2   # quicker
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tandem.demo import CREATE_CLUSTERIP, CREATE_WEBSITE, VIP, Walkthrough, wait_for  # noqa: E402
from tandem.lab import Lab  # noqa: E402

PROBE = r"""
import re, socket, sys, time
vip = sys.argv[1]
while True:
    t0 = time.time()
    who = "-"
    try:
        s = socket.create_connection((vip, 80), timeout=0.25)
        s.settimeout(0.25)
        s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
        data = b""
        while True:
            c = s.recv(4096)
            if not c:
                break
            data += c
        s.close()
        m = re.search(rb"My Test Site - (\S+?)<", data)
        ok = data.startswith(b"HTTP/1.1 200") and m is not None
        who = m.group(1).decode() if m else "-"
    except OSError:
        ok = False
    print(f"{t0:.3f} {int(ok)} {who}", flush=True)
    time.sleep(max(0.0, 0.05 - (time.time() - t0)))
"""

TOTEM = (
    "from tandem.corosync.runtime import read_totem_timings as r; t = r(); "
    "print(t.token, t.consensus)"
)


@dataclass
class Run:
    scenario: str
    downtime: float
    detection: float = 0.0
    agents: float = 0.0
    reaction: float | None = None
    transition: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def tandem(self) -> float:
        """tandem's own orchestration: the DC's transition time not spent in agents,
        plus its reaction to the new membership (crash)."""
        return max(0.0, self.transition - self.agents) + (self.reaction or 0.0)


class Prober:
    """The lab-host HTTP prober; samples read from its stdout into a list."""

    def __init__(self, lab: Lab, log: Path) -> None:
        self.log = log
        self.fh = log.open("w")
        self.proc = lab.host_spawn([sys.executable, "-c", PROBE, VIP], stdout=self.fh)

    def samples(self) -> list[tuple[float, bool, str]]:
        out = []
        for line in self.log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:
                out.append((float(parts[0]), parts[1] == "1", parts[2]))
        return out

    def outage(self, since: float, fault: float | None, who: str) -> float:
        """From the last good answer before the first bad one after ``since`` (or from
        ``fault``) to the first good answer from node ``who`` after it."""
        deadline = time.monotonic() + 5  # the prober's next sample may still be on its way
        while True:
            s = [x for x in self.samples() if x[0] >= since - 1.0]
            bad = next((i for i, x in enumerate(s) if x[0] >= since and not x[1]), None)
            good_after = None
            if bad is not None:
                good_after = next((x[0] for x in s[bad:] if x[1] and x[2] == who), None)
            if good_after is not None:
                break
            if time.monotonic() > deadline:
                what = "no outage" if bad is None else f"{who} never serve again"
                raise RuntimeError(f"the prober saw {what}")
            time.sleep(0.1)
        assert bad is not None
        if fault is not None:
            start = fault
        else:
            before = [x[0] for x in s[:bad] if x[1]]
            start = before[-1] if before else s[bad][0]
        return good_after - start

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.fh.close()


_LOG_TS = re.compile(r"^(\w{3} +\d+ \d\d:\d\d:\d\d\.\d{3}) tandemd\[\d+\] \w+: (.*)$")


def log_events(lab: Lab, node: str, since: float) -> list[tuple[float, str]]:
    """(time, message) of the node's tandemd.log lines at or after ``since``."""
    path = lab.node_path(node, "/var/log/tandem/tandemd.log")
    year = datetime.now().year
    out = []
    for line in path.read_text(errors="replace").splitlines():
        m = _LOG_TS.match(line)
        if not m:
            continue
        t = datetime.strptime(f"{year} {m.group(1)}", "%Y %b %d %H:%M:%S.%f").timestamp()
        if t >= since - 0.002:
            out.append((t, m.group(2)))
    return out


def first(events: list[tuple[float, str]], pattern: str) -> float | None:
    rx = re.compile(pattern)
    return next((t for t, msg in events if rx.search(msg)), None)


def transition_window(lab: Lab, since: float, actions: str) -> tuple[float, float] | None:
    """(start, end) of the recovery: the first "transition N started" log line after
    ``since`` whose actions match ``actions`` (a regex, e.g. ``Move ClusterIP``), on
    any node, to the first "complete" line of that node after it (an abort and
    its replanned transition are included)."""
    best = None
    for node in lab.nodes:
        if not lab.node_path(node, "/var/log/tandem/tandemd.log").exists():
            continue
        ev = log_events(lab, node, since)
        st = next(
            (t for t, m in ev if re.search(r"transition \d+ started", m) and re.search(actions, m)),
            None,
        )
        if st is None:
            continue
        end = next((t for t, m in ev if t >= st and re.search(r"transition \d+ complete", m)), None)
        if end is not None and (best is None or st < best[0]):
            best = (st, end)
    return best


def exec_detail(
    w: Walkthrough, node_view: str, wanted: list[tuple[str, str, str]]
) -> dict[str, int]:
    """exec-time (ms) of the records ``(node, record id, operation)`` in the CIB,
    keyed ``"node record operation"``."""
    cib = w.cib(node_view)
    out: dict[str, int] = {}
    for ns in cib.iter("node_state"):
        for op in ns.iter("lrm_rsc_op"):
            key = (ns.get("uname", ""), op.get("id", ""), op.get("operation", ""))
            if key in wanted:
                out[" ".join(key)] = int(op.get("exec-time", "0"))
    return out


def exec_ms(w: Walkthrough, node_view: str, wanted: list[tuple[str, str, str]]) -> float:
    """Sum of exec-time (s) of the records ``(node, record id, operation)`` in the CIB."""
    return sum(exec_detail(w, node_view, wanted).values()) / 1000


#: The walkthrough's configuration (sections 4-6), in pcs syntax (bench/failover_pacemaker.py
#: gives the same commands to Debian's pcs).
CONFIG: tuple[tuple[str, ...], ...] = (
    ("property", "set", "stonith-enabled=false"),
    ("resource", "defaults", "resource-stickiness=100"),
    CREATE_CLUSTERIP,
    CREATE_WEBSITE,
    ("constraint", "colocation", "add", "WebSite", "with", "ClusterIP", "INFINITY"),
    ("constraint", "order", "ClusterIP", "then", "WebSite"),
    ("constraint", "location", "WebSite", "prefers", "pcmk-1=250"),
    ("resource", "enable", "WebSite"),
)  # fmt: skip


def build(w: Walkthrough) -> None:
    """The walkthrough's configuration, both resources on pcmk-1."""
    w.write_pages()
    w.setup_and_start()
    wait_for(w.both_online, 90, "both nodes online", poll=0.5)
    t = lambda *a: w.tandem("pcmk-1", *a, show=False)  # noqa: E731
    for args in CONFIG:
        p = t(*args)
        if p.returncode:
            raise SystemExit(f"tandem {' '.join(args)}: {p.stderr.strip()}")
    steady(w, "pcmk-1")


def steady(w: Walkthrough, node: str, view: str | None = None) -> None:
    """Both resources on ``node`` (as ``view``'s status shows; default: the other node's,
    if that node is up) and the VIP served by it."""
    want = {"ClusterIP": node, "WebSite": node}
    if view is None:
        view = "pcmk-2" if node == "pcmk-1" else "pcmk-1"
        view = view if w.lab.is_running(view) else node
    w.wait_placement(want, view, timeout=120)
    wait_for(lambda: w.curl().endswith(f"{node}</body></html>"), 30, f"{node} serving")


def moved(w: Walkthrough, src: str, dst: str) -> list[tuple[str, str, str]]:
    """The records of a move src -> dst on the chain stop WebSite, stop ClusterIP,
    start ClusterIP, start WebSite, first WebSite monitor."""
    return [
        (src, "WebSite_last_0", "stop"),
        (src, "ClusterIP_last_0", "stop"),
        (dst, "ClusterIP_last_0", "start"),
        (dst, "WebSite_last_0", "start"),
        (dst, "WebSite_monitor_3000", "monitor"),
    ]


def _move_run(w: Walkthrough, pr: Prober, scenario: str, t0: float, src: str, dst: str) -> Run:
    """A move src -> dst that began at ``t0`` and is served by ``dst`` now: the downtime,
    the DC's transition and each operation's exec-time (read from ``dst``'s CIB)."""
    down = pr.outage(t0, None, dst)
    win = transition_window(w.lab, t0, rf"Move +ClusterIP \( {src} -> {dst}")
    detail = exec_detail(w, dst, moved(w, src, dst))
    return Run(scenario, down, agents=sum(detail.values()) / 1000,
               transition=(win[1] - win[0]) if win else 0.0, notes={"exec_ms": detail})


def run_clean(w: Walkthrough, pr: Prober) -> Run:
    t0 = time.time()
    w.tandem("pcmk-1", "node", "standby", "pcmk-1", show=False)
    steady(w, "pcmk-2")
    run = _move_run(w, pr, "clean", t0, "pcmk-1", "pcmk-2")
    w.tandem("pcmk-1", "node", "unstandby", "pcmk-1", show=False)
    steady(w, "pcmk-1")
    return run


def run_stop(w: Walkthrough, pr: Prober) -> Run:
    """Clean move by `cluster stop` of the active node (the DC), then start it again."""
    t0 = time.time()
    p = w.stop_node("pcmk-1")
    if p.returncode:
        raise SystemExit(f"tandem cluster stop pcmk-1: {p.stderr.strip()}")
    steady(w, "pcmk-2", view="pcmk-2")  # pcmk-1's daemon is stopped
    # pcmk-1's own records leave with it; the survivor's are in the CIB
    run = _move_run(w, pr, "stop", t0, "pcmk-1", "pcmk-2")
    w.start_node("pcmk-1")
    steady(w, "pcmk-1")
    return run


def _crash_run(w: Walkthrough, pr: Prober, scenario: str, victim: str, survivor: str) -> Run:
    """Power cut of ``victim`` (active) until ``survivor`` serves; the downtime split."""
    cut = w.lab.crash(victim)
    steady(w, survivor, view=survivor)
    down = pr.outage(cut, cut, survivor)
    ev = log_events(w.lab, survivor, cut)
    member = first(ev, rf"membership is now \[{survivor}\]")
    win = transition_window(w.lab, cut, rf"Start +ClusterIP \( {survivor} \)")
    agents = exec_ms(
        w,
        survivor,
        [(survivor, "ClusterIP_last_0", "start"), (survivor, "WebSite_last_0", "start"),
         (survivor, "WebSite_monitor_3000", "monitor")],
    )  # fmt: skip
    return Run(
        scenario,
        down,
        detection=(member - cut) if member else 0.0,
        agents=agents,
        reaction=(win[0] - member) if member and win else None,
        transition=(win[1] - win[0]) if win else 0.0,
    )


def run_crash_not_dc(w: Walkthrough, pr: Prober) -> Run:
    """Crash of the active node when it is not the DC: the DC (pcmk-1, lowest node id)
    survives and recovers.  ``WebSite prefers pcmk-2=500`` puts both resources on
    pcmk-2 first; it is removed before pcmk-2 comes back, so they stay on pcmk-1."""
    t = lambda *a: w.tandem("pcmk-1", *a, show=False)  # noqa: E731
    t("constraint", "location", "WebSite", "prefers", "pcmk-2=500")
    steady(w, "pcmk-2")
    run = _crash_run(w, pr, "crash-not-dc", "pcmk-2", "pcmk-1")
    t("constraint", "remove", "location-WebSite-pcmk-2-500")
    w.lab.boot("pcmk-2")
    w.tandem("pcmk-2", "cluster", "start", "--wait", show=False)
    steady(w, "pcmk-1")
    return run


def run_crash_and_failback(w: Walkthrough, pr: Prober) -> tuple[Run, Run]:
    crash = _crash_run(w, pr, "crash", "pcmk-1", "pcmk-2")
    w.lab.boot("pcmk-1")
    t0 = time.time()
    w.tandem("pcmk-1", "cluster", "start", "--wait", show=False)
    steady(w, "pcmk-1")
    return crash, _move_run(w, pr, "failback", t0, "pcmk-2", "pcmk-1")


def run_httpd(w: Walkthrough, pr: Prober) -> Run:
    before = w.fail_count(w.cib("pcmk-1"), "pcmk-1", "WebSite")
    w.kill_httpd("pcmk-1")  # waits for a monitor run to end, then kills
    t0 = w.killed_at
    wait_for(lambda: w.curl().endswith("pcmk-1</body></html>"), 30, "pcmk-1 serving again")
    down = pr.outage(t0, t0, "pcmk-1")
    wait_for(lambda: w.fail_count(w.cib("pcmk-1"), "pcmk-1", "WebSite") > before, 30, "fail count")
    win = transition_window(w.lab, t0, r"Recover +WebSite")
    rec = w.last_failure(w.cib("pcmk-1"), "pcmk-1", "WebSite") or {}
    # the stop's record is overwritten by the start: its (short) time counts as tandem's
    agents = exec_ms(
        w,
        "pcmk-1",
        [("pcmk-1", "WebSite_last_0", "start"), ("pcmk-1", "WebSite_monitor_3000", "monitor")],
    )
    r = Run(
        "httpd",
        down,
        detection=(win[0] - t0) if win else 0.0,
        agents=agents,
        transition=(win[1] - win[0]) if win else 0.0,
        notes={
            "trigger": rec.get("tandem-trigger"),
            "failed_monitor_exec": int(rec.get("exec-time", "0")) / 1000,
        },
    )
    # clean the failure so that every run starts from a fail count of 0
    w.tandem("pcmk-1", "resource", "cleanup", "WebSite", show=False)
    steady(w, "pcmk-1")
    return r


def summary(runs: list[Run]) -> list[str]:
    def mmm(xs: list[float]) -> str:
        return f"{min(xs):.2f} / {statistics.median(xs):.2f} / {max(xs):.2f}"

    lines = [
        "| scenario | runs | downtime min / median / max (s) | detection (median) "
        "| DC transition (median) | agents in it (median) | tandem's own (median) "
        "| reaction to membership (median) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for sc in ("clean", "stop", "crash", "crash-not-dc", "failback", "httpd"):
        rs = [r for r in runs if r.scenario == sc]
        if not rs:
            continue
        react = [r.reaction for r in rs if r.reaction is not None]
        lines.append(
            f"| {sc} | {len(rs)} | {mmm([r.downtime for r in rs])} "
            f"| {statistics.median([r.detection for r in rs]):.2f} "
            f"| {statistics.median([r.transition for r in rs]):.2f} "
            f"| {statistics.median([r.agents for r in rs]):.2f} "
            f"| {statistics.median([r.tandem for r in rs]):.2f} "
            f"| {f'{statistics.median(react):.3f}' if react else '-'} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per scenario (default 5)")
    ap.add_argument("--lab", default="wtbench")
    ap.add_argument("--json", default=None, help="also write the runs to this file")
    ap.add_argument("--keep", action="store_true", help="leave the lab up (to read its logs)")
    ap.add_argument(
        "--scenarios",
        default="clean,stop,crash,crash-not-dc,httpd",
        help="clean (standby), stop (cluster stop), crash (of the DC, includes failback), "
        "crash-not-dc (of the active node while the DC survives), httpd",
    )
    args = ap.parse_args(argv)
    lab = Lab(args.lab, nodes=2, prefix="pcmk-")
    lab.down()
    lab.up()
    w = Walkthrough(lab)
    runs: list[Run] = []
    pr: Prober | None = None
    try:
        build(w)
        p = lab.exec("pcmk-1", [w.python_bin, "-c", TOTEM], timeout=60)
        token, consensus = (p.stdout.split() + ["?", "?"])[:2]
        print(f"corosync in force: token {token} ms, consensus {consensus} ms (2 nodes)")
        pr = Prober(lab, Path(f"/tmp/failover-probe-{args.lab}.log"))
        wait_for(lambda: pr.samples() and pr.samples()[-1][1], 10, "the prober")
        wanted = args.scenarios.split(",")
        for i in range(args.runs):
            if "clean" in wanted:
                runs.append(run_clean(w, pr))
                print(f"run {i + 1} clean: {runs[-1]}", flush=True)
            if "stop" in wanted:
                runs.append(run_stop(w, pr))
                print(f"run {i + 1} stop: {runs[-1]}", flush=True)
            if "crash" in wanted:
                c, f = run_crash_and_failback(w, pr)
                runs += [c, f]
                print(f"run {i + 1} crash: {c}\nrun {i + 1} failback: {f}", flush=True)
            if "crash-not-dc" in wanted:
                runs.append(run_crash_not_dc(w, pr))
                print(f"run {i + 1} crash-not-dc: {runs[-1]}", flush=True)
            if "httpd" in wanted:
                runs.append(run_httpd(w, pr))
                print(f"run {i + 1} httpd: {runs[-1]}", flush=True)
        la = Path("/proc/loadavg").read_text().split()[:3]
        print(f"\nload average during the runs: {' '.join(la)}")
        print("\n".join(summary(runs)))
        if args.json:
            Path(args.json).write_text(
                json.dumps([r.__dict__ | {"tandem": r.tandem} for r in runs], indent=1)
            )
        return 0
    finally:
        if pr is not None:
            pr.close()
        if not args.keep:
            lab.down()


if __name__ == "__main__":
    sys.exit(main())
