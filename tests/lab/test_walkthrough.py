"""The walkthrough (shared/notes/seed-walkthrough.md) end to end, in lab ``wt``.

Real corosync, tandemd with its controller and executor, Debian's apache2 and
the unmodified ``ocf:heartbeat:IPaddr2`` / ``ocf:heartbeat:apache`` agents.
Every tandem command runs inside a node; ``curl`` runs on the lab host; the
steps are the methods of :class:`tandem.demo.Walkthrough` (the README's demo
runs the same ones).  The tests run in file order and share one cluster: each
starts from the state the previous one left, as the walkthrough's sections do.

Waits are bounded polls on a condition (``wait_for``); no timing is asserted
(bench/failover.py measures them).  Host auth uses a throwaway account of group
``haclient`` (as tests/lab/test_api_cluster.py: /etc/shadow is shared with the
machine, so no password is ever set on ``hacluster``); it is always deleted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tandem.demo import (
    CONSTRAINT_FULL,
    CREATE_CLUSTERIP,
    CREATE_WEBSITE,
    NODES,
    SECTION6,
    SECTION7_PREFER2,
    SECTION7_REMOVE,
    VIP,
    Walkthrough,
    throwaway_admin,
    wait_for,
)
from tandem.lab.testing import lab_fixture

pytestmark = pytest.mark.lab

lab = lab_fixture("wt", nodes=2)

BOTH_ON_1 = {"ClusterIP": "pcmk-1", "WebSite": "pcmk-1"}
BOTH_ON_2 = {"ClusterIP": "pcmk-2", "WebSite": "pcmk-2"}
PAGE = "<html><body>My Test Site - {}</body></html>"


@pytest.fixture(scope="module")
def admin() -> Iterator[tuple[str, str]]:
    with throwaway_admin("tdmwt") as account:
        yield account


@pytest.fixture(scope="module")
def wt(lab: object) -> Walkthrough:
    return Walkthrough(lab, echo=print)


def test_2_cluster_creation(wt: Walkthrough, admin: tuple[str, str]) -> None:
    wt.write_pages()
    p = wt.host_auth(*admin)
    assert p.stdout == "pcmk-1: Authorized\npcmk-2: Authorized\n"
    wt.setup_and_start()
    assert wt.setup_route == "api"  # from pcmk-1 only, through both nodes' tandemd-api
    wait_for(wt.both_online, 60, "both nodes online with quorum", poll=0.5)
    out = wt.tandem("pcmk-1", "status").stdout
    assert "Cluster name: mycluster" in out
    assert "No stonith devices and stonith-enabled is not false" in out
    assert "PCSD Status:\n  pcmk-1: Online\n  pcmk-2: Online\n" in out


def test_3_stonith_check(wt: Walkthrough) -> None:
    p = wt.tandem("pcmk-1", "verify", "-L", "-V")
    assert p.returncode != 0
    err = p.stdout + p.stderr
    assert "Resource start-up disabled since no STONITH resources have been defined" in err
    assert "Either configure some or disable STONITH with the stonith-enabled option" in err
    assert "NOTE: Clusters with shared data need STONITH to ensure data integrity" in err
    assert "Errors found during check: config not valid" in err
    assert wt.tandem("pcmk-1", "property", "set", "stonith-enabled=false").returncode == 0
    p = wt.tandem("pcmk-1", "verify", "-L", "-V")
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")


def test_4_virtual_ip(wt: Walkthrough) -> None:
    p = wt.tandem("pcmk-1", *CREATE_CLUSTERIP)
    assert p.returncode == 0, p.stderr
    holders = wait_for(lambda: wt.vip_nodes(), 60, "the VIP on some node's eth0")
    assert len(holders) == 1, holders  # on one node's eth0 only
    wt.wait_placement({"ClusterIP": holders[0]}, "pcmk-1")
    assert wt.tandem("pcmk-1", "resource", "--full").stdout == (
        " Resource: ClusterIP (class=ocf provider=heartbeat type=IPaddr2)\n"
        f"  Attributes: ip={VIP} cidr_netmask=32\n"
        "  Operations: start interval=0s timeout=20s (ClusterIP-start-interval-0s)\n"
        "              stop interval=0s timeout=20s (ClusterIP-stop-interval-0s)\n"
        "              monitor interval=30s (ClusterIP-monitor-interval-30s)\n"
    )


def test_5_vip_failover_and_no_failback(wt: Walkthrough) -> None:
    first = wt.vip_nodes()[0]
    other = NODES[1] if first == NODES[0] else NODES[0]
    p = wt.stop_node(first)
    assert p.stdout == (
        f"{first}: Stopping Cluster (tandemd)...\n{first}: Stopping Cluster (corosync)...\n"
    ), p.stderr
    wait_for(lambda: wt.vip_nodes() == [other], 60, f"the VIP on {other} only")
    p = wt.tandem(first, "status")
    assert p.returncode != 0
    assert "cluster is not currently running on this node" in p.stderr
    out = wt.tandem(other, "status").stdout
    assert f"Online: [ {other} ]" in out and f"OFFLINE: [ {first} ]" in out
    assert "partition with quorum" in out
    assert wt.where(other) == {"ClusterIP": other}

    assert wt.start_node(first).returncode == 0
    wait_for(lambda: wt.both_online(other), 60, "both online")
    wait_for(lambda: wt.probed(wt.cib(other), first, "ClusterIP"), 60, f"the probe on {first}")
    wt.wait_settled(other)
    assert wt.vip_nodes() == [other]  # no failback
    assert wt.where(other) == {"ClusterIP": other}

    if other != "pcmk-1":  # as the walkthrough: stop/start pcmk-2 (from pcmk-1) moves it back
        p = wt.stop_node(other, via="pcmk-1")
        assert p.returncode == 0, p.stderr
        wait_for(lambda: wt.vip_nodes() == ["pcmk-1"], 60, "the VIP back on pcmk-1")
        p = wt.start_node(other, via="pcmk-1")
        assert p.returncode == 0, p.stderr
        wait_for(wt.both_online, 60, "both online")


def test_6_apache_constraints_and_scores(wt: Walkthrough) -> None:
    assert wt.tandem("pcmk-1", "resource", "defaults", "resource-stickiness=100").returncode == 0
    p = wt.tandem("pcmk-1", *CREATE_WEBSITE)
    assert p.returncode == 0, p.stderr
    p = wt.tandem(
        "pcmk-1", "constraint", "colocation", "add", "WebSite", "with", "ClusterIP", "INFINITY"
    )
    assert p.returncode == 0, p.stderr
    assert wt.wait_settled("pcmk-1").row() == SECTION6["colocation"]
    assert (
        wt.tandem("pcmk-1", "constraint", "order", "ClusterIP", "then", "WebSite").returncode == 0
    )
    p = wt.tandem("pcmk-1", "constraint", "location", "WebSite", "prefers", "pcmk-1=250")
    assert p.returncode == 0, p.stderr
    assert wt.wait_settled("pcmk-1").row() == SECTION6["order+location"]
    assert wt.tandem("pcmk-1", "resource", "enable", "WebSite").returncode == 0
    wt.wait_placement(BOTH_ON_1, "pcmk-1")
    assert wt.wait_settled("pcmk-1").row() == SECTION6["enabled"]
    assert wait_for(lambda: wt.curl(), 30, "an answer at the VIP") == PAGE.format("pcmk-1")
    assert wt.vip_nodes() == ["pcmk-1"]
    assert wt.lab.node_pids("pcmk-1", "apache2") and not wt.lab.node_pids("pcmk-2", "apache2")


def test_7_moving_by_constraint_and_back(wt: Walkthrough) -> None:
    prefer2 = ("constraint", "location", "WebSite", "prefers", "pcmk-2=500")
    first = wt.first_row("pcmk-1", *prefer2)
    assert first.row() == SECTION7_PREFER2["first"]
    assert first.summary == [
        "Move       ClusterIP ( pcmk-1 -> pcmk-2 )",
        "Move       WebSite ( pcmk-1 -> pcmk-2 )",
    ]
    assert wt.tandem("pcmk-1", *prefer2).returncode == 0
    wt.wait_placement(BOTH_ON_2, "pcmk-1")
    assert wt.wait_settled("pcmk-1").row() == SECTION7_PREFER2["settled"]
    assert wt.tandem("pcmk-1", "constraint", "--full").stdout == CONSTRAINT_FULL
    assert wait_for(lambda: wt.curl(), 30, "an answer at the VIP") == PAGE.format("pcmk-2")
    assert wt.vip_nodes() == ["pcmk-2"]

    remove = ("constraint", "remove", "location-WebSite-pcmk-2-500")
    first = wt.first_row("pcmk-1", *remove)
    assert first.row() == SECTION7_REMOVE["first"]
    assert first.summary == [
        "Move       ClusterIP ( pcmk-2 -> pcmk-1 )",
        "Move       WebSite ( pcmk-2 -> pcmk-1 )",
    ]
    assert wt.tandem("pcmk-1", *remove).returncode == 0
    wt.wait_placement(BOTH_ON_1, "pcmk-1")
    assert wt.wait_settled("pcmk-1").row() == SECTION7_REMOVE["settled"]
    assert wait_for(lambda: wt.curl(), 30, "an answer at the VIP") == PAGE.format("pcmk-1")


def test_8_crash_of_the_active_node_and_failback(wt: Walkthrough) -> None:
    wt.lab.crash("pcmk-1")
    wt.wait_placement(BOTH_ON_2, "pcmk-2")
    assert wait_for(lambda: wt.curl(), 30, "an answer at the VIP") == PAGE.format("pcmk-2")
    assert wt.vip_nodes() == ["pcmk-2"]
    out = wt.tandem("pcmk-2", "status").stdout
    assert "OFFLINE: [ pcmk-1 ]" in out and "partition with quorum" in out
    assert "  pcmk-1: Offline\n  pcmk-2: Online\n" in out  # PCSD Status, no hang

    wt.lab.boot("pcmk-1")  # the management daemon starts at boot, the cluster does not
    p = wt.tandem("pcmk-1", "status")
    assert p.returncode != 0 and "cluster is not currently running on this node" in p.stderr
    assert wt.start_node("pcmk-1").returncode == 0
    wt.wait_placement(BOTH_ON_1, "pcmk-2")  # 250 beats the 200 of stickiness
    assert wait_for(lambda: wt.curl(), 30, "an answer at the VIP") == PAGE.format("pcmk-1")
    assert wt.vip_nodes() == ["pcmk-1"]


def test_httpd_killed_is_recovered_by_the_cgroup_event(wt: Walkthrough) -> None:
    assert wt.fail_count(wt.cib("pcmk-1"), "pcmk-1", "WebSite") == 0
    pids = wt.kill_httpd("pcmk-1")
    assert pids
    wait_for(lambda: wt.fail_count(wt.cib("pcmk-1"), "pcmk-1", "WebSite") >= 1, 30, "a fail count")
    assert wait_for(lambda: wt.curl(), 30, "an answer at the VIP") == PAGE.format("pcmk-1")
    wt.wait_placement(BOTH_ON_1, "pcmk-1")  # recovered in place (on-fail=restart)
    new = wt.lab.node_pids("pcmk-1", "apache2")
    assert new and not set(new) & set(pids)
    cib = wt.cib("pcmk-1")
    assert wt.fail_count(cib, "pcmk-1", "WebSite") == 1
    rec = wt.last_failure(cib, "pcmk-1", "WebSite")
    assert rec is not None
    assert (rec["operation"], rec["interval"], rec["rc-code"]) == ("monitor", "3000", "7")
    assert rec["tandem-trigger"] == "cgroup-empty"  # the event, not the 3 s interval
    # pcs status's section: the failed monitor stays listed until cleanup
    shown = wt.tandem("pcmk-2", "status").stdout
    assert "Failed Resource Actions:" in shown
    assert "WebSite 3s-interval monitor on pcmk-1 returned 'not running'" in shown


def test_why_cleanup_move_and_clear_on_the_live_cluster(wt: Walkthrough) -> None:
    # resource why: the live decision and what made it (the preference for pcmk-1).
    p = wt.tandem("pcmk-2", "resource", "why", "WebSite")
    assert p.returncode == 0, p.stderr
    assert "WebSite is active on: pcmk-1" in p.stdout
    assert "location-WebSite-pcmk-1-250" in p.stdout

    # cleanup forgets the failure the previous test left (fail count 1).
    assert wt.fail_count(wt.cib("pcmk-1"), "pcmk-1", "WebSite") == 1
    assert wt.tandem("pcmk-1", "resource", "cleanup", "WebSite").returncode == 0
    wait_for(
        lambda: wt.fail_count(wt.cib("pcmk-1"), "pcmk-1", "WebSite") == 0 or None,
        30,
        "the fail count cleared",
    )
    wt.wait_placement(BOTH_ON_1, "pcmk-1")
    assert "Failed Resource Actions:" not in wt.tandem("pcmk-2", "status").stdout

    # move (pcs 0.11): refused, since WebSite would come back at once (250 beats 200).
    p = wt.tandem("pcmk-1", "resource", "move", "WebSite", "pcmk-2")
    assert p.returncode != 0 and "Error:" in p.stderr
    assert "cli-prefer-WebSite" not in wt.tandem("pcmk-1", "constraint", "--full").stdout
    wt.wait_placement(BOTH_ON_1, "pcmk-1")

    # move-with-constraint keeps its constraint (status warns) until clear.
    assert wt.tandem("pcmk-1", "resource", "move-with-constraint", "WebSite", "pcmk-2").returncode == 0
    wt.wait_placement(BOTH_ON_2, "pcmk-1")
    out = wt.tandem("pcmk-2", "status").stdout
    assert "move constraints are still in place: 'WebSite'" in out
    assert "tandem resource clear" in out
    assert wt.tandem("pcmk-2", "resource", "clear", "WebSite").returncode == 0
    wt.wait_placement(BOTH_ON_1, "pcmk-2")
    assert "still in place" not in wt.tandem("pcmk-2", "status").stdout
    assert wait_for(lambda: wt.curl(), 30, "an answer at the VIP") == PAGE.format("pcmk-1")
