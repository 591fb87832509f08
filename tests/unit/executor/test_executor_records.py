"""lrm_rsc_op records, reload/restart digests, OCF tables and cgroup text parsing."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from tandem.agents.metadata import AgentName
from tandem.agents.ocf import (
    AgentSpec,
    EnvInput,
    ExecStatus,
    find_agent,
    lsb_action_to_ocf,
    lsb_status_to_ocf,
    normalize_ocf_rc,
    ocf_environment,
    parse_exit_reason,
)
from tandem.agents.reload import NO_RELOAD, ReloadInfo, reload_info_from_xml, restart_attributes
from tandem.daemon.executor.cgroup import cgroup2_mount, own_cgroup, parse_events
from tandem.daemon.executor.core import OpEvent, OpRequest
from tandem.daemon.executor.records import (
    deleted_record_ids,
    lrm_resource,
    merge_into,
    op_elements,
)

IP = AgentSpec.parse("ocf:heartbeat:IPaddr2")
IP_PARAMS = {"ip": "192.0.2.100", "cidr_netmask": "32"}


def event(req: OpRequest, rc: int = 0, status: ExecStatus = ExecStatus.DONE, **kw) -> OpEvent:
    base = dict(
        call_id=5, rc=rc, status=status, exit_reason="", trigger="request", run_at=1700000000,
        last_rc_change=1700000000, exec_ms=42, queue_ms=0, transition_key="3:7:0:uuid",
    )
    base.update(kw)
    return OpEvent(req, **base)  # type: ignore[arg-type]


def test_start_record_matches_pacemaker_form() -> None:
    req = OpRequest("ClusterIP", IP, "start", params=IP_PARAMS, transition_key="3:7:0:uuid")
    (el,) = op_elements(event(req), "pcmk-1")
    a = dict(el.attrib)
    assert a["id"] == "ClusterIP_last_0"
    assert a["operation_key"] == "ClusterIP_start_0"
    assert a["operation"] == "start"
    assert a["transition-magic"] == "0:0;3:7:0:uuid"
    assert (a["call-id"], a["rc-code"], a["op-status"], a["interval"]) == ("5", "0", "0", "0")
    assert a["on_node"] == "pcmk-1"
    assert a["exec-time"] == "42"
    # the digest of the walkthrough's VIP (shared/notes/op-digests.md)
    assert a["op-digest"] == "8aa05eaf0a3b23e83d69ded4e3744164"
    assert "op-force-restart" not in a  # IPaddr2 supports no reload
    assert a["tandem-trigger"] == "request"
    # attribute order as Pacemaker writes them
    assert list(a)[:6] == ["id", "operation_key", "operation", "crm-debug-origin",
                           "crm_feature_set", "transition-key"]


def test_recurring_monitor_record_and_digest() -> None:
    req = OpRequest("ClusterIP", IP, "monitor", interval_ms=30000, params=IP_PARAMS)
    (el,) = op_elements(event(req, trigger="interval"), "pcmk-1")
    assert el.get("id") == "ClusterIP_monitor_30000"
    assert el.get("interval") == "30000"
    assert el.get("op-digest") == "75093a4c7a2174e765eab8faf3b43b1d"
    assert el.get("tandem-trigger") == "interval"


def test_failed_monitor_adds_last_failure() -> None:
    req = OpRequest("WebSite", AgentSpec.parse("ocf:heartbeat:apache"), "monitor",
                    interval_ms=60000, transition_key="9:2:0:u")
    els = op_elements(event(req, rc=7, trigger="cgroup-empty", transition_key="9:2:0:u"), "n")
    assert [e.get("id") for e in els] == ["WebSite_monitor_60000", "WebSite_last_failure_0"]
    assert els[1].get("operation_key") == "WebSite_monitor_60000"
    assert els[1].get("rc-code") == "7"
    assert els[1].get("tandem-trigger") == "cgroup-empty"


def test_timeout_record() -> None:
    req = OpRequest("r", IP, "start", params=IP_PARAMS)
    els = op_elements(event(req, rc=1, status=ExecStatus.TIMEOUT, transition_key="1:1:0:u"), "n")
    assert els[0].get("op-status") == "2" and els[0].get("rc-code") == "1"
    assert els[0].get("transition-magic") == "2:1;1:1:0:u"
    assert len(els) == 2


def test_cancelled_recurring_deletes_its_record() -> None:
    req = OpRequest("r", IP, "monitor", interval_ms=10000, params=IP_PARAMS)
    lrm = lrm_resource("r", IP)
    merge_into(lrm, event(req), "n")
    merge_into(lrm, event(OpRequest("r", IP, "start", params=IP_PARAMS)), "n")
    assert [e.get("id") for e in lrm] == ["r_monitor_10000", "r_last_0"]
    cancelled = event(req, status=ExecStatus.CANCELLED)
    assert op_elements(cancelled, "n") == []
    assert deleted_record_ids(cancelled) == ["r_monitor_10000"]
    merge_into(lrm, cancelled, "n")
    assert [e.get("id") for e in lrm] == ["r_last_0"]
    assert lrm.get("class") == "ocf" and lrm.get("provider") == "heartbeat"


def test_merge_replaces_last_0() -> None:
    lrm = lrm_resource("r", IP)
    merge_into(lrm, event(OpRequest("r", IP, "monitor"), rc=7), "n")
    merge_into(lrm, event(OpRequest("r", IP, "start"), call_id=6), "n")
    (only,) = list(lrm)
    assert only.get("operation_key") == "r_start_0" and only.get("call-id") == "6"


DUMMY_LEGACY = b"""<?xml version="1.0"?>
<resource-agent name="Dummy"><version>1.0</version>
<parameters>
<parameter name="state" unique="1"><content type="string"/></parameter>
<parameter name="fake" unique="0"><content type="string"/></parameter>
</parameters>
<actions><action name="start" timeout="20s"/><action name="reload" timeout="20s"/></actions>
</resource-agent>"""

OCF11 = b"""<?xml version="1.0"?>
<resource-agent name="X"><version>1.1</version>
<parameters>
<parameter name="port"/><parameter name="fake" reloadable="1"/><parameter name="server"/>
</parameters>
<actions><action name="start" timeout="20s"/><action name="reload-agent" timeout="20s"/></actions>
</resource-agent>"""


def test_legacy_reload_lists_unique_params() -> None:
    info = reload_info_from_xml(AgentName("ocf", "heartbeat", "Dummy"), DUMMY_LEGACY)
    assert info == ReloadInfo(("state",))
    # corpus records of ocf:*:Dummy with no parameters set
    assert restart_attributes(info, {}) == {
        "op-force-restart": "  state  ",
        "op-restart-digest": "f2317cad3d54cec5d7d7aa7d0bf35cf8",
    }


def test_reload_agent_lists_non_reloadable_params() -> None:
    info = reload_info_from_xml(AgentName("ocf", "p", "X"), OCF11)
    assert info.restart_params == ("port", "server")
    attrs = restart_attributes(info, {"fake": "a", "port": "1"})
    assert attrs["op-force-restart"] == "  port server  "
    # only the non-reloadable values go into the restart digest
    assert attrs["op-restart-digest"] == restart_attributes(info, {"port": "1"})["op-restart-digest"]
    assert attrs["op-restart-digest"] != restart_attributes(info, {"port": "2"})["op-restart-digest"]


def test_reload_agent_ignored_below_ocf_1_1() -> None:
    xml = OCF11.replace(b"<version>1.1</version>", b"<version>1.0</version>")
    assert reload_info_from_xml(AgentName("ocf", "p", "X"), xml) == NO_RELOAD
    assert restart_attributes(NO_RELOAD, {"a": "b"}) == {}


def test_monitor_records_never_carry_restart_digest() -> None:
    info = ReloadInfo(("state",))
    req = OpRequest("d", AgentSpec.parse("ocf:heartbeat:Dummy"), "monitor", interval_ms=10000)
    (el,) = op_elements(event(req), "n", info)
    assert el.get("op-force-restart") is None
    req0 = OpRequest("d", AgentSpec.parse("ocf:heartbeat:Dummy"), "monitor")
    (el0,) = op_elements(event(req0, rc=7, transition_key="1:1:7:u"), "n", info)
    assert el0.get("op-force-restart") == "  state  "


@pytest.mark.parametrize(("rc", "ocf"), [(0, 0), (1, 7), (2, 7), (3, 7), (4, 1), (5, 5), (6, 4),
                                          (150, 1)])
def test_lsb_status_mapping(rc: int, ocf: int) -> None:
    assert lsb_status_to_ocf(rc) == ocf


def test_lsb_action_mapping() -> None:
    assert lsb_action_to_ocf("stop", 7) == 0
    assert lsb_action_to_ocf("start", 7) == 7
    assert lsb_action_to_ocf("start", 5) == 5
    assert lsb_action_to_ocf("start", 42) == 1


@pytest.mark.parametrize("rc", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191])
def test_ocf_codes_kept(rc: int) -> None:
    assert normalize_ocf_rc(rc) == rc


@pytest.mark.parametrize("rc", [10, 99, 126, 127, 189, 192, 255])
def test_other_codes_are_generic_errors(rc: int) -> None:
    assert normalize_ocf_rc(rc) == 1


def test_environment() -> None:
    env = ocf_environment(EnvInput(
        rsc_id="WebSite", spec=AgentSpec.parse("ocf:heartbeat:apache"), action="monitor",
        params={"configfile": "/etc/apache2/apache2.conf"},
        meta={"target-role": "Started", "cgroup-watch": "false"},
        interval_ms=60000, timeout_ms=20000, node_name="pcmk-1"))
    assert env["OCF_ROOT"] == "/usr/lib/ocf"
    assert env["OCF_RESOURCE_INSTANCE"] == "WebSite"
    assert env["OCF_RESOURCE_TYPE"] == "apache"
    assert env["OCF_RESOURCE_PROVIDER"] == "heartbeat"
    assert env["OCF_RESKEY_configfile"] == "/etc/apache2/apache2.conf"
    assert env["OCF_RESKEY_CRM_meta_timeout"] == "20000"
    assert env["OCF_RESKEY_CRM_meta_interval"] == "60000"
    assert env["OCF_RESKEY_CRM_meta_name"] == "monitor"
    assert env["OCF_RESKEY_CRM_meta_on_node"] == "pcmk-1"
    assert env["OCF_RESKEY_CRM_meta_target_role"] == "Started"
    assert env["OCF_RA_VERSION_MAJOR"] == "1" and env["OCF_RA_VERSION_MINOR"] == "1"
    assert "HOME" not in env  # rebuilt from scratch, not inherited


def test_find_agent_refuses_path_tricks(tmp_path: Path) -> None:
    (tmp_path / "prov").mkdir()
    (tmp_path / "prov" / "A").write_text("#!/bin/sh\n")
    assert find_agent(AgentSpec("ocf", "A", "prov"), (tmp_path,)) == tmp_path / "prov" / "A"
    assert find_agent(AgentSpec("ocf", "../prov/A", "prov"), (tmp_path,)) is None
    assert find_agent(AgentSpec("ocf", "A", ".."), (tmp_path,)) is None
    assert find_agent(AgentSpec("ocf", "B", "prov"), (tmp_path,)) is None
    assert find_agent(AgentSpec("lsb", "../../bin/sh"), (), tmp_path) is None


def test_agent_spec_parse() -> None:
    assert AgentSpec.parse("ocf:heartbeat:IPaddr2") == AgentSpec("ocf", "IPaddr2", "heartbeat")
    assert str(AgentSpec.parse("lsb:apache2")) == "lsb:apache2"
    with pytest.raises(ValueError):
        AgentSpec.parse("IPaddr2")


def test_exit_reason_is_last_prefixed_line() -> None:
    err = "noise\nocf-exit-reason:first\nINFO: x\n2024 ERROR: ocf-exit-reason:Config missing\n"
    assert parse_exit_reason(err) == "Config missing"
    assert parse_exit_reason("nothing here") == ""


def test_cgroup_text_parsing() -> None:
    mounts = ("tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
              "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
              "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n")
    assert cgroup2_mount(mounts) == Path("/sys/fs/cgroup/unified")
    assert cgroup2_mount("proc /proc proc rw 0 0\n") is None
    assert own_cgroup("4:memory:/x\n0::/system.slice/tandemd.service\n") == \
        "/system.slice/tandemd.service"
    assert own_cgroup("1:cpu:/\n") is None
    assert parse_events("populated 0\nfrozen 0\n") == {"populated": "0", "frozen": "0"}


def test_records_serialize_as_xml() -> None:
    req = OpRequest("r", IP, "start", params={"ip": 'a"b<c'})
    (el,) = op_elements(event(req), "n")
    back = etree.fromstring(etree.tostring(el))
    assert back.get("id") == "r_last_0"


def test_merge_into_node_state_builds_the_tree() -> None:
    from tandem.daemon.executor.records import merge_into_node_state

    ns = etree.Element("node_state", {"id": "1", "uname": "pcmk-1"})
    start = OpRequest("ClusterIP", IP, "start", params=IP_PARAMS)
    mon = OpRequest("ClusterIP", IP, "monitor", interval_ms=30000, params=IP_PARAMS)
    merge_into_node_state(ns, event(start), "pcmk-1")
    merge_into_node_state(ns, event(mon, call_id=6), "pcmk-1")
    merge_into_node_state(ns, event(OpRequest("Other", IP, "monitor"), rc=7), "pcmk-1")
    assert ns.find("lrm").get("id") == "1"
    rscs = ns.findall("lrm/lrm_resources/lrm_resource")
    assert [r.get("id") for r in rscs] == ["ClusterIP", "Other"]
    assert [o.get("id") for o in rscs[0]] == ["ClusterIP_last_0", "ClusterIP_monitor_30000"]
