"""Talking to other nodes' management daemons: auth, remote actions, PCSD Status.

Why everything is parallel and deadline-bound: ``pcs status`` hung for minutes
on a crashed node's pcsd.  Here every multi-node call starts all requests at
once and gives up on the stragglers at a deadline; :func:`pcsd_status` never
takes more than ``total_timeout`` (2 s) in total.  The transport and the event
loop's clock are injectable, so unit tests prove the bound with a virtual
clock, without sleeping.

Public entry points (synchronous, for the CLI):

- :func:`auth_nodes` (``tandem host auth`` / ``cluster auth``)
- :func:`deauth_nodes` (``tandem host deauth``)
- :func:`pcsd_status` -> ``{node: "Online"|"Offline"|"Unauthorized"}``
- :func:`remote_cluster_action` (``cluster start|stop|enable|disable --all|NODE...``)
- :func:`distribute_cluster_config` (``cluster setup``; also shares known-hosts)
- :func:`share_known_hosts` (``host auth`` inside a cluster)
- :func:`raise_for_failures` turns failed results into one TandemError.

Each has an ``a``-prefixed coroutine twin for callers already in asyncio.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from tandem.api.paths import DEFAULT_PORT, default_paths
from tandem.api.storage import Dest, KnownHost, KnownHosts
from tandem.errors import PeerError, Report, TandemError, error

T = TypeVar("T")

ONLINE, OFFLINE, UNAUTHORIZED = "Online", "Offline", "Unauthorized"
CLEANUP_MARGIN = 0.05  # seconds of the PCSD Status budget kept for cleanup


class PeerUnreachable(Exception):
    """The daemon could not be reached (refused, timed out, TLS failure, bad answer)."""


class CertificateMismatch(PeerUnreachable):
    """The daemon's certificate is not the one seen at ``host auth`` (pinned)."""


class Transport(Protocol):
    """One HTTPS request to a node's daemon; raises PeerUnreachable when it cannot."""

    async def request(
        self,
        method: str,
        addr: str,
        port: int,
        path: str,
        *,
        token: str | None,
        body: Mapping[str, Any] | None,
        timeout: float,
        pin: str | None = None,
    ) -> tuple[int, Any]: ...

    async def fingerprint(self, addr: str, port: int, timeout: float) -> str | None:
        """SHA-256 (hex) of the daemon's certificate, None when the transport has none."""
        ...

    async def close(self) -> None: ...


def cert_fingerprint(der: bytes | None) -> str:
    import hashlib

    return hashlib.sha256(der or b"").hexdigest()


def client_context() -> ssl.SSLContext:
    """Encrypts but does not verify the peer certificate, as pcs does between nodes.

    (Here rather than in tandem.api.tls, which imports the heavy cryptography
    package that only the daemon needs.)
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA store to load: nothing is verified
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class HttpsTransport:
    """The real transport: one HTTP/1.1 request per TLS connection, on asyncio streams.

    Why not aiohttp here: importing it costs 0.5-1.5 s on a loaded node, which
    ``tandem status`` would pay before even starting its 2 s PCSD Status budget.
    The peer certificate is not verified against a CA, as pcs between nodes;
    instead it is pinned: ``host auth`` records its SHA-256 and later requests
    refuse a different certificate (trust on first use, docs/api.md).
    """

    MAX_ANSWER = 1 << 20

    def __init__(self, connect_timeout: float | None = None) -> None:
        self._ssl = client_context()
        #: A live daemon's kernel answers the TCP handshake in milliseconds even when
        #: the daemon is busy; no answer within this time means the node is down.
        self.connect_timeout = connect_timeout

    async def request(
        self,
        method: str,
        addr: str,
        port: int,
        path: str,
        *,
        token: str | None,
        body: Mapping[str, Any] | None,
        timeout: float,
        pin: str | None = None,
    ) -> tuple[int, Any]:
        return await self._guard(self._exchange(method, addr, port, path, token, body, pin), timeout)

    async def fingerprint(self, addr: str, port: int, timeout: float) -> str | None:
        async def get() -> str:
            _reader, writer = await self._connect(addr, port)
            try:
                return self._peer(writer)
            finally:
                writer.close()

        return await self._guard(get(), timeout)

    async def _connect(
        self, addr: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """TCP first (bounded by connect_timeout), then the TLS handshake."""
        connect = asyncio.open_connection(addr, port)
        if self.connect_timeout is not None:
            try:
                reader, writer = await asyncio.wait_for(connect, self.connect_timeout)
            except TimeoutError:
                raise PeerUnreachable("no answer to the connection request") from None
        else:
            reader, writer = await connect
        try:
            await writer.start_tls(self._ssl, server_hostname=addr)
        except BaseException:
            writer.close()
            raise
        return reader, writer

    @staticmethod
    def _peer(writer: asyncio.StreamWriter) -> str:
        obj = writer.get_extra_info("ssl_object")
        return cert_fingerprint(obj.getpeercert(binary_form=True) if obj is not None else None)

    async def _guard(self, coro: Awaitable[T], timeout: float) -> T:
        try:
            return await asyncio.wait_for(coro, timeout)
        except TimeoutError:
            raise PeerUnreachable("timed out") from None
        except socket.gaierror:
            raise PeerUnreachable("cannot resolve its name") from None
        except ssl.SSLError:
            raise PeerUnreachable("TLS handshake failed") from None
        except OSError as exc:
            raise PeerUnreachable(exc.strerror or type(exc).__name__) from None
        except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            raise PeerUnreachable("malformed answer") from None

    async def _exchange(
        self,
        method: str,
        addr: str,
        port: int,
        path: str,
        token: str | None,
        body: Mapping[str, Any] | None,
        pin: str | None,
    ) -> tuple[int, Any]:
        payload = json.dumps(dict(body)).encode() if body is not None else b""
        host = f"[{addr}]" if ":" in addr else addr
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Connection: close",
            "Accept: application/json",
            f"Content-Length: {len(payload)}",
        ]
        if body is not None:
            head.append("Content-Type: application/json")
        if token:
            head.append(f"Authorization: Bearer {token}")
        reader, writer = await self._connect(addr, port)
        try:
            if pin is not None and self._peer(writer) != pin:
                raise CertificateMismatch("its certificate changed since 'tandem host auth'")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
            await writer.drain()
            status_line = await reader.readline()
            parts = status_line.decode("latin-1").split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/"):
                raise ValueError("not HTTP")
            status = int(parts[1])
            length: int | None = None
            chunked = False
            while True:
                line = (await reader.readline()).decode("latin-1").strip()
                if not line:
                    break
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
                elif name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
            if chunked:
                raw = b""
                while True:
                    size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                    if size == 0 or len(raw) + size > self.MAX_ANSWER:
                        break
                    raw += await reader.readexactly(size)
                    await reader.readline()
            elif length is not None:
                raw = await reader.readexactly(min(length, self.MAX_ANSWER))
            else:
                raw = await reader.read(self.MAX_ANSWER)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 0.05)
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {"text": raw[:200].decode(errors="replace")}
        return status, data

    async def close(self) -> None:
        return None


@dataclass
class NodeClient:
    """One node's daemon: where it listens and the token it gave us."""

    node: str
    addr: str
    port: int = DEFAULT_PORT
    token: str | None = None
    transport: Transport = field(default_factory=HttpsTransport)
    pin: str | None = None

    @classmethod
    def from_known_host(cls, host: KnownHost, transport: Transport) -> NodeClient:
        d = host.dest
        return cls(host.name, d.addr, d.port, host.token, transport, host.cert_sha256)

    async def call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, timeout: float = 10.0
    ) -> tuple[int, Any]:
        return await self.transport.request(
            method, self.addr, self.port, path, token=self.token, body=body, timeout=timeout,
            pin=self.pin,
        )


@dataclass
class NodeResult:
    """What happened on one node: ``status`` is ok, error, offline, unauthorized or timeout."""

    node: str
    status: str
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# --------------------------------------------------------------------------- helpers


def run_sync(coro: Awaitable[T]) -> T:
    """Run ``coro`` on a private loop that never waits for stuck resolver threads at exit."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        with contextlib.suppress(Exception):
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=0.2))
        loop.close()  # executor shut down without waiting


async def _bounded(
    jobs: Mapping[str, Callable[[], Awaitable[T]]],
    total_timeout: float,
    on_timeout: Callable[[str], T],
) -> dict[str, T]:
    """Run every job in parallel; the ones unfinished at the deadline get ``on_timeout``."""
    tasks = {asyncio.ensure_future(job()): name for name, job in jobs.items()}
    out: dict[str, T] = {}
    if tasks:
        done, pending = await asyncio.wait(tasks, timeout=total_timeout)
        for t in pending:
            t.cancel()
        for t, name in tasks.items():
            if t in done and not t.cancelled() and t.exception() is None:
                out[name] = t.result()
            else:
                out[name] = on_timeout(name)
    return {name: out[name] for name in jobs}


def _reports_message(data: Any, default: str) -> str:
    if isinstance(data, dict) and isinstance(data.get("reports"), list) and data["reports"]:
        first = data["reports"][0]
        if isinstance(first, dict) and isinstance(first.get("message"), str):
            return first["message"]
    return default


def _load_known(known_hosts: KnownHosts | Path | None) -> KnownHosts:
    if isinstance(known_hosts, KnownHosts):
        return known_hosts
    return KnownHosts.load(known_hosts or default_paths().known_hosts)


# --------------------------------------------------------------------------- PCSD Status


async def apcsd_status(
    nodes: Iterable[str],
    total_timeout: float = 2.0,
    known_hosts: KnownHosts | Path | None = None,
    transport: Transport | None = None,
) -> dict[str, str]:
    """Each node's daemon: Online, Offline or Unauthorized, within ``total_timeout`` overall."""
    known = _load_known(known_hosts)
    own = transport is None
    transport = transport or HttpsTransport(connect_timeout=min(1.0, total_timeout / 2))
    loop = asyncio.get_running_loop()
    # keep a little of the budget for cancelling stragglers and closing connections
    deadline = loop.time() + total_timeout - min(CLEANUP_MARGIN, total_timeout / 10)

    def job(name: str) -> Callable[[], Awaitable[str]]:
        async def check() -> str:
            host = known.get(name)
            if host is None:
                return UNAUTHORIZED
            client = NodeClient.from_known_host(host, transport)
            try:
                status, _ = await client.call(
                    "GET", "/api/v1/check-auth", timeout=max(0.05, deadline - loop.time())
                )
            except CertificateMismatch:
                return UNAUTHORIZED
            except PeerUnreachable:
                return OFFLINE
            if status == 200:
                return ONLINE
            if status == 401:
                return UNAUTHORIZED
            return OFFLINE

        return check

    try:
        return await _bounded(
            {n: job(n) for n in nodes}, max(0.0, deadline - loop.time()), lambda _n: OFFLINE
        )
    finally:
        if own:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(transport.close(), CLEANUP_MARGIN / 2)


def pcsd_status(
    nodes: Iterable[str],
    total_timeout: float = 2.0,
    known_hosts: KnownHosts | Path | None = None,
    transport: Transport | None = None,
) -> dict[str, str]:
    """Synchronous :func:`apcsd_status` for the CLI (``tandem status`` / ``pcsd status``).

    The budget starts now: setting up the event loop and the transport counts.
    """
    t0 = time.monotonic()
    nodes = list(nodes)
    transport = transport or HttpsTransport(connect_timeout=min(1.0, total_timeout / 2))
    known = _load_known(known_hosts)

    async def bounded() -> dict[str, str]:
        left = max(0.0, total_timeout - (time.monotonic() - t0))
        return await apcsd_status(nodes, left, known, transport)

    return run_sync(bounded())


# --------------------------------------------------------------------------- host auth


async def aauth_nodes(
    nodes: Mapping[str, Dest],
    username: str,
    password: str,
    known_hosts_path: Path | None = None,
    transport: Transport | None = None,
    timeout: float = 15.0,
) -> dict[str, NodeResult]:
    """Log in to every node in parallel; store the tokens received in known-hosts."""
    path = known_hosts_path or default_paths().known_hosts
    own = transport is None
    transport = transport or HttpsTransport()

    def job(name: str, dest: Dest) -> Callable[[], Awaitable[NodeResult]]:
        async def login() -> NodeResult:
            try:
                pin = await transport.fingerprint(dest.addr, dest.port, timeout)
            except PeerUnreachable as exc:
                return NodeResult(name, "offline", f"Unable to connect to {name} ({exc})")
            client = NodeClient(name, dest.addr, dest.port, None, transport, pin)
            try:
                status, data = await client.call(
                    "POST", "/api/v1/auth", {"username": username, "password": password}, timeout
                )
            except PeerUnreachable as exc:
                return NodeResult(name, "offline", f"Unable to connect to {name} ({exc})")
            if status == 200 and isinstance(data, dict) and isinstance(data.get("token"), str):
                return NodeResult(name, "ok", "Authorized", {"token": data["token"], "pin": pin})
            if status == 401:
                return NodeResult(
                    name, "unauthorized",
                    f"Unable to authenticate to {name} - (HTTP error: 401), "
                    "check username and password",
                )
            return NodeResult(name, "error", _reports_message(data, f"{name}: HTTP error {status}"))

        return login

    try:
        results = await _bounded(
            {n: job(n, d) for n, d in nodes.items()},
            timeout + 1,
            lambda n: NodeResult(n, "timeout", f"Unable to connect to {n} (timed out)"),
        )
    finally:
        if own:
            await transport.close()
    good = {n: r for n, r in results.items() if r.ok}
    if good:
        known = KnownHosts.load(path)
        for n, r in good.items():
            known.put(KnownHost(n, r.data.pop("token"), (nodes[n],), r.data.pop("pin")))
        known.save(path)
    return results


def auth_nodes(
    nodes: Mapping[str, Dest],
    username: str,
    password: str,
    known_hosts_path: Path | None = None,
    transport: Transport | None = None,
    timeout: float = 15.0,
) -> dict[str, NodeResult]:
    return run_sync(aauth_nodes(nodes, username, password, known_hosts_path, transport, timeout))


async def adeauth_nodes(
    nodes: Iterable[str] | None,
    known_hosts_path: Path | None = None,
    transport: Transport | None = None,
    timeout: float = 5.0,
) -> dict[str, NodeResult]:
    """Revoke our token on each node (best effort) and forget it locally in any case."""
    path = known_hosts_path or default_paths().known_hosts
    known = KnownHosts.load(path)
    names = list(nodes) if nodes is not None else sorted(known.hosts)
    own = transport is None
    transport = transport or HttpsTransport()

    def job(name: str) -> Callable[[], Awaitable[NodeResult]]:
        async def revoke() -> NodeResult:
            host = known.get(name)
            if host is None:
                return NodeResult(name, "error", f"{name} is not authenticated (not in {path})")
            client = NodeClient.from_known_host(host, transport)
            try:
                status, data = await client.call("POST", "/api/v1/deauth", {}, timeout)
            except PeerUnreachable as exc:
                return NodeResult(
                    name, "offline",
                    f"token for {name} forgotten locally, but it could not be revoked there ({exc})",
                )
            if status in (200, 401):  # 401: already unknown there
                return NodeResult(name, "ok", "Deauthorized")
            return NodeResult(name, "error", _reports_message(data, f"HTTP error {status}"))

        return revoke

    try:
        results = await _bounded(
            {n: job(n) for n in names},
            timeout + 1,
            lambda n: NodeResult(n, "timeout", f"token for {n} forgotten locally; revoking timed out"),
        )
    finally:
        if own:
            await transport.close()
    removed = [n for n in names if known.remove(n)]
    if removed:
        known.save(path)
    return results


def deauth_nodes(
    nodes: Iterable[str] | None,
    known_hosts_path: Path | None = None,
    transport: Transport | None = None,
    timeout: float = 5.0,
) -> dict[str, NodeResult]:
    return run_sync(adeauth_nodes(nodes, known_hosts_path, transport, timeout))


# --------------------------------------------------------------------------- remote cluster operations


async def _call_all(
    nodes: Iterable[str],
    path: str,
    body: Mapping[str, Any],
    timeout: float,
    known_hosts: KnownHosts | Path | None,
    transport: Transport | None,
    success: Callable[[str, dict[str, Any]], NodeResult],
) -> dict[str, NodeResult]:
    known = _load_known(known_hosts)
    own = transport is None
    transport = transport or HttpsTransport()

    def job(name: str) -> Callable[[], Awaitable[NodeResult]]:
        async def go() -> NodeResult:
            host = known.get(name)
            if host is None:
                return NodeResult(
                    name, "unauthorized",
                    f"{name}: not authenticated, run 'tandem host auth {name}' first",
                )
            client = NodeClient.from_known_host(host, transport)
            try:
                status, data = await client.call("POST", path, body, timeout)
            except CertificateMismatch:
                return NodeResult(
                    name, "unauthorized",
                    f"{name}: its tandemd-api certificate changed since 'tandem host auth'; "
                    f"if that is expected, run 'tandem host auth {name}' again",
                )
            except PeerUnreachable as exc:
                return NodeResult(name, "offline", f"{name}: unable to connect to tandemd-api ({exc})")
            data = data if isinstance(data, dict) else {}
            if status == 401:
                return NodeResult(
                    name, "unauthorized",
                    f"{name}: {_reports_message(data, 'not authorized')}", data,
                )
            if status != 200:
                return NodeResult(name, "error", f"{name}: {_reports_message(data, f'HTTP error {status}')}", data)
            return success(name, data)

        return go

    try:
        return await _bounded(
            {n: job(n) for n in nodes},
            timeout + 2,
            lambda n: NodeResult(n, "timeout", f"{n}: no answer from tandemd-api in time"),
        )
    finally:
        if own:
            await transport.close()


def _action_result(action: str) -> Callable[[str, dict[str, Any]], NodeResult]:
    def make(name: str, data: dict[str, Any]) -> NodeResult:
        if data.get("success") is True:
            return NodeResult(name, "ok", str(data.get("stdout", "")).strip(), data)
        why = (str(data.get("stderr", "")).strip() or str(data.get("stdout", "")).strip())
        first = why.splitlines()[-1] if why else f"'tandem cluster {action}' failed"
        if first.startswith("Error: "):
            first = first[len("Error: "):]
        return NodeResult(name, "error", f"{name}: {first}", data)

    return make


async def aremote_cluster_action(
    nodes: Iterable[str],
    action: str,
    timeout: float = 120.0,
    known_hosts: KnownHosts | Path | None = None,
    transport: Transport | None = None,
    *,
    wait: float | None = None,
    only: str | None = None,
) -> dict[str, NodeResult]:
    if action not in ("start", "stop", "enable", "disable"):
        raise ValueError(f"unknown cluster action {action!r}")
    body: dict[str, Any] = {"timeout": timeout}
    if wait is not None:
        body["wait"] = wait
    if only is not None:
        body["only"] = only
    return await _call_all(
        nodes, f"/api/v1/cluster/{action}", body, timeout + 10,
        known_hosts, transport, _action_result(action),
    )


def remote_cluster_action(
    nodes: Iterable[str],
    action: str,
    timeout: float = 120.0,
    known_hosts: KnownHosts | Path | None = None,
    transport: Transport | None = None,
    *,
    wait: float | None = None,
    only: str | None = None,
) -> dict[str, NodeResult]:
    """Run ``tandem cluster ACTION`` on each node through its daemon, in parallel.

    ``wait`` adds ``--wait=SECONDS`` to start; ``only`` ('tandemd' or
    'corosync') adds ``--only`` to stop, for pcs's two-phase ``stop --all``.
    """
    return run_sync(
        aremote_cluster_action(
            list(nodes), action, timeout, known_hosts, transport, wait=wait, only=only
        )
    )


def distribute_cluster_config(
    nodes: Iterable[str],
    cluster_name: str,
    corosync_conf: str,
    authkey: bytes,
    force: bool = False,
    timeout: float = 30.0,
    known_hosts: KnownHosts | Path | None = None,
    transport: Transport | None = None,
) -> dict[str, NodeResult]:
    """Write corosync.conf (0644) and authkey (0400) on every node (``cluster setup``).

    As pcs, each node also receives the known-hosts entries of the cluster's
    nodes, so that any node can later reach the others (PCSD Status, --all).
    """
    nodes = list(nodes)
    known = _load_known(known_hosts)
    body: dict[str, Any] = {
        "cluster_name": cluster_name,
        "corosync_conf": corosync_conf,
        "authkey": base64.b64encode(authkey).decode(),
        "force": force,
    }
    entries = _entries(known, nodes)
    if entries:
        body["known_hosts"] = entries
    return _post_all(nodes, "/api/v1/cluster/setup", body, timeout, known, transport)


def _post_all(
    targets: Iterable[str],
    path: str,
    body: Mapping[str, Any],
    timeout: float,
    known: KnownHosts,
    transport: Transport | None,
) -> dict[str, NodeResult]:
    """POST ``body`` to ``path`` on every target; an HTTP 200 answer counts as "Succeeded"."""
    return run_sync(
        _call_all(
            list(targets), path, body, timeout, known, transport,
            lambda n, d: NodeResult(n, "ok", "Succeeded", d),
        )
    )


def _entries(known: KnownHosts, names: Iterable[str]) -> dict[str, Any]:
    data = known.to_dict()["known_hosts"]
    return {n: data[n] for n in names if n in data}


def share_known_hosts(
    targets: Iterable[str],
    names: Iterable[str],
    timeout: float = 10.0,
    known_hosts: KnownHosts | Path | None = None,
    transport: Transport | None = None,
) -> dict[str, NodeResult]:
    """Send our known-hosts entries for ``names`` to every node of ``targets``.

    ``host auth`` calls it when this node is in a cluster, as pcs does.
    """
    known = _load_known(known_hosts)
    entries = _entries(known, names)
    return _post_all(targets, "/api/v1/known-hosts", {"known_hosts": entries}, timeout, known, transport)


def unshare_known_hosts(
    targets: Iterable[str],
    names: Iterable[str],
    timeout: float = 10.0,
    known_hosts: KnownHosts | Path | None = None,
    transport: Transport | None = None,
) -> dict[str, NodeResult]:
    """Ask every node of ``targets`` to forget its known-hosts entries for ``names``.

    ``host deauth`` calls it when this node is in a cluster, as pcs does.
    """
    known = _load_known(known_hosts)
    return _post_all(targets, "/api/v1/known-hosts", {"remove": list(names)}, timeout, known, transport)


def raise_for_failures(results: Mapping[str, NodeResult]) -> None:
    """One PeerError carrying a report per failed node (nothing when all succeeded)."""
    bad: list[Report] = [
        error(f"NODE_{r.status.upper()}", r.message, node=n)
        for n, r in results.items()
        if not r.ok
    ]
    if bad:
        raise PeerError(*bad)


__all__ = [
    "HttpsTransport", "NodeClient", "NodeResult", "PeerUnreachable", "Transport",
    "apcsd_status", "pcsd_status", "auth_nodes", "aauth_nodes", "deauth_nodes",
    "adeauth_nodes", "remote_cluster_action", "aremote_cluster_action",
    "distribute_cluster_config", "share_known_hosts", "unshare_known_hosts", "raise_for_failures", "TandemError",
]
