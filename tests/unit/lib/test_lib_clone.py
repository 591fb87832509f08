"""Clones: create ... clone|promotable, clone/promotable of a resource or group, unclone."""

from __future__ import annotations

import pytest

from tandem.errors import TandemError
from tandem.lib import cib_tools
from tandem.lib.commands import constraint, resource, resource_clone, resource_group


def _clone(backend, cid):
    return backend.root.find(f"configuration/resources/clone[@id='{cid}']")


def test_create_clone_and_promotable(make_env, backend):
    resource.create(make_env(), "P", "ocf:heartbeat:Dummy", clone={})
    assert _clone(backend, "P-clone").find("primitive").get("id") == "P"
    resource.create(make_env(), "S", "ocf:heartbeat:Dummy", clone={"notify": "true"},
                    clone_id="S-ms", promotable=True)
    meta = _clone(backend, "S-ms").find("meta_attributes")
    assert meta.get("id") == "S-ms-meta_attributes"
    assert cib_tools.nvset_to_dict(meta) == {"notify": "true", "promotable": "true"}


def test_clone_existing_group_and_unclone(make_env, backend):
    resource.create(make_env(), "A", "ocf:heartbeat:Dummy", group="G")
    resource.create(make_env(), "B", "ocf:heartbeat:Dummy")
    resource_clone.clone(make_env(), "G")
    assert _clone(backend, "G-clone").find("group").get("id") == "G"
    constraint.location_prefers(make_env(), "G-clone", [("pcmk-1", None)])
    resource_clone.unclone(make_env(), "G")
    top = [el.get("id") for el in backend.root.find("configuration/resources")]
    assert top == ["B", "G"]
    assert len(backend.root.find("configuration/constraints")) == 0


def test_clone_errors_leave_cib_alone(make_env, backend):
    resource.create(make_env(), "A", "ocf:heartbeat:Dummy", clone={})
    resource.create(make_env(), "B", "ocf:heartbeat:Dummy", group="G")
    pushes = backend.pushes
    for call in (
        lambda e: resource_clone.clone(e, "A"),  # already in a clone
        lambda e: resource_clone.clone(e, "B"),  # inside a group
        lambda e: resource_clone.clone(e, "A-clone"),  # a clone
        lambda e: resource_clone.clone(e, "Nope"),
        lambda e: resource_clone.unclone(e, "G"),  # not a clone
        lambda e: resource.create(e, "C", "ocf:heartbeat:Dummy", clone={}, clone_id="A-clone"),
        lambda e: resource.create(e, "C", "ocf:heartbeat:Dummy", clone={}, group="G"),
        lambda e: resource_group.group_add(e, "G", ["A"]),  # cloned primitive
    ):
        with pytest.raises(TandemError):
            call(make_env())
    assert backend.pushes == pushes


def test_delete_in_clone_removes_clone_and_its_constraints(make_env, backend):
    resource.create(make_env(), "A", "ocf:heartbeat:Dummy", clone={})
    constraint.location_prefers(make_env(), "A-clone", [("pcmk-1", None)])
    resource.delete(make_env(), "A")
    assert len(backend.root.find("configuration/resources")) == 0
    assert len(backend.root.find("configuration/constraints")) == 0
