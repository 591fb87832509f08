"""``tandem host auth|deauth`` and ``tandem pcsd deauth|status``: tokens between nodes' daemons.

    tandem host auth NODE [addr=ADDR[:PORT]]... [-u USER] [-p PASSWORD]
    tandem host deauth [NODE]...
    tandem pcsd deauth [TOKEN]...
    tandem pcsd status [NODE]...

Why it looks like pcs: administrators know ``pcs host auth`` (and pcs 0.9's
``pcs cluster auth``, which :data:`auth_command` provides for the ``cluster``
group to attach).  The password is checked by PAM on each node's
``tandemd-api``; tokens land in /var/lib/tandem/known-hosts (pcs's format).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from tandem.api.paths import DEFAULT_PORT, default_paths
from tandem.api.storage import Dest, KnownHosts, TokenStore, validate_node_name
from tandem.cli.output import guarded, print_reports
from tandem.errors import Report, UsageError, error

__all__ = ["COMMANDS", "auth_command", "host", "local_cluster_nodes", "pcsd", "parse_host_args"]


def parse_host_args(args: tuple[str, ...] | list[str]) -> dict[str, Dest]:
    """``NODE [addr=ADDR[:PORT]]...`` -> {NODE: Dest}; the first addr= of a node is used."""
    out: dict[str, Dest] = {}
    last: str | None = None
    for arg in args:
        if arg.startswith("addr="):
            if last is None:
                raise UsageError(error("USAGE", f"'{arg}' must follow a node name"))
            value = arg[5:]
            m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?|([^:\[\]/]+)(?::(\d{1,5}))?|([0-9A-Fa-f:]+)", value)
            if not value or m is None:
                raise UsageError(error("USAGE", f"invalid address '{value}' for {last}"))
            addr = m.group(1) or m.group(3) or m.group(5)
            port = int(m.group(2) or m.group(4) or DEFAULT_PORT)
            if not 0 < port < 65536:
                raise UsageError(error("USAGE", f"invalid port {port} for {last}"))
            if out[last].addr == last:  # only the first addr= counts
                out[last] = Dest(addr, port)
            continue
        last = validate_node_name(arg)
        out[last] = Dest(last, DEFAULT_PORT)
    return out


def local_cluster_nodes(conf: Path | None = None) -> list[str]:
    """Node names from the local corosync.conf nodelist (empty when there is none)."""
    conf = conf or default_paths().corosync_dir / "corosync.conf"
    try:
        text = conf.read_text(errors="replace")
    except OSError:
        return []
    names: list[str] = []
    for block in re.findall(r"node\s*\{([^}]*)\}", text):
        m = re.search(r"^\s*name\s*:\s*(\S+)", block, re.M) or re.search(
            r"^\s*ring0_addr\s*:\s*(\S+)", block, re.M
        )
        if m and m.group(1) not in names:
            names.append(m.group(1))
    return names


def _do_auth(args: tuple[str, ...], username: str | None, password: str | None) -> None:
    from tandem.api.client import auth_nodes

    nodes = parse_host_args(args) if args else {n: Dest(n) for n in local_cluster_nodes()}
    if not nodes:
        raise UsageError(
            error("USAGE", "no nodes given and no local cluster: 'tandem host auth NODE...'")
        )
    if username is None:
        username = click.prompt("Username") if sys.stdin.isatty() else "hacluster"
    if password is None:
        if not sys.stdin.isatty():
            raise UsageError(error("USAGE", "no password given: use -p PASSWORD"))
        password = click.prompt("Password", hide_input=True)
    results = auth_nodes(nodes, username, password)
    failed: list[Report] = []
    for name, r in results.items():
        if r.ok:
            click.echo(f"{name}: Authorized")
        else:
            failed.append(error(f"NODE_{r.status.upper()}", r.message, node=name))
    good = [n for n, r in results.items() if r.ok]
    cluster = local_cluster_nodes()
    if good and cluster:
        _share(cluster, good)
    if failed:
        print_reports(failed)
        sys.exit(1)


def _share(cluster: list[str], names: list[str]) -> None:
    """In a cluster, give every node the new tokens too (pcs does the same)."""
    from tandem.api.client import share_known_hosts

    known = KnownHosts.load(default_paths().known_hosts)
    reachable = [n for n in cluster if known.get(n) is not None]
    for name, r in share_known_hosts(reachable, names, known_hosts=known).items():
        if not r.ok:
            click.echo(f"Warning: {name}: could not share the new tokens: {r.message}", err=True)


_USER = click.option("-u", "username", metavar="USER", default=None, help="Default: hacluster.")
_PASSWORD = click.option("-p", "password", metavar="PASSWORD", default=None)


@click.command("auth", context_settings={"ignore_unknown_options": False})
@click.argument("nodes", nargs=-1)
@_USER
@_PASSWORD
@guarded
def host_auth(nodes: tuple[str, ...], username: str | None, password: str | None) -> None:
    """Authenticate to the tandemd-api of NODE... (NODE [addr=ADDR[:PORT]])."""
    _do_auth(nodes, username, password)


@click.command("auth")
@click.argument("nodes", nargs=-1)
@_USER
@_PASSWORD
@guarded
def auth_command(nodes: tuple[str, ...], username: str | None, password: str | None) -> None:
    """Authenticate to the nodes' tandemd-api (pcs 0.9 spelling of 'host auth')."""
    _do_auth(nodes, username, password)


@click.command("deauth")
@click.argument("nodes", nargs=-1)
@guarded
def host_deauth(nodes: tuple[str, ...]) -> None:
    """Forget the tokens for NODE... (all when none given) and revoke them on those nodes."""
    from tandem.api.client import deauth_nodes

    for n in nodes:
        validate_node_name(n)
    path = default_paths().known_hosts
    known = KnownHosts.load(path)
    unknown = [n for n in nodes if known.get(n) is None]
    if unknown:
        raise UsageError(
            *(error("HOST_NOT_FOUND", f"host '{n}' is not known (not in {path})", node=n) for n in unknown)
        )
    names = list(nodes) or sorted(known.hosts)
    cluster = [n for n in local_cluster_nodes() if known.get(n) is not None]
    if cluster and names:
        _unshare(cluster, names, known)
    results = deauth_nodes(list(nodes) if nodes else None, path)
    for name, r in results.items():
        if not r.ok:
            click.echo(f"Warning: {r.message}", err=True)
        else:
            click.echo(f"{name}: Deauthorized")


def _unshare(cluster: list[str], names: list[str], known: KnownHosts) -> None:
    """In a cluster, the other nodes forget these tokens too (pcs does the same)."""
    from tandem.api.client import unshare_known_hosts

    for name, r in unshare_known_hosts(cluster, names, known_hosts=known).items():
        if not r.ok:
            click.echo(f"Warning: {name}: could not remove the tokens there: {r.message}", err=True)


@click.group("host")
def host() -> None:
    """Authentication of this node to other nodes' tandemd-api."""


host.add_command(host_auth)
host.add_command(host_deauth)


@click.group("pcsd")
def pcsd() -> None:
    """The local management daemon tandemd-api (pcs's 'pcsd' commands)."""


@pcsd.command("deauth")
@click.argument("tokens", nargs=-1)
@guarded
def pcsd_deauth(tokens: tuple[str, ...]) -> None:
    """Revoke tokens accepted by this node's tandemd-api (all when none given)."""
    store = TokenStore(default_paths().tokens)
    if not tokens:
        store.revoke_all()
        return
    known = store.revoke(tokens)
    if known < len(set(tokens)):
        raise UsageError(
            error("TOKEN_NOT_FOUND", f"{len(set(tokens)) - known} of the given tokens were not found")
        )


@pcsd.command("status")
@click.argument("nodes", nargs=-1)
@guarded
def pcsd_status_cmd(nodes: tuple[str, ...]) -> None:
    """Show whether the tandemd-api of NODE... (default: the cluster's nodes) answers."""
    from tandem.api.status import pcsd_status_section

    for n in nodes:
        validate_node_name(n)
    names = list(nodes) or local_cluster_nodes() or sorted(KnownHosts.load(default_paths().known_hosts).hosts)
    if not names:
        raise UsageError(error("USAGE", "no nodes given and no local cluster"))
    lines = pcsd_status_section(names)
    for line in lines[1:]:
        click.echo(line.strip())
    if any(not line.endswith(": Online") for line in lines[1:]):
        sys.exit(1)


COMMANDS = [host, pcsd]
