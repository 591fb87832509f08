"""``tandem cluster setup|start|stop|enable|disable`` (pcs syntax, both generations).

Where a command runs decides what it may do, until the management daemon
can reach other nodes:

- inside a cluster node (or on a real machine): only this node; a form that
  names another node or ``--all`` fails with one line saying so;
- on the lab host (a lab exists, we are not inside one of its nodes): the
  multi-node forms run on each named node through the lab (``lab exec`` for
  processes, the node's persistent folders for files).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from tandem.cli.output import guarded
from tandem.daemon import service
from tandem.errors import TandemError, UsageError

NEEDS_API = (
    "needs the management daemon to reach other nodes, which is not available yet: "
    "run it from the lab host, or run 'tandem cluster {verb}' on each node"
)


# --------------------------------------------------------------------------- where are we


def in_lab_node() -> bool:
    """True inside a lab node (PID 1 is the lab's node init)."""
    if os.environ.get("TANDEM_LAB_NODE"):
        return True
    try:
        return b"nodeinit" in Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return False


def host_lab(lab_name: str | None) -> Any | None:
    """The lab we drive from its host side, or None (inside a node / no lab)."""
    if in_lab_node():
        return None
    from tandem.lab import Lab
    from tandem.lab.api import default_lab_name

    lab = Lab(lab_name or default_lab_name())
    return lab if lab.exists() else None


def _tandem_in_node() -> str:
    from tandem.lab.api import venv_dir

    return str(venv_dir() / "bin" / "tandem")


def _targets(lab: Any, nodes: Sequence[str], all_nodes: bool) -> list[str]:
    known = list(lab.nodes)
    if all_nodes:
        return known
    unknown = [n for n in nodes if n not in known]
    if unknown:
        raise UsageError(f"unknown node '{unknown[0]}': the lab has {', '.join(known)}")
    return list(nodes)


def _api_remote() -> Any | None:
    """tandem.api.remote (the management daemons' client), when that layer is installed."""
    try:
        from tandem.api import remote
    except ImportError:
        return None
    return remote


def _cluster_nodes() -> list[str]:
    from tandem.corosync.conf import CorosyncConf

    try:
        return CorosyncConf.load(service.COROSYNC_CONF).node_names()
    except (TandemError, OSError):
        raise TandemError(
            f"{service.COROSYNC_CONF} is missing or unreadable: this node is not in a "
            "cluster, so --all names no node"
        ) from None


def _through_api(verb: str, nodes: Sequence[str], all_nodes: bool, **kw: Any) -> bool:
    """Run a form that names other nodes (or --all) through their tandemd-api.

    Returns False when it only concerns this node (run locally).  Without the
    API layer such a form is an error, as the pcs commands without pcsd.
    """
    me = service.local_node_name()
    if not all_nodes and all(n == me for n in nodes):
        return False
    remote = _api_remote()
    if remote is None:
        _local_only(verb, nodes, all_nodes)
        return False
    targets = _cluster_nodes() if all_nodes else list(dict.fromkeys(nodes))
    remote.run_action(targets, verb, click.echo, **kw)
    return True


def _local_only(verb: str, nodes: Sequence[str], all_nodes: bool) -> None:
    """Inside a node: accept no node, or only this node's own name."""
    me = service.local_node_name()
    others = [n for n in nodes if n != me]
    if all_nodes or others:
        what = "--all" if all_nodes else f"node '{others[0]}'"
        raise UsageError(f"cluster {verb} {what} {NEEDS_API.format(verb=verb)}")


def _run_on_nodes(
    lab: Any, nodes: list[str], argv: list[str], *, prefix: bool = False, light: bool = False
) -> int:
    """Run ``tandem ARGV`` inside every node at once; echo each output; worst exit code.

    ``light`` runs ``python -m tandem.daemon.service ARGV`` instead (cluster start).
    """
    from tandem.lab.api import venv_dir

    cmd = (
        [str(venv_dir() / "bin" / "python"), "-m", "tandem.daemon.service"]
        if light
        else [_tandem_in_node()]
    )
    procs = {
        n: lab.spawn(n, [*cmd, *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for n in nodes
    }
    worst = 0
    for n, p in procs.items():
        out, _ = p.communicate()
        for line in (out or "").splitlines():
            click.echo(f"{n}: {line}" if prefix and not line.startswith(f"{n}:") else line)
        worst = max(worst, p.returncode or 0)
    return worst


def _lab_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--lab",
        "lab_name",
        envvar="TANDEM_LAB",
        default=None,
        metavar="NAME",
        help="From the lab host: which lab's nodes to act on (env TANDEM_LAB).",
    )(fn)


# --------------------------------------------------------------------------- commands


@click.group("cluster")
def cluster() -> None:
    """Configure, start and stop the cluster stack (corosync + tandemd)."""


@cluster.command("setup", context_settings={"ignore_unknown_options": True})
@click.option("--name", "legacy_name", default=None, help="pcs 0.9 spelling: --name NAME NODE...")
@click.option("--start", is_flag=True, help="Start the cluster on the nodes afterwards.")
@click.option("--enable", is_flag=True, help="Enable the cluster at boot on the nodes.")
@click.option(
    "--corosync_conf", "conf_file", default=None, help="Only write corosync.conf to FILE."
)
@_lab_option
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@guarded
def setup(
    legacy_name: str | None,
    start: bool,
    enable: bool,
    conf_file: str | None,
    lab_name: str | None,
    args: tuple[str, ...],
) -> None:
    """NAME NODE [addr=ADDR]... [transport ...] [totem ...] [quorum ...]  (or --name NAME NODE...)."""
    from tandem.corosync import conf as cconf

    spec = cconf.parse_setup_argv(list(args), name=legacy_name)
    reports = cconf.validate(spec)
    reports.raise_if_errors()
    if conf_file:
        cconf.write_conf(cconf.render(spec), conf_file)
        return
    names = [n.name for n in spec.nodes]
    lab = host_lab(lab_name)
    if lab is None:
        me = service.local_node_name()
        remote = _api_remote()
        if names != [me] and remote is not None:
            from tandem.cli import context

            remote.run_setup(
                names,
                spec.cluster_name,
                cconf.render(spec),
                cconf.generate_authkey(),
                click.echo,
                force=context.get().force,
            )
            if enable:
                remote.run_action(names, "enable", click.echo)
            if start:
                remote.run_action(names, "start", click.echo)
            return
        if names != [me]:
            raise UsageError(
                f"cluster setup of {', '.join(names)} {NEEDS_API.format(verb='setup')}"
                " (or write the file with --corosync_conf FILE)"
            )
        cconf.setup_files(spec)
        if enable:
            service.set_enabled(True)
        if start:
            service.start_local(click.echo)
        return
    targets = _targets(lab, names, False)
    running = [n for n in targets if lab.is_running(n) and _cluster_running_in(lab, n)]
    if running:
        raise TandemError(
            f"{', '.join(running)}: the cluster is running there; stop it first "
            "('tandem cluster stop --all') before setting up a new cluster"
        )
    for n in spec.nodes:
        if n.addrs == (n.name,):
            click.echo(f"No addresses specified for host '{n.name}', using '{n.name}'")
    key = cconf.generate_authkey()
    cluster_uuid = uuid.uuid4().hex
    quoted = ", ".join(f"'{n}'" for n in targets)
    click.echo(f"Destroying cluster on hosts: {quoted}...")
    for n in targets:
        # as pcs's destroy: the previous cluster's CIB must not survive into the new one
        cib_dir = lab.node_path(n, "/var/lib/tandem/cib")
        if cib_dir.is_dir():
            for f in cib_dir.iterdir():
                if f.is_file():
                    f.unlink()
        click.echo(f"{n}: Successfully destroyed cluster")
    click.echo(f"Sending 'corosync authkey', 'corosync.conf' to {quoted}")
    for n in targets:
        cconf.setup_files(
            spec, lab.node_path(n, "/etc/corosync"), authkey=key, cluster_uuid=cluster_uuid
        )
        click.echo(f"{n}: successful distribution of the file 'corosync authkey'")
        click.echo(f"{n}: successful distribution of the file 'corosync.conf'")
    click.echo("Cluster has been successfully set up.")
    if enable:
        for n in targets:
            _marker(lab, n, True)
    if start:
        sys.exit(_run_on_nodes(lab, targets, ["start"], prefix=True, light=True))


def _cluster_running_in(lab: Any, node: str) -> bool:
    from tandem.lab.api import venv_dir

    code = (
        "from tandem.daemon import service; "
        "print(int(service.is_active('corosync') or service.is_active('tandemd')))"
    )
    cp = lab.exec(node, [str(venv_dir() / "bin" / "python"), "-c", code], timeout=60)
    return cp.stdout.strip() == "1"


def _marker(lab: Any, node: str, on: bool) -> None:
    path = lab.node_path(node, str(service.ENABLED_MARKER))
    if on:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    else:
        path.unlink(missing_ok=True)


@cluster.command("start")
@click.option("--all", "all_nodes", is_flag=True, help="Start on every node.")
@click.option(
    "--wait",
    "wait",
    is_flag=False,
    flag_value="60",
    default=None,
    metavar="[=SECONDS]",
    help="Wait until the node(s) are in the cluster (default 60 s).",
)
@click.option("--request-timeout", default=None, hidden=True)
@_lab_option
@click.argument("nodes", nargs=-1)
@guarded
def start(
    all_nodes: bool,
    wait: str | None,
    request_timeout: str | None,
    lab_name: str | None,
    nodes: tuple[str, ...],
) -> None:
    """Start corosync and tandemd on this node, NODE... or --all."""
    seconds = _seconds(wait)
    lab = host_lab(lab_name)
    if lab is None:
        if not _through_api("start", nodes, all_nodes, wait=seconds):
            service.start_local(click.echo, wait=seconds)
        return
    if not nodes and not all_nodes:
        raise UsageError("on the lab host, name the nodes to start or use --all")
    targets = _targets(lab, nodes, all_nodes)
    # the light entry point (not the whole CLI) inside each node: faster start
    argv = ["start"] + ([f"--wait={seconds:g}"] if seconds else [])
    sys.exit(_run_on_nodes(lab, targets, argv, prefix=True, light=True))


def _seconds(wait: str | None) -> float | None:
    if wait is None:
        return None
    try:
        value = float(wait.lstrip("="))
    except ValueError:
        raise UsageError(f"'{wait}' is not a number of seconds for --wait") from None
    if value <= 0:
        raise UsageError("--wait needs a positive number of seconds")
    return value


@cluster.command("stop")
@click.option("--all", "all_nodes", is_flag=True, help="Stop on every node.")
@click.option("--force", "force", is_flag=True, help="Accepted for pcs compatibility.")
@click.option("--only", type=click.Choice(["tandemd", "corosync"]), default=None, hidden=True)
@_lab_option
@click.argument("nodes", nargs=-1)
@guarded
def stop(
    all_nodes: bool, force: bool, only: str | None, lab_name: str | None, nodes: tuple[str, ...]
) -> None:
    """Stop the cluster on this node, NODE... or --all (tandemd first, then corosync)."""
    del force
    lab = host_lab(lab_name)
    if lab is None:
        if _through_api("stop", nodes, all_nodes):
            return
        me = service.local_node_name()
        if only in (None, "tandemd"):
            click.echo(f"{me}: Stopping Cluster (tandemd)...")
            service.stop_tandemd()
        if only in (None, "corosync"):
            click.echo(f"{me}: Stopping Cluster (corosync)...")
            service.stop_corosync()
        return
    if not nodes and not all_nodes:
        raise UsageError("on the lab host, name the nodes to stop or use --all")
    targets = _targets(lab, nodes, all_nodes)
    # As pcs: every node's resource manager first, then corosync everywhere, so
    # that quorum is not lost while resources are still being stopped.
    rc = _run_on_nodes(lab, targets, ["cluster", "stop", "--only", "tandemd"])
    rc = max(rc, _run_on_nodes(lab, targets, ["cluster", "stop", "--only", "corosync"]))
    sys.exit(rc)


def _enable(on: bool, all_nodes: bool, lab_name: str | None, nodes: tuple[str, ...]) -> None:
    lab = host_lab(lab_name)
    word = "enable" if on else "disable"
    if lab is None:
        if not _through_api(word, nodes, all_nodes):
            service.set_enabled(on)
        return
    if not nodes and not all_nodes:
        raise UsageError(f"on the lab host, name the nodes to {word} or use --all")
    for n in _targets(lab, nodes, all_nodes):
        _marker(lab, n, on)
        click.echo(f"{n}: Cluster {'Enabled' if on else 'Disabled'}")


@cluster.command("enable")
@click.option("--all", "all_nodes", is_flag=True)
@_lab_option
@click.argument("nodes", nargs=-1)
@guarded
def enable(all_nodes: bool, lab_name: str | None, nodes: tuple[str, ...]) -> None:
    """Start the cluster at boot on this node, NODE... or --all."""
    _enable(True, all_nodes, lab_name, nodes)


@cluster.command("disable")
@click.option("--all", "all_nodes", is_flag=True)
@_lab_option
@click.argument("nodes", nargs=-1)
@guarded
def disable(all_nodes: bool, lab_name: str | None, nodes: tuple[str, ...]) -> None:
    """Do not start the cluster at boot on this node, NODE... or --all."""
    _enable(False, all_nodes, lab_name, nodes)


@cluster.command("cib")
@click.argument("file", required=False)
@guarded
def cluster_cib(file: str | None) -> None:
    """pcs's `cluster cib [FILE]`: the live CIB (to stdout or FILE)."""
    from tandem.daemon import client

    xml = client.get_cib_xml()
    if file:
        Path(file).write_text(xml)
    else:
        click.echo(xml, nl=False)


@cluster.command("cib-push")
@click.argument("file")
@guarded
def cluster_cib_push(file: str) -> None:
    """pcs's `cluster cib-push FILE`: replace the configuration (validated)."""
    from tandem.cli.cib import push_file

    push_file(file)


def _attach_auth() -> None:
    """pcs 0.9's ``cluster auth`` spelling of ``host auth`` (management API layer)."""
    try:
        from tandem.cli.host import auth_command
    except ImportError:
        return
    cluster.add_command(auth_command, "auth")


_attach_auth()

COMMANDS = [cluster]

__all__ = ["COMMANDS", "TandemError"]
