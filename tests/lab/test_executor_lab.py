"""The executor against real agents: heartbeat Dummy, IPaddr2 in a netns, apache in netns+mountns.

Root only.  Each test uses a cgroup of its own (``tex-exec-*`` under this
process's cgroup) and, where the agent touches the network or /run, a
private namespace (``tex-`` prefix, 192.0.2.0/24 only inside it).  Scenarios
that need namespaces run in a child Python (``unshare``/``nsenter``) which
imports this file and prints a JSON summary; the assertions are made here.

Figures (start/stop durations, SIGKILL -> monitor rc 7 through the cgroup
event) are printed, never asserted.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree

from tandem.agents.ocf import AgentSpec, ExecStatus
from tandem.agents.runner import ActionRequest, SubprocessRunner
from tandem.daemon.executor import (
    CgroupTree,
    ExecutorService,
    OpEvent,
    OpRequest,
    default_cgroup_base,
    lrm_resource,
    merge_into,
    op_elements,
    request_from_cib,
)
from tandem.daemon.executor.cgroup import cgroup2_mount, own_cgroup
from tandem.lab.testing import lab_fixture

pytestmark = pytest.mark.lab

HERE = Path(__file__).resolve().parent
PY = sys.executable
WAIT = 30.0


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("lab tests need root")


def _cgroup_parent() -> Path:
    mount = cgroup2_mount(Path("/proc/self/mounts").read_text())
    own = own_cgroup(Path("/proc/self/cgroup").read_text())
    if mount is None or own is None:
        pytest.fail("no cgroup v2 hierarchy on this machine")
    return mount / own.lstrip("/")


def _kill_cgroup_tree(base: Path) -> None:
    """Kill what is left in the cgroups this test created, then remove them."""
    if not base.exists():
        return
    for child in sorted(base.glob("**/"), key=lambda p: len(p.parts), reverse=True):
        kill = child / "cgroup.kill"
        if kill.exists():
            with contextlib.suppress(OSError):
                kill.write_text("1")
        for _ in range(100):
            try:
                child.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)


@pytest.fixture
def cg_base(request: pytest.FixtureRequest) -> Path:
    _require_root()
    base = _cgroup_parent() / f"tex-exec-{os.getpid()}-{request.node.name[:40]}"
    yield base
    _kill_cgroup_tree(base)


class Collector:
    """Collects events from an ExecutorService; waits for the next matching one."""

    def __init__(self) -> None:
        self.q: queue.Queue[OpEvent] = queue.Queue()
        self.seen: list[OpEvent] = []

    def put(self, ev: OpEvent) -> None:
        self.q.put(ev)

    def wait(self, action: str, *, trigger: str | None = None, timeout: float = WAIT) -> OpEvent:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {action} event within {timeout}s; seen {self.seen}")
            try:
                ev = self.q.get(timeout=remaining)
            except queue.Empty:
                raise AssertionError(
                    f"no {action} event within {timeout}s; seen {self.seen}") from None
            self.seen.append(ev)
            if ev.status is ExecStatus.CANCELLED:
                continue
            if ev.request.action == action and (trigger is None or ev.trigger == trigger):
                return ev


def _pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _ev_summary(ev: OpEvent, node: str = "tex-node") -> dict:
    (main, *_rest) = op_elements(ev, node)
    return {
        "action": ev.request.action,
        "interval": ev.request.interval_ms,
        "rc": ev.rc,
        "status": int(ev.status),
        "trigger": ev.trigger,
        "exec_ms": ev.exec_ms,
        "populated": ev.cgroup_populated,
        "failed": ev.failed,
        "reason": ev.exit_reason,
        "record": dict(main.attrib),
        "records": len(_rest) + 1,
    }


# -- heartbeat Dummy and tandem Dummy (no namespace needed) -------------------


def test_heartbeat_dummy_lifecycle(cg_base: Path, tmp_path: Path) -> None:
    col = Collector()
    svc = ExecutorService(
        "tex-node", SubprocessRunner(node_name="tex-node"), col.put, cgroups=CgroupTree(cg_base)
    )
    spec = AgentSpec.parse("ocf:heartbeat:Dummy")
    params = {"state": str(tmp_path / "dummy.state")}
    try:
        svc.submit(OpRequest("tex-d", spec, "monitor", params=params, transition_key="1:1:7:t"))
        probe = col.wait("monitor")
        assert (probe.rc, probe.failed) == (7, False)
        svc.submit(OpRequest("tex-d", spec, "start", params=params, transition_key="2:1:0:t"))
        start = col.wait("start")
        assert start.rc == 0 and start.status is ExecStatus.DONE
        assert start.cgroup_populated is None  # Dummy: no cgroup by default (leaves no process)
        assert not svc.call(svc.core.is_watching, "tex-d")
        (rec,) = op_elements(start, "tex-node", svc.reload_info(start.request))
        assert rec.get("id") == "tex-d_last_0"
        assert rec.get("op-force-restart") == "  state  "  # heartbeat Dummy: legacy reload
        assert Path(params["state"]).exists()
        svc.submit(OpRequest("tex-d", spec, "monitor", interval_ms=200, params=params))
        first = col.wait("monitor")
        assert first.rc == 0 and first.trigger == "request"
        again = col.wait("monitor", trigger="interval")
        assert again.rc == 0 and again.call_id == first.call_id and not again.changed
        svc.submit(OpRequest("tex-d", spec, "stop", params=params))
        assert col.wait("stop").rc == 0
        assert not Path(params["state"]).exists()
        svc.submit(OpRequest("tex-d", spec, "monitor", params=params))
        assert col.wait("monitor").rc == 7
        assert not (cg_base / "tex-d").exists()
    finally:
        svc.close()


def test_builtin_dummy_daemon_kill_detected_by_cgroup(cg_base: Path, tmp_path: Path) -> None:
    col = Collector()
    tree = CgroupTree(cg_base)
    svc = ExecutorService("tex-node", SubprocessRunner(node_name="tex-node"), col.put, cgroups=tree)
    spec = AgentSpec.parse("ocf:tandem:Dummy")
    params = {"state": str(tmp_path / "td.state"), "daemon": "true"}
    try:
        svc.submit(OpRequest("tex-td", spec, "start", params=params))
        start = col.wait("start")
        assert start.rc == 0 and start.cgroup_populated is True
        pids = tree.pids("tex-td")
        assert len(pids) == 1 and _pid_alive(pids[0])
        # a long interval: only the cgroup event can bring a monitor within the test
        svc.submit(OpRequest("tex-td", spec, "monitor", interval_ms=3_600_000, params=params))
        assert col.wait("monitor").rc == 0
        assert svc.call(svc.core.is_watching, "tex-td")
        t0 = time.monotonic()
        os.kill(pids[0], signal.SIGKILL)
        ev = col.wait("monitor", trigger="cgroup-empty", timeout=10)
        dt = time.monotonic() - t0
        assert ev.rc == 7 and ev.failed
        (main, failure) = op_elements(ev, "tex-node")
        assert main.get("tandem-trigger") == "cgroup-empty"
        assert failure.get("id") == "tex-td_last_failure_0"
        print(f"\n[figure] tandem Dummy daemon SIGKILL -> monitor rc 7: {dt * 1000:.1f} ms "
              "(includes waiting for the host's PID 1 to reap the zombie)")
        svc.submit(OpRequest("tex-td", spec, "stop", params=params))
        assert col.wait("stop").rc == 0
    finally:
        svc.close()


def test_cgroup_watch_false_keeps_interval_monitoring(cg_base: Path, tmp_path: Path) -> None:
    col = Collector()
    tree = CgroupTree(cg_base)
    svc = ExecutorService("tex-node", SubprocessRunner(node_name="tex-node"), col.put, cgroups=tree)
    spec = AgentSpec.parse("ocf:tandem:Dummy")
    params = {"state": str(tmp_path / "nw.state"), "daemon": "true"}
    meta = {"cgroup-watch": "false"}
    try:
        svc.submit(OpRequest("tex-nw", spec, "start", params=params, meta=meta))
        start = col.wait("start")
        assert start.rc == 0 and start.cgroup_populated is None  # not run in a cgroup
        assert not (cg_base / "tex-nw").exists()
        svc.submit(OpRequest("tex-nw", spec, "monitor", interval_ms=300, params=params, meta=meta))
        assert col.wait("monitor").rc == 0
        assert not svc.call(svc.core.is_watching, "tex-nw")
        pid = int(Path(params["state"]).read_text())
        os.kill(pid, signal.SIGKILL)
        ev = col.wait("monitor", trigger="interval")
        while ev.rc == 0:  # the kill may land just after an interval run began
            ev = col.wait("monitor", trigger="interval")
        assert ev.rc == 7
        assert all(e.trigger != "cgroup-empty" for e in col.seen)
        svc.submit(OpRequest("tex-nw", spec, "stop", params=params, meta=meta))
        assert col.wait("stop").rc == 0
    finally:
        svc.close()


# -- timeouts -----------------------------------------------------------------

HANG_AGENT = """#!/bin/sh
# ignores SIGTERM (so does its child: SIG_IGN is inherited), forks a helper, hangs
trap '' TERM
case "$1" in
  meta-data) echo '<resource-agent name="Hang"/>'; exit 0 ;;
  start)
    sleep 1000 &
    echo $! > "$OCF_RESKEY_childpid"
    echo $$ > "$OCF_RESKEY_selfpid"
    sleep 1000
    exit 0 ;;
  stop)
    sleep 1000 ;;
  *) exit 3 ;;
esac
"""


def _hang_root(tmp_path: Path) -> Path:
    root = tmp_path / "resource.d"
    (root / "texprov").mkdir(parents=True)
    agent = root / "texprov" / "Hang"
    agent.write_text(HANG_AGENT)
    agent.chmod(0o755)
    return root


def test_timeout_kills_whole_process_group(tmp_path: Path) -> None:
    _require_root()
    root = _hang_root(tmp_path)
    runner = SubprocessRunner(extra_ocf_dirs=(root,), kill_grace=0.5)
    params = {"childpid": str(tmp_path / "child"), "selfpid": str(tmp_path / "self")}
    t0 = time.monotonic()
    res = runner.run(
        ActionRequest(
            "tex-hang", AgentSpec("ocf", "Hang", "texprov"), "start", params, timeout_ms=700
        )
    )
    took = time.monotonic() - t0
    assert res.status is ExecStatus.TIMEOUT and res.rc == 1
    assert "did not exit" in res.exit_reason
    assert 0.7 <= took < 5
    child = int(Path(params["childpid"]).read_text())
    agent = int(Path(params["selfpid"]).read_text())
    assert agent == res.pid
    # SIGTERM was ignored: only the SIGKILL of the group ended them
    for _ in range(100):
        if not (_pid_alive(child) or _pid_alive(agent)):
            break
        time.sleep(0.02)
    assert not _pid_alive(child) and not _pid_alive(agent)
    print(f"\n[figure] 0.7 s timeout + 0.5 s grace: returned after {took:.3f} s")


def test_timeout_through_service_is_a_failed_record(tmp_path: Path, cg_base: Path) -> None:
    root = _hang_root(tmp_path)
    col = Collector()
    svc = ExecutorService(
        "tex-node",
        SubprocessRunner(extra_ocf_dirs=(root,), kill_grace=0.2),
        col.put,
        cgroups=CgroupTree(cg_base),
    )
    params = {"childpid": str(tmp_path / "c2"), "selfpid": str(tmp_path / "s2")}
    try:
        svc.submit(
            OpRequest(
                "tex-h2",
                AgentSpec("ocf", "Hang", "texprov"),
                "start",
                timeout_ms=500,
                params=params,
                transition_key="5:2:0:t",
            )
        )
        ev = col.wait("start")
        assert ev.status is ExecStatus.TIMEOUT and ev.failed
        recs = op_elements(ev, "tex-node")
        assert [r.get("op-status") for r in recs] == ["2", "2"]
        assert recs[0].get("transition-magic") == "2:1;5:2:0:t"
        assert not svc.call(svc.core.is_watching, "tex-h2")  # failed start: no watch
    finally:
        svc.close()


def test_missing_agent_not_installed() -> None:
    res = SubprocessRunner().run(
        ActionRequest("x", AgentSpec("ocf", "NoSuchAgent", "heartbeat"), "start")
    )
    assert (res.rc, res.status) == (5, ExecStatus.NOT_INSTALLED)


def test_lsb_script_status_mapping(tmp_path: Path) -> None:
    _require_root()
    script = tmp_path / "tex-lsb"
    state = tmp_path / "lsb.state"
    script.write_text(f"""#!/bin/sh
### BEGIN INIT INFO
# Short-Description: tex test service
### END INIT INFO
case "$1" in
  start) touch {state}; exit 0 ;;
  stop) rm -f {state}; exit 0 ;;
  status) [ -f {state} ] && exit 0; exit 3 ;;
  *) exit 3 ;;
esac
""")
    script.chmod(0o755)
    runner = SubprocessRunner(lsb_dir=tmp_path)
    spec = AgentSpec.parse("lsb:tex-lsb")
    assert runner.run(ActionRequest("l", spec, "monitor")).rc == 7  # LSB 3 -> not running
    assert runner.run(ActionRequest("l", spec, "start")).rc == 0
    assert runner.run(ActionRequest("l", spec, "monitor")).rc == 0
    assert runner.run(ActionRequest("l", spec, "stop")).rc == 0
    md = runner.run(ActionRequest("l", spec, "meta-data"))
    assert "tex test service" in md.stdout


# -- namespaced scenarios (run in a child python) ------------------------------


def _scenario_main() -> None:
    """Entry point inside the namespace: ``python -c 'import ...; _scenario_main()' NAME BASE``."""
    name, base_arg = sys.argv[1], sys.argv[2]
    if name == "apache-node":
        # inside a lab node: the executor's default place, under the node's cgroup
        base = default_cgroup_base()
        assert base is not None, "no cgroup v2 inside the node"
        Path("/run/lock").mkdir(exist_ok=True)
        out = scenario_apache(base, private_mounts=False)
        out["base"] = str(base)
        print(json.dumps(out))
        return
    fn = {"ipaddr2": scenario_ipaddr2, "apache": scenario_apache}[name]
    print(json.dumps(fn(Path(base_arg))))


# PID 1 of a private PID namespace: runs the scenario and reaps every orphan at
# once, as a lab node's init (or systemd) does.  This machine's own PID 1 reaps
# orphans only every ~1.6 s, which would hide the executor's reaction time.
_REAPER_INIT = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:])
rc = 1
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    if pid == child.pid:
        rc = os.waitstatus_to_exitcode(status)
        break
sys.exit(rc)
"""


def _run_scenario(prefix: list[str], name: str, base: Path, *, reaper: bool = False) -> dict:
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); "
        "import test_executor_lab as t; t._scenario_main()"
    )
    argv = [PY, "-c", code, name, str(base)]
    if reaper:
        argv = [PY, "-c", _REAPER_INIT, *argv]
    proc = subprocess.run(
        [*prefix, *argv], capture_output=True, text=True, timeout=180, cwd=str(HERE.parent.parent)
    )
    if proc.returncode != 0:
        raise AssertionError(f"scenario {name} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def scenario_ipaddr2(base: Path) -> dict:
    col = Collector()
    svc = ExecutorService(
        "tex-node", SubprocessRunner(node_name="tex-node"), col.put, cgroups=CgroupTree(base)
    )
    spec = AgentSpec.parse("ocf:heartbeat:IPaddr2")
    params = {"ip": "192.0.2.100", "cidr_netmask": "24"}
    params2 = {"ip": "192.0.2.101", "cidr_netmask": "24"}
    watch = {"cgroup-watch": "true"}
    out: dict = {}
    try:
        svc.submit(OpRequest("tex-vip", spec, "monitor", params=params))
        out["probe"] = _ev_summary(col.wait("monitor"))
        svc.submit(OpRequest("tex-vip", spec, "start", params=params))
        out["start"] = _ev_summary(col.wait("start"))
        out["addr_after_start"] = subprocess.run(
            ["ip", "-o", "addr", "show"], capture_output=True, text=True
        ).stdout
        svc.submit(OpRequest("tex-vip", spec, "monitor", interval_ms=500, params=params))
        out["monitor"] = _ev_summary(col.wait("monitor"))
        out["monitor2"] = _ev_summary(col.wait("monitor", trigger="interval"))
        svc.submit(OpRequest("tex-vip", spec, "stop", params=params))
        out["stop"] = _ev_summary(col.wait("stop"))
        out["addr_after_stop"] = subprocess.run(
            ["ip", "-o", "addr", "show"], capture_output=True, text=True
        ).stdout
        out["triggers"] = [e.trigger for e in col.seen]
        # with the watch asked for: IPaddr2 (arp_bg=true) leaves send_arp running
        # for about a second; its exit empties the cgroup, the monitor then says 0
        svc.submit(OpRequest("tex-vip2", spec, "start", params=params2, meta=watch))
        out["start_watched"] = _ev_summary(col.wait("start"))
        svc.submit(
            OpRequest("tex-vip2", spec, "monitor", interval_ms=600_000, params=params2, meta=watch)
        )
        col.wait("monitor")
        if out["start_watched"]["populated"]:
            out["after_arp"] = _ev_summary(
                col.wait("monitor", trigger="cgroup-empty", timeout=15)
            )
        svc.submit(OpRequest("tex-vip2", spec, "stop", params=params2, meta=watch))
        col.wait("stop")
    finally:
        svc.close()
    return out


def test_ipaddr2_in_private_netns(cg_base: Path) -> None:
    ns = f"tex-ip-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:

        def nsx(*cmd: str) -> None:
            subprocess.run(["ip", "-n", ns, *cmd], check=True)

        nsx("link", "set", "lo", "up")
        nsx("link", "add", "tex0", "type", "veth", "peer", "name", "tex1")
        nsx("link", "set", "tex1", "up")
        nsx("addr", "add", "192.0.2.1/24", "dev", "tex0")
        nsx("link", "set", "tex0", "up")
        # nsenter --net keeps this mount namespace (and its cgroup2 mount), unlike ip netns exec
        out = _run_scenario(["nsenter", f"--net=/run/netns/{ns}"], "ipaddr2", cg_base)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    assert out["probe"]["rc"] == 7
    assert out["start"]["rc"] == 0
    assert "192.0.2.100/24" in out["addr_after_start"]
    assert out["start"]["populated"] is None  # IPaddr2: not run in a cgroup by default
    assert out["monitor"]["rc"] == 0 and out["monitor2"]["rc"] == 0
    assert "cgroup-empty" not in out["triggers"]
    assert out["start_watched"]["rc"] == 0
    if out["start_watched"]["populated"]:
        assert out["after_arp"]["rc"] == 0 and not out["after_arp"]["failed"]
    assert out["stop"]["rc"] == 0
    assert "192.0.2.100" not in out["addr_after_stop"]
    print(
        f"\n[figure] IPaddr2 start {out['start']['exec_ms']} ms, "
        f"stop {out['stop']['exec_ms']} ms, monitor {out['monitor']['exec_ms']} ms; "
        f"watched start left processes: {out['start_watched']['populated']}; "
        f"triggers {out['triggers']}"
    )


APACHE_PARAMS = {
    "configfile": "/etc/apache2/apache2.conf",
    "statusurl": "http://127.0.0.1/server-status",
}


def scenario_apache(base: Path, private_mounts: bool = True) -> dict:
    if private_mounts:
        # private /run (pid file, lock dir) and /var/log/apache2 in this mount namespace
        subprocess.run(["mount", "-t", "tmpfs", "tex-run", "/run"], check=True)
        Path("/run/lock").mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "tex-log", "/var/log/apache2"], check=True)
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    col = Collector()
    tree = CgroupTree(base)
    svc = ExecutorService("tex-node", SubprocessRunner(node_name="tex-node"), col.put, cgroups=tree)
    spec = AgentSpec.parse("ocf:heartbeat:apache")
    out: dict = {}
    try:
        svc.submit(OpRequest("WebSite", spec, "monitor", params=APACHE_PARAMS))
        out["probe"] = _ev_summary(col.wait("monitor"))
        svc.submit(
            OpRequest("WebSite", spec, "start", params=APACHE_PARAMS, transition_key="10:3:0:tex")
        )
        out["start"] = _ev_summary(col.wait("start"))
        pids = tree.pids("WebSite")
        out["pids"] = pids
        out["comms"] = sorted({Path(f"/proc/{p}/comm").read_text().strip() for p in pids})
        out["watching"] = svc.call(svc.core.is_watching, "WebSite")
        # interval 10 min: within the test only the cgroup event can bring a monitor
        svc.submit(
            OpRequest(
                "WebSite",
                spec,
                "monitor",
                interval_ms=600_000,
                params=APACHE_PARAMS,
                transition_key="11:3:0:tex",
            )
        )
        out["monitor"] = _ev_summary(col.wait("monitor"))
        t0 = time.monotonic()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        ev = col.wait("monitor", trigger="cgroup-empty", timeout=20)
        out["kill_to_rc7_ms"] = (time.monotonic() - t0) * 1000
        out["after_kill"] = _ev_summary(ev)
        out["after_kill_records"] = [dict(r.attrib) for r in op_elements(ev, "tex-node")]
        svc.submit(OpRequest("WebSite", spec, "stop", params=APACHE_PARAMS))
        out["stop"] = _ev_summary(col.wait("stop"))
        # start again, then a clean stop: how long apache's stop takes with httpd alive
        svc.submit(OpRequest("WebSite", spec, "start", params=APACHE_PARAMS))
        out["start2"] = _ev_summary(col.wait("start"))
        svc.submit(OpRequest("WebSite", spec, "stop", params=APACHE_PARAMS))
        out["stop2"] = _ev_summary(col.wait("stop"))
        svc.call(lambda: None)
        out["cgroup_left"] = (base / "WebSite").exists()
        out["triggers"] = [e.trigger for e in col.seen]
    finally:
        svc.close()
        with contextlib.suppress(OSError):
            for pid in tree.pids("WebSite"):
                os.kill(pid, signal.SIGKILL)
    return out


def test_apache_killed_detected_by_cgroup_event(cg_base: Path) -> None:
    if shutil.which("apache2") is None and not Path("/usr/sbin/apache2").exists():
        pytest.fail("apache2 is not installed (scripts/setup.sh installs it)")
    out = _run_scenario(
        [
            "unshare",
            "--net",
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--mount-proc",
        ],
        "apache",
        cg_base,
        reaper=True,
    )
    assert out["probe"]["rc"] == 7
    assert out["start"]["rc"] == 0 and out["start"]["populated"] is True
    assert out["pids"] and out["comms"] == ["apache2"]
    assert out["watching"] is True
    assert out["monitor"]["rc"] == 0
    after = out["after_kill"]
    assert after["rc"] == 7 and after["trigger"] == "cgroup-empty" and after["failed"]
    ids = [r["id"] for r in out["after_kill_records"]]
    assert ids == ["WebSite_monitor_600000", "WebSite_last_failure_0"]
    assert out["after_kill_records"][0]["transition-magic"] == "0:7;11:3:0:tex"
    assert out["stop"]["rc"] == 0
    assert out["start2"]["rc"] == 0 and out["stop2"]["rc"] == 0
    assert out["cgroup_left"] is False
    print(
        f"\n[figure] apache: start {out['start']['exec_ms']} ms, monitor "
        f"{out['monitor']['exec_ms']} ms, SIGKILL of {len(out['pids'])} httpd -> monitor rc 7 "
        f"(cgroup event) {out['kill_to_rc7_ms']:.1f} ms (of which monitor "
        f"{after['exec_ms']} ms), stop after kill {out['stop']['exec_ms']} ms, "
        f"start {out['start2']['exec_ms']} ms, clean stop {out['stop2']['exec_ms']} ms"
    )


# -- Pacemaker's scheduler reads our records -----------------------------------

ORACLE_CIB = """<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="5" num_updates="0"
 admin_epoch="0" have-quorum="1" dc-uuid="1">
<configuration>
 <crm_config><cluster_property_set id="cib-bootstrap-options">
  <nvpair id="o-stonith" name="stonith-enabled" value="false"/>
 </cluster_property_set></crm_config>
 <nodes><node id="1" uname="tex-node"/></nodes>
 <resources>
  <primitive id="tex-hb" class="ocf" provider="heartbeat" type="Dummy">
   <instance_attributes id="tex-hb-ia">
    <nvpair id="tex-hb-ia-state" name="state" value="{hb_state}"/>
   </instance_attributes>
   <operations><op id="tex-hb-monitor-10s" name="monitor" interval="10s"/></operations>
  </primitive>
  <primitive id="tex-td" class="ocf" provider="tandem" type="Dummy">
   <instance_attributes id="tex-td-ia">
    <nvpair id="tex-td-ia-state" name="state" value="{td_state}"/>
    <nvpair id="tex-td-ia-daemon" name="daemon" value="true"/>
   </instance_attributes>
   <operations><op id="tex-td-monitor-1h" name="monitor" interval="1h" timeout="30s"/></operations>
  </primitive>
 </resources>
 <constraints/>
</configuration>
<status>
 <node_state id="1" uname="tex-node" in_ccm="true" crmd="online" join="member"
  expected="member" crm-debug-origin="do_update_resource">
  <lrm id="1"><lrm_resources/></lrm>
 </node_state>
</status>
</cib>"""


def _crm_simulate(cib: etree._Element, path: Path) -> str:
    path.write_bytes(etree.tostring(cib))
    proc = subprocess.run(
        ["crm_simulate", "-S", "-x", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _transition_summary(text: str) -> list[str]:
    lines = text.split("Transition Summary:", 1)[1].split("Executing Cluster Transition", 1)[0]
    return [ln.strip() for ln in lines.splitlines() if ln.strip().startswith("*")]


def test_crm_simulate_reads_our_records(cg_base: Path, tmp_path: Path) -> None:
    """Pacemaker's own scheduler, fed our records, sees a steady state, then a failure."""
    if shutil.which("crm_simulate") is None:
        pytest.fail("crm_simulate (pacemaker-cli-utils) is not installed")
    cib = etree.fromstring(
        ORACLE_CIB.format(hb_state=tmp_path / "hb.state", td_state=tmp_path / "td.state").encode()
    )
    lrm = cib.find(".//lrm_resources")
    col = Collector()
    tree = CgroupTree(cg_base)
    svc = ExecutorService("tex-node", SubprocessRunner(node_name="tex-node"), col.put, cgroups=tree)
    by_rsc: dict[str, etree._Element] = {}

    def record(ev: OpEvent) -> None:
        rsc = by_rsc.get(ev.request.rsc_id)
        if rsc is None:
            rsc = by_rsc[ev.request.rsc_id] = lrm_resource(ev.request.rsc_id, ev.request.spec)
            lrm.append(rsc)
        merge_into(rsc, ev, "tex-node", svc.reload_info(ev.request))

    try:
        n = 0
        for rsc, interval in (("tex-hb", 10000), ("tex-td", 3_600_000)):
            for action, iv, target in (
                ("monitor", 0, 7),
                ("start", 0, 0),
                ("monitor", interval, 0),
            ):
                n += 1
                req = request_from_cib(
                    cib, rsc, action, iv, transition_key=f"{n}:1:{target}:tex-dc"
                )
                svc.submit(req)
                record(col.wait(action))
        steady = _crm_simulate(cib, tmp_path / "steady.xml")
        assert _transition_summary(steady) == [], steady
        assert "Started tex-node" in steady
        # httpd-like death of the tandem Dummy's process: the cgroup event's record
        (pid,) = tree.pids("tex-td")
        os.kill(pid, signal.SIGKILL)
        ev = col.wait("monitor", trigger="cgroup-empty", timeout=10)
        assert ev.rc == 7
        record(ev)
        failed = _crm_simulate(cib, tmp_path / "failed.xml")
        summary = _transition_summary(failed)
        assert any("tex-td" in ln and "Recover" in ln for ln in summary), failed
        assert not any("tex-hb" in ln for ln in summary), failed
        current = failed.split("Transition Summary:", 1)[0]
        assert "tex-td\t(ocf:tandem:Dummy):\t FAILED tex-node" in current, failed
        svc.submit(request_from_cib(cib, "tex-td", "stop"))
        col.wait("stop")
        svc.submit(request_from_cib(cib, "tex-hb", "stop"))
        col.wait("stop")
    finally:
        svc.close()


def test_promote_demote_passthrough_with_stateful(cg_base: Path, tmp_path: Path) -> None:
    """ocf:pacemaker:Stateful: promote makes monitor answer 8 (running promoted)."""
    col = Collector()
    svc = ExecutorService("tex-node", SubprocessRunner(node_name="tex-node"), col.put,
                          cgroups=CgroupTree(cg_base))
    spec = AgentSpec.parse("ocf:pacemaker:Stateful")
    params = {"state": str(tmp_path / "st.state")}
    try:
        results = []
        for action, target in (("start", 0), ("monitor", 0), ("promote", 0), ("monitor", 8),
                               ("demote", 0), ("monitor", 0), ("stop", 0), ("monitor", 7)):
            svc.submit(OpRequest("tex-st", spec, action, params=params, timeout_ms=20000,
                                 transition_key=f"1:1:{target}:t"))
            ev = col.wait(action)
            results.append((action, ev.rc, ev.failed))
        assert results == [("start", 0, False), ("monitor", 0, False), ("promote", 0, False),
                           ("monitor", 8, False), ("demote", 0, False), ("monitor", 0, False),
                           ("stop", 0, False), ("monitor", 7, False)]
    finally:
        svc.close()


# -- inside a real lab node (tandem.lab): nesting under the node's cgroup --------

lab1 = lab_fixture("tex-exec", nodes=1)


def _check_apache(out: dict) -> None:
    assert out["probe"]["rc"] == 7
    assert out["start"]["rc"] == 0 and out["start"]["populated"] is True
    assert out["pids"] and out["comms"] == ["apache2"]
    assert out["watching"] is True
    assert out["monitor"]["rc"] == 0
    after = out["after_kill"]
    assert after["rc"] == 7 and after["trigger"] == "cgroup-empty" and after["failed"]
    assert out["stop"]["rc"] == 0
    assert out["start2"]["rc"] == 0 and out["stop2"]["rc"] == 0
    assert out["cgroup_left"] is False


def test_apache_in_lab_node_nests_under_node_cgroup(lab1) -> None:  # type: ignore[no-untyped-def]
    node = lab1.nodes[0]
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); "
            "import test_executor_lab as t; t._scenario_main()")
    proc = lab1.exec(node, [PY, "-c", code, "apache-node", "-"], timeout=240,
                     cwd=str(HERE.parent.parent))
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(out["base"]) == lab1.cgroup_path(node) / "tandem-rsc"
    _check_apache(out)
    print(f"\n[figure] apache in lab node {node}: start {out['start']['exec_ms']} ms, "
          f"SIGKILL -> monitor rc 7 {out['kill_to_rc7_ms']:.1f} ms (monitor "
          f"{out['after_kill']['exec_ms']} ms), clean stop {out['stop2']['exec_ms']} ms")


def test_new_executor_probe_rewatches_live_cgroup(cg_base: Path, tmp_path: Path) -> None:
    """The daemon restarted: its probe finds the service running and watches it again."""
    spec = AgentSpec.parse("ocf:tandem:Dummy")
    params = {"state": str(tmp_path / "rw.state"), "daemon": "true"}
    tree = CgroupTree(cg_base)
    col1 = Collector()
    svc1 = ExecutorService("tex-node", SubprocessRunner(), col1.put, cgroups=tree)
    try:
        svc1.submit(OpRequest("tex-rw", spec, "start", params=params))
        assert col1.wait("start").rc == 0
    finally:
        svc1.close()
    col = Collector()
    svc = ExecutorService("tex-node", SubprocessRunner(), col.put, cgroups=tree)
    try:
        svc.submit(OpRequest("tex-rw", spec, "monitor", params=params))
        assert col.wait("monitor").rc == 0
        svc.submit(OpRequest("tex-rw", spec, "monitor", interval_ms=3_600_000, params=params))
        assert col.wait("monitor").rc == 0
        assert svc.call(svc.core.is_watching, "tex-rw")
        (pid,) = tree.pids("tex-rw")
        os.kill(pid, signal.SIGKILL)
        ev = col.wait("monitor", trigger="cgroup-empty", timeout=10)
        assert ev.rc == 7
        svc.submit(OpRequest("tex-rw", spec, "stop", params=params))
        assert col.wait("stop").rc == 0
    finally:
        svc.close()
