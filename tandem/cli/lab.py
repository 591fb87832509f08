"""``tandem lab ...``: multi-node clusters in namespaces on one machine.

A thin shell over :class:`tandem.lab.Lab` (docs/lab.md); every command takes
``--lab NAME`` (or $TANDEM_LAB, default "tandem") so that several labs can
coexist.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from tandem.lab import Lab
from tandem.lab import plan as P

F = TypeVar("F", bound=Callable[..., Any])

PASS_THROUGH = {"ignore_unknown_options": True, "allow_interspersed_args": False}


def lab_option(fn: F) -> F:
    return click.option(
        "--lab", "lab_name", envvar="TANDEM_LAB", default=P.DEFAULT_LAB, show_default=True,
        metavar="NAME", help="Which lab (env TANDEM_LAB).",
    )(fn)


def _lab(name: str, **kwargs: Any) -> Lab:
    return Lab(name, progress=click.echo, **kwargs)


def _split_command(lab_name: str, command: tuple[str, ...]) -> tuple[str, list[str]]:
    """(lab, argv): accept ``--lab NAME`` after NODE too, and drop the ``--`` separator.

    Options stop at NODE (so that the command's own options pass through
    untouched), which would otherwise make ``exec pcmk-1 --lab x -- cmd`` run
    ``--lab``.
    """
    argv = list(command)
    if argv and argv[0] == "--lab" and len(argv) > 1:
        lab_name, argv = argv[1], argv[2:]
    elif argv and argv[0].startswith("--lab="):
        lab_name, argv = argv[0].split("=", 1)[1], argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise click.UsageError("give the command to run after --")
    return lab_name, argv


@click.group("lab")
def lab() -> None:
    """Namespace lab: cluster nodes as containers on this machine."""


@lab.command("up")
@click.option("--nodes", type=int, default=P.DEFAULT_NODES, show_default=True,
              help="Number of nodes.")
@click.option("--prefix", default=P.DEFAULT_PREFIX, show_default=True,
              help="Node name prefix (nodes are PREFIX1, PREFIX2, ...).")
@click.option("--subnet", default=P.DEFAULT_SUBNET, show_default=True,
              help="Lab subnet; nodes get .101, .102, ..., the lab host .1.")
@click.option("--api/--no-api", "enable_api", default=True, show_default=True,
              help="Enable the management daemon (tandemd-api) on every node.")
@lab_option
def up(nodes: int, prefix: str, subnet: str, enable_api: bool, lab_name: str) -> None:
    """Build the lab: a lab-host namespace with a bridge, and N booted nodes."""
    _lab(lab_name, nodes=nodes, prefix=prefix, subnet=subnet, enable_api=enable_api).up()


@lab.command("down")
@lab_option
def down(lab_name: str) -> None:
    """Remove everything the lab created (safe to repeat, also after a failed up)."""
    _lab(lab_name).down()
    click.echo(f"Lab '{lab_name}' removed")


@lab.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@lab_option
def status(as_json: bool, lab_name: str) -> None:
    """Show the lab's nodes, addresses, states and partition."""
    st = Lab(lab_name).status()
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    if st["state"] == "down":
        click.echo(f"Lab '{lab_name}' is down")
        return
    click.echo(f"Lab: {st['lab']} ({st['state']})  subnet {st['subnet']}  "
               f"host {st['host']['address']} (netns {st['host']['netns']})")
    part = st["partition"]
    if part:
        others = [n["name"] for n in st["nodes"] if n["name"] not in part]
        click.echo(f"Partition: {' '.join(part)} | {' '.join(others)}")
    else:
        click.echo("Partition: none")
    for n in st["nodes"]:
        pid = f"init pid {n['pid']}" if n["pid"] else ""
        enabled = f"enabled: {','.join(n['enabled']) or '-'}"
        click.echo(f"  {n['name']:<12} {n['address']:<15} {n['state']:<8} {enabled:<24} "
                   f"{pid}".rstrip())


@lab.command("exec", context_settings=PASS_THROUGH)
@lab_option
@click.argument("node")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(lab_name: str, node: str, command: tuple[str, ...]) -> None:
    """Run COMMAND inside NODE (all its namespaces and its cgroup); exits with its status.

    Example: tandem lab exec pcmk-1 -- ip -4 addr show eth0
    """
    lab_name, argv = _split_command(lab_name, command)
    argv = Lab(lab_name).exec_argv(node, argv)
    # sys.exit, not ctx.exit: the status must reach the shell whatever mode click runs in.
    sys.exit(subprocess.call(argv))


@lab.command("host", context_settings=PASS_THROUGH)
@lab_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def host(lab_name: str, command: tuple[str, ...]) -> None:
    """Run COMMAND in the lab-host namespace (e.g. curl http://VIP/)."""
    lab_name, argv = _split_command(lab_name, command)
    sys.exit(subprocess.call(Lab(lab_name).host_argv(argv)))


@lab.command("crash")
@lab_option
@click.argument("node")
def crash(lab_name: str, node: str) -> None:
    """Power cut: NODE's link goes and all its processes die at once."""
    Lab(lab_name).crash(node)
    click.echo(f"{node}: crashed (link cut, all processes killed)")


@lab.command("boot")
@lab_option
@click.argument("node")
def boot(lab_name: str, node: str) -> None:
    """Power NODE on again: fresh network, /run and /dev/shm; persistent folders kept."""
    _lab(lab_name).boot(node)


@lab.command("partition")
@lab_option
@click.argument("nodes", nargs=-1, required=True)
def partition(lab_name: str, nodes: tuple[str, ...]) -> None:
    """Cut NODES off from the other nodes (replaces any previous partition)."""
    a, b = Lab(lab_name).partition(list(nodes))
    click.echo(f"Partition: {' '.join(a)} | {' '.join(b)}")


@lab.command("heal")
@lab_option
def heal(lab_name: str) -> None:
    """Remove the partition: every node reaches every other again."""
    Lab(lab_name).heal()
    click.echo("Partition healed")


COMMANDS = [lab]
