"""resource create/enable/disable/delete/defaults on an in-memory CIB."""

from __future__ import annotations

import pytest

from tandem.errors import Severity, TandemError
from tandem.lib.commands import constraint, resource
from tandem.lib.commands.resource import Operation


def _ops(backend, rsc):
    prim = backend.root.find(f"configuration/resources/primitive[@id='{rsc}']")
    return {op.get("id"): dict(op.attrib) for op in prim.iterfind("operations/op")}


def test_create_walkthrough_vip_ids_and_default_ops(make_env, backend):
    resource.create(
        make_env(), "ClusterIP", "ocf:heartbeat:IPaddr2", {"ip": "192.0.2.100", "cidr_netmask": "32"},
        [Operation("monitor", {"interval": "30s"})],
    )
    prim = backend.root.find("configuration/resources/primitive")
    assert (prim.get("class"), prim.get("provider"), prim.get("type")) == ("ocf", "heartbeat", "IPaddr2")
    ia = prim.find("instance_attributes")
    assert ia.get("id") == "ClusterIP-instance_attributes"
    assert [(nv.get("id"), nv.get("value")) for nv in ia] == [
        ("ClusterIP-instance_attributes-ip", "192.0.2.100"),
        ("ClusterIP-instance_attributes-cidr_netmask", "32"),
    ]
    ops = _ops(backend, "ClusterIP")
    # the user's monitor replaces the agent's; status/meta-data/validate-all are not copied
    assert set(ops) == {"ClusterIP-start-interval-0s", "ClusterIP-stop-interval-0s",
                        "ClusterIP-monitor-interval-30s"}
    assert ops["ClusterIP-start-interval-0s"]["timeout"] == "20s"
    assert "timeout" not in ops["ClusterIP-monitor-interval-30s"]
    assert prim.find("meta_attributes") is None


def test_create_without_user_ops_takes_agent_monitor(make_env, backend):
    resource.create(make_env(), "D", "ocf:heartbeat:Dummy")
    ops = _ops(backend, "D")
    assert ops["D-monitor-interval-10s"]["timeout"] == "20s"
    assert "D-reload-interval-0s" in ops


def test_create_disabled_sets_target_role(make_env, backend):
    resource.create(make_env(), "W", "ocf:heartbeat:apache", {"configfile": "/x"}, disabled=True)
    meta = backend.root.find("configuration/resources/primitive/meta_attributes")
    assert meta.get("id") == "W-meta_attributes"
    assert [(nv.get("id"), nv.get("name"), nv.get("value")) for nv in meta] == [
        ("W-meta_attributes-target-role", "target-role", "Stopped")
    ]


def test_unknown_and_missing_parameters_reported_together_cib_unchanged(make_env, backend):
    with pytest.raises(TandemError) as exc:
        resource.create(make_env(), "X", "ocf:heartbeat:IPaddr2", {"foo": "1", "bar": "2"})
    codes = [r.code for r in exc.value.reports]
    assert codes == ["INVALID_OPTIONS", "REQUIRED_OPTIONS_ARE_MISSING"]
    assert "invalid resource options: 'bar', 'foo'" in exc.value.reports[0].message
    assert backend.pushes == 0


def test_force_overrides_unknown_parameter(make_env, backend):
    env = make_env(force=True)
    resource.create(env, "X", "ocf:heartbeat:IPaddr2", {"ip": "192.0.2.1", "foo": "1"})
    assert backend.pushes == 1
    assert [r.severity for r in env.report_processor.reports] == [Severity.WARNING]


def test_short_agent_name_guessed_or_ambiguous(make_env, backend):
    env = make_env()
    resource.create(env, "V", "IPaddr2", {"ip": "192.0.2.1"})
    assert [r.code for r in env.report_processor.reports] == ["AGENT_NAME_GUESSED"]
    with pytest.raises(TandemError) as exc:
        resource.create(make_env(), "D", "Dummy")
    assert exc.value.code == "AGENT_NAME_GUESS_FOUND_MORE_THAN_ONE"


def test_duplicate_id_and_bad_interval(make_env, backend):
    resource.create(make_env(), "V", "ocf:heartbeat:IPaddr2", {"ip": "192.0.2.1"})
    with pytest.raises(TandemError) as exc:
        resource.create(make_env(), "V", "ocf:heartbeat:IPaddr2", {"ip": "192.0.2.2"},
                        [Operation("monitor", {"interval": "abc"})])
    assert [r.code for r in exc.value.reports] == ["ID_ALREADY_EXISTS", "INVALID_OPTION_VALUE"]
    assert backend.pushes == 1


def test_same_operation_interval_twice_is_refused(make_env):
    with pytest.raises(TandemError) as exc:
        resource.create(make_env(), "V", "ocf:heartbeat:IPaddr2", {"ip": "192.0.2.1"},
                        [Operation("monitor", {"interval": "60"}),
                         Operation("monitor", {"interval": "1min"})])
    assert exc.value.code == "RESOURCE_OPERATION_INTERVAL_DUPLICATION"


def test_enable_disable_keep_empty_meta_set(make_env, backend):
    resource.create(make_env(), "W", "ocf:heartbeat:apache", disabled=True)
    resource.enable(make_env(), ["W"])
    meta = backend.root.find("configuration/resources/primitive/meta_attributes")
    assert meta is not None and len(meta) == 0
    resource.disable(make_env(), ["W"])
    assert meta is not None
    nv = backend.root.find("configuration/resources/primitive/meta_attributes/nvpair")
    assert (nv.get("name"), nv.get("value")) == ("target-role", "Stopped")
    with pytest.raises(TandemError):
        resource.enable(make_env(), ["W", "Nope"])


def test_delete_removes_constraints(make_env, backend):
    resource.create(make_env(), "A", "ocf:heartbeat:Dummy")
    resource.create(make_env(), "B", "ocf:heartbeat:Dummy")
    constraint.colocation_add(make_env(), "A", "B")
    constraint.order_add(make_env(), "A", "B")
    constraint.location_prefers(make_env(), "B", [("pcmk-1", "5")])
    env = make_env()
    resource.delete(env, "A")
    cons = backend.root.find("configuration/constraints")
    assert [c.get("id") for c in cons] == ["location-B-pcmk-1-5"]
    assert [r.message for r in env.report_processor.reports] == [
        "Removing Constraint - colocation-A-B-INFINITY",
        "Removing Constraint - order-A-B-mandatory",
        "Deleting Resource - A",
    ]


def test_defaults_update_and_config(make_env, backend):
    env = make_env()
    resource.defaults_update(env, {"resource-stickiness": "100"})
    assert env.report_processor.reports.warnings
    resource.defaults_update(make_env(), {"resource-stickiness": "200", "migration-threshold": "3"})
    assert resource.defaults_config(make_env()) == [
        ("rsc_defaults-meta_attributes", {"resource-stickiness": "200", "migration-threshold": "3"})
    ]
    nv = backend.root.find("configuration/rsc_defaults/meta_attributes/nvpair")
    assert nv.get("id") == "rsc_defaults-meta_attributes-resource-stickiness"
    # rsc_defaults comes after constraints, as the schema wants
    conf = [c.tag for c in backend.root.find("configuration")]
    assert conf.index("rsc_defaults") > conf.index("constraints")


def test_update_params_meta_and_op(make_env, backend):
    resource.create(make_env(), "V", "ocf:heartbeat:IPaddr2", {"ip": "192.0.2.1"},
                    [Operation("monitor", {"interval": "30s"})])
    resource.update(make_env(), "V", {"nic": "eth0", "trace_ra": "1"}, {"migration-threshold": "2"},
                    [Operation("monitor", {"interval": "20s"})])
    prim = backend.root.find("configuration/resources/primitive")
    from tandem.lib import cib_tools

    assert cib_tools.nvset_to_dict(prim.find("instance_attributes")) == {
        "ip": "192.0.2.1", "nic": "eth0", "trace_ra": "1"}
    assert prim.find("meta_attributes").get("id") == "V-meta_attributes"
    assert set(_ops(backend, "V")) == {"V-start-interval-0s", "V-stop-interval-0s",
                                       "V-monitor-interval-20s"}
    resource.meta(make_env(), "V", {"migration-threshold": ""})
    assert len(backend.root.find("configuration/resources/primitive/meta_attributes")) == 0


def test_update_refuses_unknown_or_removed_required(make_env, backend):
    resource.create(make_env(), "V", "ocf:heartbeat:IPaddr2", {"ip": "192.0.2.1"})
    pushes = backend.pushes
    for params in ({"foo": "1"}, {"ip": ""}):
        with pytest.raises(TandemError) as exc:
            resource.update(make_env(), "V", params)
        assert exc.value.reports[0].force_code == "FORCE"
    with pytest.raises(TandemError) as exc:
        resource.meta(make_env(), "Nope", {"a": "1"})
    assert exc.value.reports[0].message == "unable to find a resource/clone/group: Nope"
    assert backend.pushes == pushes
