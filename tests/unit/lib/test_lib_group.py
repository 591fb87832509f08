"""Groups: member order, moves between groups, ungroup, delete of the last member."""

from __future__ import annotations

import pytest

from tandem.errors import TandemError
from tandem.lib.commands import constraint, resource, resource_group


def _groups(backend):
    return {
        g.get("id"): [p.get("id") for p in g.iterfind("primitive")]
        for g in backend.root.iter("group")
    }


def _top(backend):
    return [el.get("id") for el in backend.root.find("configuration/resources")]


def test_create_into_group_with_positions(make_env, backend):
    for rid, pos in (("A", {}), ("B", {}), ("C", {"before": "B"}), ("D", {"after": "A"})):
        resource.create(make_env(), rid, "ocf:heartbeat:Dummy", group="G", **pos)
    assert _groups(backend) == {"G": ["A", "D", "C", "B"]}


def test_create_into_group_errors(make_env, backend):
    resource.create(make_env(), "A", "ocf:heartbeat:Dummy", group="G")
    for kwargs in ({"group": "A"}, {"group": "G", "before": "Nope"}, {"group": "1G"},
                   {"before": "A"}, {"group": "N"} | {"after": "A"}):
        with pytest.raises(TandemError):
            resource.create(make_env(), "X", "ocf:heartbeat:Dummy", **kwargs)
    assert _groups(backend) == {"G": ["A"]}


def test_group_add_moves_and_drops_emptied_group(make_env, backend):
    resource.create(make_env(), "A", "ocf:heartbeat:Dummy", group="G")
    resource.create(make_env(), "E", "ocf:heartbeat:Dummy", group="H")
    resource.create(make_env(), "F", "ocf:heartbeat:Dummy")
    resource_group.group_add(make_env(), "G", ["E", "F"], before="A")
    assert _groups(backend) == {"G": ["E", "F", "A"]}
    with pytest.raises(TandemError):
        resource_group.group_add(make_env(), "G", ["A"], after="A")


def test_ungroup_and_last_member_delete_remove_group_constraints(make_env, backend):
    resource.create(make_env(), "A", "ocf:heartbeat:Dummy", group="G")
    resource.create(make_env(), "B", "ocf:heartbeat:Dummy", group="G")
    constraint.location_prefers(make_env(), "G", [("pcmk-1", "10")])
    resource_group.group_remove(make_env(), "G", ["A"])
    assert _groups(backend) == {"G": ["B"]}
    assert _top(backend) == ["G", "A"]
    resource.delete(make_env(), "B")
    assert _groups(backend) == {}
    assert len(backend.root.find("configuration/constraints")) == 0
    resource.create(make_env(), "C", "ocf:heartbeat:Dummy", group="H")
    resource_group.group_remove(make_env(), "H")
    assert _top(backend) == ["A", "C"]
