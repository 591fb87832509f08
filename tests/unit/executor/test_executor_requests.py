"""OpRequest constructors: from a transition graph action and from a CIB resource."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from tandem.cib.digest import op_digest
from tandem.daemon.executor.requests import request_from_cib, request_from_graph_op
from tandem.errors import CibError

CIB = b"""<cib><configuration><crm_config/><nodes/>
<resources>
  <primitive id="ClusterIP" class="ocf" provider="heartbeat" type="IPaddr2">
    <instance_attributes id="ClusterIP-ia">
      <nvpair id="a1" name="ip" value="192.0.2.100"/>
      <nvpair id="a2" name="cidr_netmask" value="32"/>
    </instance_attributes>
    <operations>
      <op id="ClusterIP-monitor-interval-30s" name="monitor" interval="30s"/>
      <op id="ClusterIP-start" name="start" interval="0s" timeout="45s"/>
    </operations>
  </primitive>
  <group id="g">
    <meta_attributes id="g-m"><nvpair id="g-m1" name="target-role" value="Started"/>
    </meta_attributes>
    <primitive id="WebSite" class="ocf" provider="heartbeat" type="apache">
      <instance_attributes id="w-ia">
        <nvpair id="w1" name="configfile" value="/etc/apache2/apache2.conf"/>
      </instance_attributes>
      <meta_attributes id="w-m"><nvpair id="w-m1" name="cgroup-watch" value="false"/>
      </meta_attributes>
      <operations>
        <op id="w-mon" name="monitor" interval="1min" timeout="25s">
          <instance_attributes id="w-mon-ia">
            <nvpair id="w-mon-1" name="OCF_CHECK_LEVEL" value="10"/>
          </instance_attributes>
        </op>
      </operations>
    </primitive>
  </group>
</resources>
<constraints/>
<rsc_defaults><meta_attributes id="rd"><nvpair id="rd1" name="resource-stickiness" value="100"/>
</meta_attributes></rsc_defaults>
<op_defaults><meta_attributes id="od"><nvpair id="od1" name="timeout" value="240s"/>
</meta_attributes></op_defaults>
</configuration><status/></cib>"""


@pytest.fixture
def cib() -> etree._Element:
    return etree.fromstring(CIB)


def test_cib_monitor_digest_matches_walkthrough(cib: etree._Element) -> None:
    req = request_from_cib(cib, "ClusterIP", "monitor", 30000)
    assert str(req.spec) == "ocf:heartbeat:IPaddr2"
    # no timeout on the op: op_defaults' 240 s ... which changes the digest
    assert req.timeout_ms == 240000
    assert op_digest(req.params, req.op_params, interval_ms=30000, timeout_ms=req.timeout_ms) \
        != "75093a4c7a2174e765eab8faf3b43b1d"
    start = request_from_cib(cib, "ClusterIP", "start")
    assert start.timeout_ms == 45000
    assert op_digest(start.params, start.op_params) == "8aa05eaf0a3b23e83d69ded4e3744164"
    assert start.meta["resource-stickiness"] == "100"


def test_cib_without_op_defaults_uses_20s(cib: etree._Element) -> None:
    od = cib.find(".//op_defaults")
    od.getparent().remove(od)
    req = request_from_cib(cib, "ClusterIP", "monitor", 30000)
    assert req.timeout_ms == 20000
    assert op_digest(req.params, req.op_params, interval_ms=30000, timeout_ms=req.timeout_ms) \
        == "75093a4c7a2174e765eab8faf3b43b1d"


def test_cib_group_meta_op_params_and_probe_timeout(cib: etree._Element) -> None:
    req = request_from_cib(cib, "WebSite", "monitor", 60000)
    assert req.meta["target-role"] == "Started"
    assert req.cgroup_watch is False
    assert dict(req.op_params) == {"OCF_CHECK_LEVEL": "10"}
    assert req.timeout_ms == 25000
    probe = request_from_cib(cib, "WebSite", "monitor", 0)
    assert probe.timeout_ms == 25000 and probe.op_params  # from the first monitor op
    assert probe.is_probe and probe.expected_rc == 7


def test_cib_unknown_resource(cib: etree._Element) -> None:
    with pytest.raises(CibError) as exc:
        request_from_cib(cib, "Nope", "start")
    assert exc.value.code == "RESOURCE_NOT_FOUND"


def test_graph_action(corpus: Path) -> None:
    exp = etree.parse(str(corpus / "exp" / "group-anticolocation.exp")).getroot()
    op = next(o for o in exp.iter("rsc_op") if o.get("operation_key") == "member1a_monitor_10000")
    req = request_from_graph_op(op, 1, "dc-uuid")
    assert req.rsc_id == "member1a"
    assert str(req.spec) == "ocf:pacemaker:Dummy"
    assert (req.action, req.interval_ms, req.timeout_ms) == ("monitor", 10000, 20000)
    assert req.transition_key == f"{op.get('id')}:1:0:dc-uuid"
    assert "on_node" not in req.meta and "timeout" not in req.meta


def _digest(req) -> str:  # type: ignore[no-untyped-def]
    return op_digest(req.params, req.op_params, interval_ms=req.interval_ms,
                     timeout_ms=req.timeout_ms)


def test_graph_and_cib_roads_agree(corpus: Path) -> None:
    """For every resource action of some corpus graphs, both constructors give one digest."""
    checked = 0
    for name in ("group-anticolocation", "clone-anon-failcount", "1-a-then-bm-move-b",
                 "rec-node-13", "order-serialize"):
        xml = corpus / "xml" / f"{name}.xml"
        exp = corpus / "exp" / f"{name}.exp"
        if not (xml.exists() and exp.exists()):
            continue
        cib = etree.parse(str(xml)).getroot()
        for op in etree.parse(str(exp)).getroot().iter("rsc_op"):
            if op.find("attributes") is None or op.find("primitive") is None:
                continue
            g = request_from_graph_op(op, 0, "u")
            if any(b.find("rule") is not None for b in cib.iter("instance_attributes")):
                continue
            c = request_from_cib(cib, g.rsc_id, g.action, g.interval_ms)
            assert _digest(g) == _digest(c), (name, op.get("operation_key"))
            checked += 1
    assert checked >= 50
