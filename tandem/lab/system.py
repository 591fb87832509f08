"""Thin wrappers over the system calls and tools the lab uses (ip, nft, cgroup2, /proc).

Why a module of its own: these are the lab's only I/O; keeping them small
and explicit makes it obvious that the lab touches nothing but its own
namespaces, cgroups and pids.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from tandem.errors import LabError, error
from tandem.lab.plan import cgroup2_mount

CLONE_NEWPID = 0x20000000
NETNS_DIR = Path("/run/netns")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.unshare.argtypes = [ctypes.c_int]


def run(argv: Sequence[str], *, input: str | None = None, what: str = "",
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a helper tool; on failure raise LabError quoting its stderr."""
    try:
        cp = subprocess.run(list(argv), input=input, capture_output=True, text=True,
                            timeout=60)
    except FileNotFoundError:
        raise LabError(error("LAB_TOOL_MISSING",
                             f"'{argv[0]}' is not installed; install it (iproute2, nftables, "
                             "util-linux) and retry", tool=argv[0])) from None
    if check and cp.returncode != 0:
        msg = (cp.stderr or cp.stdout).strip().replace("\n", "; ")
        raise LabError(error("LAB_COMMAND_FAILED",
                             f"{what or argv[0]} failed: {' '.join(argv)}: {msg}",
                             argv=list(argv)))
    return cp


def ip_batch(netns: str, commands: Sequence[str], what: str) -> None:
    run(["ip", "-n", netns, "-batch", "-"], input="\n".join(commands) + "\n", what=what)


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def netns_add(name: str) -> None:
    run(["ip", "netns", "add", name], what=f"creating network namespace {name}")


def netns_del(name: str) -> None:
    if netns_exists(name):
        run(["ip", "netns", "del", name], what=f"deleting network namespace {name}",
            check=False)


def nft(netns: str, script: str, what: str) -> None:
    run(["nsenter", f"--net={NETNS_DIR / netns}", "nft", "-f", "-"], input=script, what=what)


# ---------------------------------------------------------------- cgroups


def cgroup2_root() -> Path:
    with open("/proc/self/mounts") as f:
        mp = cgroup2_mount(f.read())
    if mp is None:
        raise LabError(error("LAB_NO_CGROUP2",
                             "no cgroup2 hierarchy is mounted (see /proc/self/mounts); mount "
                             "one, e.g. `mount -t cgroup2 none /sys/fs/cgroup/unified`"))
    return Path(mp)


def cgroup_procs(cg: Path) -> list[int]:
    try:
        return [int(x) for x in (cg / "cgroup.procs").read_text().split()]
    except FileNotFoundError:
        return []


def cgroup_populated(cg: Path) -> bool:
    try:
        for line in (cg / "cgroup.events").read_text().splitlines():
            k, _, v = line.partition(" ")
            if k == "populated":
                return v.strip() == "1"
    except FileNotFoundError:
        return False
    return False


def cgroup_kill(cg: Path) -> None:
    """Kill every process of ``cg`` and its descendants at once (cgroup.kill)."""
    if not cg.exists():
        return
    kill_file = cg / "cgroup.kill"
    if kill_file.exists():
        kill_file.write_text("1")
        return
    # Kernels before 5.14: SIGKILL every pid of the subtree, by pid.
    for sub in sorted(cg.rglob("cgroup.procs")):
        for pid in cgroup_procs(sub.parent):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def cgroup_freeze(cg: Path, frozen: bool = True) -> None:
    """Stop (or resume) every process of ``cg`` where it stands (needs cgroup.freeze)."""
    f = cg / "cgroup.freeze"
    if f.exists():
        f.write_text("1" if frozen else "0")


def wait_cgroup_empty(cg: Path, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while cgroup_populated(cg):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def cgroup_remove_tree(cg: Path) -> None:
    """rmdir ``cg`` and every cgroup below it (the executor nests its own), deepest first."""
    if not cg.exists():
        return
    dirs = [p for p in cg.rglob("*") if p.is_dir()]
    for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True) + [cg]:
        with contextlib.suppress(OSError):
            d.rmdir()


# ---------------------------------------------------------------- processes


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time) of ``pid``, or None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = text[text.rindex(")") + 2:].split()
    return rest[0], int(rest[19])


def proc_comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def proc_cgroup2(pid: int) -> str | None:
    try:
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return line[3:]
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def spawn_in_new_pidns(argv: Sequence[str], **popen_kwargs: object) -> subprocess.Popen[bytes]:
    """Start ``argv`` as PID 1 of a new PID namespace, as a direct child of this process.

    unshare(CLONE_NEWPID) changes only the calling *thread's* namespace for
    children, so it is done in a short-lived thread: the rest of the process
    is untouched, and the new init remains our child (this machine's PID 1
    does not reap orphans, so being able to wait() for it matters).
    """
    result: dict[str, object] = {}

    def target() -> None:
        try:
            if _libc.unshare(CLONE_NEWPID) != 0:
                e = ctypes.get_errno()
                raise OSError(e, f"unshare(CLONE_NEWPID): {os.strerror(e)}")
            result["proc"] = subprocess.Popen(list(argv), **popen_kwargs)  # type: ignore[call-overload]
        except BaseException as exc:  # re-raised in the caller's thread
            result["exc"] = exc

    t = threading.Thread(target=target, name="tandem-lab-spawn")
    t.start()
    t.join()
    if "exc" in result:
        exc = result["exc"]
        assert isinstance(exc, BaseException)
        raise LabError(error("LAB_SPAWN_FAILED", f"could not start a node init: {exc}")) from exc
    proc = result["proc"]
    assert isinstance(proc, subprocess.Popen)
    return proc
