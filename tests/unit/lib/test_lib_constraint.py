"""Constraint commands: pcs ids, duplicates, replacement, removal."""

from __future__ import annotations

import pytest

from tandem.errors import Severity, TandemError
from tandem.lib.commands import constraint, resource


@pytest.fixture
def two(make_env):
    resource.create(make_env(), "ClusterIP", "ocf:heartbeat:IPaddr2", {"ip": "192.0.2.100"})
    resource.create(make_env(), "WebSite", "ocf:heartbeat:apache")


def _cons(backend):
    return {c.get("id"): dict(c.attrib) for c in backend.root.find("configuration/constraints")}


def test_walkthrough_ids(make_env, backend, two):
    constraint.colocation_add(make_env(), "WebSite", "ClusterIP", "INFINITY")
    env = make_env()
    constraint.order_add(env, "ClusterIP", "WebSite")
    constraint.location_prefers(make_env(), "WebSite", [("pcmk-1", "250")])
    cons = _cons(backend)
    assert cons["colocation-WebSite-ClusterIP-INFINITY"] == {
        "rsc": "WebSite", "with-rsc": "ClusterIP", "score": "INFINITY",
        "id": "colocation-WebSite-ClusterIP-INFINITY",
    }
    assert cons["order-ClusterIP-WebSite-mandatory"] == {
        "first": "ClusterIP", "then": "WebSite", "first-action": "start", "then-action": "start",
        "id": "order-ClusterIP-WebSite-mandatory",
    }
    assert cons["location-WebSite-pcmk-1-250"]["score"] == "250"
    assert [r.message for r in env.report_processor.reports] == [
        "Adding ClusterIP WebSite (kind: Mandatory) (Options: first-action=start then-action=start)"
    ]


def test_location_on_file_warns_node_check_skipped(make_env, two):
    env = make_env()
    constraint.location_prefers(env, "WebSite", [("pcmk-9", None)])
    assert [(r.severity, r.message) for r in env.report_processor.reports] == [
        (Severity.WARNING, "Validation for node existence in the cluster will be skipped")
    ]


def test_location_unknown_node_refused_unless_forced(make_env, backend, two):
    with pytest.raises(TandemError) as exc:
        constraint.location_prefers(make_env(), "WebSite", [("pcmk-9", "5")],
                                    known_nodes=["pcmk-1", "pcmk-2"])
    assert exc.value.reports[0].force_code == "FORCE"
    assert backend.pushes == 2
    constraint.location_prefers(make_env(force=True), "WebSite", [("pcmk-9", "5")],
                                known_nodes=["pcmk-1", "pcmk-2"])
    assert "location-WebSite-pcmk-9-5" in _cons(backend)


def test_avoids_negates_and_same_node_replaces(make_env, backend, two):
    constraint.location_prefers(make_env(), "WebSite", [("pcmk-1", None), ("pcmk-2", "50")],
                                avoids=True)
    assert set(_cons(backend)) == {"location-WebSite-pcmk-1--INFINITY", "location-WebSite-pcmk-2--50"}
    constraint.location_prefers(make_env(), "WebSite", [("pcmk-2", "10")])
    assert set(_cons(backend)) == {"location-WebSite-pcmk-1--INFINITY", "location-WebSite-pcmk-2-10"}


def test_duplicates_and_every_problem_reported(make_env, backend, two):
    constraint.colocation_add(make_env(), "WebSite", "ClusterIP")
    with pytest.raises(TandemError) as exc:
        constraint.colocation_add(make_env(), "ClusterIP", "WebSite")
    assert exc.value.code == "DUPLICATE_CONSTRAINTS_EXIST"
    with pytest.raises(TandemError) as exc:
        constraint.order_add(make_env(), "Nope", "WebSite", first_action="begin",
                             options={"kind": "Bogus"})
    assert [r.code for r in exc.value.reports] == [
        "RESOURCE_DOES_NOT_EXIST", "INVALID_OPTION_VALUE", "INVALID_OPTION_VALUE"
    ]


def test_order_options_and_unique_ids(make_env, backend, two):
    constraint.order_add(make_env(), "ClusterIP", "WebSite", first_action="stop",
                         then_action="stop", options={"kind": "Optional", "symmetrical": "false"})
    c = _cons(backend)["order-ClusterIP-WebSite-Optional"]
    assert (c["kind"], c["symmetrical"], c["first-action"]) == ("Optional", "false", "stop")
    constraint.colocation_add(make_env(), "WebSite", "ClusterIP", "-INFINITY")
    assert "colocation-WebSite-ClusterIP--INFINITY" in _cons(backend)
    constraint.colocation_add(make_env(force=True), "WebSite", "ClusterIP", "-INFINITY")
    assert "colocation-WebSite-ClusterIP--INFINITY-1" in _cons(backend)


def test_remove_validates_all_ids_first(make_env, backend, two):
    constraint.location_prefers(make_env(), "WebSite", [("pcmk-2", "500")])
    pushes = backend.pushes
    with pytest.raises(TandemError):
        constraint.remove(make_env(), ["location-WebSite-pcmk-2-500", "nope"])
    assert backend.pushes == pushes
    constraint.remove(make_env(), ["location-WebSite-pcmk-2-500"])
    assert _cons(backend) == {}
    with pytest.raises(TandemError) as exc:
        constraint.remove(make_env(), ["WebSite"])  # an id, but not a constraint's
    assert exc.value.reports[0].message == "Unable to find constraint - 'WebSite'"
