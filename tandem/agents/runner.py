"""Running one agent action: the ``AgentRunner`` protocol and its real implementation.

Why this shape: everything above (the executor's scheduler, the controller)
only needs "run ACTION of this resource with these parameters within TIMEOUT
and tell me rc / status / reason / how long".  Behind the
:class:`AgentRunner` protocol sits either :class:`SubprocessRunner` (real
agents, process groups, timeouts, cgroups) or an in-memory fake
(``tandem.daemon.executor.fakes.FakeRunner``) for unit tests.

How the real runner waits: Pacemaker's lesson is that an agent's ``start``
may fork a daemon that keeps the agent's stdout pipe open (httpd does).
Waiting for end-of-file would then wait for the daemon; so we wait for the
*process* (a pidfd), then read whatever output is already there.

Timeouts: every agent runs in a session and process group of its own
(``setsid``).  Past its timeout the whole group gets SIGTERM, then SIGKILL
after ``kill_grace`` seconds; the result is ``op-status`` TIMEOUT with
rc 1, as Pacemaker records it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tandem.agents.ocf import (
    BUILTIN_RESOURCE_D,
    LSB_DIR_DEFAULT,
    OCF_ROOT_DEFAULT,
    AgentCall,
    AgentSpec,
    EnvInput,
    ExecStatus,
    OcfRc,
    find_agent,
    lsb_action,
    lsb_action_to_ocf,
    lsb_status_to_ocf,
    normalize_ocf_rc,
    ocf_environment,
    parse_exit_reason,
)

OUTPUT_LIMIT = 64 * 1024


@dataclass(frozen=True)
class ActionRequest(AgentCall):
    """One agent invocation (what to run, not when)."""

    #: cgroup v2 directory the agent process must be moved into (start only), or None.
    cgroup: Path | None = None


@dataclass(frozen=True)
class AgentResult:
    """What an invocation gave: OCF rc, Pacemaker exec status, reason, timings (ms)."""

    rc: int
    status: ExecStatus = ExecStatus.DONE
    exit_reason: str = ""
    stdout: str = ""
    stderr: str = ""
    exec_ms: int = 0
    #: pid of the agent process (0 when none ran); tests use it to find leftovers.
    pid: int = 0
    #: True/False when the request named a cgroup: is it still populated after the agent exited?
    cgroup_populated: bool | None = None


class AgentRunner(Protocol):
    """Runs one action synchronously and never raises for agent failures."""

    def run(self, request: ActionRequest) -> AgentResult: ...


def _cgroup_populated(cgroup: Path) -> bool | None:
    try:
        text = (cgroup / "cgroup.events").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "populated":
            return value.strip() == "1"
    return None


# The agent must be inside its cgroup before it runs a single instruction, so
# that everything it forks lands there too.  A two-line shell wrapper moves
# itself ("0" = the writer) and then execs the agent: no preexec_fn, which is
# unsafe in a threaded daemon.
_CG_MARK = "tandem: cannot join cgroup"
_CG_WRAPPER = f'echo 0 > "$1" || {{ echo "{_CG_MARK}" >&2; exit 127; }}; shift; exec "$@"'


class SubprocessRunner:
    """Runs real OCF agents and LSB init scripts as child processes."""

    def __init__(
        self,
        *,
        ocf_root: Path = OCF_ROOT_DEFAULT,
        extra_ocf_dirs: tuple[Path, ...] = (BUILTIN_RESOURCE_D,),
        lsb_dir: Path = LSB_DIR_DEFAULT,
        node_name: str = "",
        node_uuid: str = "",
        kill_grace: float = 1.0,
        agent_paths: Mapping[str, Path] | None = None,
    ) -> None:
        """``agent_paths`` maps ``str(AgentSpec)`` to an explicit file (tests use it)."""
        self.ocf_root = ocf_root
        self.ocf_dirs = (ocf_root / "resource.d", *extra_ocf_dirs)
        self.lsb_dir = lsb_dir
        self.node_name = node_name
        self.node_uuid = node_uuid
        self.kill_grace = kill_grace
        self.agent_paths = dict(agent_paths or {})

    # -- lookup -----------------------------------------------------------
    def agent_path(self, spec: AgentSpec) -> Path | None:
        explicit = self.agent_paths.get(str(spec))
        if explicit is not None:
            return explicit if explicit.is_file() else None
        return find_agent(spec, self.ocf_dirs, self.lsb_dir)

    # -- running ----------------------------------------------------------
    def run(self, request: ActionRequest) -> AgentResult:
        spec = request.spec
        if spec.rclass not in ("ocf", "lsb", "service"):
            return AgentResult(
                int(OcfRc.ERR_UNIMPLEMENTED),
                ExecStatus.NOT_SUPPORTED,
                f"resource class {spec.rclass!r} is not supported by tandem",
            )
        path = self.agent_path(spec)
        if path is None:
            return AgentResult(
                int(OcfRc.ERR_INSTALLED),
                ExecStatus.NOT_INSTALLED,
                f"agent {spec} is not installed on this node",
            )
        if spec.rclass == "ocf":
            argv = [str(path), request.action]
            env = ocf_environment(
                EnvInput(
                    rsc_id=request.rsc_id,
                    spec=spec,
                    action=request.action,
                    params=request.params,
                    meta=request.meta,
                    interval_ms=request.interval_ms,
                    timeout_ms=request.timeout_ms,
                    node_name=self.node_name,
                    node_uuid=self.node_uuid,
                    ocf_root=self.ocf_root,
                )
            )
        else:
            if request.action == "meta-data":
                return AgentResult(0, stdout=lsb_metadata(spec.type, path))
            argv = [str(path), lsb_action(request.action)]
            env = {
                "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LC_ALL": "C",
            }
        if request.cgroup is not None:
            argv = ["/bin/sh", "-c", _CG_WRAPPER, "tandem-cgroup",
                    str(request.cgroup / "cgroup.procs"), *argv]
        raw = self._spawn_and_wait(argv, env, request.timeout_ms / 1000.0)
        populated = _cgroup_populated(request.cgroup) if request.cgroup is not None else None
        if raw.status is not ExecStatus.DONE:
            return AgentResult(raw.rc, raw.status, raw.reason, raw.stdout, raw.stderr,
                               raw.exec_ms, raw.pid, populated)
        if spec.rclass == "ocf":
            rc = normalize_ocf_rc(raw.rc)
        elif request.action in ("monitor", "status"):
            rc = lsb_status_to_ocf(raw.rc)
        else:
            rc = lsb_action_to_ocf(request.action, raw.rc)
        reason = parse_exit_reason(raw.stderr) if rc != 0 else ""
        return AgentResult(rc, ExecStatus.DONE, reason, raw.stdout, raw.stderr,
                           raw.exec_ms, raw.pid, populated)

    def _spawn_and_wait(self, argv: list[str], env: dict[str, str], timeout: float) -> _Raw:
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd="/",
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            rc, status = (
                (int(OcfRc.ERR_PERM), ExecStatus.ERROR)
                if exc.errno == errno.EACCES
                else (int(OcfRc.ERR_GENERIC), ExecStatus.ERROR)
            )
            return _Raw(rc, status, f"cannot execute {argv[0]}: {exc.strerror}", "", "", 0, 0)
        assert proc.stdout is not None and proc.stderr is not None
        out = bytearray()
        err = bytearray()
        pidfd = os.pidfd_open(proc.pid)
        sel = selectors.DefaultSelector()
        sel.register(pidfd, selectors.EVENT_READ, None)
        sel.register(proc.stdout, selectors.EVENT_READ, out)
        sel.register(proc.stderr, selectors.EVENT_READ, err)
        deadline = t0 + timeout
        timed_out = False
        try:
            exited = False
            while not exited:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                for key, _ in sel.select(remaining):
                    if key.data is None:
                        exited = True
                    elif not _read_some(key.fileobj, key.data):  # type: ignore[arg-type]
                        sel.unregister(key.fileobj)
            if timed_out:
                self._kill_group(proc, pidfd)
            returncode = proc.wait()
            exec_ms = int((time.monotonic() - t0) * 1000)
            # The agent is gone; its daemons may still hold the pipes: take
            # what is buffered now, never wait for end-of-file.
            for key in list(sel.get_map().values()):
                if key.data is not None:
                    _drain(key.fileobj, key.data)  # type: ignore[arg-type]
        finally:
            sel.close()
            os.close(pidfd)
            proc.stdout.close()
            proc.stderr.close()
        stdout = out[:OUTPUT_LIMIT].decode("utf-8", "replace")
        stderr = err[:OUTPUT_LIMIT].decode("utf-8", "replace")
        if timed_out:
            return _Raw(int(OcfRc.ERR_GENERIC), ExecStatus.TIMEOUT,
                        f"process did not exit within {timeout:g}s and was killed",
                        stdout, stderr, exec_ms, proc.pid)
        if returncode < 0:
            name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else str(-returncode)
            return _Raw(int(OcfRc.ERR_GENERIC), ExecStatus.ERROR,
                        f"agent killed by signal {name}", stdout, stderr, exec_ms, proc.pid)
        if returncode == 127 and _CG_MARK in stderr:
            return _Raw(int(OcfRc.ERR_GENERIC), ExecStatus.ERROR,
                        "could not move the agent into its cgroup", stdout, stderr, exec_ms,
                        proc.pid)
        return _Raw(returncode, ExecStatus.DONE, "", stdout, stderr, exec_ms, proc.pid)

    def _kill_group(self, proc: subprocess.Popen[bytes], pidfd: int) -> None:
        """SIGTERM the agent's process group, SIGKILL it after the grace period."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        sel = selectors.DefaultSelector()
        sel.register(pidfd, selectors.EVENT_READ)
        try:
            done = bool(sel.select(self.kill_grace))
        finally:
            sel.close()
        # SIGKILL the group even when the leader died of SIGTERM: children of
        # the agent (a hung helper) must not outlive it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if not done:
            proc.wait()


@dataclass(frozen=True)
class _Raw:
    rc: int
    status: ExecStatus
    reason: str
    stdout: str
    stderr: str
    exec_ms: int
    pid: int


def _read_some(fileobj: object, buf: bytearray) -> bool:
    fd = fileobj.fileno()  # type: ignore[attr-defined]
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return True
    if not chunk:
        return False
    if len(buf) < OUTPUT_LIMIT:
        buf.extend(chunk)
    return True


def _drain(fileobj: object, buf: bytearray) -> None:
    fd = fileobj.fileno()  # type: ignore[attr-defined]
    os.set_blocking(fd, False)
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            return
        if not chunk:
            return
        if len(buf) < OUTPUT_LIMIT:
            buf.extend(chunk)


def lsb_metadata(name: str, path: Path) -> str:
    """OCF-style meta-data for an LSB script, from its ``INIT INFO`` header."""
    from xml.sax.saxutils import escape

    short = long_ = ""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        if line.startswith("# Short-Description:"):
            short = line.split(":", 1)[1].strip()
        elif line.startswith("# Description:"):
            long_ = line.split(":", 1)[1].strip()
    return (
        '<?xml version="1.0"?>\n'
        f'<resource-agent name="{escape(name)}" version="0.0">\n'
        "  <version>1.0</version>\n"
        f'  <longdesc lang="en">{escape(long_ or short)}</longdesc>\n'
        f'  <shortdesc lang="en">{escape(short)}</shortdesc>\n'
        "  <parameters/>\n"
        "  <actions>\n"
        '    <action name="start" timeout="15s"/>\n'
        '    <action name="stop" timeout="15s"/>\n'
        '    <action name="status" timeout="15s"/>\n'
        '    <action name="monitor" timeout="15s" interval="15s"/>\n'
        '    <action name="meta-data" timeout="5s"/>\n'
        "  </actions>\n"
        "</resource-agent>\n"
    )
