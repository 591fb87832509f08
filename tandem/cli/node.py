"""``tandem node standby|unstandby [--all | NODE...]``."""

from __future__ import annotations

import click

from tandem.cli.resource import ARGS, Flags, run
from tandem.lib.env import LibraryEnvironment


def _local_node(env: LibraryEnvironment) -> str | None:
    """This node's name on a live cluster (None on a CIB file)."""
    if not env.is_cib_live:
        return None
    from tandem.daemon import client

    info = client.cluster_info()
    if info.get("name"):  # tandemd's info: "name" is this node's name
        return str(info["name"])
    nodeid = info.get("nodeid")
    if nodeid is not None:
        for node in env.get_cib().iterfind("configuration/nodes/node"):
            if node.get("id") == str(nodeid):
                return node.get("uname")
    return None


def _standby(args: tuple[str, ...], value: bool) -> None:
    from tandem.lib.commands import node as lib

    flags = Flags(args, ["--all", "--wait"])

    def do(env: LibraryEnvironment) -> list[str]:
        local = None if flags.args or "--all" in flags else _local_node(env)
        return lib.set_standby(env, flags.args, value, all_nodes="--all" in flags, local_node=local)

    run(do)


@click.group("node", context_settings=ARGS)
def node() -> None:
    """Manage cluster nodes."""


@node.command("standby", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def standby_cmd(args: tuple[str, ...]) -> None:
    """standby [--all | NODE...]: the nodes may no longer host resources."""
    _standby(args, True)


@node.command("unstandby", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def unstandby_cmd(args: tuple[str, ...]) -> None:
    """unstandby [--all | NODE...]: the nodes may host resources again."""
    _standby(args, False)


COMMANDS = [node]
