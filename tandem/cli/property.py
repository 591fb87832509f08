"""``tandem property [config] | set NAME=VALUE... | unset NAME...``."""

from __future__ import annotations

import click

from tandem.cli.resource import ARGS, Flags, fail, name_values, run


def _show(flags: Flags) -> None:
    from tandem.lib.commands import cluster_property as lib

    if "--defaults" in flags:
        values = lib.property_defaults()
    else:
        values = run(lambda env: lib.get_properties(env))
        if "--all" in flags:
            values = {**lib.property_defaults(), **values}
    click.echo("Cluster Properties:")
    names = [a for a in flags.args if a not in ("config", "show", "list")]
    for name, value in sorted(values.items()):
        if names and name not in names:
            continue
        click.echo(f" {name}: {value}")


@click.group("property", invoke_without_command=True, context_settings=ARGS)
@click.pass_context
def property_group(ctx: click.Context) -> None:
    """Cluster properties (crm_config)."""
    if ctx.invoked_subcommand is None:
        _show(Flags(ctx.args, ["--all", "--defaults"]))


for _name in ("config", "show", "list"):

    @property_group.command(_name, context_settings=ARGS, hidden=_name != "config")
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def _config(args: tuple[str, ...]) -> None:
        """config [NAME] [--all | --defaults]: configured properties."""
        _show(Flags(args, ["--all", "--defaults"]))


@property_group.command("set", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def set_cmd(args: tuple[str, ...]) -> None:
    """set NAME=[VALUE]...: set (an empty value removes) cluster properties."""
    from tandem.lib.commands import cluster_property as lib

    flags = Flags(args, [])
    if not flags.args:
        fail("Usage: tandem property set NAME=VALUE...")
    values = name_values(flags.args)
    run(lambda env: lib.set_properties(env, values))


@property_group.command("unset", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def unset_cmd(args: tuple[str, ...]) -> None:
    """unset NAME...: remove cluster properties."""
    from tandem.lib.commands import cluster_property as lib

    flags = Flags(args, [])
    if not flags.args:
        fail("Usage: tandem property unset NAME...")
    run(lambda env: lib.unset_properties(env, flags.args))


COMMANDS = [property_group]
