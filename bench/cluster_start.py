"""Benchmark: `tandem cluster start --all` to "every node Online with the same DC".

Builds its own lab (``dmnb``), sets up a cluster, then for 2 and 3 nodes runs
5 cold starts (corosync and tandemd stopped everywhere before each).  A tiny
poller inside every node watches its tandemd's local API every 10 ms and
prints the wall-clock instant it first sees: in sync, a DC, quorum and all
nodes online; the figure is the latest of those instants minus the instant
the start command was issued on the lab host (same machine clock).  It also
checks every node reported the same DC.

Pacemaker 2.1.5 on the same lab: 22.5 s to a DC (dc-deadtime 20 s).

Run as root:  .venv/bin/python bench/cluster_start.py [--runs 5] [--nodes 2 3]
"""

from __future__ import annotations

import argparse
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


def one_run(lab: Lab) -> tuple[float, set[str]]:
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
    return max(t for t, _ in results) - t0, {dc for _, dc in results}


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
            times = []
            for _ in range(args.runs):
                dt, dcs = one_run(lab)
                if len(dcs) != 1:
                    raise SystemExit(f"nodes disagree on the DC: {dcs}")
                times.append(dt)
            tandem(lab, "cluster", "stop", "--all")
        finally:
            lab.down()
        print(
            f"{count} nodes: cluster start --all -> all Online, same DC: "
            f"min {min(times):.2f} s / median {statistics.median(times):.2f} s / "
            f"max {max(times):.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})"
        )


if __name__ == "__main__":
    main()
