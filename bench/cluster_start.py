"""Benchmark: `tandem cluster start --all` to "every node Online with the same DC".

Builds its own lab (``dmnb``), sets up a cluster, then for 2 and 3 nodes runs
5 cold starts (corosync and tandemd stopped everywhere before each).  A tiny
poller inside every node watches its tandemd's local API every 10 ms and
prints the wall-clock instant it first sees: in sync, a DC, quorum and all
nodes online; the figure is the latest of those instants minus the instant
the start command was issued on the lab host (same machine clock).  It also
checks every node reported the same DC.

It also splits each figure: the instant corosync delivered the full membership
to the last tandemd (its log's "membership is now [all nodes]" line) is the
end of corosync's part (process start-ups, knet link-up, totem merge); what
follows until all-online is tandem's own join sync.

Pacemaker 2.1.5 on the same lab: 22.5 s to a DC (dc-deadtime 20 s).

Run as root:  .venv/bin/python bench/cluster_start.py [--runs 5] [--nodes 2 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time

from tandem.lab.api import Lab, venv_dir

TANDEM = str(venv_dir() / "bin" / "tandem")
PY = str(venv_dir() / "bin" / "python")

POLLER = """
import json, sys, time
from tandem.daemon import client
want = set(sys.argv[1:])
deadline = time.time() + 120
while time.time() < deadline:
    try:
        i = client.cluster_info()
        on = {n['name'] for n in i['nodes'] if n['online']}
        if i['synced'] and i['dc'] and i['quorate'] and on == want:
            print(json.dumps([time.time(), i['dc']]))
            break
    except Exception:
        pass
    time.sleep(0.01)
"""


def tandem(lab: Lab, *args: str) -> None:
    subprocess.run(
        [TANDEM, *args],
        check=True,
        capture_output=True,
        env={**os.environ, "TANDEM_LAB": lab.name},
        timeout=300,
    )


def _full_membership_at(lab: Lab, node: str, after: float) -> float | None:
    """Wall-clock time of the node's last "membership is now [all nodes]" log line."""
    want = "membership is now [" + ", ".join(lab.nodes) + "]"
    year = dt.datetime.now().year
    found = None
    text = lab.node_path(node, "/var/log/tandem/tandemd.log").read_text(errors="replace")
    for line in text.splitlines():
        if want in line:
            stamp = dt.datetime.strptime(f"{year} {line[:19]}", "%Y %b %d %H:%M:%S.%f")
            t = stamp.timestamp()
            if t >= after - 1:
                found = t
    return found


def one_run(lab: Lab) -> tuple[float, set[str], float]:
    tandem(lab, "cluster", "stop", "--all")
    pollers = [
        lab.spawn(n, [PY, "-c", POLLER, *lab.nodes], stdout=subprocess.PIPE, text=True)
        for n in lab.nodes
    ]
    time.sleep(1.0)  # pollers up (python start-up) before the clock starts
    t0 = time.time()
    tandem(lab, "cluster", "start", "--all")
    results = []
    for p in pollers:
        out, _ = p.communicate(timeout=150)
        if not out.strip():
            raise SystemExit("a node never reached the all-online state")
        results.append(json.loads(out.strip().splitlines()[-1]))
    done = max(t for t, _ in results)
    member_times = [_full_membership_at(lab, n, t0) for n in lab.nodes]
    corosync_done = max(t for t in member_times if t is not None) if any(member_times) else done
    return done - t0, {dc for _, dc in results}, done - corosync_done


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--nodes", type=int, nargs="+", default=[2, 3])
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (namespaces)")
    for count in args.nodes:
        lab = Lab("dmnb", nodes=count, enable_api=False)
        lab.down()
        lab.up()
        try:
            tandem(lab, "cluster", "setup", "--name", "bench", *lab.nodes)
            times, own = [], []
            for _ in range(args.runs):
                total, dcs, tandem_part = one_run(lab)
                if len(dcs) != 1:
                    raise SystemExit(f"nodes disagree on the DC: {dcs}")
                times.append(total)
                own.append(tandem_part)
            tandem(lab, "cluster", "stop", "--all")
        finally:
            lab.down()
        print(
            f"{count} nodes: cluster start --all -> all Online, same DC: "
            f"min {min(times):.2f} s / median {statistics.median(times):.2f} s / "
            f"max {max(times):.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})"
        )
        print(
            f"   of which tandem's join sync after corosync's full membership: "
            f"min {min(own) * 1000:.0f} / median {statistics.median(own) * 1000:.0f} / "
            f"max {max(own) * 1000:.0f} ms (includes the pollers' 10 ms period)"
        )


if __name__ == "__main__":
    main()
