"""End to end in a 2-node lab, everything from pcmk-1 through the nodes' tandemd-api.

host auth (real PAM, throwaway haclient account), cluster setup (corosync.conf +
authkey sent to every daemon), cluster start/stop of pcmk-2 through its daemon,
/metrics against ``tandem status``, and after ``lab crash pcmk-1`` PCSD Status on
pcmk-2 says ``pcmk-1: Offline`` instead of hanging.

Every step is the administrator's command run on pcmk-1 (``tandem cluster
setup --name mycluster pcmk-1 pcmk-2``, ``cluster start --all``, ``cluster stop
pcmk-2``, ``cluster start pcmk-2``), which tandem/cli/cluster.py sends through
:mod:`tandem.api.remote` to each node's daemon.

The throwaway account is needed because /etc/shadow is shared by the machine
and the lab nodes: the test never sets a password on ``hacluster``.  It is
always deleted at the end.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tandem.demo import throwaway_admin
from tandem.demo import wait_for as poll_until
from tandem.lab.testing import lab_fixture

pytestmark = pytest.mark.lab

TANDEM = str(Path(sys.executable).parent / "tandem")
PYTHON = sys.executable

lab = lab_fixture("api", nodes=2)

@pytest.fixture(scope="module")
def admin() -> Iterator[tuple[str, str]]:
    with throwaway_admin("tdmtest") as account:
        yield account


def tandem(
    lab: Any, node: str, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return lab.exec(node, [TANDEM, *args], timeout=timeout)


def wait_for(check: Callable[[], Any], timeout: float = 90, what: str = "") -> Any:
    return poll_until(check, timeout, what, poll=1)


def online_in_status(lab: Any, node: str) -> set[str]:
    out = tandem(lab, node, "status").stdout
    m = re.search(r"\* Online: \[ (.*) \]", out)
    return set(m.group(1).split()) if m else set()


def metrics(lab: Any, from_node: str, of_node: str) -> dict[str, float]:
    p = lab.exec(
        from_node,
        ["curl", "-sk", "--max-time", "10", f"https://{of_node}:2224/metrics"],
        timeout=30,
    )
    out = {}
    for line in p.stdout.splitlines():
        if line and not line.startswith("#"):
            key, _, val = line.rpartition(" ")
            out[key] = float(val)
    return out


def placement_agrees(lab: Any, status_node: str, metrics_node: str) -> bool:
    """``tandem status`` resource lines and the metrics' active lines name the same nodes."""
    out = tandem(lab, status_node, "status").stdout
    shown: dict[str, set[str]] = {}
    for rid, where in re.findall(r"^\s+\* (\S+)\t\([^)]*\):\t (.*)$", out, re.M):
        shown[rid] = set(re.findall(r"Started (\S+)", where))
    m = metrics(lab, status_node, metrics_node)
    active: dict[str, set[str]] = {}
    for key, v in m.items():
        if key.startswith("ha_cluster_pacemaker_resources{") and 'status="active"' in key:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', key))
            active.setdefault(labels["resource"], set())
            if v == 1:
                active[labels["resource"]].add(labels["node"])
    return bool(shown) and shown == active


def node_online(m: dict[str, float], node: str) -> float | None:
    return m.get(f'ha_cluster_pacemaker_nodes{{node="{node}",status="online",type="member"}}')


def test_cluster_from_one_node_through_the_daemons(lab: Any, admin: tuple[str, str]) -> None:
    user, password = admin

    # 1. host auth from pcmk-1 (both daemons were started at boot by the lab)
    def auth() -> subprocess.CompletedProcess[str] | None:
        p = tandem(lab, "pcmk-1", "host", "auth", "pcmk-1", "pcmk-2", "-u", user, "-p", password)
        return p if p.returncode == 0 else None

    p = wait_for(auth, 60, "host auth")
    assert p.stdout == "pcmk-1: Authorized\npcmk-2: Authorized\n"
    bad = tandem(lab, "pcmk-1", "host", "auth", "pcmk-2", "-u", user, "-p", "wrong")
    assert bad.returncode == 1 and bad.stderr.startswith("Error: ") and bad.stderr.count("\n") == 1
    st = tandem(lab, "pcmk-1", "pcsd", "status", "pcmk-1", "pcmk-2")
    assert st.stdout == "pcmk-1: Online\npcmk-2: Online\n", st.stderr

    # 2. cluster setup: every node's daemon writes corosync.conf and the same authkey
    p = tandem(lab, "pcmk-1", "cluster", "setup", "--name", "mycluster", "pcmk-1", "pcmk-2")
    assert p.returncode == 0, p.stderr
    assert "pcmk-2: successful distribution of the file 'corosync.conf'" in p.stdout
    assert p.stdout.splitlines()[-1] == "Cluster has been successfully set up."
    keys = [lab.node_path(n, "/etc/corosync/authkey").read_bytes() for n in ("pcmk-1", "pcmk-2")]
    assert keys[0] == keys[1] and len(keys[0]) >= 16
    assert "pcmk-2" in lab.node_path("pcmk-2", "/etc/corosync/corosync.conf").read_text()

    # 3. cluster start --all through the daemons
    p = tandem(lab, "pcmk-1", "cluster", "start", "--all")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "pcmk-1: Starting Cluster...\npcmk-2: Starting Cluster...\n"
    wait_for(lambda: online_in_status(lab, "pcmk-1") == {"pcmk-1", "pcmk-2"}, 90, "both online")

    # 4. /metrics agrees with tandem status
    m = wait_for(
        lambda: (lambda mm: mm if node_online(mm, "pcmk-2") == 1 else None)(
            metrics(lab, "pcmk-1", "pcmk-2")
        ),
        60,
        "metrics of pcmk-2",
    )
    assert node_online(m, "pcmk-1") == 1
    assert m["ha_cluster_corosync_quorate"] == 1
    assert tandem(lab, "pcmk-1", "property", "set", "stonith-enabled=false").returncode == 0
    p = tandem(lab, "pcmk-1", "resource", "create", "d1", "ocf:heartbeat:Dummy")
    assert p.returncode == 0, p.stderr
    wait_for(lambda: placement_agrees(lab, "pcmk-1", "pcmk-2"), 60, "metrics vs status")

    # 5. stop and start pcmk-2 from pcmk-1
    p = tandem(lab, "pcmk-1", "cluster", "stop", "pcmk-2")  # two phases: tandemd, corosync
    assert p.returncode == 0, p.stderr
    assert p.stdout == (
        "pcmk-2: Stopping Cluster (tandemd)...\npcmk-2: Stopping Cluster (corosync)...\n"
    )
    wait_for(lambda: online_in_status(lab, "pcmk-1") == {"pcmk-1"}, 90, "pcmk-2 offline")
    assert tandem(lab, "pcmk-2", "status").returncode != 0  # its cluster is stopped
    p = tandem(lab, "pcmk-1", "cluster", "start", "pcmk-2")
    assert p.returncode == 0 and p.stdout == "pcmk-2: Starting Cluster...\n", p.stderr
    wait_for(lambda: online_in_status(lab, "pcmk-1") == {"pcmk-1", "pcmk-2"}, 90, "pcmk-2 back")

    # 6. crash pcmk-1 (where d1 runs): PCSD Status on pcmk-2 answers Offline, metrics follow
    p = tandem(lab, "pcmk-1", "constraint", "location", "d1", "prefers", "pcmk-1=100")
    assert p.returncode == 0, p.stderr
    wait_for(
        lambda: "d1\t(ocf:heartbeat:Dummy):\t Started pcmk-1" in tandem(lab, "pcmk-2", "status").stdout
        or None,
        60,
        "d1 on pcmk-1",
    )
    subprocess.run(
        [TANDEM, "lab", "crash", "--lab", "api", "pcmk-1"], check=True, capture_output=True
    )
    st = tandem(lab, "pcmk-2", "pcsd", "status", "pcmk-1", "pcmk-2")
    assert st.returncode == 1 and st.stdout == "pcmk-1: Offline\npcmk-2: Online\n"
    full = tandem(lab, "pcmk-2", "status", timeout=30)  # completes: no hang on the dead node
    assert full.returncode == 0, full.stderr
    pcsd = full.stdout.split("PCSD Status:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert pcsd == ["  pcmk-1: Offline", "  pcmk-2: Online"]
    assert "  tandemd-api: active/enabled" in full.stdout
    # (pcmk-2 has tokens for both nodes: cluster setup shared pcmk-1's known-hosts)
    wait_for(
        lambda: node_online(metrics(lab, "pcmk-2", "pcmk-2"), "pcmk-1") == 0,
        90,
        "pcmk-1 offline in metrics",
    )
    assert online_in_status(lab, "pcmk-2") == {"pcmk-2"}
    wait_for(lambda: placement_agrees(lab, "pcmk-2", "pcmk-2"), 60, "metrics vs status after")
    # tandem's own metrics: the survivor's controller ran the recovery and timed it
    m = wait_for(
        lambda: (lambda mm: mm if "tandem_last_failover_seconds" in mm else None)(
            metrics(lab, "pcmk-2", "pcmk-2")
        ),
        60,
        "tandem_last_failover_seconds on pcmk-2",
    )
    assert m["tandem_transitions_total"] >= 1
    assert m["tandem_last_failover_seconds"] >= 0
