"""``tandem status`` after failures, checked against Debian's crm_mon 2.1.5 on the same CIB.

Each case builds a CIB the way a tandem cluster holds it: the walkthrough's
configuration (``tandem.cib.walkthrough``) plus operation records written by
tandem's own executor record writer (``tandem.daemon.executor.records``) and
fail counts written by the controller's status writers, or the CIB the
in-memory controller sim ends with after a failed monitor or a crash.  The
same CIB is rendered by ``crm_mon -1 --inactive`` (``CIB_file=``) and by
tandem; from "Node List:" on the two texts must be identical.  Those tests
skip only when crm_mon is not installed.  A few pure tests check properties
that need no oracle (cleanup removes the section, one line per failed
operation, the FAILED mark ignores an offline node).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from tandem.agents.ocf import AgentSpec, ExecStatus
from tandem.agents.runner import AgentResult
from tandem.cib.model import Cib
from tandem.cib.unpack import unpack_status
from tandem.cib.walkthrough import build_step_root
from tandem.cli.status import render_status
from tandem.daemon import cibops
from tandem.daemon.controller.sim import ControllerSim
from tandem.daemon.controller.status import attribute_ops, cleanup_ops
from tandem.daemon.executor.core import OpEvent, OpRequest
from tandem.daemon.executor.records import merge_into_node_state
from tandem.lib.crm_mon import crm_mon_lines, failed_actions, readable_interval

CRM_MON = shutil.which("crm_mon")
needs_crm_mon = pytest.mark.skipif(CRM_MON is None, reason="Debian's crm_mon (pacemaker-cli-utils) is not installed")

APACHE = AgentSpec("ocf", "apache", "heartbeat")
IPADDR2 = AgentSpec("ocf", "IPaddr2", "heartbeat")
UUID = "3a1c5e2b-7d4f-4c0e-9b8a-6f2d1e0c4b7a"
T0 = 1_700_000_100


# --------------------------------------------------------------------------- building CIBs


def record(
    root: etree._Element,
    node: str,
    rsc: str,
    action: str,
    interval_ms: int,
    *,
    call_id: int,
    rc: int = 0,
    status: ExecStatus = ExecStatus.DONE,
    reason: str = "",
    at: int = T0,
    exec_ms: int = 0,
    queue_ms: int = 0,
    expected_rc: int | None = None,
    trigger: str = "request",
) -> None:
    """Write one result into the node's history exactly as tandem's node agent does."""
    probe = action == "monitor" and interval_ms == 0
    expected = expected_rc if expected_rc is not None else (7 if probe else 0)
    req = OpRequest(
        rsc,
        APACHE if rsc == "WebSite" else IPADDR2,
        action,
        interval_ms,
        transition_key=f"{call_id}:{call_id}:{expected}:{UUID}",
    )
    event = OpEvent(
        request=req,
        call_id=call_id,
        rc=rc,
        status=status,
        exit_reason=reason,
        trigger=trigger,
        run_at=at,
        last_rc_change=at,
        exec_ms=exec_ms,
        queue_ms=queue_ms,
        transition_key=req.transition_key,
    )
    ns = root.find(f"status/node_state[@uname='{node}']")
    merge_into_node_state(ns, event, node)


def apply(root: etree._Element, ops: list[dict]) -> etree._Element:
    return cibops.apply_ops(root, ops, origin="test", ts=T0)


def fail_count(root: etree._Element, node: str, name: str, value: str, last: int = T0) -> etree._Element:
    nid = root.find(f"status/node_state[@uname='{node}']").get("id")
    rsc_op = name.split("-", 2)[-1]
    return apply(root, attribute_ops(nid, node, {name: value, f"last-failure-{rsc_op}": str(last)}))


def httpd_killed(*, recovered: bool) -> etree._Element:
    """Walkthrough 6c (both resources on pcmk-1), then apache's 3 s monitor finds httpd gone."""
    root = build_step_root("6c")
    record(root, "pcmk-1", "WebSite", "monitor", 3000, call_id=7, rc=7, reason="httpd is not running",
           exec_ms=41, queue_ms=1, trigger="cgroup-empty")
    root = fail_count(root, "pcmk-1", "fail-count-WebSite#monitor_3000", "1")
    if recovered:
        record(root, "pcmk-1", "WebSite", "stop", 0, call_id=8, at=T0 + 1, exec_ms=1100)
        record(root, "pcmk-1", "WebSite", "start", 0, call_id=9, at=T0 + 2, exec_ms=1500)
        record(root, "pcmk-1", "WebSite", "monitor", 3000, call_id=10, at=T0 + 3, exec_ms=30)
    return root


def set_stonith(root: etree._Element, enabled: bool) -> None:
    nv = root.find("configuration/crm_config//nvpair[@name='stonith-enabled']")
    nv.set("value", "true" if enabled else "false")


def set_op_attr(root: etree._Element, rsc: str, op: str, name: str, value: str) -> None:
    for el in root.iterfind(f"configuration/resources//primitive[@id='{rsc}']/operations/op[@name='{op}']"):
        el.set(name, value)


def set_meta(root: etree._Element, rsc: str, name: str, value: str) -> None:
    prim = root.find(f"configuration/resources//primitive[@id='{rsc}']")
    meta = prim.find("meta_attributes")
    if meta is None:
        meta = etree.SubElement(prim, "meta_attributes", id=f"{rsc}-meta_attributes")
    etree.SubElement(meta, "nvpair", id=f"{rsc}-meta_attributes-{name}", name=name, value=value)


def lose(root: etree._Element, node: str) -> None:
    """The node crashed: the daemon marks it out of the membership, join/expected stay member."""
    ns = root.find(f"status/node_state[@uname='{node}']")
    ns.set("in_ccm", "false")
    ns.set("crmd", "offline")
    for ta in ns.findall("transient_attributes"):
        ns.remove(ta)


# --------------------------------------------------------------------------- the two renderers


def crm_mon_body(root: etree._Element, tmp_path: Path, *args: str) -> list[str]:
    """crm_mon -1 --inactive on the CIB, from "Node List:" on (its summary has the clock in it)."""
    path = tmp_path / "cib.xml"
    path.write_bytes(etree.tostring(root))
    env = {**os.environ, "CIB_file": str(path)}
    proc = subprocess.run([CRM_MON, "-1", "--inactive", *args], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.rstrip("\n").split("\n")
    return lines[lines.index("Node List:"):]


def tandem_status_body(root: etree._Element) -> list[str]:
    """What ``tandem status`` prints for this CIB, from "Node List:" on."""
    text = render_status(etree.tostring(root).decode(), {"dc": "pcmk-2", "quorate": True, "name": "pcmk-2"},
                         time.time())
    lines = text.rstrip("\n").split("\n")
    return lines[lines.index("Node List:"):]


def tandem_lines(root: etree._Element, **kw: bool) -> list[str]:
    cib = Cib.from_element(root)
    state = unpack_status(cib, now=datetime.now(UTC))
    return [line for line in crm_mon_lines(cib, state, **kw)]


def section(lines: list[str], title: str) -> list[str]:
    """The lines of one section (header included), up to the next blank line."""
    if title not in lines:
        return []
    start = lines.index(title)
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


# --------------------------------------------------------------------------- oracle cases


def _case_killed() -> etree._Element:
    return httpd_killed(recovered=False)


def _case_recovered() -> etree._Element:
    return httpd_killed(recovered=True)


def _case_cleaned_up() -> etree._Element:
    root = httpd_killed(recovered=True)
    return apply(root, cleanup_ops("WebSite", cib=root))


def _case_start_timeout() -> etree._Element:
    root = build_step_root("6c")
    record(root, "pcmk-2", "ClusterIP", "start", 0, call_id=11, rc=1, status=ExecStatus.TIMEOUT,
           reason="start did not finish within 20s", exec_ms=20003, queue_ms=2)
    return fail_count(root, "pcmk-2", "fail-count-ClusterIP#start_0", "INFINITY")


def _case_probe_found_error() -> etree._Element:
    root = build_step_root("6c")
    record(root, "pcmk-2", "WebSite", "monitor", 0, call_id=12, rc=1, reason="Configuration file missing",
           exec_ms=1250)
    return root


def _case_two_nodes_two_failures() -> etree._Element:
    root = httpd_killed(recovered=True)
    record(root, "pcmk-2", "ClusterIP", "stop", 0, call_id=13, rc=1, status=ExecStatus.ERROR, exec_ms=65000)
    record(root, "pcmk-1", "ClusterIP", "monitor", 30000, call_id=14, rc=7, at=T0 + 86_401, exec_ms=3_661_001)
    return root


def _case_failed_promoted() -> etree._Element:
    """A monitor that reports rc 9 (failed while promoted): crm_mon says "FAILED Promoted"."""
    root = build_step_root("6c")
    record(root, "pcmk-1", "WebSite", "monitor", 3000, call_id=7, rc=9, reason="promoted instance failed")
    return root


def _case_on_fail_ignore() -> etree._Element:
    root = build_step_root("6c")
    set_op_attr(root, "WebSite", "monitor", "on-fail", "ignore")
    record(root, "pcmk-1", "WebSite", "monitor", 3000, call_id=7, rc=7)
    return root


def _case_failure_expired() -> etree._Element:
    root = httpd_killed(recovered=True)
    set_meta(root, "WebSite", "failure-timeout", "60s")  # the failure is from 2023: long expired
    return root


def _case_crash_fencing_disabled() -> etree._Element:
    """The known bug: WebSite failed on pcmk-1, then pcmk-1 crashed and pcmk-2 took over."""
    root = httpd_killed(recovered=False)
    set_stonith(root, False)
    lose(root, "pcmk-1")
    for rsc in ("ClusterIP", "WebSite"):
        record(root, "pcmk-2", rsc, "start", 0, call_id=20 if rsc == "ClusterIP" else 22)
    record(root, "pcmk-2", "ClusterIP", "monitor", 30000, call_id=21)
    record(root, "pcmk-2", "WebSite", "monitor", 3000, call_id=23)
    return root


def _case_crash_fencing_enabled() -> etree._Element:
    root = httpd_killed(recovered=False)
    set_stonith(root, True)
    lose(root, "pcmk-1")
    return root


ORACLE_CASES = {
    "httpd-killed": _case_killed,
    "httpd-killed-recovered": _case_recovered,
    "cleaned-up": _case_cleaned_up,
    "start-timeout": _case_start_timeout,
    "probe-error": _case_probe_found_error,
    "two-nodes": _case_two_nodes_two_failures,
    "on-fail-ignore": _case_on_fail_ignore,
    "failed-promoted": _case_failed_promoted,
    "failure-expired": _case_failure_expired,
    "crash-fencing-disabled": _case_crash_fencing_disabled,
    "crash-fencing-enabled": _case_crash_fencing_enabled,
}


@needs_crm_mon
@pytest.mark.parametrize("case", sorted(ORACLE_CASES))
def test_tandem_status_renders_like_crm_mon(case: str, tmp_path: Path) -> None:
    root = ORACLE_CASES[case]()
    assert tandem_status_body(root) == crm_mon_body(root, tmp_path)


@needs_crm_mon
@pytest.mark.parametrize("case", ["httpd-killed-recovered", "start-timeout", "two-nodes", "cleaned-up",
                                  "crash-fencing-disabled"])
def test_migration_summary_like_crm_mon_failcounts(case: str, tmp_path: Path) -> None:
    root = ORACLE_CASES[case]()
    assert tandem_lines(root, failcounts=True) == crm_mon_body(root, tmp_path, "--failcounts")


#: what ``pcs status --full`` asks of crm_mon (pcs 0.11.5, lib/pacemaker/live.py), less
#: the fence history (tandem has no fencing yet)
PCS_FULL = ("--show-detail", "--show-node-attributes", "--failcounts")


def _with_node_attributes(root: etree._Element) -> etree._Element:
    """Configured and transient node attributes, some of them crm_mon's own (hidden)."""
    for uname, nid in (("pcmk-1", "1"), ("pcmk-2", "2")):
        node = root.find(f"configuration/nodes/node[@uname='{uname}']")
        ia = etree.SubElement(node, "instance_attributes", id=f"nodes-{nid}")
        etree.SubElement(ia, "nvpair", id=f"nodes-{nid}-rack", name="rack", value=f"r{nid}")
        ns = root.find(f"status/node_state[@uname='{uname}']")
        ta = ns.find("transient_attributes")
        if ta is None:
            ta = etree.SubElement(ns, "transient_attributes", id=nid)
            etree.SubElement(ta, "instance_attributes", id=f"status-{nid}")
        tia = ta.find("instance_attributes")
        for name, value in (("#feature-set", "3.16.1"), ("pingd", "100"),
                            ("a-name-longer-than-thirty-two-chars", "a-long-value")):
            etree.SubElement(tia, "nvpair", id=f"status-{nid}-{name.strip('#')}", name=name,
                             value=value)
    return root


@needs_crm_mon
@pytest.mark.parametrize("case", ["httpd-killed", "two-nodes", "crash-fencing-disabled",
                                  "cleaned-up", "attributes"])
def test_status_full_renders_like_pcs_status_full(case: str, tmp_path: Path) -> None:
    """``tandem status --full``: crm_mon with pcs status --full's options, line for line."""
    if case == "attributes":
        root = _with_node_attributes(ORACLE_CASES["httpd-killed"]())
    else:
        root = ORACLE_CASES[case]()
    text = render_status(etree.tostring(root).decode(), {"dc": "pcmk-2", "quorate": True}, time.time(),
                         full=True)
    ours = text.rstrip("\n").split("\n")
    assert ours[ours.index("Node List:"):] == crm_mon_body(root, tmp_path, *PCS_FULL)


@needs_crm_mon
@pytest.mark.parametrize("case", ["httpd-killed", "start-timeout", "probe-error", "two-nodes"])
def test_detailed_failed_actions_like_crm_mon_show_detail(case: str, tmp_path: Path) -> None:
    """pcs status --full's wording: op key, rc, call id, status, exit reason, times."""
    root = ORACLE_CASES[case]()
    title = "Failed Resource Actions:"
    expected = section(crm_mon_body(root, tmp_path, "--show-detail"), title)
    assert expected  # the case has failures
    assert section(tandem_lines(root, detail=True), title) == expected


@needs_crm_mon
def test_intervals_and_durations_are_worded_like_crm_mon(tmp_path: Path) -> None:
    """Monitor intervals and exec times around every unit boundary (crm_mon's odd carry rules)."""
    root = build_step_root("6c")
    values = [1, 999, 1000, 1001, 1500, 59999, 60000, 60001, 61000, 120000, 3599999, 3600000,
              3600001, 3661000, 86399999, 86400000, 86400001, 90061001, 172800000]
    for i, ms in enumerate(values):
        record(root, "pcmk-1", "ClusterIP", "monitor", ms, call_id=100 + i, rc=7, exec_ms=ms)
    title = "Failed Resource Actions:"
    expected = section(crm_mon_body(root, tmp_path), title)
    assert len(expected) == len(values) + 1
    assert section(tandem_status_body(root), title) == expected


@needs_crm_mon
@pytest.mark.parametrize("scenario", ["failed-monitor", "failed-monitor-then-crash", "failed-start"])
def test_sim_records_render_like_crm_mon(scenario: str, tmp_path: Path) -> None:
    """The controller sim's own records (node agent + executor) after failures."""
    sim = ControllerSim(_dummy_cib(), ["pcmk-1", "pcmk-2"])
    if scenario == "failed-start":
        sim.nodes["pcmk-1"].runner.script[("D1", "start")] = AgentResult(1, exit_reason="broken")
    sim.start()
    if scenario != "failed-start":
        sim.nodes["pcmk-1"].runner.running.discard("D1")  # the service died
        sim.advance(5)
    if scenario == "failed-monitor-then-crash":
        sim.crash("pcmk-1")
    root = sim.cib
    body = tandem_status_body(root)
    assert body == crm_mon_body(root, tmp_path)
    assert tandem_lines(root, failcounts=True) == crm_mon_body(root, tmp_path, "--failcounts")
    if scenario == "failed-monitor-then-crash":
        assert "  * D1\t(ocf:pacemaker:Dummy):\t Started pcmk-2" in body
        assert "Failed Resource Actions:" not in body  # pcmk-1's old failure is not shown
    else:
        assert "Failed Resource Actions:" in body


def _dummy_cib() -> str:
    return (
        '<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="5" num_updates="0" admin_epoch="0">'
        "<configuration><crm_config><cluster_property_set id=\"cib-bootstrap-options\">"
        '<nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="false"/>'
        "</cluster_property_set></crm_config><nodes/><resources>"
        '<primitive id="D1" class="ocf" provider="pacemaker" type="Dummy">'
        '<operations><op id="D1-monitor-interval-5s" name="monitor" interval="5s" timeout="20s"/>'
        '<op id="D1-start-interval-0s" name="start" interval="0s" timeout="20s"/>'
        '<op id="D1-stop-interval-0s" name="stop" interval="0s" timeout="20s"/></operations>'
        "</primitive></resources><constraints/></configuration><status/></cib>"
    )


# --------------------------------------------------------------------------- pure properties


def test_cleanup_removes_the_failed_action_and_the_fail_count() -> None:
    root = httpd_killed(recovered=True)
    before = tandem_status_body(root)
    assert "Failed Resource Actions:" in before
    cleaned = apply(root, cleanup_ops("WebSite", cib=root))
    after = tandem_status_body(cleaned)
    assert "Failed Resource Actions:" not in after
    assert section(tandem_lines(cleaned, failcounts=True), "Migration Summary:") == ["Migration Summary:"]


def test_a_failed_monitor_and_its_last_failure_twin_make_one_line() -> None:
    root = httpd_killed(recovered=False)
    cib = Cib.from_element(root)
    actions = failed_actions(cib, unpack_status(cib, now=datetime.now(UTC)))
    assert [(a.op_key, a.node, a.rc, a.call_id, a.exit_reason) for a in actions] == [
        ("WebSite_monitor_3000", "pcmk-1", 7, 7, "httpd is not running")
    ]
    assert actions[0].exec_ms == 41 and actions[0].queue_ms == 1


def test_unrecovered_failure_is_failed_and_recovered_one_is_started() -> None:
    assert "  * WebSite\t(ocf:heartbeat:apache):\t FAILED pcmk-1" in tandem_status_body(httpd_killed(recovered=False))
    assert "  * WebSite\t(ocf:heartbeat:apache):\t Started pcmk-1" in tandem_status_body(httpd_killed(recovered=True))


def test_a_lost_node_counts_for_nothing_without_fencing() -> None:
    body = tandem_status_body(_case_crash_fencing_disabled())
    assert "  * WebSite\t(ocf:heartbeat:apache):\t Started pcmk-2" in body
    assert "  * ClusterIP\t(ocf:heartbeat:IPaddr2):\t Started pcmk-2" in body
    assert not any("pcmk-1 pcmk-2" in line or "FAILED" in line for line in body)


def test_readable_interval_carries_a_unit_only_strictly_above_it() -> None:
    # The rule itself, independent of the oracle: 60000 ms is not yet a minute for crm_mon.
    assert readable_interval(60000) == "60s"
    assert readable_interval(60001) == "1m1ms"
    assert readable_interval(1500) == "1.500s"


@needs_crm_mon
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("user", [None, "hacluster"])
def test_summary_dc_and_last_change_lines_like_crm_mon(full: bool, user: str | None,
                                                       tmp_path: Path) -> None:
    """``Current DC`` (with the node id under --show-detail) and ``Last change`` (``by USER``
    only when the CIB names one), as crm_mon prints them."""
    root = ORACLE_CASES["httpd-killed"]()
    root.set("cib-last-written", "Wed Nov 25 15:49:06 2026")
    root.set("update-origin", "pcmk-1")
    root.set("update-client", "tandem")
    if user:
        root.set("update-user", user)
    props = root.find("configuration/crm_config/cluster_property_set")
    etree.SubElement(props, "nvpair", id="cib-bootstrap-options-dc-version", name="dc-version",
                     value="tandem-0.1.0")
    info = {"dc": "pcmk-2", "quorate": True, "daemon_version": "tandem-0.1.0",
            "nodes": [{"id": 1, "name": "pcmk-1"}, {"id": 2, "name": "pcmk-2"}]}
    ours = render_status(etree.tostring(root).decode(), info, time.time(), full=full).split("\n")
    path = tmp_path / "cib.xml"
    path.write_bytes(etree.tostring(root))
    args = ["-1", "--inactive", *(["--show-detail"] if full else [])]
    theirs = subprocess.run([CRM_MON, *args], env={**os.environ, "CIB_file": str(path)},
                            capture_output=True, text=True, timeout=60).stdout.split("\n")
    for key in ("  * Current DC:", "  * Last change:"):
        assert [x for x in ours if x.startswith(key)] == [x for x in theirs if x.startswith(key)]
