"""The configuration commands against simulated tandemd cores (tandem.daemon.sim).

The walkthrough's commands go through LiveBackend to node 2's core; the
change must be accepted (the daemon validates every batch) and replicated:
node 1 ends up with the same configuration.
"""

from __future__ import annotations

import pytest
from lxml import etree

from tandem.daemon.sim import SimCluster
from tandem.errors import TandemError
from tandem.lib.commands import cluster_property, constraint, node, resource, resource_move
from tandem.lib.commands.resource import Operation
from tandem.lib.env import LibraryEnvironment, LiveBackend


class SimClient:
    """tandem.daemon.client's functions, answered by one simulated node."""

    def __init__(self, sim: SimCluster, n: int) -> None:
        self.sim, self.n = sim, n

    def get_cib_xml(self) -> str:
        return self.sim.cib(self.n)

    def apply(self, ops):
        reply = self.sim.request(self.n, "apply", ops=ops)
        if not reply.ok:
            raise TandemError(*reply.reports)
        return reply.result

    def cluster_info(self):
        return self.sim.info(self.n)


@pytest.fixture
def sim():
    cluster = SimCluster({1: "pcmk-1", 2: "pcmk-2"})
    cluster.start_all()
    cluster.settle()
    return cluster


def _config(xml: str) -> bytes:
    root = etree.fromstring(xml.encode(), etree.XMLParser(remove_blank_text=True))
    return etree.tostring(root.find("configuration"), method="c14n")


def test_walkthrough_commands_replicate(sim, metadata):
    client = SimClient(sim, 2)

    def env(force: bool = False) -> LibraryEnvironment:
        return LibraryEnvironment(LiveBackend(client), metadata=metadata, force=force)

    cluster_property.set_properties(env(), {"stonith-enabled": "false"})
    resource.create(env(), "ClusterIP", "ocf:heartbeat:IPaddr2",
                    {"ip": "192.0.2.100", "cidr_netmask": "32"},
                    [Operation("monitor", {"interval": "30s"})])
    resource.defaults_update(env(), {"resource-stickiness": "100"})
    resource.create(env(), "WebSite", "ocf:heartbeat:apache", {"configfile": "/x"},
                    [Operation("monitor", {"interval": "3s", "on-fail": "restart"})],
                    disabled=True)
    constraint.colocation_add(env(), "WebSite", "ClusterIP")
    constraint.order_add(env(), "ClusterIP", "WebSite")
    constraint.location_prefers(env(), "WebSite", [("pcmk-1", "250")],
                                known_nodes=["pcmk-1", "pcmk-2"])
    resource.enable(env(), ["WebSite"])
    resource_move.ban(env(), "WebSite", "pcmk-2")
    node.set_standby(env(), ["pcmk-1"], True)
    node.set_standby(env(), ["pcmk-1"], False)
    resource_move.clear(env(), "WebSite")

    assert _config(sim.cib(1)) == _config(sim.cib(2))
    root = etree.fromstring(sim.cib(1).encode())
    ids = {c.get("id") for c in root.find("configuration/constraints")}
    assert ids == {"colocation-WebSite-ClusterIP-INFINITY", "order-ClusterIP-WebSite-mandatory",
                   "location-WebSite-pcmk-1-250"}
    # the daemon's own bootstrap properties survive our edits of the same set
    props = cluster_property.get_properties(env())
    assert props["stonith-enabled"] == "false"
    assert "cluster-infrastructure" in props
    assert node.standby_nodes(env()) == []


def test_cli_helpers_read_tandemd_info(sim, metadata, monkeypatch):
    """The CLI's local node (standby default) and node list (location check) from info."""
    from tandem.cli.constraint import _cluster_nodes
    from tandem.cli.node import _local_node
    from tandem.daemon import client as daemon_client

    client = SimClient(sim, 2)
    monkeypatch.setattr(daemon_client, "cluster_info", client.cluster_info)
    env = LibraryEnvironment(LiveBackend(client), metadata=metadata)
    assert _local_node(env) == "pcmk-2"
    assert _cluster_nodes(env) == ["pcmk-1", "pcmk-2"]
    node.set_standby(env, [], True, local_node=_local_node(env))
    assert node.standby_nodes(LibraryEnvironment(LiveBackend(client), metadata=metadata)) == [
        "pcmk-2"
    ]
