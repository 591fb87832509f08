"""move/ban/clear/cleanup and the leftover-constraint warnings.

The live cluster is a fake backend that "runs" the scheduler's obvious answer
on every push: a resource goes to its cli-prefer node, or off its banned node.
"""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from tandem.errors import TandemError
from tandem.lib.commands import cluster_property, resource, resource_move
from tandem.lib.env import LibraryEnvironment, MemoryBackend
from tandem.lib.resource_state import running_nodes


def _set_running(root: etree._Element, rsc: str, node: str | None) -> None:
    status = root.find("status")
    for ns in list(status):
        for lrm in ns.iterfind(f"lrm/lrm_resources/lrm_resource[@id='{rsc}']"):
            lrm.getparent().remove(lrm)
    if node is None:
        return
    ns = status.find(f"node_state[@uname='{node}']")
    if ns is None:
        ns = etree.SubElement(status, "node_state", id=node[-1], uname=node, crmd="online",
                              in_ccm="true", join="member", expected="member")
        etree.SubElement(etree.SubElement(ns, "lrm", id=node[-1]), "lrm_resources")
    lrm = etree.SubElement(ns.find("lrm/lrm_resources"), "lrm_resource", id=rsc, type="Dummy",
                           **{"class": "ocf"}, provider="heartbeat")
    etree.SubElement(lrm, "lrm_rsc_op", id=f"{rsc}_last_0", operation="start", **{
        "call-id": "5", "rc-code": "0", "op-status": "0", "interval": "0"})
    etree.SubElement(lrm, "lrm_rsc_op", id=f"{rsc}_monitor_10000", operation="monitor", **{
        "call-id": "6", "rc-code": "0", "op-status": "0", "interval": "10000"})


class FakeCluster(MemoryBackend):
    """A live CIB whose resources follow cli-prefer / cli-ban constraints on each push."""

    def __init__(self, xml: str, *, stuck: bool = False) -> None:
        super().__init__(xml, is_live=True)
        self.stuck = stuck
        self.history: list[etree._Element] = []

    def push(self, root: etree._Element) -> None:
        root = copy.deepcopy(root)
        self.history.append(copy.deepcopy(root))
        if not self.stuck:
            for prim in root.iterfind("configuration/resources/primitive"):
                rsc = prim.get("id")
                now = running_nodes(root, rsc)
                prefer = root.find(f"configuration/constraints/rsc_location[@id='cli-prefer-{rsc}']")
                banned = {c.get("node") for c in root.iterfind("configuration/constraints/rsc_location")
                          if c.get("id", "").startswith(f"cli-ban-{rsc}-on-")}
                if prefer is not None:
                    _set_running(root, rsc, prefer.get("node"))
                elif now and now[0] in banned:
                    _set_running(root, rsc, next(n for n in ("pcmk-1", "pcmk-2") if n not in banned))
        self.root = root
        self.pushes += 1


class FakeWaiter(resource_move.Waiter):
    def __init__(self, timeout: float = 5.0) -> None:
        self.now = 0.0
        super().__init__(timeout=timeout, poll=1.0, clock=lambda: self.now, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def cluster(metadata, base_cib):
    backend = FakeCluster(base_cib)
    env = LibraryEnvironment(backend, metadata=metadata)
    cluster_property.set_properties(env, {"stonith-enabled": "false"})
    resource.create(LibraryEnvironment(backend, metadata=metadata), "WebSite", "ocf:heartbeat:Dummy")
    # both nodes are members; WebSite runs on pcmk-1
    _set_running(backend.root, "Other", "pcmk-2")
    _set_running(backend.root, "Other", None)
    _set_running(backend.root, "WebSite", "pcmk-1")
    return backend


def _env(backend, metadata, force=False):
    return LibraryEnvironment(backend, metadata=metadata, force=force)


def _cons(root):
    return {c.get("id"): dict(c.attrib) for c in root.find("configuration/constraints")}


def test_ban_without_node_bans_where_it_runs(cluster, metadata):
    resource_move.ban(_env(cluster, metadata), "WebSite")
    assert _cons(cluster.root)["cli-ban-WebSite-on-pcmk-1"] == {
        "id": "cli-ban-WebSite-on-pcmk-1", "rsc": "WebSite", "role": "Started",
        "node": "pcmk-1", "score": "-INFINITY",
    }
    assert running_nodes(cluster.root, "WebSite") == ["pcmk-2"]
    removed = resource_move.clear(_env(cluster, metadata), "WebSite")
    assert removed == ["cli-ban-WebSite-on-pcmk-1"]
    assert _cons(cluster.root) == {}


def test_ban_of_stopped_resource_needs_a_node(make_env, metadata):
    resource.create(make_env(), "R", "ocf:heartbeat:Dummy")
    with pytest.raises(TandemError) as exc:
        resource_move.ban(make_env(), "R")
    assert exc.value.reports[0].message == (
        "You must specify a node when moving/banning a stopped resource"
    )


def test_move_with_constraint_replaces_ban_of_destination(cluster, metadata):
    resource_move.ban(_env(cluster, metadata), "WebSite", "pcmk-2")
    resource_move.move_with_constraint(_env(cluster, metadata), "WebSite", "pcmk-2")
    assert set(_cons(cluster.root)) == {"cli-prefer-WebSite"}
    assert running_nodes(cluster.root, "WebSite") == ["pcmk-2"]


def test_move_waits_then_drops_its_constraint(cluster, metadata):
    env = _env(cluster, metadata)
    resource_move.move(env, "WebSite", "pcmk-2", waiter=FakeWaiter())
    # the constraint existed while moving, and is gone afterwards
    assert any(h.find("configuration/constraints/rsc_location[@id='cli-prefer-WebSite']")
               is not None for h in cluster.history)
    assert _cons(cluster.root) == {}
    assert running_nodes(cluster.root, "WebSite") == ["pcmk-2"]
    assert env.report_processor.reports.errors == []


def test_move_without_node_moves_away(cluster, metadata):
    resource_move.move(_env(cluster, metadata), "WebSite", waiter=FakeWaiter())
    assert running_nodes(cluster.root, "WebSite") == ["pcmk-2"]
    assert _cons(cluster.root) == {}


def test_move_that_never_happens_fails_and_cleans_up(cluster, metadata):
    cluster.stuck = True
    waiter = FakeWaiter(timeout=3.0)
    with pytest.raises(TandemError) as exc:
        resource_move.move(_env(cluster, metadata), "WebSite", "pcmk-2", waiter=waiter)
    assert exc.value.code == "RESOURCE_MOVE_FAILED"
    assert waiter.now >= 3.0
    assert _cons(cluster.root) == {}


def test_move_and_cleanup_refused_on_a_file(make_env, backend):
    resource.create(make_env(), "R", "ocf:heartbeat:Dummy")
    for call in (lambda e: resource_move.move(e, "R", "pcmk-2"),
                 lambda e: resource_move.cleanup(e, "R")):
        with pytest.raises(TandemError) as exc:
            call(make_env())
        assert exc.value.code == "LIVE_ENVIRONMENT_REQUIRED"


def test_cleanup_sends_only_failed_pairs_refresh_sends_all(cluster, metadata):
    calls = []

    class Client:
        def apply(self, ops):
            calls.append(ops)

    # nothing failed: cleanup sends no (empty) batch
    assert resource_move.cleanup(_env(cluster, metadata), "WebSite", client=Client()) == 0
    assert calls == []
    ns = cluster.root.find("status/node_state[@uname='pcmk-1']")
    ta = etree.SubElement(etree.SubElement(ns, "transient_attributes", id="1"),
                          "instance_attributes", id="status-1")
    etree.SubElement(ta, "nvpair", id="status-1-fc", name="fail-count-WebSite#monitor_10000",
                     value="1")
    assert resource_move.cleanup(_env(cluster, metadata), "WebSite", client=Client()) > 0
    xpaths = [op["xpath"] for op in calls[0]]
    assert any("lrm_resource[@id='WebSite']" in x for x in xpaths)
    assert any("fail-count-WebSite#" in x for x in xpaths)
    resource_move.cleanup(_env(cluster, metadata), None, client=Client(), refresh=True)
    assert any("lrm_resource" in op["xpath"] for op in calls[1])


def test_leftover_move_constraints(cluster, metadata):
    assert resource_move.leftover_move_constraints(cluster.root) == []
    resource_move.ban(_env(cluster, metadata), "WebSite", "pcmk-1")
    reports = resource_move.leftover_move_constraints(cluster.root)
    assert reports[0].payload["resources"] == ["WebSite"]
    assert "'WebSite'" in reports[0].message
    assert "tandem resource clear" in reports[1].message


def test_lifetime_end_arithmetic():
    import datetime

    now = datetime.datetime(2026, 1, 31, 12, 0, 0, tzinfo=datetime.UTC)
    assert resource_move.lifetime_end("PT1H", now) == now + datetime.timedelta(hours=1)
    assert resource_move.lifetime_end("P1M", now).date() == datetime.date(2026, 2, 28)
    assert resource_move.lifetime_end("P1Y2DT3M", now) == datetime.datetime(
        2027, 2, 2, 12, 3, tzinfo=datetime.UTC)
    assert resource_move.lifetime_end("P", now) is None
    assert resource_move.lifetime_end("1h", now) is None


def test_ban_with_lifetime_writes_a_dated_rule(cluster, metadata):
    import datetime

    now = datetime.datetime(2026, 11, 25, 13, 0, 0, tzinfo=datetime.UTC)
    env = _env(cluster, metadata)
    resource_move.ban(env, "WebSite", "pcmk-2", lifetime="PT1H", now=now)
    c = cluster.root.find("configuration/constraints/rsc_location[@id='cli-ban-WebSite-on-pcmk-2']")
    rule = c.find("rule")
    assert (rule.get("id"), rule.get("score")) == ("cli-ban-WebSite-on-pcmk-2-rule", "-INFINITY")
    assert rule.find("expression").get("value") == "pcmk-2"
    assert rule.find("date_expression").get("end") == "2026-11-25 14:00:00Z"
    assert resource_move.clear(_env(cluster, metadata), "WebSite", "pcmk-2") == [
        "cli-ban-WebSite-on-pcmk-2"
    ]
    with pytest.raises(TandemError) as exc:
        resource_move.ban(_env(cluster, metadata), "WebSite", "pcmk-2", lifetime="1 hour")
    assert exc.value.code == "INVALID_LIFETIME"


def _walkthrough_cluster(cluster, metadata, preference: bool):
    from tandem.lib.commands import constraint

    resource.create(_env(cluster, metadata), "ClusterIP", "ocf:heartbeat:IPaddr2",
                    {"ip": "192.0.2.100"})
    resource.defaults_update(_env(cluster, metadata), {"resource-stickiness": "100"})
    constraint.colocation_add(_env(cluster, metadata), "WebSite", "ClusterIP")
    if preference:
        constraint.location_prefers(_env(cluster, metadata), "WebSite", [("pcmk-1", "250")])
    _set_running(cluster.root, "ClusterIP", "pcmk-1")


def test_move_refused_when_it_would_move_back(cluster, metadata):
    """Walkthrough: 250 for pcmk-1 beats 2 x 100 of stickiness, so WebSite would come back."""
    _walkthrough_cluster(cluster, metadata, preference=True)
    pushes = cluster.pushes
    with pytest.raises(TandemError) as exc:
        resource_move.move(_env(cluster, metadata), "WebSite", "pcmk-2", waiter=FakeWaiter())
    assert exc.value.code == "RESOURCE_MOVE_WOULD_MOVE_BACK"
    assert cluster.pushes == pushes


def test_move_allowed_when_stickiness_keeps_it(cluster, metadata):
    _walkthrough_cluster(cluster, metadata, preference=False)
    resource_move.move(_env(cluster, metadata), "WebSite", "pcmk-2", waiter=FakeWaiter())
    assert running_nodes(cluster.root, "WebSite") == ["pcmk-2"]
    assert _cons(cluster.root) == {"colocation-WebSite-ClusterIP-INFINITY": {
        "rsc": "WebSite", "with-rsc": "ClusterIP", "score": "INFINITY",
        "id": "colocation-WebSite-ClusterIP-INFINITY"}}


def test_move_refused_when_target_is_forbidden(cluster, metadata):
    from tandem.lib.commands import constraint

    constraint.location_prefers(_env(cluster, metadata), "WebSite", [("pcmk-2", None)],
                                avoids=True)
    with pytest.raises(TandemError) as exc:
        resource_move.move(_env(cluster, metadata), "WebSite", "pcmk-2", waiter=FakeWaiter())
    assert exc.value.code == "RESOURCE_MOVE_NOT_POSSIBLE"


def test_strict_move_refused_when_others_move_too(cluster, metadata):
    _walkthrough_cluster(cluster, metadata, preference=False)
    with pytest.raises(TandemError) as exc:
        resource_move.move(_env(cluster, metadata), "WebSite", "pcmk-2", waiter=FakeWaiter(),
                           strict=True)
    assert exc.value.code == "RESOURCE_MOVE_AFFECTS_OTHER_RESOURCES"
    assert "'ClusterIP' (pcmk-1 -> pcmk-2)" in exc.value.reports[-1].message
