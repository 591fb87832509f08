"""/metrics: ha_cluster_exporter names and values, checked against Pacemaker's own reading.

The oracle for node and resource state is the scheduler corpus: each
``summary/NAME.summary`` begins with crm_simulate's "Current cluster status"
for ``xml/NAME.xml``; the metrics computed from the same XML must agree.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tandem.api.metrics import (
    ClusterCollector,
    CorosyncInfo,
    parse_cfgtool,
    parse_quorumtool,
    render_metrics,
)

CIB = """<cib have-quorum="1" dc-uuid="2" cib-last-written="Wed Jul 27 00:49:16 2022">
 <configuration>
  <crm_config><cluster_property_set id="o">
    <nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
  <nodes>
   <node id="1" uname="pcmk-1"/>
   <node id="2" uname="pcmk-2"><instance_attributes id="n2">
     <nvpair id="n2s" name="standby" value="on"/></instance_attributes></node>
  </nodes>
  <resources>
   <primitive id="ClusterIP" class="ocf" provider="heartbeat" type="IPaddr2"/>
   <group id="g"><primitive id="WebSite" class="ocf" provider="heartbeat" type="apache"/></group>
  </resources>
 </configuration>
 <status>
  <node_state id="1" uname="pcmk-1" in_ccm="true" crmd="online" join="member" expected="member">
   <lrm id="1"><lrm_resources>
    <lrm_resource id="ClusterIP" class="ocf" provider="heartbeat" type="IPaddr2">
     <lrm_rsc_op id="a" operation="monitor" call-id="1" rc-code="7" op-status="0"
        transition-key="1:0:7:x"/>
     <lrm_rsc_op id="b" operation="start" call-id="2" rc-code="0" op-status="0"
        transition-key="2:0:0:x"/>
    </lrm_resource>
    <lrm_resource id="WebSite" class="ocf" provider="heartbeat" type="apache">
     <lrm_rsc_op id="c" operation="start" call-id="3" rc-code="1" op-status="0"
        transition-key="3:0:0:x"/>
    </lrm_resource>
   </lrm_resources></lrm>
  </node_state>
  <node_state id="2" uname="pcmk-2" in_ccm="true" crmd="online" join="member" expected="member"/>
 </status>
</cib>"""


def scrape(xml: str | None, corosync: CorosyncInfo | None = None) -> dict[tuple, float]:
    body, ctype = render_metrics(lambda: xml, corosync_source=lambda: corosync, stats_source=None)
    assert ctype.startswith("text/plain")
    out = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(metrics: dict, name: str, **labels: str) -> float:
    hits = [
        v for (n, ls), v in metrics.items()
        if n == name and all(dict(ls).get(k) == val for k, val in labels.items())
    ]
    assert len(hits) == 1, (name, labels, hits)
    return hits[0]


def test_node_metrics() -> None:
    m = scrape(CIB)
    assert value(m, "ha_cluster_pacemaker_nodes", node="pcmk-1", status="online", type="member") == 1
    assert value(m, "ha_cluster_pacemaker_nodes", node="pcmk-1", status="standby") == 0
    assert value(m, "ha_cluster_pacemaker_nodes", node="pcmk-2", status="standby") == 1
    assert value(m, "ha_cluster_pacemaker_nodes", node="pcmk-2", status="dc") == 1
    assert value(m, "ha_cluster_pacemaker_nodes", node="pcmk-1", status="dc") == 0
    # one line per status per node
    assert len([k for k in m if k[0] == "ha_cluster_pacemaker_nodes"]) == 2 * 9


def test_resource_metrics() -> None:
    m = scrape(CIB)
    ip = {"resource": "ClusterIP", "node": "pcmk-1", "role": "started"}
    assert value(m, "ha_cluster_pacemaker_resources", status="active", **ip) == 1
    assert value(m, "ha_cluster_pacemaker_resources", status="failed", **ip) == 0
    assert value(m, "ha_cluster_pacemaker_resources", status="active", agent="ocf:heartbeat:IPaddr2",
                 managed="true", group="", clone="", resource="ClusterIP") == 1
    web = {"resource": "WebSite", "group": "g"}
    assert value(m, "ha_cluster_pacemaker_resources", status="failed", **web) == 1
    assert value(m, "ha_cluster_pacemaker_stonith_enabled") == 0
    assert value(m, "ha_cluster_corosync_quorate") == 1  # from have-quorum without corosync tools
    assert value(m, "ha_cluster_pacemaker_config_last_change") > 1.6e9


def test_stopped_resource_has_a_stopped_line_without_node() -> None:
    xml = CIB.replace('rc-code="0" op-status="0"\n        transition-key="2:0:0:x"/>',
                      'rc-code="0" op-status="0"\n        transition-key="2:0:0:x"/>'
                      '<lrm_rsc_op id="d" operation="stop" call-id="9" rc-code="0" '
                      'op-status="0" transition-key="9:0:0:x"/>')
    m = scrape(xml)
    assert value(m, "ha_cluster_pacemaker_resources", resource="ClusterIP", status="active",
                 node="", role="stopped") == 0


def test_no_cib_no_pacemaker_metrics() -> None:
    m = scrape(None)
    assert not [k for k in m if k[0].startswith("ha_cluster_pacemaker")]


QUORUMTOOL = """Quorum information
------------------
Date:             Wed Nov 25 12:00:00 2026
Quorum provider:  corosync_votequorum
Nodes:            2
Node ID:          1
Ring ID:          1.e
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   2
Highest expected: 2
Total votes:      2
Quorum:           1
Flags:            2Node Quorate WaitForAll

Membership information
----------------------
    Nodeid      Votes Name
         1          1 pcmk-1 (local)
         2          1 pcmk-2
"""

CFGTOOL = """Local node ID 1, transport knet
LINK ID 0 udp
\taddr\t= 192.0.2.101
\tstatus:
\t\tnodeid:          1:\tlocalhost
\t\tnodeid:          2:\tconnected
LINK ID 1 udp
\taddr\t= 198.51.100.101
\tstatus:
\t\tnodeid:          1:\tlocalhost
\t\tnodeid:          2:\tdisconnected
"""


def test_corosync_metrics_from_tool_output() -> None:
    info = CorosyncInfo()
    parse_quorumtool(QUORUMTOOL, info)
    parse_cfgtool(CFGTOOL, info)
    assert info.quorate is True and info.ring_id == "1.e" and info.local_id == "1"
    assert info.votes == {"expected_votes": 2, "highest_expected": 2, "total_votes": 2, "quorum": 1}
    assert info.members == [("1", "pcmk-1", 1, True), ("2", "pcmk-2", 1, False)]
    m = scrape(None, info)
    assert value(m, "ha_cluster_corosync_quorate") == 1
    assert value(m, "ha_cluster_corosync_ring_errors") == 1
    assert value(m, "ha_cluster_corosync_rings", number="0", address="192.0.2.101") == 1
    assert value(m, "ha_cluster_corosync_rings", number="1") == 0
    assert value(m, "ha_cluster_corosync_quorum_votes", type="quorum") == 1
    assert value(m, "ha_cluster_corosync_member_votes", node="pcmk-1", local="true") == 1


def test_tandem_own_metrics_when_published() -> None:
    collector = ClusterCollector(
        None, None, lambda: {"transitions_total": 12, "last_failover_seconds": 4.5}
    )
    names = {s.name: s.value for fam in collector.collect() for s in fam.samples}
    assert names["tandem_transitions_total"] == 12
    assert names["tandem_last_failover_seconds"] == 4.5


# --------------------------------------------------------------------------- corpus oracle

_RSC_LINE = re.compile(
    r"^    \* (\S+)\t\(([^)]*)\):\t (?:Started (\S+)|Stopped)(?: \([^)]*\))*\s*$"
)


def _current_status(summary: str) -> tuple[set[str], dict[str, str | None]] | None:
    """Online nodes and {primitive: node|None} when the status block is that simple."""
    block = summary.split("Current cluster status:", 1)[1].split("\n\n", 2)
    if len(block) < 2:
        return None
    nodes_part, rsc_part = block[0], block[1]
    online: set[str] = set()
    for line in nodes_part.splitlines():
        if not line.strip() or line.strip() == "* Node List:":
            continue
        m = re.match(r"^    \* Online: \[ (.*) \]$", line)
        if m:
            online |= set(m.group(1).split())
        elif not re.match(r"^    \* OFFLINE: \[", line):
            return None
    lines = rsc_part.splitlines()
    if not lines or "Full List of Resources" not in lines[0]:
        return None
    placement: dict[str, str | None] = {}
    for line in lines[1:]:
        m = _RSC_LINE.match(line)
        if m is None:
            return None  # groups, clones, failed... are out of this simple oracle
        placement[m.group(1)] = m.group(3)
    return online, placement


def _simple_cases(corpus: Path) -> list[str]:
    out = []
    for summ in sorted((corpus / "summary").glob("*.summary")):
        parsed = _current_status(summ.read_text())
        if parsed and parsed[1]:
            out.append(summ.stem)
    return out


def test_metrics_agree_with_crm_simulate_on_the_corpus(corpus: Path) -> None:
    names = _simple_cases(corpus)
    assert len(names) >= 40
    mismatches = []
    for name in names:
        online, placement = _current_status((corpus / "summary" / f"{name}.summary").read_text())
        m = scrape((corpus / "xml" / f"{name}.xml").read_text())
        got_online = {
            dict(ls)["node"] for (n, ls), v in m.items()
            if n == "ha_cluster_pacemaker_nodes" and dict(ls)["status"] == "online" and v == 1
        }
        got_active: dict[str, set[str]] = {}
        for (n, ls), v in m.items():
            d = dict(ls)
            if n == "ha_cluster_pacemaker_resources" and d["status"] == "active" and v == 1:
                got_active.setdefault(d["resource"], set()).add(d["node"])
        want_active = {r: {node} for r, node in placement.items() if node}
        got = {r: s for r, s in got_active.items() if r in placement}
        if got_online != online or got != want_active:
            mismatches.append(name)
    assert mismatches == []


def test_unclean_nodes_agree_with_crm_simulate_on_the_corpus(corpus: Path) -> None:
    """Nodes shown ``UNCLEAN (offline)`` vs ``OFFLINE`` by crm_simulate, and our unclean label.

    The collector's rule (fencing on, and expected up but out of the membership, or never
    seen with startup-fencing) is simpler than Pacemaker's: a floor of 90 % agreement.
    """
    agree, differ = 0, []
    for xml in sorted((corpus / "xml").glob("*.xml")):
        current = (corpus / "summary" / f"{xml.stem}.summary").read_text()
        current = current.split("Transition Summary")[0]
        m = scrape(xml.read_text())
        for (name, labels), v in m.items():
            d = dict(labels)
            if name != "ha_cluster_pacemaker_nodes" or d["status"] != "unclean":
                continue
            node = re.escape(d["node"])
            if re.search(rf"Node {node}: UNCLEAN \(offline\)", current):
                want = 1.0
            elif re.search(rf"OFFLINE: \[[^\]]*(?<!\S){node}(?!\S)", current):
                want = 0.0
            else:
                continue
            if v == want:
                agree += 1
            else:
                differ.append((xml.stem, d["node"]))
    assert agree >= 100
    assert len(differ) <= (agree + len(differ)) // 10, differ


def test_live_stats_read_from_the_daemon_info(monkeypatch: pytest.MonkeyPatch) -> None:
    from tandem.api import metrics
    from tandem.daemon import client as dclient

    monkeypatch.delattr(dclient, "get_stats", raising=False)
    answers = {"info": {"name": "pcmk-1", "transitions_total": 7, "last_failover_seconds": 3.25}}
    monkeypatch.setattr(dclient, "call", lambda cmd, timeout=60.0, **_kw: answers[cmd])
    assert metrics.live_stats_source() == {"transitions_total": 7.0, "last_failover_seconds": 3.25}
    answers["info"] = {"name": "pcmk-1"}  # not published yet: no tandem_* lines at all
    assert metrics.live_stats_source() is None
