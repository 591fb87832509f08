"""The lab's Python API: build, drive and tear down a namespace cluster.

Other layers' lab tests and benchmarks use :class:`Lab`; the ``tandem lab``
commands are a thin shell over it.  Every operation takes the lab's lock, and
the state record is written before anything is created, so any failure can
be cleaned up with :meth:`Lab.down`.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import tandem
from tandem.errors import LabError, error
from tandem.lab import plan as P
from tandem.lab import system as S
from tandem.lab.state import LabDir, LabRecord, NodeRecord

Progress = Callable[[str], None]

NODEINIT = Path(__file__).resolve().parent / "nodeinit.py"
READY_TIMEOUT = 30.0


def default_lab_name() -> str:
    return os.environ.get("TANDEM_LAB") or P.DEFAULT_LAB


def checkout_root() -> Path:
    """The project checkout this code runs from (must stay visible inside nodes)."""
    return Path(tandem.__file__).resolve().parent.parent


def venv_dir() -> Path:
    """The virtual environment whose tandem executables nodes run at boot."""
    if sys.prefix != sys.base_prefix:
        return Path(sys.prefix)
    return checkout_root() / ".venv"


def _quiet(_msg: str) -> None:
    pass


class Lab:
    """One named lab.  ``Lab("mine", nodes=3)`` names it; :meth:`up` builds it.

    When the lab already exists (built by another process or by ``tandem lab
    up``), its recorded parameters win over the constructor's, so
    ``Lab("mine").exec(...)`` just works.
    """

    def __init__(
        self,
        name: str | None = None,
        nodes: int = P.DEFAULT_NODES,
        prefix: str = P.DEFAULT_PREFIX,
        subnet: str = P.DEFAULT_SUBNET,
        *,
        root: Path | None = None,
        enable_api: bool = True,
        progress: Progress | None = None,
    ) -> None:
        self.name = P.validate_lab_name(name or default_lab_name())
        self.dir = LabDir(self.name, root)
        self._args = (nodes, prefix, subnet)
        self.enable_api = enable_api
        self.progress: Progress = progress or _quiet
        self._inits: dict[str, subprocess.Popen[bytes]] = {}
        self._cg_root: Path | None = None

    # ------------------------------------------------------------ plan & state

    @property
    def plan(self) -> LabPlan:
        rec = self.dir.load()
        if rec is not None:
            return P.make_plan(rec.name, rec.nodes, rec.prefix, rec.subnet)
        nodes, prefix, subnet = self._args
        return P.make_plan(self.name, nodes, prefix, subnet)

    @property
    def nodes(self) -> list[str]:
        return self.plan.node_names

    @property
    def host_address(self) -> str:
        return self.plan.host_address

    def node_address(self, node: str) -> str:
        return self.plan.node(node).address

    @property
    def cg_root(self) -> Path:
        if self._cg_root is None:
            self._cg_root = S.cgroup2_root()
        return self._cg_root

    def cgroup_path(self, node: str) -> Path:
        """The node's cgroup directory (its processes, and the executor's sub-cgroups)."""
        return self.cg_root / self.plan.node(node).cgroup

    @property
    def lab_cgroup(self) -> Path:
        return self.cg_root / "tandem-lab" / self.name

    def node_path(self, node: str, path: str) -> Path:
        """Host path of ``path`` in the node's persistent folders (readable even when crashed).

        ``lab.node_path("pcmk-1", "/etc/tandem/enabled/cluster")``.
        """
        self.plan.node(node)
        if not any(P.is_under(path, d) for d in P.PERSISTENT_DIRS):
            raise LabError(error("LAB_NOT_PERSISTENT",
                                 f"{path} is not in a node's persistent folders "
                                 f"({', '.join(P.PERSISTENT_DIRS)})", path=path))
        return Path(str(self.dir.persist_root(node)) + path)

    def _record(self) -> LabRecord:
        rec = self.dir.load()
        if rec is None or rec.phase != "up":
            raise LabError(error("LAB_NOT_UP",
                                 f"lab '{self.name}' is not up; build it with "
                                 f"`tandem lab up --lab {self.name}`", lab=self.name))
        return rec

    def exists(self) -> bool:
        return self.dir.exists()

    # ------------------------------------------------------------ node liveness

    def node_pid(self, node: str) -> int | None:
        """Host pid of the node's init (PID 1 inside the node), or None when it is down."""
        rec = self.dir.load()
        if rec is None:
            return None
        self.plan.node(node)
        return self._live_pid(node, rec.node_state.get(node))

    def _live_pid(self, node: str, nrec: NodeRecord | None) -> int | None:
        if nrec is None or nrec.pid is None:
            return None
        st = S.proc_stat(nrec.pid)
        if st is None or st[0] in ("Z", "X") or st[1] != nrec.starttime:
            return None
        return nrec.pid

    def node_pids(self, node: str, comm: str | None = None) -> list[int]:
        """Host pids of the node's processes (its cgroup and every cgroup nested below).

        ``comm`` keeps only processes of that name (``/proc/PID/comm``), e.g.
        ``lab.node_pids("pcmk-1", "apache2")`` to kill httpd on one node by pid.
        """
        pids: list[int] = []
        cg = self.cgroup_path(node)
        if not cg.exists():
            return pids
        for procs in sorted(cg.rglob("cgroup.procs")):
            pids += S.cgroup_procs(procs.parent)
        if comm is not None:
            pids = [p for p in pids if S.proc_comm(p) == comm]
        return sorted(set(pids))

    def is_running(self, node: str) -> bool:
        return self.node_pid(node) is not None

    def _require_pid(self, node: str) -> int:
        self._record()
        pid = self.node_pid(node)
        if pid is None:
            raise LabError(error("LAB_NODE_DOWN",
                                 f"node '{node}' of lab '{self.name}' is not running; start it "
                                 f"with `tandem lab boot {node} --lab {self.name}`",
                                 lab=self.name, node=node))
        return pid

    # ------------------------------------------------------------ up / down

    def up(self) -> Lab:
        """Build the lab: host namespace and bridge, then every node, booted."""
        t0 = time.monotonic()
        nodes, prefix, subnet = self._args
        plan = P.make_plan(self.name, nodes, prefix, subnet)
        S.cgroup2_root()
        with self.dir.locked():
            old = self.dir.load()
            if old is not None and old.phase == "up":
                raise LabError(error("LAB_ALREADY_UP",
                                     f"lab '{self.name}' is already up; remove it first with "
                                     f"`tandem lab down --lab {self.name}`", lab=self.name))
            if old is not None or S.netns_exists(plan.host_netns):
                self.progress(f"Removing what a previous failed 'up' of lab '{self.name}' left")
                self._teardown(old)
            rec = LabRecord(self.name, prefix, subnet, nodes, phase="creating")
            self.dir.save(rec)
            try:
                self.progress(f"Creating lab host namespace {plan.host_netns} "
                              f"(bridge {P.BRIDGE}, {plan.host_address}/{plan.prefixlen})")
                S.netns_add(plan.host_netns)
                S.ip_batch(plan.host_netns, P.host_setup_commands(plan), "setting up the lab host")
                (self.dir.path / "hosts").write_text(P.hosts_file(plan))
                (self.dir.path / "resolv.conf").write_text(P.RESOLV_CONF)
                for n in plan.nodes:
                    self._prepare_persistent(n.name, first_boot=True)
                for n in plan.nodes:
                    self.progress(f"Creating node {n.name} ({n.address}, netns {n.netns})")
                    self._start_node(plan, rec, n)
                self._wait_ready(plan, rec, [n.name for n in plan.nodes])
                rec.phase = "up"
                self.dir.save(rec)
            except BaseException:
                self.progress("Failed; removing what was created")
                self._teardown(self.dir.load())
                raise
        self.progress(f"Lab '{self.name}' is up: {len(plan.nodes)} nodes in "
                      f"{time.monotonic() - t0:.2f} s")
        return self

    def down(self) -> None:
        """Remove everything the lab created; safe to call any time (idempotent)."""
        with self.dir.locked():
            self._teardown(self.dir.load())

    def _teardown(self, rec: LabRecord | None) -> None:
        if rec is not None:
            plan = P.make_plan(rec.name, rec.nodes, rec.prefix, rec.subnet)
            names = [n.name for n in plan.nodes]
        else:
            plan = None
            names = []
        # Nodes whose cgroups exist but which the record does not name (should not happen).
        if self.lab_cgroup.exists():
            names += [p.name for p in self.lab_cgroup.iterdir()
                      if p.is_dir() and p.name not in names]
        for node in names:
            self.progress(f"Stopping node {node}")
            self._kill_node(node, rec.node_state.get(node) if rec else None)
            S.netns_del(f"tandem-{self.name}-{node}")
        host_ns = plan.host_netns if plan else f"tandem-{self.name}-host"
        S.netns_del(host_ns)
        # The shared parent tandem-lab/ stays: removing it could race another lab's up.
        S.cgroup_remove_tree(self.lab_cgroup)
        if self.dir.path.exists():
            shutil.rmtree(self.dir.path, ignore_errors=True)
        self._inits.clear()

    # ------------------------------------------------------------ node lifecycle

    def _prepare_persistent(self, node: str, first_boot: bool = False) -> None:
        plan = self.plan if not first_boot else P.make_plan(self.name, *self._args)
        base = self.dir.persist_root(node)
        for d in P.PERSISTENT_DIRS:
            Path(str(base) + d).mkdir(parents=True, exist_ok=True)
        for sub in P.LOG_SUBDIRS:
            Path(str(base) + "/var/log/" + sub).mkdir(parents=True, exist_ok=True)
        enabled = Path(str(base) + "/etc/tandem/enabled")
        enabled.mkdir(parents=True, exist_ok=True)
        if first_boot and self.enable_api:
            (enabled / P.ENABLED_API).touch()
        ndir = self.dir.node_dir(node)
        (ndir / "hosts").write_text(P.hosts_file(plan))
        (ndir / "hostname").write_text(node + "\n")
        (ndir / "resolv.conf").write_text(P.RESOLV_CONF)

    def _start_node(self, plan: P.LabPlan, rec: LabRecord, n: P.NodePlan) -> None:
        """Network namespace + eth0, cgroup, then the init (not yet waited for)."""
        rec.node_state[n.name] = NodeRecord()
        self.dir.save(rec)
        cg = self.cg_root / n.cgroup
        if cg.exists():  # leftovers of an earlier life: nothing of it may survive a boot
            S.cgroup_kill(cg)
            S.wait_cgroup_empty(cg, 5.0)
            S.cgroup_remove_tree(cg)
        cg.mkdir(parents=True, exist_ok=True)
        S.cgroup_freeze(cg, False)
        S.netns_del(n.netns)
        S.netns_add(n.netns)
        host_cmds, node_cmds = P.node_link_commands(plan, n)
        S.run(["ip", "-n", plan.host_netns, "link", "del", n.veth], check=False)
        S.ip_batch(plan.host_netns, host_cmds, f"creating the link of {n.name}")
        S.ip_batch(n.netns, node_cmds, f"configuring eth0 of {n.name}")
        checkout = str(checkout_root())
        venv = str(venv_dir())
        cfg = {
            "lab": self.name,
            "node": n.name,
            "netns_path": str(S.NETNS_DIR / n.netns),
            "cgroup_procs": str(cg / "cgroup.procs"),
            "persist_root": str(self.dir.persist_root(n.name)),
            "persistent": list(P.PERSISTENT_DIRS),
            "log_subdirs": list(P.LOG_SUBDIRS),
            "bind_files": {f"/etc/{f}": str(self.dir.node_dir(n.name) / f)
                           for f in ("hosts", "hostname", "resolv.conf")},
            "venv": venv,
            "rebind": P.masked_keep_paths([checkout, venv, str(self.dir.path)]),
        }
        cfg_path = self.dir.node_dir(n.name) / "init.json"
        cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
        proc = S.spawn_in_new_pidns(
            [sys.executable, "-I", "-S", str(NODEINIT), str(cfg_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            close_fds=True, cwd="/", start_new_session=True,  # no terminal signals
        )
        self._inits[n.name] = proc
        # The init joins its cgroup itself; doing it from here too closes the
        # window in which a crash or down would miss a just-started init.
        with contextlib.suppress(OSError):
            (cg / "cgroup.procs").write_text(str(proc.pid))
        st = S.proc_stat(proc.pid)
        rec.node_state[n.name] = NodeRecord(pid=proc.pid, starttime=st[1] if st else None)
        self.dir.save(rec)

    def _wait_ready(self, plan: P.LabPlan, rec: LabRecord, names: Iterable[str]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        for name in names:
            proc = self._inits[name]
            assert proc.stdout is not None
            buf = b""
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LabError(error("LAB_BOOT_TIMEOUT",
                                         f"node '{name}' did not come up within "
                                         f"{READY_TIMEOUT:.0f} s", node=name))
                r, _, _ = select.select([proc.stdout], [], [], left)
                if r:
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    buf += chunk
            proc.stdout.close()
            line = buf.decode(errors="replace").strip()
            if line != "ready":
                raise LabError(error("LAB_BOOT_FAILED",
                                     f"node '{name}' failed to boot: {line or 'init exited'}",
                                     node=name))
            self.progress(f"Node {name} booted (init pid {proc.pid})")

    def _kill_node(self, node: str, nrec: NodeRecord | None) -> None:
        """Every process of the node dies at once: cgroup.kill, then the init by pid."""
        cg = self.lab_cgroup / node
        S.cgroup_kill(cg)
        pid = self._live_pid(node, nrec)
        if pid is not None and self._is_our_init(node, pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._reap(node, nrec)
        S.wait_cgroup_empty(cg, 10.0)
        # A node boots in a fresh cgroup (not frozen, no sub-cgroups of its last life).
        S.cgroup_remove_tree(cg)

    def _is_our_init(self, node: str, pid: int) -> bool:
        """Only ever kill a pid that is provably this node's init (cgroup or command line)."""
        cg = "/" + str((self.lab_cgroup / node).relative_to(self.cg_root))
        if S.proc_cgroup2(pid) == cg:
            return True
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return str(self.dir.node_dir(node) / "init.json").encode() in cmdline

    def _reap(self, node: str, nrec: NodeRecord | None) -> None:
        proc = self._inits.pop(node, None)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            return
        # Not our child: wait until it is gone or a zombie of someone else.
        deadline = time.monotonic() + 10
        while self._live_pid(node, nrec) is not None and time.monotonic() < deadline:
            time.sleep(0.01)

    def crash(self, node: str) -> float:
        """Power cut: the link disappears and every process of the node dies at once.

        Returns the wall-clock time (time.time()) at which the link was cut, for
        benchmarks that compare it with the daemons' own timestamps.
        """
        with self.dir.locked():
            rec = self._record()
            plan = self.plan
            n = plan.node(node)
            self._require_pid(node)
            # Freeze first so that nothing of the node acts after its link is gone,
            # then cut the link, then kill everything (cgroup.kill works on frozen tasks).
            S.cgroup_freeze(self.cgroup_path(node))
            cut_at = time.time()
            S.run(["ip", "-n", plan.host_netns, "link", "del", n.veth], check=False)
            self._kill_node(node, rec.node_state.get(node))
            S.netns_del(n.netns)
            rec.node_state[node] = NodeRecord()
            self.dir.save(rec)
            return cut_at

    def boot(self, node: str) -> None:
        """Power on a crashed node: fresh netns, eth0, /run and /dev/shm; persistent folders kept."""
        with self.dir.locked():
            rec = self._record()
            plan = self.plan
            n = plan.node(node)
            if self.node_pid(node) is not None:
                raise LabError(error("LAB_NODE_RUNNING",
                                     f"node '{node}' of lab '{self.name}' is already running; "
                                     f"crash it first with `tandem lab crash {node}`", node=node))
            self._prepare_persistent(node)
            try:
                self._start_node(plan, rec, n)
                self._wait_ready(plan, rec, [node])
            except BaseException:
                self._kill_node(node, rec.node_state.get(node))
                S.netns_del(n.netns)
                rec.node_state[node] = NodeRecord()
                self.dir.save(rec)
                raise

    # ------------------------------------------------------------ partitions

    def partition(self, nodes: Sequence[str]) -> tuple[list[str], list[str]]:
        """Cut all traffic between ``nodes`` and the others (replaces any previous cut)."""
        with self.dir.locked():
            rec = self._record()
            plan = self.plan
            side_a, side_b = P.partition_sides(plan, nodes)
            S.nft(plan.host_netns, P.nft_partition_script(plan, side_a, side_b),
                  "installing the partition rules")
            rec.partition = side_a
            self.dir.save(rec)
            return side_a, side_b

    def heal(self) -> None:
        with self.dir.locked():
            rec = self._record()
            S.nft(self.plan.host_netns, P.nft_heal_script(), "removing the partition rules")
            rec.partition = []
            self.dir.save(rec)

    # ------------------------------------------------------------ running commands

    def exec_argv(self, node: str, argv: Sequence[str], cwd: str | None = None) -> list[str]:
        """The command line that runs ``argv`` inside ``node`` (for callers wanting own Popen)."""
        pid = self._require_pid(node)
        if cwd is None:
            try:
                here = os.getcwd()
            except FileNotFoundError:  # the caller's folder was removed
                here = "/"
            private = P.PERSISTENT_DIRS + P.FRESH_DIRS
            cwd = "/" if any(P.is_under(here, d) for d in private) else here
        procs = self.cgroup_path(node) / "cgroup.procs"
        # sh joins the node's cgroup (echo is a builtin: "0" = itself) and
        # exports TANDEM_LAB / TANDEM_LAB_NODE (as the boot services get them),
        # then nsenter enters every namespace of the node's init.
        script = ('echo 0 > "$1" && export TANDEM_LAB="$2" TANDEM_LAB_NODE="$3" '
                  '&& shift 3 && exec "$@"')
        return [
            "/bin/sh", "-c", script, "sh", str(procs), self.name, node,
            "nsenter", "-t", str(pid), "-m", "-u", "-i", "-n", "-p", f"--wd={cwd}", "--",
            *argv,
        ]

    def spawn(self, node: str, argv: Sequence[str], *, cwd: str | None = None,
              **popen_kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside the node in the background (e.g. ``corosync -f``)."""
        popen_kwargs.setdefault("start_new_session", True)
        return subprocess.Popen(self.exec_argv(node, argv, cwd), **popen_kwargs)

    def exec(
        self,
        node: str,
        argv: Sequence[str],
        *,
        check: bool = False,
        timeout: float | None = None,
        input: str | bytes | None = None,
        capture: bool = True,
        text: bool = True,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> subprocess.CompletedProcess[Any]:
        """Run ``argv`` inside the node and wait; on timeout the whole command is killed."""
        return _run(self.exec_argv(node, argv, cwd), check=check, timeout=timeout,
                    input=input, capture=capture, text=text, env=env, shown=list(argv))

    def host_exec(
        self,
        argv: Sequence[str],
        *,
        check: bool = False,
        timeout: float | None = None,
        input: str | bytes | None = None,
        capture: bool = True,
        text: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[Any]:
        """Run ``argv`` in the lab-host namespace (e.g. curl to the VIP)."""
        self._record()
        return _run(self.host_argv(argv), check=check, timeout=timeout, input=input, capture=capture,
                    text=text, env=env, shown=list(argv))

    def host_spawn(self, argv: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` in the lab-host namespace in the background (e.g. an HTTP prober)."""
        self._record()
        popen_kwargs.setdefault("start_new_session", True)
        return subprocess.Popen(self.host_argv(argv), **popen_kwargs)

    def host_argv(self, argv: Sequence[str]) -> list[str]:
        """nsenter into the host's netns, with the lab's hosts file and no DNS.

        A private mount namespace (unshare -m) carries the bind mounts; it
        first drops its copy of /run/netns so that it pins no node's namespace.
        """
        files = self.dir.path
        script = ('umount -l /run/netns 2>/dev/null; mount --bind "$1" /etc/hosts && '
                  'mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"')
        return ["nsenter", f"--net={S.NETNS_DIR / self.plan.host_netns}", "--",
                "unshare", "--mount", "--", "/bin/sh", "-c", script, "sh",
                str(files / "hosts"), str(files / "resolv.conf"), *argv]

    # ------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        rec = self.dir.load()
        if rec is None:
            return {"lab": self.name, "state": "down", "nodes": []}
        plan = self.plan
        nodes = []
        for n in plan.nodes:
            pid = self._live_pid(n.name, rec.node_state.get(n.name))
            enabled_dir = Path(str(self.dir.persist_root(n.name)) + "/etc/tandem/enabled")
            enabled = sorted(p.name for p in enabled_dir.iterdir()) if enabled_dir.is_dir() else []
            nodes.append({"name": n.name, "address": n.address,
                          "state": "running" if pid else "stopped", "pid": pid,
                          "netns": n.netns, "enabled": enabled})
        return {
            "lab": self.name,
            "state": rec.phase,
            "subnet": plan.subnet,
            "host": {"netns": plan.host_netns, "address": plan.host_address},
            "partition": rec.partition,
            "state_dir": str(self.dir.path),
            "cgroup": str(self.lab_cgroup),
            "nodes": nodes,
        }

    # ------------------------------------------------------------ context manager

    def __enter__(self) -> Lab:
        try:
            return self.up()
        except BaseException:
            self.down()
            raise

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.down()


LabPlan = P.LabPlan


def _run(argv: list[str], *, check: bool, timeout: float | None, input: str | bytes | None,
         capture: bool, text: bool, env: Mapping[str, str] | None, shown: list[str]
         ) -> subprocess.CompletedProcess[Any]:
    """Run the wrapped command; results and errors show the caller's ``shown`` argv."""
    pipe = subprocess.PIPE if capture else None
    with subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else None,
                          stdout=pipe, stderr=pipe, text=text, start_new_session=True,
                          env=dict(env) if env is not None else None) as p:
        try:
            out, err = p.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise subprocess.TimeoutExpired(shown, timeout or 0) from None
        cp = subprocess.CompletedProcess(shown, p.returncode, out, err)
    if check and cp.returncode != 0:
        raise subprocess.CalledProcessError(cp.returncode, shown, cp.stdout, cp.stderr)
    return cp
