"""PID 1 of a lab node: builds the node's private view, starts enabled services, reaps.

Run as ``python -I -S nodeinit.py CONFIG.json`` by the lab, already as PID 1 of
a fresh PID namespace (the lab forks it from a thread that unshared
CLONE_NEWPID, so it stays the direct child of the process that booted it and
can be reaped by it).  It deliberately imports only the standard library: it
must start fast and keep working whatever state the rest of the checkout is in.

Steps, in order:
1. join the node's cgroup (everything the node starts inherits it);
2. enter the node's network namespace (prepared by the lab: eth0, lo, address);
3. unshare mount, UTS and IPC namespaces; make every mount private;
4. mount a fresh /proc (for this PID namespace) and /sys (for this network
   namespace, with the host's cgroup tree bound back), tmpfs on /run and
   /dev/shm, bind the node's persistent folders, /etc/hosts, /etc/hostname and
   /etc/resolv.conf;
   paths that must stay visible (the checkout, its venv) are bound back if a
   private folder hid them;
5. set the hostname;
6. start what is enabled (see docs/lab.md, "Boot-time services"), then print
   ``ready`` on stdout (the lab waits for it);
7. reap every child and orphan forever (a zombie apache must not look alive).

SIGTERM asks for a clean power-off: every process of the node gets SIGTERM,
then SIGKILL after a grace period.  A crash is SIGKILL from outside.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
MNT_DETACH = 2

SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SHUTDOWN_GRACE = 5.0


def _check(rc: int, what: str) -> None:
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def mount(src: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(src.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                    data.encode() if data else None),
        f"mount {src} on {target}",
    )


def setns(path: str, nstype: int) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(fd, nstype), f"setns {path}")
    finally:
        os.close(fd)


def detach_under(tops: tuple[str, ...]) -> None:
    """Lazily unmount every mount at or below ``tops`` (this namespace only)."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if any(mp == t or mp.startswith(t + "/") for t in tops):
                points.append(mp)
    for mp in sorted(points, key=len, reverse=True):
        _libc.umount2(mp.encode(), MNT_DETACH)  # EINVAL: already gone with a parent


def build_node(cfg: dict) -> None:
    """Steps 1-5 above.  Raises OSError with a message naming what failed."""
    with open(cfg["cgroup_procs"], "w") as f:
        f.write("0")
    setns(cfg["netns_path"], CLONE_NEWNET)
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC), "unshare")
    mount("none", "/", None, MS_REC | MS_PRIVATE)

    # Open every source before anything is mounted over anything: a state
    # directory or checkout under a folder made private (/run, /var/log...)
    # stays reachable through its descriptor (/proc/self/fd/N).
    def opath(p: str) -> int:
        return os.open(p, os.O_PATH | os.O_CLOEXEC)

    root = cfg["persist_root"]
    dir_fds = {}
    for d in cfg["persistent"]:
        os.makedirs(root + d, exist_ok=True)
        os.makedirs(d, exist_ok=True)  # mount point (an empty folder at worst)
        dir_fds[d] = opath(root + d)
    file_fds = {target: opath(src) for target, src in cfg["bind_files"].items()}
    keep_fds = {p: opath(p) for p in cfg["rebind"]}
    cg_fd = opath("/sys/fs/cgroup")

    # Our copies of the mounts under /run (notably /run/netns/*, which pin other
    # nodes' network namespaces) must go, or a crashed node's namespace would
    # live on as long as any other node does.
    detach_under(("/run", "/dev/shm"))

    def bind(fd: int, target: str, flags: int = MS_BIND | MS_REC) -> None:
        mount(f"/proc/self/fd/{fd}", target, None, flags)
        os.close(fd)

    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    bind(cg_fd, "/sys/fs/cgroup")

    for d, fd in dir_fds.items():
        bind(fd, d)
    for sub in cfg["log_subdirs"]:
        os.makedirs(os.path.join("/var/log", sub), exist_ok=True)
    os.makedirs("/etc/tandem/enabled", exist_ok=True)

    mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
    os.makedirs("/run/lock", exist_ok=True)
    os.chmod("/run/lock", 0o1777)
    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")

    for target, fd in file_fds.items():
        bind(fd, target, MS_BIND)

    for path, fd in keep_fds.items():
        os.makedirs(path, exist_ok=True)
        bind(fd, path)

    socket.sethostname(cfg["node"])
    os.chdir("/")


class Init:
    """Step 6-7: boot services and the reaping loop."""

    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.venv = cfg["venv"]
        self.services: dict[int, str] = {}
        self.stop_requested = False
        self.log_path = "/var/log/tandem/boot.log"

    def log(self, msg: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        try:
            with open(self.log_path, "a") as f:
                f.write(f"{stamp} {self.cfg['node']} init: {msg}\n")
        except OSError:
            pass

    def env(self) -> dict[str, str]:
        env = {
            "PATH": f"{SERVICE_PATH}:{self.venv}/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "TANDEM_LAB": self.cfg["lab"],
            "TANDEM_LAB_NODE": self.cfg["node"],
        }
        # `TANDEM_DEBUG=yes tandem lab up` gives every node's daemons debug logs
        if os.environ.get("TANDEM_DEBUG"):
            env["TANDEM_DEBUG"] = os.environ["TANDEM_DEBUG"]
        return env

    def spawn(self, label: str, argv: list[str]) -> None:
        if not os.access(argv[0], os.X_OK):
            self.log(f"{label}: enabled but {argv[0]} is missing or not executable; skipped")
            return
        try:
            with open(self.log_path, "ab") as out:
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                     env=self.env(), cwd="/", start_new_session=True,
                                     close_fds=True)
        except OSError as exc:
            self.log(f"{label}: could not start {argv[0]}: {exc}")
            return
        self.services[p.pid] = label
        # Popen's own bookkeeping must not reap behind our back.
        p.returncode = 0
        self.log(f"{label}: started {' '.join(argv)} (pid {p.pid})")

    def boot_services(self) -> None:
        enabled = "/etc/tandem/enabled"
        self.log("booted")
        if os.path.exists(os.path.join(enabled, "api")):
            self.spawn("api", [f"{self.venv}/bin/tandemd-api"])
        if os.path.exists(os.path.join(enabled, "cluster")):
            self.spawn("cluster", [f"{self.venv}/bin/tandem", "cluster", "start"])

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            label = self.services.pop(pid, None)
            if label is not None:
                self.log(f"{label}: pid {pid} exited with status "
                         f"{os.waitstatus_to_exitcode(status)}")

    def run(self) -> None:
        rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wfd)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        while not self.stop_requested:
            self.reap()
            try:
                select.select([rfd], [], [], 5.0)
                os.read(rfd, 4096)
            except BlockingIOError:
                pass
            except OSError as exc:
                if exc.errno != errno.EINTR:
                    raise
        self.shutdown()

    def _on_signal(self, signum: int, frame: object) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            self.stop_requested = True

    def shutdown(self) -> None:
        """Clean power-off: SIGTERM to all (kill(-1) spares PID 1), then SIGKILL."""
        self.log("power-off requested")
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGTERM)
        deadline = time.monotonic() + SHUTDOWN_GRACE
        while time.monotonic() < deadline:
            self.reap()
            try:
                os.kill(-1, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        self.log("powered off")
        sys.exit(0)


def main() -> None:
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    try:
        build_node(cfg)
    except OSError as exc:
        sys.stdout.write(f"error: {exc}\n")
        sys.stdout.flush()
        sys.exit(1)
    init = Init(cfg)
    # Services are launched before "ready": when boot returns, the boot log
    # already says what was started.
    init.boot_services()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    init.run()


if __name__ == "__main__":
    main()
