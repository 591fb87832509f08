"""``tandem status`` after real failures, against crm_mon 2.1.5 on the live CIB (lab ``stf``).

Two nodes, real corosync and tandemd, the unmodified ``ocf:heartbeat:Dummy``
agent with a 3 s monitor.  The Dummy's state file is removed (the service
"dies"): the monitor reports rc 7 and the DC recovers it.  ``tandem status``
must then show the failed action exactly as Debian's crm_mon renders the CIB
that ``tandem cluster cib`` prints inside the node; ``resource cleanup`` must
make it disappear.  Then the node running D1 fails again and crashes (fencing
disabled): the survivor's status lists D1 on the survivor only, and no failed
action of the lost node, again as crm_mon shows it.

The tests run in file order on one cluster.  Waits are bounded polls.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from tandem.demo import NODES, StepFailed, Walkthrough, parse_status, wait_for
from tandem.lab.testing import lab_fixture

pytestmark = pytest.mark.lab

lab = lab_fixture("stf", nodes=2)

CRM_MON = shutil.which("crm_mon")
STATE = "/run/stf-D1.state"
FAILED_TITLE = "Failed Resource Actions:"


@pytest.fixture(scope="module")
def cl(lab: object) -> Iterator[Walkthrough]:
    """The running cluster with D1 (ocf:heartbeat:Dummy, monitor every 3 s) started."""
    if CRM_MON is None:
        pytest.fail("crm_mon (pacemaker-cli-utils) is needed as the oracle: scripts/setup.sh installs it")
    w = Walkthrough(lab, echo=print)
    w.setup_and_start()
    wait_for(w.both_online, 60, "both nodes online with quorum", poll=0.5)
    assert w.tandem("pcmk-1", "property", "set", "stonith-enabled=false").returncode == 0
    p = w.tandem("pcmk-1", "resource", "create", "D1", "ocf:heartbeat:Dummy", f"state={STATE}",
                 "op", "monitor", "interval=3s")
    assert p.returncode == 0, p.stderr
    wait_for(lambda: running_node(w, "pcmk-1"), 60, "D1 started")
    yield w


def running_node(w: Walkthrough, via: str) -> str | None:
    state = parse_status(w.tandem(via, "status", show=False).stdout).get("D1", "")
    return state.split()[1] if state.startswith("Started ") and len(state.split()) == 2 else None


def status_body(w: Walkthrough, via: str) -> list[str]:
    """``tandem status`` on ``via`` from "Node List:" to the end of the crm_mon part."""
    p = w.tandem(via, "status", show=False)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    body = lines[lines.index("Node List:"):]
    end = next(i for i, line in enumerate(body) if line in ("PCSD Status:", "Daemon Status:"))
    body = body[:end]
    while body and body[-1] == "":
        body.pop()
    return body


def crm_mon_body(w: Walkthrough, via: str, *args: str) -> list[str]:
    """crm_mon -1 --inactive on the live CIB (``tandem cluster cib`` inside ``via``)."""
    p = w.tandem(via, "cluster", "cib", show=False)
    assert p.returncode == 0, p.stderr
    with tempfile.NamedTemporaryFile("w", suffix=".xml", prefix="stf-cib-") as f:
        f.write(p.stdout)
        f.flush()
        out = subprocess.run([CRM_MON, "-1", "--inactive", *args], env={**os.environ, "CIB_file": f.name},
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.rstrip("\n").split("\n")
    return lines[lines.index("Node List:"):]


def same_as_crm_mon(w: Walkthrough, via: str) -> tuple[list[str], list[str]]:
    """Status and crm_mon's rendering of the same moment (retried while the CIB moves under us)."""
    last: tuple[list[str], list[str]] = ([], [])

    def check() -> bool:
        nonlocal last
        a = status_body(w, via)
        b = crm_mon_body(w, via)
        last = (a, b)
        return a == b and a == status_body(w, via)

    with contextlib.suppress(StepFailed):  # the caller's assertion shows the difference
        wait_for(check, 20, "tandem status equal to crm_mon's rendering", poll=0.5)
    print("\n".join([f"[{via}]# tandem status   (from Node List: on)", *last[0]]))
    return last


def kill_d1(w: Walkthrough, node: str) -> None:
    """The service dies: Dummy's monitor finds no state file and returns 7 (not running)."""
    w.node_sh(node, ["rm", "-f", STATE])


def failed_section(body: list[str]) -> list[str]:
    if FAILED_TITLE not in body:
        return []
    start = body.index(FAILED_TITLE)
    end = body.index("", start) if "" in body[start:] else len(body)
    return body[start:end]


def test_failed_monitor_is_shown_like_crm_mon(cl: Walkthrough) -> None:
    node = running_node(cl, "pcmk-1")
    assert node in NODES
    kill_d1(cl, node)
    # recovered in place (on-fail=restart), with the failure on record
    wait_for(lambda: FAILED_TITLE in status_body(cl, node) and running_node(cl, node) == node, 60,
             "the failed monitor in tandem status and D1 started again")
    assert Walkthrough.fail_count(cl.cib(node), node, "D1") == 1
    ours, oracle = same_as_crm_mon(cl, node)
    assert ours == oracle
    failed = failed_section(ours)
    assert len(failed) == 2, failed
    assert failed[1].startswith(f"  * D1 3s-interval monitor on {node} returned 'not running'")
    # the other node's status says the same (one replicated CIB)
    other = NODES[1] if node == NODES[0] else NODES[0]
    assert failed_section(status_body(cl, other)) == failed
    # pcs status --full's details, from crm_mon --show-detail on the same CIB
    detail = failed_section(crm_mon_body(cl, node, "--show-detail"))
    assert detail[1].startswith(f"  * D1_monitor_3000 on {node} 'not running' (7): call=")


def test_cleanup_makes_it_disappear(cl: Walkthrough) -> None:
    node = running_node(cl, "pcmk-1")
    assert cl.tandem(node, "resource", "cleanup", "D1").returncode == 0
    wait_for(lambda: FAILED_TITLE not in status_body(cl, node) and running_node(cl, node) is not None, 60,
             "no failed action after cleanup, D1 started")
    ours, oracle = same_as_crm_mon(cl, node)
    assert ours == oracle
    assert FAILED_TITLE not in oracle


def test_crash_lists_the_resource_on_the_survivor_only(cl: Walkthrough) -> None:
    node = running_node(cl, "pcmk-1")
    survivor = NODES[1] if node == NODES[0] else NODES[0]
    kill_d1(cl, node)  # a failure on record on the node about to die
    wait_for(lambda: FAILED_TITLE in status_body(cl, survivor), 60, "the failure on record")
    cl.lab.crash(node)
    wait_for(lambda: running_node(cl, survivor) == survivor, 60, f"D1 started on {survivor}")
    ours, oracle = same_as_crm_mon(cl, survivor)
    assert ours == oracle
    assert f"  * D1\t(ocf:heartbeat:Dummy):\t Started {survivor}" in ours
    assert f"  * OFFLINE: [ {node} ]" in ours
    assert FAILED_TITLE not in ours  # the lost node's failure is not listed, as crm_mon
