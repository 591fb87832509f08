"""``tandemd-api``: the management daemon's entry point (pcsd's role).

Why a separate process from the cluster daemon: it must run on every node at
boot even when the cluster is stopped (that is how one node starts the
cluster on the others), and it must never hang the cluster stack.

Started by systemd (tandem/api/tandemd-api.service) on a real machine, or by
the lab's node init when /etc/tandem/enabled/api exists.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web

from tandem.api import auth as authmod
from tandem.api import tls
from tandem.api.metrics import live_cib_source, live_stats_source, read_corosync
from tandem.api.paths import DEFAULT_PORT, ApiPaths, default_paths
from tandem.api.server import MAX_REQUEST_DEFAULT, ApiApp, ApiConfig, LoginThrottle
from tandem.api.storage import TokenStore

log = logging.getLogger("tandem.api")


def _cluster_running() -> bool:
    """Whether the local cluster daemon answers (for GET /api/v1/status)."""
    from tandem.daemon import client

    return client.is_running()


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="tandemd-api", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=int(env("TANDEM_API_PORT", DEFAULT_PORT)),
                   help="TCP port (default 2224, env TANDEM_API_PORT)")
    p.add_argument("--bind", default=env("TANDEM_API_BIND", ""),
                   help="comma-separated addresses to bind (default: all)")
    p.add_argument("--state-dir", type=Path, default=None,
                   help="tokens and certificate (default /var/lib/tandem/api)")
    p.add_argument("--known-hosts", type=Path, default=None)
    p.add_argument("--corosync-dir", type=Path, default=None,
                   help="where cluster setup writes corosync.conf/authkey (default /etc/corosync)")
    p.add_argument("--pidfile", type=Path, default=None)
    p.add_argument("--cert", type=Path, default=None, help="administrator-supplied certificate")
    p.add_argument("--key", type=Path, default=None, help="its private key")
    p.add_argument("--node-name", default=None, help="this node's name (default: hostname)")
    p.add_argument("--auth-backend", default=env("TANDEM_API_AUTH", "pam"),
                   help="'pam' (default) or 'file:PATH' (test password file)")
    p.add_argument("--pam-service", default=None, help="PAM service (default: tandem, pcsd or other)")
    p.add_argument("--max-request-size", type=int, default=MAX_REQUEST_DEFAULT)
    p.add_argument("--max-login-failures", type=int, default=5,
                   help="failed logins from one address within 60 s before HTTP 429 (0: no limit)")
    p.add_argument("--metrics-require-token", action="store_true",
                   help="require a token on /metrics too (default: open, like an exporter)")
    p.add_argument("--tandem-command", default=None,
                   help="command run for remote cluster actions (default: the venv's tandem)")
    p.add_argument("--no-create-user", action="store_true",
                   help="do not create the hacluster account when it is missing")
    p.add_argument("--log-file", type=Path, default=None)
    p.add_argument("--debug", action="store_true")
    return p


def resolve_paths(args: argparse.Namespace) -> ApiPaths:
    d = default_paths()
    return ApiPaths(
        state_dir=args.state_dir or d.state_dir,
        known_hosts=args.known_hosts or d.known_hosts,
        enabled_marker=d.enabled_marker,
        pidfile=args.pidfile or d.pidfile,
        corosync_dir=args.corosync_dir or d.corosync_dir,
        cib_dir=d.cib_dir,
    )


def setup_logging(log_file: Path | None, debug: bool) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s tandemd-api[%(process)d] %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )


async def serve(args: argparse.Namespace) -> None:
    paths = resolve_paths(args)
    os.umask(0o077)
    paths.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert, key = args.cert or paths.cert, args.key or paths.key
    if args.cert is None and tls.ensure_certificate(cert, key):
        log.info("created self-signed certificate %s", cert)
    if args.auth_backend == "pam" and not args.no_create_user and authmod.running_as_root():
        try:
            if authmod.ensure_hacluster_account():
                log.info("created the hacluster account (no password: set one with passwd)")
        except Exception as exc:  # the daemon still serves other nodes' tokens
            log.warning("could not create the hacluster account: %s", exc)
    config = ApiConfig(
        paths=paths,
        node_name=args.node_name or socket.gethostname(),
        max_request_size=args.max_request_size,
        metrics_require_token=args.metrics_require_token,
    )
    if args.tandem_command:
        config.tandem_command = args.tandem_command.split()
    app = ApiApp(
        config,
        authmod.make_authenticator(args.auth_backend, args.pam_service),
        TokenStore(paths.tokens),
        cib_source=live_cib_source,
        corosync_source=read_corosync,
        stats_source=live_stats_source,
        throttle=LoginThrottle(max_failures=args.max_login_failures or 10**9),
        cluster_probe=_cluster_running,
    ).make_app()
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    ctx = tls.server_context(cert, key)
    binds = [b.strip() for b in args.bind.split(",") if b.strip()] or [None]
    for b in binds:
        await web.TCPSite(runner, b, args.port, ssl_context=ctx, reuse_address=True).start()
    paths.pidfile.parent.mkdir(parents=True, exist_ok=True)
    paths.pidfile.write_text(f"{os.getpid()}\n")
    log.info("listening on https://%s:%d (node %s)", args.bind or "*", args.port, config.node_name)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await runner.cleanup()
        with contextlib.suppress(OSError):
            if paths.pidfile.read_text().strip() == str(os.getpid()):
                paths.pidfile.unlink()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_file, args.debug)
    try:
        authmod.make_authenticator(args.auth_backend, args.pam_service)
    except ValueError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
    try:
        asyncio.run(serve(args))
    except OSError as exc:
        print(f"Error: tandemd-api cannot start: {exc.strerror or exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
