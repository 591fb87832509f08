"""The management daemon's HTTP application (aiohttp), built from injected parts.

Why a factory with injected parts: the same application runs in production
(PAM, subprocesses, the live CIB), in unit tests (fakes, aiohttp's test
client) and in lab tests (real TLS daemon with a password-file
authenticator).  Every answer is JSON; every error is a list of
:class:`tandem.errors.Report` dictionaries, never a traceback.

Endpoints (all under /api/v1 except /metrics; see :data:`ROUTES`):

- ``POST /api/v1/auth`` (no token): ``{username, password}`` -> ``{token}``.
- ``GET /api/v1/check-auth``: ``{success: true}`` when the token is valid.
- ``POST /api/v1/deauth``: revokes the caller's own token (``host deauth``).
- ``GET /api/v1/status``: the node's name, daemon health, whether the cluster runs.
- ``POST /api/v1/cluster/setup``: refuses while the cluster runs there, removes the old
  CIB, writes corosync.conf (0644) and authkey (0400), and merges the cluster nodes'
  known-hosts entries (as pcs cluster setup does).
- ``POST /api/v1/known-hosts``: merges known-hosts entries (``host auth`` in a cluster).
- ``POST /api/v1/cluster/{start,stop,enable,disable}``: runs the local command.
- ``GET /api/v1/openapi.json`` (no token) and ``GET /metrics`` (no token by default).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

import tandem
from tandem.api import schema
from tandem.api.auth import Authenticator
from tandem.api.paths import ApiPaths
from tandem.api.runner import CommandRunner, SubprocessRunner, default_tandem_command
from tandem.api.storage import Dest, KnownHost, KnownHosts, TokenStore, validate_node_name
from tandem.errors import AuthError, Report, TandemError, UsageError, error

log = logging.getLogger("tandem.api")

API = "/api/v1"
ACTIONS = ("start", "stop", "enable", "disable")
MAX_REQUEST_DEFAULT = 64 * 1024
MAX_COROSYNC_CONF = 32 * 1024

CibSource = Callable[[], "str | None"]
USER_KEY = web.RequestKey("user", str)


@dataclass
class ApiConfig:
    """Everything the application needs besides its I/O collaborators."""

    paths: ApiPaths
    node_name: str = field(default_factory=socket.gethostname)
    max_request_size: int = MAX_REQUEST_DEFAULT
    metrics_require_token: bool = False
    tandem_command: list[str] = field(default_factory=default_tandem_command)
    action_timeout: float = 120.0
    action_timeout_max: float = 600.0


def _cluster_name(value: str) -> str:
    return validate_node_name(value, "cluster name")


def _only(value: str) -> str:
    if value not in ("tandemd", "corosync"):
        raise UsageError(error("INVALID_FIELD", "field 'only' must be 'tandemd' or 'corosync'"))
    return value


def _timeout(value: float | int) -> float:
    if not 0 < value <= 600:
        raise UsageError(error("INVALID_FIELD", "field 'timeout' must be between 0 and 600 seconds"))
    return float(value)


_ADDR_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,253}$")
MAX_KNOWN_HOSTS = 64
_PIN_RE = re.compile(r"^[0-9a-f]{64}$")


def _names(value: list[Any]) -> list[str]:
    if len(value) > MAX_KNOWN_HOSTS:
        raise UsageError(error("INVALID_FIELD", f"at most {MAX_KNOWN_HOSTS} names"))
    return [validate_node_name(v) for v in value]


def _known_hosts(value: dict[str, Any]) -> list[KnownHost]:
    """Validate known-hosts entries sent by another node (``cluster setup``)."""
    bad = UsageError(
        error(
            "INVALID_FIELD",
            "field 'known_hosts' must map node names to "
            "{dest_list: [{addr, port}], token[, cert_sha256]} (at most 64 nodes)",
        )
    )
    if len(value) > MAX_KNOWN_HOSTS:
        raise bad
    hosts = []
    for name, entry in value.items():
        validate_node_name(name)
        if not isinstance(entry, dict) or set(entry) - {"dest_list", "token", "cert_sha256"}:
            raise bad
        pin = entry.get("cert_sha256")
        if pin is not None and (not isinstance(pin, str) or not _PIN_RE.match(pin)):
            raise bad
        token, dests = entry.get("token"), entry.get("dest_list")
        if not isinstance(token, str) or not 0 < len(token) <= 256 or not isinstance(dests, list):
            raise bad
        if not 0 < len(dests) <= 8:
            raise bad
        parsed = []
        for d in dests:
            if not isinstance(d, dict) or set(d) != {"addr", "port"}:
                raise bad
            addr, port = d["addr"], d["port"]
            if not isinstance(addr, str) or not _ADDR_RE.match(addr) or ".." in addr:
                raise bad
            if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
                raise bad
            parsed.append(Dest(addr, port))
        hosts.append(KnownHost(name, token, tuple(parsed), pin))
    return hosts


BODIES: dict[str, schema.Body] = {
    "auth": schema.Body(
        (
            schema.Field("username", str, True, "account name, normally hacluster", 64),
            schema.Field("password", str, True, "its system password (checked by PAM)", 1024),
        )
    ),
    "deauth": schema.Body(),
    "setup": schema.Body(
        (
            schema.Field("cluster_name", str, True, "name of the new cluster", 64, _cluster_name),
            schema.Field("corosync_conf", str, True, "full corosync.conf text", MAX_COROSYNC_CONF),
            schema.Field("authkey", str, True, "corosync authkey, base64", 8192),
            schema.Field("force", bool, False, "overwrite an existing different corosync.conf"),
            schema.Field(
                "known_hosts", dict, False,
                "known-hosts entries of the cluster's nodes, merged into this node's",
                None, _known_hosts,
            ),
        )
    ),
    "known_hosts": schema.Body(
        (
            schema.Field(
                "known_hosts", dict, False,
                "entries to add or replace: {NODE: {dest_list: [{addr, port}], token}}",
                None, _known_hosts,
            ),
            schema.Field("remove", list, False, "node names whose entries go", None, _names),
        )
    ),
    "action": schema.Body(
        (
            schema.Field(
                "timeout", (int, float), False, "seconds before the command is killed", None,
                _timeout,
            ),
            schema.Field("wait", (int, float), False, "start: --wait=SECONDS", None, _timeout),
            schema.Field("only", str, False, "stop: 'tandemd' or 'corosync' only", 16, _only),
        )
    ),
}

PUBLIC_PATHS = {f"{API}/auth", f"{API}/openapi.json"}


def json_reports(status: int, *reports: Report) -> web.Response:
    return web.json_response({"reports": [r.to_dict() for r in reports]}, status=status)


_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "NOT_AUTHORIZED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_TOO_LARGE",
    429: "TOO_MANY_FAILURES",
}


class LoginThrottle:
    """Refuses logins from an address after repeated failures, for a while.

    Why: PAM's own delay slows one guesser, not many parallel requests.  After
    ``max_failures`` failures within ``window`` seconds, an address gets
    HTTP 429 without a PAM check until ``window`` seconds after its last failure.
    """

    def __init__(
        self, max_failures: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, list[float]] = {}

    def _recent(self, remote: str) -> list[float]:
        now = self.clock()
        recent = [t for t in self._failures.get(remote, []) if now - t < self.window]
        if recent:
            self._failures[remote] = recent
        else:
            self._failures.pop(remote, None)
        return recent

    def blocked_for(self, remote: str) -> float:
        recent = self._recent(remote)
        if len(recent) < self.max_failures:
            return 0.0
        return max(0.0, self.window - (self.clock() - recent[-1]))

    def failed(self, remote: str) -> None:
        self._recent(remote)
        self._failures.setdefault(remote, []).append(self.clock())
        if len(self._failures) > 10_000:  # bounded memory under a flood of addresses
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, remote: str) -> None:
        self._failures.pop(remote, None)


class ApiApp:
    """Holds the collaborators and implements the handlers."""

    def __init__(
        self,
        config: ApiConfig,
        authenticator: Authenticator,
        tokens: TokenStore | None = None,
        runner: CommandRunner | None = None,
        cib_source: CibSource | None = None,
        metrics_registry: Any = None,
        corosync_source: Callable[[], Any] | None = None,
        stats_source: Callable[[], Any] | None = None,
        throttle: LoginThrottle | None = None,
        cluster_probe: Callable[[], bool] | None = None,
    ) -> None:
        self.config = config
        self.cluster_probe = cluster_probe
        self.throttle = throttle or LoginThrottle()
        self.authenticator = authenticator
        self.tokens = tokens or TokenStore(config.paths.tokens)
        self.runner = runner or SubprocessRunner()
        self.cib_source = cib_source
        self.metrics_registry = metrics_registry
        self.corosync_source = corosync_source
        self.stats_source = stats_source
        self.started = time.time()

    # ----------------------------------------------------------------- middlewares
    @web.middleware
    async def errors_mw(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = _HTTP_CODES.get(exc.status, f"HTTP_{exc.status}")
            msg = exc.reason
            if exc.status == 413:
                msg = f"request body larger than the limit of {self.config.max_request_size} bytes"
            elif exc.status == 404:
                msg = f"no such endpoint: {request.method} {request.path[:100]}"
            elif exc.status == 405:
                msg = f"method {request.method} is not allowed on {request.path[:100]}"
            return json_reports(exc.status, error(code, msg))
        except AuthError as exc:
            return json_reports(getattr(exc, "http_status", 401), *exc.reports)
        except UsageError as exc:
            return json_reports(400, *exc.reports)
        except TandemError as exc:
            status = getattr(exc, "http_status", 400)
            return json_reports(status, *exc.reports)
        except Exception as exc:  # the daemon keeps serving; no traceback to the client
            log.error(
                "internal error on %s %s: %s", request.method, request.path[:100], type(exc).__name__
            )
            return json_reports(
                500, error("INTERNAL_ERROR", "internal error in tandemd-api, see its log")
            )

    @web.middleware
    async def auth_mw(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        cl = request.content_length
        if cl is not None and cl > self.config.max_request_size:
            raise web.HTTPRequestEntityTooLarge(
                max_size=self.config.max_request_size, actual_size=cl
            )
        path = request.path
        public = path in PUBLIC_PATHS or (path == "/metrics" and not self.config.metrics_require_token)
        if not public:
            request[USER_KEY] = self._check_token(request)
        return await handler(request)

    def _token_of(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            return header[7:].strip() or None
        return request.cookies.get("token") or None

    def _check_token(self, request: web.Request) -> str:
        token = self._token_of(request)
        if token is None:
            raise AuthError(
                error(
                    "NOT_AUTHORIZED",
                    f"no token: run 'tandem host auth {self.config.node_name}' first",
                    node=self.config.node_name,
                )
            )
        entry = self.tokens.lookup(token)
        if entry is None:
            raise AuthError(
                error(
                    "NOT_AUTHORIZED",
                    f"token not accepted by {self.config.node_name}: run "
                    f"'tandem host auth {self.config.node_name}' again",
                    node=self.config.node_name,
                )
            )
        return entry.username

    async def _body(self, request: web.Request, name: str) -> dict[str, Any]:
        raw = await request.read()
        return BODIES[name].parse(raw)

    # ----------------------------------------------------------------- handlers
    async def auth(self, request: web.Request) -> web.Response:
        body = await self._body(request, "auth")
        user, password = body["username"], body["password"]
        remote = request.remote or "?"
        wait = self.throttle.blocked_for(remote)
        if wait > 0:
            log.warning("login from %s refused without checking: too many failures", remote)
            err = AuthError(
                error(
                    "TOO_MANY_FAILURES",
                    f"{self.config.node_name}: too many failed logins from {remote}, "
                    f"try again in {wait:.0f} s",
                    node=self.config.node_name,
                )
            )
            err.http_status = 429  # type: ignore[attr-defined]
            raise err
        loop = asyncio.get_running_loop()
        ok = await loop.run_in_executor(None, self.authenticator.authenticate, user, password)
        del password
        if not ok:
            self.throttle.failed(remote)
            log.warning("login refused for user %r from %s", user[:64], remote)
            raise AuthError(
                error(
                    "AUTH_FAILED",
                    f"{self.config.node_name}: username or password is wrong "
                    "(the user must be hacluster or in the haclient group)",
                    node=self.config.node_name,
                )
            )
        self.throttle.succeeded(remote)
        token = self.tokens.issue(user)
        log.info("login accepted for user %r from %s", user[:64], request.remote)
        return web.json_response({"token": token, "node": self.config.node_name})

    async def check_auth(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"success": True, "node": self.config.node_name, "username": request[USER_KEY]}
        )

    async def deauth(self, request: web.Request) -> web.Response:
        await self._body(request, "deauth")
        token = self._token_of(request)
        n = self.tokens.revoke([token]) if token else 0
        log.info("token of user %r revoked on its own request", request[USER_KEY])
        return web.json_response({"success": True, "revoked": n})

    async def status(self, request: web.Request) -> web.Response:
        conf = self.config.paths.corosync_dir / "corosync.conf"
        running = await self._probe_cluster()
        return web.json_response(
            {
                "node": self.config.node_name,
                "daemon": "tandemd-api",
                "version": getattr(tandem, "__version__", ""),
                "uptime": round(time.time() - self.started, 1),
                "corosync_conf": conf.exists(),
                "cluster_running": running,
            }
        )

    async def setup(self, request: web.Request) -> web.Response:
        body = await self._body(request, "setup")
        try:
            authkey = base64.b64decode(body["authkey"], validate=True)
        except (binascii.Error, ValueError):
            raise UsageError(error("INVALID_FIELD", "field 'authkey' is not valid base64")) from None
        if not 16 <= len(authkey) <= 4096:
            raise UsageError(
                error("INVALID_FIELD", "field 'authkey' must decode to 16..4096 bytes")
            )
        conf_text = body["corosync_conf"]
        if "\x00" in conf_text or "totem" not in conf_text:
            raise UsageError(
                error("INVALID_FIELD", "field 'corosync_conf' does not look like a corosync.conf")
            )
        cdir = self.config.paths.corosync_dir
        conf = cdir / "corosync.conf"
        if conf.exists() and not body.get("force") and conf.read_text(errors="replace") != conf_text:
            err = TandemError(
                error(
                    "NODE_IN_CLUSTER",
                    f"{self.config.node_name} already has a different {conf}: "
                    "destroy that cluster first or use --force",
                    force_code="FORCE",
                    node=self.config.node_name,
                )
            )
            err.http_status = 409  # type: ignore[attr-defined]
            raise err
        if await self._probe_cluster():
            err = TandemError(
                error(
                    "CLUSTER_RUNNING",
                    f"{self.config.node_name}: the cluster is running there; stop it first "
                    "('tandem cluster stop --all') before setting up a new cluster",
                    node=self.config.node_name,
                )
            )
            err.http_status = 409  # type: ignore[attr-defined]
            raise err
        destroyed = self._destroy_cib()
        _write_file(cdir / "authkey", authkey, 0o400)
        _write_file(conf, conf_text.encode(), 0o644)
        if body.get("known_hosts"):
            self._merge_known_hosts(body["known_hosts"])
        log.info(
            "cluster %r configuration written to %s by %r",
            body["cluster_name"], cdir, request[USER_KEY],
        )
        return web.json_response(
            {
                "success": True,
                "node": self.config.node_name,
                "cluster_name": body["cluster_name"],
                "destroyed_cib_files": destroyed,
            }
        )

    def _destroy_cib(self) -> int:
        """As pcs's destroy: the previous cluster's CIB must not survive into the new one."""
        n = 0
        cib_dir = self.config.paths.cib_dir
        if cib_dir.is_dir():
            for f in cib_dir.iterdir():
                if f.is_file() and not f.is_symlink():
                    f.unlink()
                    n += 1
        return n

    async def _probe_cluster(self) -> bool | None:
        """True/False when the probe answers within 3 s, None when unknown."""
        if self.cluster_probe is None:
            return None
        loop = asyncio.get_running_loop()
        try:
            return bool(await asyncio.wait_for(loop.run_in_executor(None, self.cluster_probe), 3.0))
        except Exception:  # a probe that hangs or fails says "unknown", never 5xx
            return None

    def _merge_known_hosts(self, hosts: list[KnownHost], remove: Iterable[str] = ()) -> None:
        path = self.config.paths.known_hosts
        known = KnownHosts.load(path)
        for name in remove:
            known.remove(name)
        for h in hosts:
            known.put(h)
        known.save(path)

    async def known_hosts(self, request: web.Request) -> web.Response:
        body = await self._body(request, "known_hosts")
        hosts, remove = body.get("known_hosts", []), body.get("remove", [])
        if not hosts and not remove:
            raise UsageError(
                error("MISSING_FIELD", "give 'known_hosts' to add, 'remove' to delete, or both")
            )
        self._merge_known_hosts(hosts, remove)
        log.info(
            "known-hosts: %s added, %s removed by %r",
            ", ".join(h.name for h in hosts) or "none", ", ".join(remove) or "none",
            request[USER_KEY],
        )
        return web.json_response({"success": True, "node": self.config.node_name})

    async def action(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in ACTIONS:
            raise web.HTTPNotFound()
        body = await self._body(request, "action")
        timeout = min(body.get("timeout", self.config.action_timeout), self.config.action_timeout_max)
        argv = [*self.config.tandem_command, "cluster", action]
        if "wait" in body:
            if action != "start":
                raise UsageError(error("INVALID_FIELD", "field 'wait' applies to start only"))
            argv.append(f"--wait={body['wait']:g}")
        if "only" in body:
            if action != "stop":
                raise UsageError(error("INVALID_FIELD", "field 'only' applies to stop only"))
            argv += ["--only", body["only"]]
        log.info("running 'tandem cluster %s' for %r", action, request[USER_KEY])
        result = await self.runner.run(argv, timeout)
        if not result.ok:
            log.warning("'tandem cluster %s' failed: rc=%s", action, result.returncode)
        return web.json_response(
            {
                "node": self.config.node_name,
                "action": action,
                "success": result.ok,
                "returncode": result.returncode,
                "timed_out": result.timed_out,
                "stdout": result.stdout,
                "stderr": result.stderr,
            }
        )

    async def metrics(self, request: web.Request) -> web.Response:
        from tandem.api.metrics import render_metrics

        loop = asyncio.get_running_loop()
        body, content_type = await loop.run_in_executor(
            None,
            render_metrics,
            self.cib_source,
            self.metrics_registry,
            self.corosync_source,
            self.stats_source,
        )
        resp = web.Response(body=body)
        resp.headers["Content-Type"] = content_type
        return resp

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(openapi_document())

    async def not_found(self, request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    # ----------------------------------------------------------------- wiring
    def make_app(self) -> web.Application:
        app = web.Application(
            middlewares=[self.errors_mw, self.auth_mw],
            client_max_size=self.config.max_request_size,
        )
        app.router.add_post(f"{API}/auth", self.auth)
        app.router.add_get(f"{API}/check-auth", self.check_auth)
        app.router.add_post(f"{API}/deauth", self.deauth)
        app.router.add_get(f"{API}/status", self.status)
        app.router.add_post(f"{API}/cluster/setup", self.setup)
        app.router.add_post(f"{API}/known-hosts", self.known_hosts)
        app.router.add_post(f"{API}/cluster/{{action}}", self.action)
        app.router.add_get(f"{API}/openapi.json", self.openapi)
        app.router.add_get("/metrics", self.metrics)
        return app


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Atomic write with the final mode from creation (the authkey is never readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tandem-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    os.replace(tmp, path)


# (method, path, body name or None, needs token, summary)
ROUTES: list[tuple[str, str, str | None, bool, str]] = [
    ("post", f"{API}/auth", "auth", False, "Check a password through PAM and issue a token"),
    ("get", f"{API}/check-auth", None, True, "Check that the token is accepted"),
    ("post", f"{API}/deauth", "deauth", True, "Revoke the caller's token"),
    ("get", f"{API}/status", None, True, "Health of this node's management daemon"),
    ("post", f"{API}/cluster/setup", "setup", True, "Write corosync.conf and authkey"),
    ("post", f"{API}/known-hosts", "known_hosts", True, "Add or remove known-hosts entries"),
    *[
        ("post", f"{API}/cluster/{a}", "action", True, f"Run 'tandem cluster {a}' on this node")
        for a in ACTIONS
    ],
    ("get", f"{API}/openapi.json", None, False, "This description"),
    ("get", "/metrics", None, False, "Prometheus metrics (ha_cluster_exporter names)"),
]


def openapi_document() -> dict[str, Any]:
    report = {
        "type": "object",
        "properties": {
            "reports": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "payload": {"type": "object"},
                        "severity": {"type": "string"},
                        "force_code": {"type": ["string", "null"]},
                    },
                },
            }
        },
    }
    paths: dict[str, Any] = {}
    for method, path, body, needs_token, summary in ROUTES:
        op: dict[str, Any] = {
            "summary": summary,
            "responses": {
                "200": {"description": "success"},
                "400": {"description": "bad request", "content": {"application/json": {"schema": report}}},
                "401": {"description": "not authorized", "content": {"application/json": {"schema": report}}},
                "413": {"description": "request too large"},
                "429": {"description": "too many failed logins from this address"},
            },
        }
        if not needs_token:
            op["security"] = []
        if body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": BODIES[body].openapi()}},
            }
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "tandemd-api", "version": "1"},
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": paths,
    }
