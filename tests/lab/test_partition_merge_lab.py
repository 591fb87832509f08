"""Partition merge on the real corosync (lab ``pmg``, 3 nodes, ``ocf:heartbeat:Dummy``).

After ``lab heal`` tandemd's join sync keeps one side's CIB, status included.
Every node's controller must then write its own operation history back (its
``lrm`` gets a new ``tandem-asserted`` stamp, and its log says so), and the DC
must plan on that re-asserted status:

1. D runs on pcmk-3; pcmk-3 is cut off.  The majority (quorum) recovers D on
   pcmk-1 or pcmk-2; pcmk-3 (no quorum, no-quorum-policy=stop) stops it.  A
   configuration change made on pcmk-3 during the split gives pcmk-3's copy
   the higher epoch, so *its* copy wins the merge: that copy never saw the
   majority's start.  Without re-assertion the DC believes D runs nowhere and
   starts it a second time; with it D stays where it runs, once.
2. no-quorum-policy=ignore, the node running D is cut off: both sides run D
   (fencing is disabled, as Pacemaker without fencing).  After the heal the
   DC sees D active on two nodes and recovers it as multiple-active=stop_start
   says: stopped on both, started on one.

The truth about where D runs is the Dummy's state file, private to each node's
/run.  The tests run in file order on one cluster; waits are bounded polls.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from tandem.demo import wait_for as poll_until
from tandem.lab.api import Lab, venv_dir
from tandem.lab.testing import lab_fixture

pytestmark = pytest.mark.lab

TANDEM = str(venv_dir() / "bin" / "tandem")
STATE = "/run/pmg-D.state"
REASSERT_LOG = "re-asserts its operation history after the membership grew"
NAMES = ["pcmk-1", "pcmk-2", "pcmk-3"]

lab3 = lab_fixture("pmg", nodes=3, enable_api=False)


def host(lab: Lab, *args: str) -> str:
    cp = subprocess.run([TANDEM, *args], capture_output=True, text=True, timeout=120,
                        env={**os.environ, "TANDEM_LAB": lab.name})
    assert cp.returncode == 0, f"tandem {' '.join(args)} -> {cp.returncode}\n{cp.stdout}{cp.stderr}"
    return cp.stdout


def tandem(lab: Lab, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cp = lab.exec(name, [TANDEM, *args], timeout=120)
    if check:
        assert cp.returncode == 0, f"{name}: tandem {' '.join(args)}\n{cp.stdout}{cp.stderr}"
    return cp


def wait_for(what: str, pred: Callable[[], Any], timeout: float = 90.0) -> Any:
    return poll_until(pred, timeout, what, poll=0.5)


def running(lab: Lab) -> list[str]:
    """Where D really runs: the nodes whose /run has the Dummy's state file."""
    return [n for n in NAMES if lab.exec(n, ["test", "-e", STATE], timeout=30).returncode == 0]


def status(lab: Lab, name: str) -> str:
    cp = tandem(lab, name, "status", check=False)
    return cp.stdout if cp.returncode == 0 else ""


def d_line(text: str) -> str:
    m = re.search(r"^\s*\* D\t\(ocf:heartbeat:Dummy\):\t (.*)$", text, re.M)
    return m.group(1) if m else ""


def online(text: str) -> str:
    m = re.search(r"^\s*\* Online: \[ (.*) \]$", text, re.M)
    return m.group(1) if m else ""


def cib(lab: Lab, name: str) -> etree._Element:
    return etree.fromstring(tandem(lab, name, "cib", "show").stdout.encode())


def stamps(root: etree._Element) -> dict[str, str | None]:
    return {ns.get("uname", ""): (ns.find("lrm").get("tandem-asserted") if ns.find("lrm") is not None
                                  else None)
            for ns in root.iterfind("status/node_state")}


def last_op(root: etree._Element, node: str) -> str | None:
    op = root.find(f"status/node_state[@uname='{node}']/lrm/lrm_resources/lrm_resource[@id='D']"
                   "/lrm_rsc_op[@id='D_last_0']")
    return None if op is None else f"{op.get('operation')}:{op.get('rc-code')}"


def log_count(lab: Lab, name: str, text: str) -> int:
    cp = lab.exec(name, ["cat", "/var/log/tandem/tandemd.log"], timeout=30)
    return cp.stdout.count(text)


def settled_everywhere(lab: Lab) -> str | None:
    """D shown Started on one node, the same by every node, all three Online; else None."""
    lines = set()
    for n in NAMES:
        text = status(lab, n)
        if online(text) != " ".join(NAMES) or "partition with quorum" not in text:
            return None
        lines.add(d_line(text))
    if len(lines) != 1:
        return None
    line = lines.pop()
    m = re.fullmatch(r"Started (pcmk-\d)", line)
    return m.group(1) if m else None


@pytest.fixture(scope="module")
def cl(lab3: Lab) -> Lab:
    host(lab3, "cluster", "setup", "--name", "pmg", *NAMES)
    host(lab3, "cluster", "start", "--all", "--wait=60")
    wait_for("all three Online", lambda: all(online(status(lab3, n)) == " ".join(NAMES) for n in NAMES))
    tandem(lab3, "pcmk-1", "property", "set", "stonith-enabled=false")
    tandem(lab3, "pcmk-1", "resource", "defaults", "resource-stickiness=200")
    tandem(lab3, "pcmk-1", "resource", "create", "D", "ocf:heartbeat:Dummy", f"state={STATE}",
           "op", "monitor", "interval=3s", "--disabled")
    tandem(lab3, "pcmk-1", "constraint", "location", "D", "prefers", "pcmk-3=100")
    tandem(lab3, "pcmk-1", "resource", "enable", "D")
    wait_for("D started on pcmk-3", lambda: settled_everywhere(lab3) == "pcmk-3"
             and running(lab3) == ["pcmk-3"])
    return lab3


def test_minority_copy_wins_the_merge_and_d_still_runs_once(cl: Lab) -> None:
    cl.partition(["pcmk-3"])
    wait_for("pcmk-3 without quorum, D stopped there and recovered on the majority",
             lambda: "WITHOUT quorum" in status(cl, "pcmk-3")
             and d_line(status(cl, "pcmk-1")) in ("Started pcmk-1", "Started pcmk-2")
             and len(r := running(cl)) == 1 and r[0] != "pcmk-3")
    where = running(cl)[0]
    # a change on the minority side: pcmk-3's copy gets the higher epoch and wins the merge
    tandem(cl, "pcmk-3", "property", "set", "cluster-recheck-interval=10min")
    before = stamps(cib(cl, "pcmk-1"))
    logs = {n: log_count(cl, n, REASSERT_LOG) for n in NAMES}
    cl.heal()
    wait_for("every node agrees D runs on one node", lambda: settled_everywhere(cl))
    # the merged CIB is pcmk-3's (its configuration change is there)
    root = cib(cl, "pcmk-2")
    assert root.find("configuration/crm_config//nvpair[@name='cluster-recheck-interval']") is not None
    # every node re-asserted its own history after the merge
    after = wait_for("three new stamps", lambda: (s := stamps(cib(cl, "pcmk-2")))
                     and all(s.get(n) and s[n] != before.get(n) for n in NAMES) and s)
    assert len(set(after.values())) == 1
    assert all(log_count(cl, n, REASSERT_LOG) > logs[n] for n in NAMES)
    # D never ran twice and stayed where the majority started it
    assert running(cl) == [where]
    assert settled_everywhere(cl) == where
    assert last_op(root, where) == "start:0"
    assert last_op(root, "pcmk-3") == "stop:0"
    # it stays that way (a few monitor intervals)
    time.sleep(7)
    assert running(cl) == [where] and settled_everywhere(cl) == where


def test_active_on_both_sides_is_stopped_everywhere_and_started_once(cl: Lab) -> None:
    tandem(cl, "pcmk-1", "property", "set", "no-quorum-policy=ignore")
    where = wait_for("D settled", lambda: settled_everywhere(cl))
    cl.partition([where])
    wait_for("D running on both sides (split brain, fencing disabled)",
             lambda: len(running(cl)) == 2, timeout=120)
    both = running(cl)
    cl.heal()
    final = wait_for("every node agrees D runs on one node, and it really does",
                     lambda: (w := settled_everywhere(cl)) and running(cl) == [w] and w)
    root = cib(cl, final)
    # multiple-active=stop_start: stopped on both nodes, then started on one
    for n in both:
        if n != final:
            assert last_op(root, n) == "stop:0"
    assert last_op(root, final) == "start:0"
    assert running(cl) == [final]
