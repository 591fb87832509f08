"""property set/unset and node standby on an in-memory CIB."""

from __future__ import annotations

import pytest

from tandem.errors import TandemError
from tandem.lib.commands import cluster_property, node


def test_property_set_ids_and_unset(make_env, backend):
    cluster_property.set_properties(make_env(), {"stonith-enabled": "false"})
    nvset = backend.root.find("configuration/crm_config/cluster_property_set")
    assert nvset.get("id") == "cib-bootstrap-options"
    assert nvset.find("nvpair").get("id") == "cib-bootstrap-options-stonith-enabled"
    cluster_property.set_properties(make_env(), {"stonith-enabled": "true", "maintenance-mode": ""})
    assert cluster_property.get_properties(make_env()) == {"stonith-enabled": "true"}
    cluster_property.unset_properties(make_env(), ["stonith-enabled"])
    assert cluster_property.get_properties(make_env()) == {}


def test_property_errors_collected_and_forceable(make_env, backend):
    with pytest.raises(TandemError) as exc:
        cluster_property.set_properties(make_env(), {"nope": "1", "stonith-enabled": "maybe",
                                                     "no-quorum-policy": "panic"})
    assert [r.code for r in exc.value.reports] == ["INVALID_OPTIONS", "INVALID_OPTION_VALUE",
                                                  "INVALID_OPTION_VALUE"]
    assert backend.pushes == 0
    cluster_property.set_properties(make_env(force=True), {"nope": "1"})
    assert cluster_property.get_properties(make_env()) == {"nope": "1"}
    with pytest.raises(TandemError):
        cluster_property.unset_properties(make_env(), ["symmetric-cluster"])


def test_standby_unstandby(make_env, backend):
    node.set_standby(make_env(), ["pcmk-1"], True)
    n = backend.root.find("configuration/nodes/node[@uname='pcmk-1']")
    ia = n.find("instance_attributes")
    assert ia.get("id") == "nodes-1"
    assert [(nv.get("id"), nv.get("value")) for nv in ia] == [("nodes-1-standby", "on")]
    assert node.standby_nodes(make_env()) == ["pcmk-1"]
    node.set_standby(make_env(), ["pcmk-1"], False)
    assert node.standby_nodes(make_env()) == []
    assert n is not None


def test_standby_needs_a_known_node(make_env, backend):
    with pytest.raises(TandemError) as exc:
        node.set_standby(make_env(), ["pcmk-9"], True)
    assert "pcmk-9" in exc.value.reports[0].message
    with pytest.raises(TandemError) as exc:
        node.set_standby(make_env(), [], True)
    assert exc.value.reports[0].message == "Node(s) must be specified if -f is used"
    node.set_standby(make_env(), [], True, all_nodes=True)
    assert node.standby_nodes(make_env()) == ["pcmk-1", "pcmk-2"]
