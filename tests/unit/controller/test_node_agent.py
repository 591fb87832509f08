"""NodeAgent, the status readers/writers and the CPG messages, one piece at a time."""

from __future__ import annotations

from ctl_helpers import dummy, make_cib
from lxml import etree

from tandem.agents.ocf import AgentSpec, ExecStatus
from tandem.daemon import cibops
from tandem.daemon.controller import Forget, NodeAgent, Record, Submit, cleanup_ops
from tandem.daemon.controller import messages as msgs
from tandem.daemon.controller import status as st
from tandem.daemon.executor.core import TRIGGER_INTERVAL, TRIGGER_REQUEST, OpEvent, OpRequest

SPEC = AgentSpec("ocf", "Dummy", "pacemaker")


def _cib(resources: str = "", **kw) -> etree._Element:
    cib = cibops.parse(make_cib(resources, **kw))
    etree.SubElement(cib.find("configuration/nodes"), "node", id="1", uname="pcmk-1")
    etree.SubElement(cib.find("status"), "node_state", id="1", uname="pcmk-1", in_ccm="true",
                     crmd="online", join="member", expected="member")
    return cib


def _apply(cib: etree._Element, ops) -> etree._Element:  # noqa: ANN001
    return cibops.apply_ops(cib, list(ops), origin="t", ts=0)


def _event(action: str, rc: int = 0, *, interval: int = 0, status=ExecStatus.DONE,
           call_id: int = 1, changed: bool = True, t: int = 1000, key: str = "") -> OpEvent:
    req = OpRequest("A", SPEC, action, interval, 20000, {"state": "/run/A"},
                    transition_key=key or f"3:1:{7 if action == 'monitor' and not interval else 0}:u")
    trigger = TRIGGER_INTERVAL if interval else TRIGGER_REQUEST
    return OpEvent(req, call_id, rc, status, "", trigger, t, t, 5, 0, req.transition_key, changed)


def _records(outs) -> list[Record]:  # noqa: ANN001
    return [o for o in outs if isinstance(o, Record)]


def test_a_result_becomes_pacemaker_records_in_the_nodes_history():
    cib = _cib(dummy("A"))
    agent = NodeAgent("pcmk-1")
    agent.on_cib(cib)
    (rec,) = _records(agent.on_event(_event("start")))
    cib = _apply(cib, rec.ops)
    op = cib.find("status/node_state/lrm/lrm_resources/lrm_resource[@id='A']/lrm_rsc_op")
    assert op.get("id") == "A_last_0" and op.get("operation_key") == "A_start_0"
    assert op.get("on_node") == "pcmk-1" and op.get("transition-magic") == "0:0;3:1:0:u"
    # a later result replaces the record of the same id (no duplicate ids)
    agent.on_cib(cib)
    (rec,) = _records(agent.on_event(_event("stop", call_id=2)))
    cib = _apply(cib, rec.ops)
    ops = cib.findall("status/node_state/lrm/lrm_resources/lrm_resource/lrm_rsc_op")
    assert [(o.get("id"), o.get("operation")) for o in ops] == [("A_last_0", "stop")]


def test_unchanged_recurring_results_are_not_written():
    agent = NodeAgent("pcmk-1")
    agent.on_cib(_cib(dummy("A")))
    assert agent.on_event(_event("monitor", interval=10000, changed=False)) == []
    assert _records(agent.on_event(_event("monitor", interval=10000, changed=True)))


def test_fail_counts_keep_counting_across_changes_not_yet_applied():
    cib = _cib(dummy("A"))
    agent = NodeAgent("pcmk-1")
    agent.on_cib(cib)
    r1, = _records(agent.on_event(_event("monitor", 7, interval=10000, call_id=5)))
    # a second failure before the first change came back: counts from the pending value
    r2, = _records(agent.on_event(_event("monitor", 1, interval=10000, call_id=5, t=1010)))
    assert r1.pending == {"fail-count-A#monitor_10000": 1}
    assert r2.pending == {"fail-count-A#monitor_10000": 2}
    cib = _apply(_apply(cib, r1.ops), r2.ops)
    agent.applied(r1.ticket)
    agent.applied(r2.ticket)
    agent.on_cib(cib)
    attrs = st.transient_attributes(cib)["pcmk-1"]
    assert attrs["fail-count-A#monitor_10000"] == "2"
    assert attrs["last-failure-A#monitor_10000"] == "1010"
    nv = cib.find("status/node_state/transient_attributes/instance_attributes/"
                  "nvpair[@name='fail-count-A#monitor_10000']")
    assert nv.get("id") == "status-1-fail-count-A.monitor_10000"
    # after a cleanup the count starts again from the CIB (nothing pending any more)
    cib = _apply(cib, cleanup_ops("A"))
    agent.on_cib(cib)
    r3, = _records(agent.on_event(_event("monitor", 7, interval=10000, call_id=9)))
    assert r3.pending == {"fail-count-A#monitor_10000": 1}


def test_what_counts_as_a_failure():
    agent = NodeAgent("pcmk-1")
    agent.on_cib(_cib(dummy("A")))
    # a probe never counts, not even an error; nor does a probe finding it running
    for rc in (0, 1, 5):
        rec, = _records(agent.on_event(_event("monitor", rc)))
        assert rec.pending == {}
    rec, = _records(agent.on_event(_event("monitor", 0)))
    assert "A_last_failure_0" not in "".join(str(o.get("xml", "")) for o in rec.ops)
    # a stop finding it not running is what a stop wants
    rec, = _records(agent.on_event(_event("stop", 7)))
    assert rec.pending == {}
    # failed start: INFINITY (start-failure-is-fatal); failed stop: INFINITY
    rec, = _records(agent.on_event(_event("start", 1)))
    assert rec.pending == {"fail-count-A#start_0": st.INFINITY}
    rec, = _records(agent.on_event(_event("stop", 1, status=ExecStatus.TIMEOUT)))
    assert rec.pending == {"fail-count-A#stop_0": st.INFINITY}


def test_start_failure_not_fatal_and_on_fail_ignore():
    agent = NodeAgent("pcmk-1")
    agent.on_cib(_cib(dummy("A", op_extra='on-fail="ignore"'),
                      props={"start-failure-is-fatal": "false"}))
    rec, = _records(agent.on_event(_event("start", 1)))
    assert rec.pending == {"fail-count-A#start_0": 1}
    rec, = _records(agent.on_event(_event("monitor", 7, interval=10000)))
    assert rec.pending == {}  # the monitor's on-fail is ignore: no count...
    xml = "".join(str(o.get("xml", "")) for o in rec.ops)
    assert "last-failure-A#monitor_10000" in xml and "fail-count-" not in xml  # ...only the time


def test_stop_reuses_the_parameters_of_the_last_start():
    agent = NodeAgent("pcmk-1")
    start = OpRequest("A", SPEC, "start", 0, 20000, {"state": "/old"}, transition_key="1:1:0:u")
    stop = OpRequest("A", SPEC, "stop", 0, 20000, {"state": "/new"}, transition_key="2:2:0:u")
    agent.on_request(start)
    (out,) = agent.on_request(stop)
    assert isinstance(out, Submit) and dict(out.request.params) == {"state": "/old"}


def test_a_request_delivered_twice_runs_once():
    agent = NodeAgent("pcmk-1")
    req = OpRequest("A", SPEC, "start", 0, 20000, {}, transition_key="1:1:0:u")
    assert len(agent.on_request(req)) == 1
    assert agent.on_request(req) == []


def test_cleaned_up_history_makes_the_executor_forget_the_resource():
    cib = _cib(dummy("A"))
    agent = NodeAgent("pcmk-1")
    agent.on_cib(cib)
    (rec,) = _records(agent.on_event(_event("start")))
    cib = _apply(cib, rec.ops)
    assert agent.on_cib(cib) == []
    cib = _apply(cib, cleanup_ops("A"))
    assert agent.on_cib(cib) == [Forget("A")]


def test_cleanup_with_the_cib_only_touches_failed_resources():
    cib = _cib(dummy("A") + dummy("B"))
    agent = NodeAgent("pcmk-1")
    agent.on_cib(cib)
    (ra,) = _records(agent.on_event(_event("start", 1)))  # A failed
    cib = _apply(cib, ra.ops)
    ev_b = OpEvent(OpRequest("B", SPEC, "start", 0, 20000, {}, transition_key="4:1:0:u"),
                   2, 0, ExecStatus.DONE, "", TRIGGER_REQUEST, 1, 1, 1, 0, "4:1:0:u")
    (rb,) = _records(agent.on_event(ev_b))
    cib = _apply(cib, rb.ops)
    assert st.failed_pairs(cib) == {("pcmk-1", "A")}
    cib = _apply(cib, cleanup_ops(cib=cib))
    assert st.lrm_resource_ids(cib, "pcmk-1") == {"B"}
    assert "fail-count-A#start_0" not in st.transient_attributes(cib)["pcmk-1"]
    assert cleanup_ops(cib=cib) == []  # nothing failed any more


def test_wipe_marks_the_incarnation_and_empties_the_history():
    cib = _cib(dummy("A"))
    agent = NodeAgent("pcmk-1")
    agent.on_cib(cib)
    (rec,) = _records(agent.on_event(_event("start")))
    cib = _apply(cib, rec.ops)
    cib = _apply(cib, st.wipe_lrm_ops("1", "pcmk-1", "77-abc"))
    assert st.incarnation(cib, "pcmk-1") == "77-abc"
    assert st.lrm_resource_ids(cib, "pcmk-1") == set()


def test_messages_round_trip_and_only_controller_messages_decode():
    req = OpRequest("A", SPEC, "monitor", 10000, 30000, {"ip": "192.0.2.100"}, {"depth": "10"},
                    {"cgroup-watch": "false"}, "5:2:0:uuid")
    msg = msgs.decode(msgs.exec_msg("pcmk-2", req))
    assert msg["t"] == "ctl-exec" and msg["node"] == "pcmk-2"
    assert msgs.request_from_dict(msg["req"]) == req
    assert msgs.decode(b'{"t":"ops","ops":[]}') is None
    assert msgs.decode(b"not json") is None
