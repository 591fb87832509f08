"""``node standby|unstandby``: the permanent ``standby`` node attribute.

pcs 0.11 (through crm_attribute) writes it in the node's entry of the
``nodes`` section: ``<instance_attributes id="nodes-ID">`` with the nvpair
``nodes-ID-standby``; unstandby removes the pair and keeps the (empty) set.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from tandem.errors import error
from tandem.lib import cib_tools
from tandem.lib.env import LibraryEnvironment


def _node_attrs(cib: etree._Element, node: etree._Element) -> etree._Element:
    for nvset in node.iterfind("instance_attributes"):
        return nvset
    nvset = etree.SubElement(node, "instance_attributes")
    nvset.set("id", cib_tools.find_unique_id(cib, f"nodes-{node.get('id')}"))
    return nvset


def set_standby(
    env: LibraryEnvironment,
    nodes: Sequence[str],
    standby: bool,
    *,
    all_nodes: bool = False,
    local_node: str | None = None,
) -> list[str]:
    """Put nodes in (or out of) standby; returns the node names changed.

    With no node and not ``all_nodes``, ``local_node`` is used (the live
    cluster's own node); on a CIB file a node must be named.
    """
    rp = env.report_processor
    cib = env.get_cib()
    if all_nodes:
        names = cib_tools.node_names(cib)
    elif nodes:
        names = list(nodes)
    elif local_node is not None:
        names = [local_node]
    else:
        rp.report(
            error("NODE_NOT_SPECIFIED", "Node(s) must be specified if -f is used")
            if not env.is_cib_live
            else error("NODE_NOT_SPECIFIED", "Unable to determine the local node name")
        )
        names = []
    for name in names:
        if cib_tools.find_node(cib, name) is None:
            rp.report(
                error(
                    "NODE_NOT_FOUND",
                    f"Node '{name}' does not appear to exist in configuration",
                    node=name,
                )
            )
    rp.raise_if_errors()
    for name in names:
        node = cib_tools.find_node(cib, name)
        assert node is not None
        if standby:
            cib_tools.update_nvset(cib, _node_attrs(cib, node), {"standby": "on"})
        else:
            for nvset in node.iterfind("instance_attributes"):
                cib_tools.update_nvset(cib, nvset, {"standby": ""})
    env.push_cib()
    return names


def standby_nodes(env: LibraryEnvironment) -> list[str]:
    """Nodes whose permanent ``standby`` attribute is true."""
    cib = env.get_cib()
    out = []
    for name in cib_tools.node_names(cib):
        node = cib_tools.find_node(cib, name)
        if node is None:
            continue
        for nvset in node.iterfind("instance_attributes"):
            if cib_tools.is_true(cib_tools.nvset_to_dict(nvset).get("standby")):
                out.append(name)
    return out
