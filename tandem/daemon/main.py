"""tandemd: the outer asyncio loop around :class:`tandem.daemon.core.DaemonCore`.

This is the only part of the node daemon that does I/O.  Its duties, in order
(the core decides, this loop carries out):

1. connect to corosync (retrying while it starts: ``cluster start`` launches
   corosync and tandemd together), read corosync.conf (cluster name, nodelist),
   load the CIB from storage;
2. listen on the local socket (:mod:`tandem.daemon.client` speaks to it);
3. join the CPG group and feed the core every transport event, a tick every
   ``tick`` seconds and every local request;
4. carry out the core's actions: multicast, persist, reply, log, and on
   ``LeaveAndExit`` leave the group and exit with its code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tandem.corosync.transport import ClusterTransport
from tandem.daemon import client
from tandem.daemon.core import (
    GROUP,
    Action,
    CibChanged,
    DaemonCore,
    Event,
    LeaveAndExit,
    LocalRequest,
    Log,
    Multicast,
    Persist,
    Reply,
    Tick,
    ViewChanged,
)
from tandem.daemon.storage import CibStorage, Clock, FileCibStorage, SystemClock
from tandem.errors import CorosyncError, NotRunningError, TandemError

log = logging.getLogger("tandemd")

LOG_FILE = "/var/log/tandem/tandemd.log"
PID_FILE = "tandemd.pid"


class Daemon:
    """Runs one core against a transport, a storage, a clock and a unix socket."""

    def __init__(
        self,
        core: DaemonCore,
        transport: ClusterTransport,
        storage: CibStorage,
        clock: Clock,
        socket_path: str,
        tick: float = 0.5,
        plugins: list[Callable[[Daemon], Any]] | None = None,
    ) -> None:
        self.core = core
        self.transport = transport
        self.storage = storage
        self.clock = clock
        self.socket_path = socket_path
        self.tick = tick
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Reply]] = {}
        self._exit: asyncio.Future[LeaveAndExit] | None = None
        self.exit_reason = ""
        # Layers living in this process (the controller), attached inside the loop
        # before joining the group; each returns an object with close() (or None).
        self.plugins = list(plugins or [])
        self._attached: list[Any] = []
        # Hooks for the layers that live in the daemon process (the controller):
        # CIB changed, DC/online view changed, and every transport event (for
        # their own CPG groups).  Callbacks must not block.
        self.on_cib_changed: list[Callable[[CibChanged], None]] = []
        self.on_view_changed: list[Callable[[ViewChanged], None]] = []
        self.on_transport_event: list[Callable[[Event], None]] = []

    # -- actions ----------------------------------------------------------------------

    def feed(self, event: Event) -> None:
        self.run_actions(self.core.step(event))

    def run_actions(self, actions: list[Action]) -> None:
        for a in actions:
            if isinstance(a, Multicast):
                try:
                    self.transport.mcast(GROUP, a.payload)
                except CorosyncError as exc:
                    log.error("multicast failed: %s", exc)
            elif isinstance(a, Persist):
                try:
                    self.storage.save(a.xml)
                except OSError as exc:  # a full disk must not kill the replica
                    log.error("could not persist CIB %s: %s", a.version, exc)
            elif isinstance(a, Reply):
                fut = self._waiting.pop(a.req_id, None)
                if fut is not None and not fut.done():
                    fut.set_result(a)
            elif isinstance(a, Log):
                getattr(log, a.level if a.level in ("info", "warning", "error") else "info")(a.text)
            elif isinstance(a, CibChanged):
                for cb in self.on_cib_changed:
                    cb(a)
            elif isinstance(a, ViewChanged):
                for cb2 in self.on_view_changed:
                    cb2(a)
            elif isinstance(a, LeaveAndExit):
                (log.info if a.code == 0 else log.error)("exiting (%d): %s", a.code, a.reason)
                with contextlib.suppress(Exception):
                    self.transport.leave(GROUP)
                if self._exit is not None and not self._exit.done():
                    self._exit.set_result(a)

    def submit(self, cmd: str, **args: Any) -> asyncio.Future[Reply]:
        """A local request from inside the process (same path as the socket's).

        E.g. ``await daemon.submit("apply", ops=[...])`` -- the Reply comes once
        the change is applied here, in the cluster's order.
        """
        req_id = next(self._ids)
        fut: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[req_id] = fut
        self.feed(LocalRequest(req_id, cmd, dict(args), self.clock.time()))
        return fut

    def stats(self) -> dict[str, float]:
        """tandem's own counters from the attached controller (for /metrics)."""
        for svc in self._attached:
            ctl = getattr(svc, "controller", None)
            if ctl is None:
                continue
            out: dict[str, float] = {"transitions_total": ctl.transitions_total}
            if ctl.last_failover_seconds is not None:
                out["last_failover_seconds"] = round(ctl.last_failover_seconds, 3)
            return out
        return {}

    # -- local socket -------------------------------------------------------------------

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            line = await reader.readline()
            try:
                req = json.loads(line)
                cmd = str(req.pop("cmd"))
            except (ValueError, KeyError, AttributeError):
                answer: dict[str, Any] = {
                    "ok": False,
                    "reports": [{"code": "BAD_REQUEST", "message": "malformed request"}],
                }
            else:
                reply = await self.submit(cmd, **req)
                answer = (
                    {"ok": True, "result": reply.result}
                    if reply.ok
                    else {"ok": False, "reports": [r.to_dict() for r in reply.reports]}
                )
                if cmd == "info" and reply.ok and isinstance(reply.result, dict):
                    answer["result"] = {**reply.result, **self.stats()}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    # -- loops ------------------------------------------------------------------------------

    async def _pump(self) -> None:
        while True:
            try:
                ev = await self.transport.next_event()
            except CorosyncError as exc:
                from tandem.corosync.transport import TransportClosed

                self.feed(TransportClosed(str(exc)))
                return
            self.feed(ev)
            for cb in self.on_transport_event:
                cb(ev)

    async def _ticker(self) -> None:
        while True:
            self.feed(Tick(self.clock.monotonic(), self.clock.time()))
            await asyncio.sleep(self.tick)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._exit = loop.create_future()
        Path(self.socket_path).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        server = await asyncio.start_unix_server(
            self._serve_client, path=self.socket_path, limit=1 << 26
        )
        os.chmod(self.socket_path, 0o600)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal)
        self.feed(Tick(self.clock.monotonic(), self.clock.time()))
        for plugin in self.plugins:
            self._attached.append(plugin(self))
        self.transport.join(GROUP)
        tasks = [asyncio.create_task(self._pump()), asyncio.create_task(self._ticker())]
        try:
            result = await self._exit
        finally:
            for t in tasks:
                t.cancel()
            server.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)
            for fut in self._waiting.values():
                if not fut.done():
                    fut.cancel()
            await asyncio.sleep(0)  # let the last replies be written
            for obj in self._attached:
                with contextlib.suppress(Exception):
                    obj.close()
            self.transport.close()
        self.exit_reason = result.reason
        return result.code

    def _on_signal(self) -> None:
        """SIGTERM = ``cluster stop``'s clean shutdown (as systemd would stop us)."""
        req_id = next(self._ids)
        self.feed(LocalRequest(req_id, "shutdown", {}, self.clock.time()))


# ----------------------------------------------------------------------------- startup


async def open_transport(timeout: float) -> ClusterTransport:
    """Connect to corosync from inside the running loop, retrying while it starts."""
    from tandem.corosync.transport import CorosyncTransport

    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    while True:
        try:
            return CorosyncTransport.connect(loop)
        except (NotRunningError, CorosyncError) as exc:
            if time.monotonic() >= deadline:
                raise NotRunningError(
                    f"corosync is not running on this node (waited {timeout:g} s): {exc}"
                ) from exc
            await asyncio.sleep(0.1)


def _node_names(transport: ClusterTransport) -> tuple[dict[int, str], str]:
    names: dict[int, str] = {}
    cluster_name = ""
    try:
        from tandem.corosync.conf import CorosyncConf

        conf = CorosyncConf.load()
        cluster_name = conf.cluster_name
        names = {n.nodeid: n.name for n in conf.nodes() if n.nodeid}
    except (TandemError, OSError) as exc:
        log.warning("corosync.conf not readable (%s); using corosync's nodelist", exc)
    if not names:
        with contextlib.suppress(Exception):
            names = {n.nodeid: n.name for n in transport.nodelist()}
    return names, cluster_name


async def build(args: argparse.Namespace) -> Daemon:
    transport = await open_transport(args.corosync_wait)
    nodeid = transport.local_nodeid
    names, cluster_name = _node_names(transport)
    name = names.get(nodeid) or os.uname().nodename
    storage = FileCibStorage(args.cib_dir)
    loaded = storage.load()
    if loaded.problem:
        log.error("CIB on disk unusable: %s; will take the cluster's copy", loaded.problem)
    clock = SystemClock()
    core = DaemonCore(
        nodeid=nodeid,
        pid=os.getpid(),
        name=name,
        nodelist=names,
        cluster_name=cluster_name,
        cib_xml=loaded.xml,
        disk_problem=loaded.problem,
        now=clock.monotonic(),
        corrupt_wait=args.corrupt_wait,
        shutdown_escalation=args.shutdown_escalation,
    )
    plugins = [] if args.no_controller else [_controller_plugin]
    return Daemon(
        core, transport, storage, clock, client.socket_path(), tick=args.tick, plugins=plugins
    )


def _controller_plugin(daemon: Daemon) -> Any:
    """The controller (docs/controller.md): plans on the DC, runs agents on every node."""
    try:
        from tandem.daemon.controller.service import attach, real_executor_factory
    except ImportError as exc:  # the layer is optional for the replicated CIB itself
        log.warning("controller not available (%s): the CIB is replicated, nothing runs", exc)
        return None
    return attach(daemon, real_executor_factory(daemon.core.name))


def _setup_logging(path: str | None, debug: bool = False) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path:
        with contextlib.suppress(OSError):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            handlers = [logging.FileHandler(path)]
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s.%(msecs)03d tandemd[%(process)d] %(levelname)s: %(message)s",
        datefmt="%b %d %H:%M:%S",
        handlers=handlers,
        force=True,
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="tandemd", description="tandem node daemon (replicated CIB)")
    p.add_argument("--cib-dir", default="/var/lib/tandem/cib")
    p.add_argument("--log-file", default=LOG_FILE, help="'' logs to stderr")
    p.add_argument("--tick", type=float, default=0.5)
    p.add_argument("--corosync-wait", type=float, default=30.0)
    p.add_argument("--corrupt-wait", type=float, default=10.0)
    p.add_argument("--shutdown-escalation", type=float, default=1200.0)
    p.add_argument(
        "--no-controller",
        action="store_true",
        default=bool(os.environ.get("TANDEM_NO_CONTROLLER")),
        help="replicate the CIB only; plan and run nothing (debugging)",
    )
    p.add_argument(
        "--debug",
        action="store_true",
        default=os.environ.get("TANDEM_DEBUG", "").lower() in ("1", "yes", "true", "on"),
        help="log at debug level (also TANDEM_DEBUG=yes, like Pacemaker's PCMK_debug)",
    )
    args = p.parse_args(argv)
    _setup_logging(args.log_file or None, args.debug)
    run_dir = Path(client.socket_path()).parent
    run_dir.mkdir(parents=True, exist_ok=True)
    pid_file = run_dir / PID_FILE
    pid_file.write_text(f"{os.getpid()}\n")
    holder: list[Daemon] = []

    async def amain() -> int:
        holder.append(await build(args))
        return await holder[0].run()

    try:
        code = asyncio.run(amain())
    except TandemError as exc:
        log.error("%s", exc)
        print(f"Error: {exc}", file=sys.stderr)
        code = 1
    finally:
        with contextlib.suppress(FileNotFoundError):
            if pid_file.read_text().strip() == str(os.getpid()):
                pid_file.unlink()
    if code == 2:
        print(f"Error: {holder[0].exit_reason}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
