"""pcs-style multi-node cluster commands on top of :mod:`tandem.api.client`.

Why here: ``tandem cluster setup|start|stop|enable|disable`` with other
nodes (``--all`` or NODE...) act through each node's tandemd-api; these
helpers do the calls, print pcs's per-node lines and raise one
:class:`tandem.errors.PeerError` listing the nodes that failed, so that
tandem/cli/cluster.py wires each form in one line.

    run_setup(["pcmk-1", "pcmk-2"], "mycluster", conf_text, authkey, echo=click.echo)
    run_action(["pcmk-1", "pcmk-2"], "start", echo=click.echo, wait=60)
    run_action(nodes, "stop", echo=click.echo)     # tandemd everywhere first, then corosync
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from tandem.api import client
from tandem.api.client import NodeResult
from tandem.api.paths import default_paths
from tandem.api.storage import KnownHosts

Echo = Callable[[str], None]

_ACTION_LINE = {
    "start": "Starting Cluster...",
    "enable": "Cluster Enabled",
    "disable": "Cluster Disabled",
}


def _quoted(nodes: Iterable[str]) -> str:
    return ", ".join(f"'{n}'" for n in nodes)


def _collect(results: Mapping[str, NodeResult], failed: dict[str, NodeResult]) -> None:
    for n, r in results.items():
        if not r.ok and n not in failed:
            failed[n] = r


def run_setup(
    nodes: list[str],
    cluster_name: str,
    corosync_conf: str,
    authkey: bytes,
    echo: Echo,
    force: bool = False,
    known_hosts: KnownHosts | Path | None = None,
    transport: client.Transport | None = None,
) -> None:
    """Send corosync.conf and the authkey to every node (and the known-hosts entries).

    Each node refuses while its cluster runs, then drops its old CIB (pcs's
    destroy) and writes the files; the lines are pcs 0.11's.
    """
    results = client.distribute_cluster_config(
        nodes, cluster_name, corosync_conf, authkey, force=force,
        known_hosts=known_hosts, transport=transport,
    )
    client.raise_for_failures(results)
    echo(f"Destroying cluster on hosts: {_quoted(nodes)}...")
    for n in nodes:
        echo(f"{n}: Successfully destroyed cluster")
    echo(f"Sending 'corosync authkey', 'corosync.conf' to {_quoted(nodes)}")
    for n in nodes:
        echo(f"{n}: successful distribution of the file 'corosync authkey'")
        echo(f"{n}: successful distribution of the file 'corosync.conf'")
    echo("Cluster has been successfully set up.")


def run_action(
    nodes: list[str],
    action: str,
    echo: Echo,
    timeout: float = 120.0,
    wait: float | None = None,
    known_hosts: KnownHosts | Path | None = None,
    transport: client.Transport | None = None,
) -> None:
    """``cluster start|stop|enable|disable`` on ``nodes`` through their daemons, in parallel.

    ``stop`` is done in two phases as pcs does: the resource manager (tandemd)
    on every node first, then corosync everywhere, so that quorum is not lost
    while resources are still stopping.  A node that failed the first phase
    is not asked for the second.
    """
    known = known_hosts if isinstance(known_hosts, KnownHosts) else KnownHosts.load(
        known_hosts or default_paths().known_hosts
    )
    failed: dict[str, NodeResult] = {}
    if action == "stop":
        for only, label in (("tandemd", "tandemd"), ("corosync", "corosync")):
            targets = [n for n in nodes if n not in failed]
            for n in targets:
                echo(f"{n}: Stopping Cluster ({label})...")
            results = client.remote_cluster_action(
                targets, "stop", timeout, known, transport, only=only
            )
            _collect(results, failed)
    else:
        if action not in _ACTION_LINE:
            raise ValueError(f"unknown cluster action {action!r}")
        for n in nodes:
            echo(f"{n}: {_ACTION_LINE[action]}")
        _collect(
            client.remote_cluster_action(nodes, action, timeout, known, transport, wait=wait),
            failed,
        )
    client.raise_for_failures({n: failed[n] for n in nodes if n in failed})
