"""The live backend: edits reach tandemd as ``apply`` batches of changed sections.

The fake client applies them with the daemon's own pure ``cibops.apply_ops``,
so the operations are checked against the semantics every node applies.
"""

from __future__ import annotations

import pytest
from lxml import etree

from tandem.daemon import cibops
from tandem.errors import TandemError
from tandem.lib.commands import cluster_property, constraint, resource, resource_move
from tandem.lib.commands.resource import Operation
from tandem.lib.env import LibraryEnvironment, LiveBackend, MemoryBackend


class FakeClient:
    def __init__(self, xml: str) -> None:
        self.root = cibops.parse(xml)
        self.batches: list[list[dict]] = []

    def get_cib_xml(self) -> str:
        return etree.tostring(self.root, encoding="unicode")

    def apply(self, ops: list[dict]) -> dict:
        self.batches.append(ops)
        self.root = cibops.apply_ops(self.root, ops, origin="test", ts=0.0)
        return {"version": "0:0:0"}


def _walkthrough(make):
    cluster_property.set_properties(make(), {"stonith-enabled": "false"})
    resource.create(make(), "ClusterIP", "ocf:heartbeat:IPaddr2",
                    {"ip": "192.0.2.100", "cidr_netmask": "32"},
                    [Operation("monitor", {"interval": "30s"})])
    resource.defaults_update(make(), {"resource-stickiness": "100"})
    resource.create(make(), "WebSite", "ocf:heartbeat:apache", {"configfile": "/x"},
                    [Operation("monitor", {"interval": "3s", "on-fail": "restart"})], disabled=True)
    constraint.colocation_add(make(), "WebSite", "ClusterIP")
    constraint.order_add(make(), "ClusterIP", "WebSite")
    constraint.location_prefers(make(), "WebSite", [("pcmk-1", "250")], known_nodes=["pcmk-1"])
    resource.enable(make(), ["WebSite"])


def _config(root):
    return etree.tostring(root.find("configuration"), method="c14n")


def test_live_edits_equal_file_edits_and_send_only_changed_sections(metadata, base_cib):
    client = FakeClient(base_cib)
    _walkthrough(lambda: LibraryEnvironment(LiveBackend(client), metadata=metadata))
    mem = MemoryBackend(base_cib)
    _walkthrough(lambda: LibraryEnvironment(mem, metadata=metadata))
    assert _config(client.root) == _config(mem.root)
    assert len(client.batches) == 8
    # enabling WebSite touched the resources section only
    assert [op["xpath"] for op in client.batches[-1]] == ["/cib/configuration/resources"]
    # rsc_defaults did not exist: created
    assert client.batches[2][0]["op"] == "create"
    assert all(op.get("xpath") != "/cib/status" for b in client.batches for op in b)


def test_concurrent_edit_of_another_section_is_kept(metadata, base_cib):
    client = FakeClient(base_cib)
    backend = LiveBackend(client)
    env = LibraryEnvironment(backend, metadata=metadata)
    env.get_cib()
    # someone else sets a property meanwhile
    cluster_property.set_properties(
        LibraryEnvironment(LiveBackend(client), metadata=metadata), {"stonith-enabled": "false"}
    )
    resource.create(env, "R", "ocf:heartbeat:Dummy")
    assert client.root.find("configuration/crm_config/cluster_property_set/nvpair") is not None
    assert client.root.find("configuration/resources/primitive[@id='R']") is not None


def test_refused_command_sends_nothing(metadata, base_cib):
    client = FakeClient(base_cib)
    env = LibraryEnvironment(LiveBackend(client), metadata=metadata)
    with pytest.raises(TandemError):
        resource.create(env, "X", "ocf:heartbeat:IPaddr2", {})
    assert client.batches == []


def test_cleanup_fallback_ops_are_valid_daemon_ops(metadata, base_cib):
    client = FakeClient(base_cib)
    resource.create(LibraryEnvironment(LiveBackend(client), metadata=metadata), "R",
                    "ocf:heartbeat:Dummy")
    status = client.root.find("status")
    ns = etree.SubElement(status, "node_state", id="1", uname="pcmk-1")
    lrm = etree.SubElement(etree.SubElement(ns, "lrm", id="1"), "lrm_resources")
    etree.SubElement(lrm, "lrm_resource", id="R")
    ta = etree.SubElement(etree.SubElement(ns, "transient_attributes", id="1"),
                          "instance_attributes", id="status-1")
    etree.SubElement(ta, "nvpair", id="status-1-fail-count-R.monitor_10000",
                     name="fail-count-R#monitor_10000", value="1")
    etree.SubElement(ta, "nvpair", id="status-1-other", name="other", value="1")
    env = LibraryEnvironment(LiveBackend(client), metadata=metadata)
    resource_move.cleanup(env, "R", client=client)
    assert client.root.find("status/node_state/lrm/lrm_resources/lrm_resource") is None
    names = [nv.get("name") for nv in client.root.iter("nvpair")
             if nv.getparent().get("id") == "status-1"]
    assert names == ["other"]
