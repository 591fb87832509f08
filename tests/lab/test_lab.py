"""The namespace lab, end to end with real namespaces (root needed).

One 3-node lab ("t-lab") serves the module; tests that destroy things
(down, failed up) build labs of their own names.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tandem.errors import LabError
from tandem.lab import Lab
from tandem.lab import api as lab_api
from tandem.lab import system as S
from tandem.lab.testing import fresh_lab, lab_fixture

pytestmark = pytest.mark.lab

NODES = ["pcmk-1", "pcmk-2", "pcmk-3"]
REPO = Path(__file__).resolve().parents[2]
TANDEM = str(lab_api.venv_dir() / "bin" / "tandem")

lab3 = lab_fixture("t-lab", nodes=3)


def ping(lab: Lab, node: str, target: str) -> bool:
    return lab.exec(node, ["ping", "-c1", "-W1", target], timeout=10).returncode == 0


def host_ping(lab: Lab, addr: str) -> bool:
    return lab.host_exec(["ping", "-c1", "-W1", addr], timeout=10).returncode == 0


def alive(pid: int) -> bool:
    st = S.proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def wait_for(pred, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def pids_with_cmdline(pids: list[int], argv: list[str]) -> list[int]:
    want = "\0".join(argv) + "\0"
    out = []
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/cmdline").read_text() == want:
                out.append(pid)
        except OSError:
            pass
    return out


# ---------------------------------------------------------------- identity & network


def test_hostname_and_hosts_file(lab3: Lab) -> None:
    for node in NODES:
        assert lab3.exec(node, ["hostname"], check=True).stdout.strip() == node
        # The node's own name resolves to its cluster address, not 127.0.1.1.
        got = lab3.exec(node, ["getent", "hosts", node], timeout=5, check=True).stdout.split()[0]
        assert got == lab3.node_address(node)


def test_eth0_has_the_node_address(lab3: Lab) -> None:
    for i, node in enumerate(NODES, start=1):
        out = lab3.exec(node, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"], check=True).stdout
        assert f"192.0.2.{100 + i}/24" in out
        lo = lab3.exec(node, ["ip", "-o", "link", "show", "lo"], check=True).stdout
        assert "UP" in lo


def test_nodes_ping_each_other_by_name(lab3: Lab) -> None:
    for a in NODES:
        for b in NODES:
            if a != b:
                assert ping(lab3, a, b), f"{a} cannot ping {b}"


def test_lab_host_reaches_every_node(lab3: Lab) -> None:
    for node in NODES:
        assert host_ping(lab3, lab3.node_address(node))
        assert host_ping(lab3, node)  # by name: the lab host has the lab's hosts file
    prober = lab3.host_spawn(
        ["ping", "-c2", "-i0.2", "-W1", "pcmk-2"], stdout=subprocess.PIPE, text=True
    )
    out, _ = prober.communicate(timeout=10)
    assert prober.returncode == 0 and "2 received" in out


def test_bridge_is_not_in_the_root_namespace(lab3: Lab) -> None:
    root_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    host_links = lab3.host_exec(["ip", "-o", "link"], check=True).stdout
    assert " br0:" in host_links
    for i in (1, 2, 3):
        assert re.search(rf"\d+: vn{i}@\S+: .* master br0 ", host_links)
    assert "tandem-t-lab" not in root_links


# ---------------------------------------------------------------- exec semantics


def test_exec_exit_code_stdin_and_environment(lab3: Lab) -> None:
    assert lab3.exec("pcmk-1", ["sh", "-c", "exit 7"]).returncode == 7
    out = lab3.exec(
        "pcmk-3",
        ["sh", "-c", 'echo "$TANDEM_LAB $TANDEM_LAB_NODE $X"'],
        env={"X": "given", "PATH": os.environ["PATH"]},
        check=True,
    ).stdout
    assert out == "t-lab pcmk-3 given\n"
    assert lab3.exec("pcmk-2", ["cat"], input="through stdin").stdout == "through stdin"


def test_exec_timeout_kills_the_command(lab3: Lab) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        lab3.exec("pcmk-1", ["sleep", "37"], timeout=0.5)
    procs = S.cgroup_procs(lab3.cgroup_path("pcmk-1"))
    assert wait_for(lambda: not pids_with_cmdline(procs, ["sleep", "37"]))


def test_cli_exec_status_and_host(lab3: Lab) -> None:
    env = dict(os.environ, TANDEM_LAB="t-lab")
    cp = subprocess.run(
        [TANDEM, "lab", "exec", "pcmk-2", "--", "sh", "-c", "hostname; exit 3"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert (cp.returncode, cp.stdout.strip()) == (3, "pcmk-2")
    cp = subprocess.run([TANDEM, "lab", "status"], capture_output=True, text=True, env=env)
    assert cp.returncode == 0
    for node in NODES:
        assert re.search(rf"{node}\s+{lab3.node_address(node)}\s+running", cp.stdout)
    cp = subprocess.run(
        [TANDEM, "lab", "host", "--", "ip", "-4", "-o", "addr", "show", "br0"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert cp.returncode == 0 and "192.0.2.1/24" in cp.stdout
    cp = subprocess.run([TANDEM, "lab", "crash", "pcmk-9"], capture_output=True, text=True, env=env)
    assert cp.returncode == 1
    assert cp.stderr.startswith("Error: lab 't-lab' has no node 'pcmk-9'")
    assert "Traceback" not in cp.stderr


# ---------------------------------------------------------------- private folders, cgroup


def test_private_and_shared_folders(lab3: Lab) -> None:
    lab3.exec("pcmk-1", ["sh", "-c", "echo one > /etc/tandem/who"], check=True)
    assert lab3.exec("pcmk-2", ["test", "-e", "/etc/tandem/who"]).returncode == 1
    assert not Path("/etc/tandem/who").exists()
    assert lab3.node_path("pcmk-1", "/etc/tandem/who").read_text() == "one\n"
    for d in (
        "/var/log/apache2",
        "/var/log/corosync",
        "/var/www/html",
        "/var/lib/corosync",
        "/var/lib/tandem",
        "/etc/corosync",
    ):
        assert lab3.exec("pcmk-1", ["test", "-d", d]).returncode == 0, d
    # /tmp is shared with the machine; the checkout and its venv are visible in place.
    marker = Path("/tmp") / f"tandem-lab-test-{os.getpid()}"
    marker.write_text("shared")
    try:
        assert lab3.exec("pcmk-3", ["cat", str(marker)], check=True).stdout == "shared"
    finally:
        marker.unlink()
    assert lab3.exec("pcmk-3", ["test", "-x", TANDEM]).returncode == 0
    assert lab3.exec("pcmk-3", ["test", "-f", str(REPO / "pyproject.toml")]).returncode == 0
    # /run and /dev/shm are the node's own.
    lab3.exec("pcmk-1", ["touch", "/run/only-pcmk-1", "/dev/shm/only-pcmk-1"], check=True)
    assert lab3.exec("pcmk-2", ["test", "-e", "/run/only-pcmk-1"]).returncode == 1
    assert lab3.exec("pcmk-2", ["test", "-e", "/dev/shm/only-pcmk-1"]).returncode == 1
    assert not Path("/run/only-pcmk-1").exists()


def test_node_pids_include_nested_cgroups(lab3: Lab) -> None:
    """The executor nests cgroups under its daemon's: node_pids still sees them."""
    sub = lab3.cgroup_path("pcmk-2") / "t-nested"
    sub.mkdir()
    try:
        lab3.exec(
            "pcmk-2",
            ["sh", "-c", f"echo $$ > {sub}/cgroup.procs; exec sleep 41 > /dev/null 2>&1 &"],
            check=True,
        )
        assert wait_for(lambda: len(S.cgroup_procs(sub)) == 1)
        (pid,) = S.cgroup_procs(sub)
        assert pid in lab3.node_pids("pcmk-2")
        assert lab3.node_pids("pcmk-2", "sleep") == [pid]
        assert pid not in lab3.node_pids("pcmk-1")
        os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: not S.cgroup_procs(sub))
    finally:
        sub.rmdir()


def test_node_processes_are_in_the_node_cgroup(lab3: Lab) -> None:
    for node in NODES:
        cg = lab3.exec(node, ["cat", "/proc/self/cgroup"], check=True).stdout
        assert f"0::/tandem-lab/t-lab/{node}\n" in cg
    # Everything in the node's cgroup lives in the node's PID namespace, and
    # nothing of another node is there.
    for node in NODES:
        init = lab3.node_pid(node)
        assert init is not None
        ns = os.readlink(f"/proc/{init}/ns/pid")
        procs = S.cgroup_procs(lab3.cgroup_path(node))
        assert init in procs
        for pid in procs:
            try:
                link = os.readlink(f"/proc/{pid}/ns/pid")
            except FileNotFoundError:
                continue
            if Path(f"/proc/{pid}/comm").read_text().strip() in ("sh", "nsenter"):
                continue  # the lab's own exec wrapper, outside the node by design
            assert link == ns, f"pid {pid} in {node}'s cgroup is not in its PID namespace"


def test_init_is_pid_1_and_reaps_orphans(lab3: Lab) -> None:
    out = lab3.exec("pcmk-1", ["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"], check=True)
    assert "nodeinit.py" in out.stdout
    # An orphan is reparented to the node's init; when it exits it must not stay a zombie.
    pid = lab3.exec(
        "pcmk-1", ["sh", "-c", "sleep 0.3 > /dev/null 2>&1 & echo $!"], check=True
    ).stdout.strip()
    assert lab3.exec("pcmk-1", ["test", "-e", f"/proc/{pid}"]).returncode == 0

    def gone() -> bool:
        return lab3.exec("pcmk-1", ["test", "-e", f"/proc/{pid}"]).returncode != 0

    assert wait_for(gone, 5.0), f"orphan {pid} was not reaped (zombie in pcmk-1)"


def test_api_is_enabled_at_boot_by_default(lab3: Lab) -> None:
    for node in NODES:
        assert lab3.node_path(node, "/etc/tandem/enabled/api").exists()
        log = lab3.node_path(node, "/var/log/tandem/boot.log").read_text()
        assert f"{node} init: api: started" in log


# ---------------------------------------------------------------- crash and boot


def test_crash_is_a_power_cut_and_boot_restores(lab3: Lab) -> None:
    node = "pcmk-3"
    others_before = {n: lab3.node_pid(n) for n in NODES if n != node}
    lab3.exec(
        node, ["sh", "-c", "echo kept > /var/lib/tandem/marker; touch /run/marker"], check=True
    )
    lab3.exec(node, ["ip", "addr", "add", "192.0.2.200/24", "dev", "eth0"], check=True)
    assert host_ping(lab3, "192.0.2.200")
    lab3.exec(node, ["sh", "-c", "sleep 1000 > /dev/null 2>&1 &"], check=True)
    procs = S.cgroup_procs(lab3.cgroup_path(node))
    sleeps = pids_with_cmdline(procs, ["sleep", "1000"])
    assert len(sleeps) == 1
    netns_file = Path(f"/run/netns/tandem-t-lab-{node}")
    assert netns_file.exists()

    before = time.time()
    cut_at = lab3.crash(node)

    assert before <= cut_at <= time.time()
    assert lab3.node_pid(node) is None
    assert not any(alive(p) for p in procs), "a process of the crashed node survived"
    assert not netns_file.exists()
    assert lab3.host_exec(["ip", "link", "show", "vn3"]).returncode != 0
    assert not host_ping(lab3, "192.0.2.200"), "the VIP of the crashed node still answers"
    assert not host_ping(lab3, lab3.node_address(node))
    with pytest.raises(LabError, match="not running"):
        lab3.exec(node, ["true"])
    # Others unaffected.
    assert {n: lab3.node_pid(n) for n in others_before} == others_before
    assert ping(lab3, "pcmk-1", "pcmk-2")

    lab3.boot(node)

    assert lab3.node_pid(node) not in (None, *others_before.values())
    assert lab3.exec(node, ["cat", "/var/lib/tandem/marker"], check=True).stdout == "kept\n"
    assert lab3.exec(node, ["test", "-e", "/run/marker"]).returncode == 1
    assert lab3.exec(node, ["hostname"], check=True).stdout.strip() == node
    assert "192.0.2.200" not in lab3.exec(node, ["ip", "-4", "-o", "addr"], check=True).stdout
    assert ping(lab3, "pcmk-1", node) and ping(lab3, node, "pcmk-2")
    assert ping(lab3, node, "labhost") and ping(lab3, "pcmk-1", "labhost")
    assert host_ping(lab3, lab3.node_address(node))
    log = lab3.node_path(node, "/var/log/tandem/boot.log").read_text()
    assert log.count(f"{node} init: booted") == 2
    with pytest.raises(LabError, match="already running"):
        lab3.boot(node)


def test_boot_starts_only_what_is_enabled(lab3: Lab) -> None:
    node = "pcmk-2"
    lab3.node_path(node, "/etc/tandem/enabled/api").unlink()
    try:
        lab3.crash(node)
        before = lab3.node_path(node, "/var/log/tandem/boot.log").read_text()
        lab3.boot(node)
        after = lab3.node_path(node, "/var/log/tandem/boot.log").read_text()[len(before) :]
        assert f"{node} init: booted" in after
        assert "api: started" not in after
        by_name = {n["name"]: n for n in lab3.status()["nodes"]}
        assert by_name[node]["enabled"] == [] and by_name["pcmk-1"]["enabled"] == ["api"]
    finally:
        lab3.node_path(node, "/etc/tandem/enabled/api").touch()


# ---------------------------------------------------------------- partitions


def test_partition_replace_and_heal(lab3: Lab) -> None:
    try:
        assert lab3.partition(["pcmk-1"]) == (["pcmk-1"], ["pcmk-2", "pcmk-3"])
        assert not ping(lab3, "pcmk-1", "pcmk-2")
        assert not ping(lab3, "pcmk-3", "pcmk-1")
        assert ping(lab3, "pcmk-2", "pcmk-3")
        for node in NODES:
            assert host_ping(lab3, lab3.node_address(node))
        assert lab3.status()["partition"] == ["pcmk-1"]

        lab3.partition(["pcmk-2"])  # replaces the previous cut
        assert ping(lab3, "pcmk-1", "pcmk-3")
        assert not ping(lab3, "pcmk-1", "pcmk-2")
        assert not ping(lab3, "pcmk-2", "pcmk-3")
        with pytest.raises(LabError, match="every node is on the same side"):
            lab3.partition(NODES)
    finally:
        lab3.heal()
    assert lab3.status()["partition"] == []
    for a in NODES:
        for b in NODES:
            if a != b:
                assert ping(lab3, a, b)


# ---------------------------------------------------------------- the real stack


COROSYNC_CONF = """totem {
    version: 2
    cluster_name: labtest
    transport: knet
    crypto_cipher: none
    crypto_hash: none
}
nodelist {
    node {
        ring0_addr: 192.0.2.101
        name: pcmk-1
        nodeid: 1
    }
    node {
        ring0_addr: 192.0.2.102
        name: pcmk-2
        nodeid: 2
    }
}
quorum {
    provider: corosync_votequorum
    two_node: 1
}
logging {
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_syslog: no
    to_stderr: no
}
"""


def test_corosync_forms_a_two_node_membership(lab3: Lab) -> None:
    pair = ["pcmk-1", "pcmk-2"]
    for node in pair:
        lab3.node_path(node, "/etc/corosync/corosync.conf").write_text(COROSYNC_CONF)
    procs = [
        lab3.spawn(n, ["corosync", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for n in pair
    ]
    try:

        def both_members() -> bool:
            outs = [lab3.exec(n, ["corosync-quorumtool", "-s"], timeout=10).stdout for n in pair]
            return all(
                re.search(r"Quorate:\s+Yes", o) and "pcmk-1" in o and "pcmk-2" in o for o in outs
            )

        assert wait_for(both_members, 30.0), lab3.exec(
            "pcmk-1", ["corosync-quorumtool", "-s"]
        ).stdout
        out = lab3.exec("pcmk-2", ["corosync-quorumtool", "-s"], check=True).stdout
        assert re.search(r"^\s+2\s+1 pcmk-2 \(local\)$", out, re.M)
        # The corosync of pcmk-1 lives in pcmk-1's cgroup only.
        procs1 = S.cgroup_procs(lab3.cgroup_path("pcmk-1"))
        assert pids_with_cmdline(procs1, ["corosync", "-f"])
        assert not pids_with_cmdline(S.cgroup_procs(lab3.cgroup_path("pcmk-3")), ["corosync", "-f"])
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


IPADDR2 = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2"
APACHE = "/usr/lib/ocf/resource.d/heartbeat/apache"
VIP = "192.0.2.120"
OCF_IP = {
    "OCF_ROOT": "/usr/lib/ocf",
    "OCF_RESOURCE_INSTANCE": "ClusterIP",
    "OCF_RESKEY_ip": VIP,
    "OCF_RESKEY_cidr_netmask": "24",
}
OCF_WEB = {
    "OCF_ROOT": "/usr/lib/ocf",
    "OCF_RESOURCE_INSTANCE": "WebSite",
    "OCF_RESKEY_configfile": "/etc/apache2/apache2.conf",
    "OCF_RESKEY_statusurl": "http://localhost/server-status",
}


def ocf(lab: Lab, node: str, agent: str, env: dict[str, str], action: str) -> int:
    full = dict(env, PATH="/usr/sbin:/usr/bin:/sbin:/bin")
    return lab.exec(node, [agent, action], env=full, timeout=60).returncode


def test_vip_and_apache_with_the_real_agents(lab3: Lab) -> None:
    """What the walkthrough needs: a VIP on eth0 of one node, an apache per node."""
    web_nodes = ["pcmk-1", "pcmk-2"]
    for node in web_nodes:
        lab3.node_path(node, "/var/www/html/index.html").write_text(f"My Test Site - {node}\n")
    try:
        assert ocf(lab3, "pcmk-1", IPADDR2, OCF_IP, "start") == 0
        for node in web_nodes:
            assert ocf(lab3, node, APACHE, OCF_WEB, "start") == 0
            assert ocf(lab3, node, APACHE, OCF_WEB, "monitor") == 0
        page = lab3.host_exec(["curl", "-s", "-m", "5", f"http://{VIP}/"], timeout=10).stdout
        assert page == "My Test Site - pcmk-1\n"
        for node in NODES:
            addrs = lab3.exec(node, ["ip", "-4", "-o", "addr"], check=True).stdout
            assert (VIP in addrs) == (node == "pcmk-1")
        # Each node's apache is its own: SIGKILL pcmk-1's (by pid, from its cgroup).
        victims = lab3.node_pids("pcmk-1", "apache2")
        assert victims
        assert not set(victims) & set(lab3.node_pids("pcmk-2", "apache2"))
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: not any(alive(p) for p in victims))
        # The node's init reaps them: no zombie is left to look alive to the agent.
        assert wait_for(lambda: all(S.proc_stat(p) is None for p in victims), 5.0)
        assert ocf(lab3, "pcmk-1", APACHE, OCF_WEB, "monitor") == 7
        assert ocf(lab3, "pcmk-2", APACHE, OCF_WEB, "monitor") == 0
    finally:
        for node in web_nodes:
            ocf(lab3, node, APACHE, OCF_WEB, "stop")
        ocf(lab3, "pcmk-1", IPADDR2, OCF_IP, "stop")
    assert VIP not in lab3.exec("pcmk-1", ["ip", "-4", "-o", "addr"], check=True).stdout


# ---------------------------------------------------------------- lifecycle


def _leftovers(name: str) -> list[str]:
    found = []
    found += (
        [f"netns {n}" for n in os.listdir("/run/netns") if n.startswith(f"tandem-{name}-")]
        if os.path.isdir("/run/netns")
        else []
    )
    cg = S.cgroup2_root() / "tandem-lab" / name
    if cg.exists():
        found.append(f"cgroup {cg}")
    lab = Lab(name)
    if lab.dir.path.exists():
        found.append(f"state {lab.dir.path}")
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if f"tandem-{name}-" in line or str(lab.dir.path) in line:
                found.append(f"mount {line.split()[4]}")
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            cgp = S.proc_cgroup2(int(entry))
            if cgp and cgp.startswith(f"/tandem-lab/{name}/") and alive(int(entry)):
                found.append(f"process {entry}")
    return found


def test_down_removes_everything_and_labs_coexist(lab3: Lab) -> None:
    other = fresh_lab("t-lab-b", nodes=1, enable_api=False)
    try:
        # Same subnet, separate bridges: each lab reaches its own pcmk-1.
        assert other.exec("pcmk-1", ["hostname"], check=True).stdout.strip() == "pcmk-1"
        assert host_ping(other, "192.0.2.101")
        assert other.node_pid("pcmk-1") != lab3.node_pid("pcmk-1")
        assert "no node" in str(pytest.raises(LabError, other.node_address, "pcmk-2").value)
        init = other.node_pid("pcmk-1")
        assert init is not None
    finally:
        other.down()
    assert _leftovers("t-lab-b") == []
    assert not alive(init)
    other.down()  # idempotent
    # The module's lab is untouched.
    assert ping(lab3, "pcmk-1", "pcmk-2")


def test_failed_up_leaves_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "broken_init.py"
    broken.write_text("import sys\nprint('error: injected failure', flush=True)\nsys.exit(1)\n")
    monkeypatch.setattr(lab_api, "NODEINIT", broken)
    lab = Lab("t-lab-f", nodes=2)
    lab.down()
    with pytest.raises(LabError, match="injected failure"):
        lab.up()
    assert _leftovers("t-lab-f") == []


def test_down_after_interrupted_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record left in the 'creating' phase with a host namespace: down still cleans it."""
    lab = Lab("t-lab-i", nodes=2)
    lab.down()

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Lab, "_wait_ready", interrupted)
    monkeypatch.setattr(Lab, "_teardown", lambda self, rec: None)  # as if killed hard
    with pytest.raises(KeyboardInterrupt):
        lab.up()
    monkeypatch.undo()
    assert _leftovers("t-lab-i") != []
    Lab("t-lab-i").down()
    assert _leftovers("t-lab-i") == []


def test_checkout_hidden_by_a_private_folder_is_bound_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkout under e.g. /var/log stays visible in nodes at the same path."""
    fake_checkout = Path(f"/var/log/tandem-lab-test-{os.getpid()}/checkout")
    fake_checkout.mkdir(parents=True)
    (fake_checkout / "marker").write_text("the checkout")
    monkeypatch.setattr(lab_api, "checkout_root", lambda: fake_checkout)
    lab = Lab("t-lab-r", nodes=1, enable_api=False)
    try:
        lab.down()
        lab.up()
        got = lab.exec("pcmk-1", ["cat", str(fake_checkout / "marker")], check=True).stdout
        assert got == "the checkout"
        # /var/log itself is still the node's own.
        assert lab.exec("pcmk-1", ["test", "-d", "/var/log/corosync"]).returncode == 0
        assert lab.exec("pcmk-1", ["test", "-e", "/var/log/dpkg.log"]).returncode == 1
    finally:
        lab.down()
        for p in (fake_checkout / "marker", fake_checkout, fake_checkout.parent):
            p.unlink() if p.is_file() else p.rmdir()
