"""How long PCSD Status takes when a node's management daemon is dead (pcs hung for minutes).

Two modes:

    .venv/bin/python bench/pcsd_status.py                 # loopback, in-process (root not needed)
    .venv/bin/python bench/pcsd_status.py --lab api-bench # a 2-node lab: crash pcmk-1, time on pcmk-2

Loopback: a real tandemd-api (TLS) on 127.0.0.1, plus a "crashed" peer (a socket
that accepts TCP but never answers TLS) and a refused port; times
``tandem.api.client.pcsd_status`` over --runs runs.

Lab: builds its own lab, creates a throwaway haclient account (deleted at the
end; /etc/shadow is shared by the host and the lab nodes), runs ``tandem host
auth`` on pcmk-2, crashes pcmk-1, then times inside pcmk-2 ``tandem pcsd
status`` and ``tandem status`` as whole processes (interpreter start-up
included) next to ``tandem --version`` (start-up alone).  Timings are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "lab"))


def loopback(runs: int) -> None:
    from test_api_daemon import free_port, start_daemon, stop_daemon

    from tandem.api.client import pcsd_status
    from tandem.api.storage import Dest, KnownHost, KnownHosts

    with tempfile.TemporaryDirectory() as tmp:
        d = start_daemon(Path(tmp))
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        try:
            kh = KnownHosts()
            kh.put(KnownHost("up", d.token(), (Dest("127.0.0.1", d.port),)))
            kh.put(KnownHost("crashed", "t", (Dest("127.0.0.1", silent.getsockname()[1]),)))
            kh.put(KnownHost("refused", "t", (Dest("127.0.0.1", free_port()),)))
            for label, nodes in (
                ("all up", ["up"]),
                ("one refused", ["up", "refused"]),
                ("one crashed", ["up", "crashed", "refused"]),
            ):
                times, last = [], {}
                for _ in range(runs):
                    t0 = time.monotonic()
                    last = pcsd_status(nodes, 2.0, kh)
                    times.append(time.monotonic() - t0)
                print(
                    f"loopback {label:12s} runs={runs} min={min(times):.3f}s "
                    f"median={statistics.median(times):.3f}s max={max(times):.3f}s -> {last}"
                )
        finally:
            silent.close()
            stop_daemon(d)


def _timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return time.monotonic() - t0, p


def lab(name: str) -> None:
    from tandem.lab.api import Lab

    tandem = str(REPO / ".venv/bin/tandem")
    user = "tdmbench" + secrets.token_hex(3)
    password = "Pw-" + secrets.token_urlsafe(12)
    lab_ = Lab(name)
    lab_.down()
    lab_.up()
    subprocess.run(
        ["useradd", "--no-create-home", "--gid", "haclient", "--shell", "/usr/sbin/nologin", user],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(["chpasswd"], input=f"{user}:{password}\n", text=True, check=True)

        def in_node(node: str, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
            return _timed([tandem, "lab", "exec", "--lab", name, node, "--", tandem, *args])

        for _ in range(30):  # wait for both daemons to listen
            _t, p = in_node(
                "pcmk-2", "host", "auth", "pcmk-1", "pcmk-2", "-u", user, "-p", password
            )
            if p.returncode == 0:
                break
            time.sleep(1)
        print("host auth:", p.stdout.strip().replace("\n", "; "), p.stderr.strip())
        t, p = in_node("pcmk-2", "pcsd", "status", "pcmk-1", "pcmk-2")
        print(f"before crash: pcsd status {t:.2f}s -> {p.stdout.strip()!r}")
        # set up and start the cluster through the daemons (the CLI sends it to each node)
        for args in (("cluster", "setup", "--name", "mycluster", "pcmk-1", "pcmk-2"),
                     ("cluster", "start", "--all")):
            _t, p = in_node("pcmk-2", *args)
            print(f"{' '.join(args)}: rc={p.returncode} {p.stdout.strip().splitlines()[-1:]}"
                  f" {p.stderr.strip()}")
        for _ in range(60):
            _t, p = in_node("pcmk-2", "status")
            if "Online: [ pcmk-1 pcmk-2 ]" in p.stdout:
                break
            time.sleep(1)
        t, p = in_node("pcmk-2", "status")
        print(f"before crash: tandem status {t:.2f}s rc={p.returncode}")
        subprocess.run(
            [tandem, "lab", "crash", "--lab", name, "pcmk-1"], check=True, capture_output=True
        )
        for _ in range(3):
            t0, p0 = in_node("pcmk-2", "--version")
            t1, p1 = in_node("pcmk-2", "pcsd", "status", "pcmk-1", "pcmk-2")
            t2, p2 = in_node("pcmk-2", "status")
            pcsd_lines = [ln for ln in p2.stdout.splitlines() if "pcmk-1:" in ln]
            print(
                f"after crash: start-up alone {t0:.2f}s | pcsd status {t1:.2f}s -> "
                f"{p1.stdout.strip()!r} | tandem status {t2:.2f}s rc={p2.returncode} "
                f"pcmk-1 lines={pcsd_lines}"
            )
    finally:
        subprocess.run(["userdel", user], capture_output=True)
        lab_.down()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--lab", default=None, help="run the lab mode with this lab name")
    args = ap.parse_args()
    if args.lab:
        lab(args.lab)
    else:
        loopback(args.runs)


if __name__ == "__main__":
    main()
