"""Starting and stopping this node's cluster services (corosync, tandemd) without systemd.

Why not systemd: lab nodes have none, and a real machine gets the shipped unit
that simply runs ``tandem cluster start``.  Both services run detached (new
session, stdio to log files) so that the command that started them can exit;
their pids are kept under /run/tandem (fresh at every boot, like /run
everywhere), and a pid only counts when /proc says it is still that program.

"Enabled" (start at boot) is the marker file /etc/tandem/enabled/cluster,
read by the lab's node init and by ``tandem-cluster.service``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tandem.daemon import client
from tandem.errors import NotRunningError, TandemError

ENABLED_MARKER = Path("/etc/tandem/enabled/cluster")
COROSYNC_CONF = Path("/etc/corosync/corosync.conf")
LOG_DIR = Path("/var/log/tandem")

Progress = Callable[[str], None]


def run_dir() -> Path:
    return Path(client.socket_path()).parent


def _pid_file(name: str) -> Path:
    return run_dir() / f"{name}.pid"


def _alive(pid: int, name: str) -> bool:
    """Is ``pid`` a live (not zombie) ``corosync`` / ``tandemd`` process?"""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if ") Z " in stat:  # a zombie is dead
        return False
    words = [a.decode(errors="replace") for a in argv if a]
    if name == "corosync":
        return bool(words) and Path(words[0]).name == "corosync"
    return "tandem.daemon.main" in words or any(Path(w).name == "tandemd" for w in words[:2])


def service_pid(name: str) -> int | None:
    """The pid of ``corosync`` or ``tandemd`` on this node, when it runs."""
    try:
        pid = int(_pid_file(name).read_text().strip())
    except (OSError, ValueError):
        pid = 0
    if pid and _alive(pid, name):
        return pid
    if name == "corosync":  # started by someone else (e.g. an init system)
        with contextlib.suppress(OSError, ValueError):
            pid = int(Path("/run/corosync.pid").read_text().strip())
            if _alive(pid, name):
                return pid
    return None


def is_active(name: str) -> bool:
    return service_pid(name) is not None


def is_enabled() -> bool:
    return ENABLED_MARKER.exists()


def set_enabled(on: bool) -> None:
    if on:
        ENABLED_MARKER.parent.mkdir(parents=True, exist_ok=True)
        ENABLED_MARKER.touch()
    else:
        ENABLED_MARKER.unlink(missing_ok=True)


def _spawn(argv: list[str], log_name: str) -> int:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / log_name, "ab") as out:
        p = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            close_fds=True,
            cwd="/",
        )
    return p.pid


TMPFILES = ("/usr/lib/tmpfiles.d/resource-agents.conf",)


def prepare_runtime_dirs(confs: tuple[str, ...] = TMPFILES, root: str = "/") -> list[str]:
    """Create the runtime folders the resource agents expect (systemd-tmpfiles' job at boot).

    Without systemd (lab nodes: a fresh /run at every boot) nobody creates
    e.g. /run/resource-agents (HA_RSCTMP), and agents such as Dummy fail to
    start.  Only ``d`` lines are honoured; returns the folders created.
    """
    made = []
    for conf in confs:
        try:
            lines = Path(conf).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 3 or parts[0] != "d" or not parts[1].startswith("/run/"):
                continue
            path = Path(root) / parts[1].lstrip("/")
            if path.is_dir():
                continue
            try:
                path.mkdir(parents=True, exist_ok=True)
                path.chmod(int(parts[2], 8))
            except (OSError, ValueError):
                continue
            made.append(str(path))
    return made


def start_local(progress: Progress, wait: float | None = None) -> None:
    """``cluster start`` on this node: corosync, then tandemd; optionally wait to be in.

    ``wait`` (seconds) waits until tandemd is in sync with a DC chosen.
    """
    if not COROSYNC_CONF.exists():
        raise TandemError(
            f"{COROSYNC_CONF} does not exist: this node is not part of a cluster, "
            "run 'tandem cluster setup' first"
        )
    run_dir().mkdir(parents=True, exist_ok=True)
    prepare_runtime_dirs()
    progress("Starting Cluster...")
    if not is_active("corosync"):
        pid = _spawn(["corosync", "-f"], "corosync.out")
        _pid_file("corosync").write_text(f"{pid}\n")
    if not is_active("tandemd"):
        pid = _spawn([sys.executable, "-m", "tandem.daemon.main"], "tandemd.out")
        _pid_file("tandemd").write_text(f"{pid}\n")
    if wait is not None:
        progress("Waiting for node(s) to start...")
        wait_until_in(wait)
        progress("Started")


def wait_until_in(timeout: float) -> dict[str, object]:
    """Wait until the local tandemd is in sync and knows the DC (pcs: the node is online).

    Quorum is not required: a node of a two-node cluster started alone waits
    for its peer before votequorum grants it (wait_for_all), yet it is up.
    """
    started = time.monotonic()
    deadline = started + timeout
    last = "tandemd did not answer"
    while True:
        try:
            info = client.cluster_info()
            if info.get("synced") and info.get("dc"):
                return info
            last = (
                f"tandemd is {info.get('phase')}, DC {info.get('dc') or 'not chosen yet'}, "
                f"{'with' if info.get('quorate') else 'without'} quorum"
            )
        except NotRunningError:
            if not is_active("tandemd") and time.monotonic() > started + 2.0:
                raise TandemError(f"tandemd stopped: {_last_exit_reason()}") from None
        except TandemError as exc:
            last = str(exc)
        if time.monotonic() >= deadline:
            raise TandemError(f"Waiting for the cluster to start timed out: {last}")
        time.sleep(0.05)


def _last_exit_reason() -> str:
    """The reason tandemd logged when it last exited (see /var/log/tandem/tandemd.log)."""
    try:
        lines = (LOG_DIR / "tandemd.log").read_text(errors="replace").splitlines()
    except OSError:
        return "see /var/log/tandem/tandemd.log"
    for line in reversed(lines):
        if "exiting (" in line:
            return line.split("): ", 1)[-1]
        if " ERROR: " in line:
            return line.split(" ERROR: ", 1)[-1]
    return "see /var/log/tandem/tandemd.log"


def _wait_gone(name: str, pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while service_pid(name) == pid:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def stop_tandemd(timeout: float = 1260.0) -> None:
    """Clean shutdown of tandemd (the DC moves this node's resources first)."""
    pid = service_pid("tandemd")
    if pid is None:
        return
    try:
        client.request_shutdown()
    except NotRunningError:
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone("tandemd", pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        raise TandemError(f"tandemd (pid {pid}) did not stop within {timeout:g} s: killed")
    _pid_file("tandemd").unlink(missing_ok=True)


def stop_corosync(timeout: float = 30.0) -> None:
    pid = service_pid("corosync")
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    if not _wait_gone("corosync", pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _pid_file("corosync").unlink(missing_ok=True)


def local_node_name() -> str:
    """This node's cluster name: corosync.conf's entry for this host, else the hostname."""
    host = os.uname().nodename
    with contextlib.suppress(Exception):
        from tandem.corosync.conf import CorosyncConf

        names = CorosyncConf.load(COROSYNC_CONF).node_names()
        if host in names:
            return host
    return host


def main(argv: list[str] | None = None) -> None:
    """``python -m tandem.daemon.service start [--wait=SECONDS]``: the light entry point.

    The lab host's ``cluster start`` runs this inside each node instead of the
    whole ``tandem`` CLI: it imports only this module, which saves a good part
    of a second per node on a start (see bench/cluster_start.py).
    """
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "start":
        print("usage: python -m tandem.daemon.service start [--wait=SECONDS]", file=sys.stderr)
        sys.exit(2)
    wait = None
    for a in args[1:]:
        if a.startswith("--wait"):
            wait = float(a.partition("=")[2] or 60)
    try:
        start_local(print, wait=wait)
    except TandemError as exc:
        for r in exc.reports:
            print(f"Error: {r.message}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
