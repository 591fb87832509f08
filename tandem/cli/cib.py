"""``tandem cib show`` and ``tandem cib push FILE``: the live CIB as XML, and its replacement.

``push`` validates the file first (the same checks as the scheduler's model)
and then replaces the configuration cluster-wide; its epoch becomes the highest
seen + 1, so the pushed configuration wins on every node.
"""

from __future__ import annotations

from pathlib import Path

import click

from tandem.cli import context
from tandem.cli.output import guarded
from tandem.errors import CibError, Report


def push_file(file: str) -> str:
    """Validate FILE and push it to the live cluster; returns the new version."""
    from tandem.cib import xmlio
    from tandem.cib.validate import validate
    from tandem.daemon import client

    root = xmlio.parse_file(file)
    reports = validate(root)
    if reports.has_errors:
        raise CibError(*[Report(r.code, f"{file}: {r.message}", r.payload) for r in reports.errors])
    result = client.replace_cib(Path(file).read_text())
    return str(result.get("version", ""))


@click.group("cib")
def cib() -> None:
    """The cluster information base (CIB) as XML."""


@cib.command("show")
@guarded
def show() -> None:
    """Print the live CIB (configuration and status); with -f FILE, that file."""
    ctx = context.get()
    if ctx.cib_file:
        click.echo(Path(ctx.cib_file).read_text(), nl=False)
        return
    from tandem.daemon import client

    click.echo(client.get_cib_xml(), nl=False)


@cib.command("push")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@guarded
def push(file: str) -> None:
    """Replace the cluster's configuration with FILE (validated first)."""
    version = push_file(file)
    click.echo(f"CIB updated (version {version})")


COMMANDS = [cib]
