"""``tandem resource ...``: parse pcs-style argv, call tandem.lib, render.

Both spellings are accepted: pcs 0.9's (the walkthrough: ``resource --full``,
``resource defaults NAME=VALUE``) and pcs 0.11's (``resource config``,
``resource defaults update NAME=VALUE``).  The small argv helpers shared by
the other configuration areas (constraint, property, node) live here too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from tandem.cli import context
from tandem.errors import Report, Severity, TandemError, UsageError, error
from tandem.lib.env import LibraryEnvironment

T = TypeVar("T")
ARGS = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": ["-h", "--help"]}

# --------------------------------------------------------------------------- shared helpers


def render(report: Report, forced: bool) -> str:
    """``Error: ...`` / ``Warning: ...`` with the CLI-only hints (pcs's overlay)."""
    prefix = {Severity.ERROR: "Error: ", Severity.WARNING: "Warning: ", Severity.INFO: ""}[
        report.severity
    ]
    first, sep, rest = report.message.partition("\n")
    if report.is_error and report.force_code and not forced:
        first += ", use --force to override"
    return prefix + first + sep + rest


def print_reports(reports: Sequence[Report], forced: bool) -> None:
    for r in reports:
        click.echo(render(r, forced), err=r.severity is not Severity.INFO)


class Flags:
    """Flags pcs accepts anywhere on the line (``--force``, ``--full``, ``-f FILE``...)."""

    def __init__(
        self, args: Sequence[str], known: Sequence[str], with_value: Sequence[str] = ()
    ) -> None:
        self.args: list[str] = []
        self.set: set[str] = set()
        self.values: dict[str, str] = {}
        items = list(args)
        i = 0
        while i < len(items):
            a = items[i]
            if a == "-f" and i + 1 < len(items):
                context.get().cib_file = items[i + 1]
                i += 2
                continue
            if a in with_value:
                if i + 1 >= len(items):
                    raise UsageError(f"option '{a}' needs a value")
                self.set.add(a)
                self.values[a] = items[i + 1]
                i += 2
                continue
            if a == "--force":
                context.get().force = True
            elif a.startswith("--") and a.split("=", 1)[0] in known:
                name, _, value = a.partition("=")
                self.set.add(name)
                if value:
                    self.values[name] = value
            elif a.startswith("--") and len(a) > 2:
                raise UsageError(f"unknown option '{a}'")
            else:
                self.args.append(a)
            i += 1

    def __contains__(self, name: str) -> bool:
        return name in self.set


def make_env() -> LibraryEnvironment:
    ctx = context.get()
    return LibraryEnvironment.from_cli(ctx.cib_file, ctx.force)


def run(fn: Callable[[LibraryEnvironment], T], env: LibraryEnvironment | None = None) -> T:
    """Run one library command; print its reports; exit 1 (one ``Error:`` line each) on error."""
    env = env or make_env()
    forced = context.get().force
    try:
        result = fn(env)
    except TandemError as exc:
        shown = list(env.report_processor.reports)
        extra = [r for r in exc.reports if r not in shown]
        print_reports(shown + extra, forced)
        sys.exit(getattr(exc, "exit_code", 1))
    print_reports(list(env.report_processor.reports), forced)
    return result


def fail(message: str) -> None:
    print_reports([error("USAGE", message)], False)
    sys.exit(1)


def name_values(args: Sequence[str]) -> dict[str, str]:
    from tandem.lib.cib_tools import parse_name_values

    values, bad = parse_name_values(args)
    if bad:
        print_reports(bad, False)
        sys.exit(1)
    return values


def require_live_not_file(command: str) -> None:
    if context.get().cib_file:
        fail("Specified option '-f' is not supported in this command")


# --------------------------------------------------------------------------- argv parsing


class CloneSpec:
    """``clone [ID] [OPTION=VALUE...]`` or ``promotable [ID] [...]`` of ``resource create``."""

    def __init__(self, promotable: bool) -> None:
        self.promotable = promotable
        self.id: str | None = None
        self.args: list[str] = []


def parse_create_args(
    args: Sequence[str], clone_out: list[CloneSpec] | None = None
) -> tuple[dict[str, str], list[Any], dict[str, str]]:
    """``[NAME=VALUE...] [op ACTION NAME=VALUE... [ACTION NAME=VALUE...]...] [meta NAME=VALUE...]
    [clone [ID] [NAME=VALUE...] | promotable [ID] [NAME=VALUE...]]``."""
    from tandem.lib.commands.resource import Operation

    params: list[str] = []
    meta: list[str] = []
    ops: list[Operation] = []
    mode = "params"
    op_args: list[str] = []

    def flush_op() -> None:
        if op_args:
            ops.append(Operation(op_args[0], name_values(op_args[1:])))
            op_args.clear()

    empty_op = False
    for a in args:
        if a == "op":
            flush_op()
            if mode == "op" and empty_op:
                break
            mode = "op"
            empty_op = True
            continue
        if a == "meta":
            flush_op()
            if mode == "op" and empty_op:
                break
            mode = "meta"
            continue
        if a in ("clone", "promotable") and mode != "op" and clone_out is not None:
            flush_op()
            if clone_out:
                fail("'clone' / 'promotable' can be used only once")
            clone_out.append(CloneSpec(a == "promotable"))
            mode = "clone"
            continue
        if a in ("clone", "promotable", "bundle") and mode != "op":
            fail(f"'{a}' is not supported here by tandem")
        if mode == "clone":
            spec = clone_out[-1] if clone_out else None
            assert spec is not None
            if "=" not in a and spec.id is None and not spec.args:
                spec.id = a
            else:
                spec.args.append(a)
            continue
        if mode == "params":
            params.append(a)
        elif mode == "meta":
            meta.append(a)
        else:
            empty_op = False
            if "=" not in a:
                flush_op()
            op_args.append(a)
    flush_op()
    if mode == "op" and empty_op:
        fail("When using 'op' you must specify an operation name and at least one option "
             "after 'op'")
    for op in ops:
        if "=" in op.name:
            fail(f"When using 'op' you must specify an operation name and at least one option"
                 f" after 'op': '{op.name}'")
    return name_values(params), ops, name_values(meta)


# --------------------------------------------------------------------------- rendering


def _kv(pairs: Sequence[tuple[str, str]]) -> str:
    return " ".join(f"{k}={v}" for k, v in pairs)


def _full_primitive(v: Any, indent: str) -> list[str]:
    lines = [
        f"{indent}Resource: {v.id} (class={v.standard}"
        + (f" provider={v.provider}" if v.provider else "")
        + f" type={v.type})"
    ]
    attrs = [p for _sid, pairs in v.instance_attributes for p in pairs]
    if attrs:
        lines.append(f"{indent} Attributes: {_kv(attrs)}")
    meta = [p for _sid, pairs in v.meta_attributes for p in pairs]
    if meta:
        lines.append(f"{indent} Meta Attrs: {_kv(meta)}")
    if v.operations:
        pad = f"{indent} Operations: "
        for i, (oid, name, op_attrs) in enumerate(v.operations):
            text = f"{name} {_kv(op_attrs)} ({oid})" if op_attrs else f"{name} ({oid})"
            lines.append((pad if i == 0 else " " * len(pad)) + text)
    return lines


def _full_items(items: Sequence[Any], indent: str) -> list[str]:
    lines: list[str] = []
    for v in items:
        if hasattr(v, "members"):
            lines.append(f"{indent}{'Group' if v.kind == 'group' else 'Clone'}: {v.id}")
            meta = [p for _sid, pairs in v.meta_attributes for p in pairs]
            if meta:
                lines.append(f"{indent} Meta Attrs: {_kv(meta)}")
            lines += _full_items(v.members, indent + " ")
        else:
            lines += _full_primitive(v, indent)
    return lines


def listing_full(items: Sequence[Any]) -> list[str]:
    """The walkthrough's ``resource --full`` layout (pcs 0.9); members one space deeper."""
    return _full_items(items, " ")


OP_ORDER = (
    "interval", "description", "start-delay", "interval-origin", "timeout", "enabled",
    "record-pending", "role", "requires", "on-fail",
)


def _config_primitive(v: Any, indent: str) -> list[str]:
    lines = [
        f"{indent}Resource: {v.id} (class={v.standard}"
        + (f" provider={v.provider}" if v.provider else "")
        + f" type={v.type})"
    ]
    for label, sets in (("Attributes", v.instance_attributes), ("Meta Attributes", v.meta_attributes)):
        for sid, pairs in sets:
            if not pairs:
                continue
            lines.append(f"{indent}  {label}: {sid}")
            lines += [f"{indent}    {k}={val}" for k, val in sorted(pairs)]
    if v.operations:
        lines.append(f"{indent}  Operations:")
        for oid, name, attrs in v.operations:
            lines.append(f"{indent}    {name}: {oid}")
            # pcs 0.11's fixed order of operation options, anything else after by name
            ordered = sorted(
                attrs,
                key=lambda kv: (OP_ORDER.index(kv[0]) if kv[0] in OP_ORDER else len(OP_ORDER),
                                kv[0]),
            )
            lines += [f"{indent}      {k}={val}" for k, val in ordered]
    return lines


def _config_items(items: Sequence[Any], indent: str) -> list[str]:
    lines: list[str] = []
    for v in items:
        if hasattr(v, "members"):
            lines.append(f"{indent}{'Group' if v.kind == 'group' else 'Clone'}: {v.id}")
            for sid, pairs in v.meta_attributes:
                if pairs:
                    lines.append(f"{indent}  Meta Attributes: {sid}")
                    lines += [f"{indent}    {k}={val}" for k, val in sorted(pairs)]
            lines += _config_items(v.members, indent + "  ")
        else:
            lines += _config_primitive(v, indent)
    return lines


def listing_config(items: Sequence[Any]) -> list[str]:
    """pcs 0.11's ``resource config`` text."""
    return _config_items(items, "")


# --------------------------------------------------------------------------- commands


@click.group("resource", invoke_without_command=True, context_settings=ARGS)
@click.option("--full", is_flag=True, help="List every resource with its options (pcs 0.9).")
@click.pass_context
def resource(ctx: click.Context, full: bool) -> None:
    """Manage cluster resources."""
    if ctx.invoked_subcommand is None:
        from tandem.lib.commands import resource as lib

        views = run(lambda env: lib.config_items(env))
        for line in listing_full(views):
            click.echo(line)


@resource.command("create", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def create_cmd(args: tuple[str, ...]) -> None:
    """create ID [STANDARD:[PROVIDER:]]TYPE [NAME=VALUE...] [op ACTION NAME=VALUE...] [meta NAME=VALUE...] [--disabled]"""
    from tandem.lib.commands import resource as lib

    flags = Flags(
        args,
        ["--disabled", "--no-default-ops", "--agent-validation", "--wait"],
        ["--group", "--before", "--after"],
    )
    if len(flags.args) < 2:
        fail("Usage: tandem resource create ID [STANDARD:[PROVIDER:]]TYPE [NAME=VALUE...] "
             "[op ACTION NAME=VALUE...] [meta NAME=VALUE...] [--disabled]")
    rsc_id, agent, *rest = flags.args
    clones: list[CloneSpec] = []
    params, ops, meta = parse_create_args(rest, clones)
    clone_opts = name_values(clones[0].args) if clones else None
    run(
        lambda env: lib.create(
            env, rsc_id, agent, params, ops, meta,
            clone=clone_opts, clone_id=clones[0].id if clones else None,
            promotable=bool(clones and clones[0].promotable),
            disabled="--disabled" in flags, no_default_ops="--no-default-ops" in flags,
            group=flags.values.get("--group"), before=flags.values.get("--before"),
            after=flags.values.get("--after"),
        )
    )


@resource.command("group", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def group_cmd(args: tuple[str, ...]) -> None:
    """group add G RSC... [--before RSC | --after RSC] | group remove|delete G [RSC...]"""
    from tandem.lib.commands import resource_group as lib

    flags = Flags(args, ["--wait"], ["--before", "--after"])
    rest = flags.args
    if len(rest) >= 3 and rest[0] == "add":
        run(
            lambda env: lib.group_add(
                env, rest[1], rest[2:], before=flags.values.get("--before"),
                after=flags.values.get("--after"),
            )
        )
    elif len(rest) >= 2 and rest[0] in ("remove", "delete"):
        run(lambda env: lib.group_remove(env, rest[1], rest[2:]))
    else:
        fail("Usage: tandem resource group add GROUP RESOURCE... [--before RESOURCE | "
             "--after RESOURCE] | group remove GROUP [RESOURCE...]")


def _clone(args: tuple[str, ...], promotable: bool) -> None:
    from tandem.lib.commands import resource_clone as lib

    flags = Flags(args, ["--wait"])
    positional = [a for a in flags.args if "=" not in a]
    options = name_values([a for a in flags.args if "=" in a])
    if not 1 <= len(positional) <= 2:
        fail(f"Usage: tandem resource {'promotable' if promotable else 'clone'} RESOURCE "
             "[CLONE_ID] [OPTION=VALUE...]")
    clone_id = positional[1] if len(positional) == 2 else None
    run(lambda env: lib.clone(env, positional[0], clone_id, options, promotable=promotable))


@resource.command("clone", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def clone_cmd(args: tuple[str, ...]) -> None:
    """clone RESOURCE [CLONE_ID] [OPTION=VALUE...]: run it on every node."""
    _clone(args, False)


@resource.command("promotable", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def promotable_cmd(args: tuple[str, ...]) -> None:
    """promotable RESOURCE [CLONE_ID] [OPTION=VALUE...]: a clone with promoted instances."""
    _clone(args, True)


@resource.command("unclone", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def unclone_cmd(args: tuple[str, ...]) -> None:
    """unclone RESOURCE|CLONE: take the resource out of its clone."""
    from tandem.lib.commands import resource_clone as lib

    flags = Flags(args, ["--wait"])
    if len(flags.args) != 1:
        fail("Usage: tandem resource unclone RESOURCE|CLONE")
    run(lambda env: lib.unclone(env, flags.args[0]))


@resource.command("ungroup", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def ungroup_cmd(args: tuple[str, ...]) -> None:
    """ungroup GROUP [RESOURCE...]: take resources out of the group (all by default)."""
    from tandem.lib.commands import resource_group as lib

    flags = Flags(args, ["--wait"])
    if not flags.args:
        fail("Usage: tandem resource ungroup GROUP [RESOURCE...]")
    run(lambda env: lib.group_remove(env, flags.args[0], flags.args[1:]))


@resource.command("update", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def update_cmd(args: tuple[str, ...]) -> None:
    """update ID [NAME=VALUE...] [op ACTION NAME=VALUE...] [meta NAME=VALUE...]: change options."""
    from tandem.lib.commands import resource as lib

    flags = Flags(args, ["--wait"])
    if not flags.args:
        fail("Usage: tandem resource update ID [NAME=VALUE...] [op ACTION NAME=VALUE...] "
             "[meta NAME=VALUE...]")
    rsc_id, *rest = flags.args
    params, ops, meta = parse_create_args(rest)
    run(lambda env: lib.update(env, rsc_id, params, meta, ops))


@resource.command("meta", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def meta_cmd(args: tuple[str, ...]) -> None:
    """meta ID NAME=VALUE...: set (an empty value removes) meta attributes."""
    from tandem.lib.commands import resource as lib

    flags = Flags(args, ["--wait"])
    if len(flags.args) < 2:
        fail("Usage: tandem resource meta ID NAME=VALUE...")
    rsc_id, *rest = flags.args
    values = name_values(rest)
    run(lambda env: lib.meta(env, rsc_id, values))


def _ids_command(name: str, lib_name: str, help_text: str) -> None:
    @resource.command(name, context_settings=ARGS, help=help_text)
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def cmd(args: tuple[str, ...]) -> None:
        from tandem.lib.commands import resource as lib

        flags = Flags(args, ["--wait"])
        if not flags.args:
            fail(f"Usage: tandem resource {name} RESOURCE...")
        run(lambda env: getattr(lib, lib_name)(env, flags.args))


_ids_command("enable", "enable", "Allow the cluster to start the resources.")
_ids_command("disable", "disable", "Stop the resources (target-role=Stopped).")


def _delete(args: tuple[str, ...]) -> None:
    from tandem.lib.commands import resource as lib
    from tandem.lib.commands.resource_move import Waiter
    from tandem.lib.resource_state import running_nodes

    flags = Flags(args, [])
    if len(flags.args) != 1:
        fail("Usage: tandem resource delete RESOURCE")

    def wait_stopped(env: LibraryEnvironment, rsc: str) -> None:
        Waiter(timeout=120.0).until(env, lambda cib: not running_nodes(cib, rsc))

    run(lambda env: lib.delete(env, flags.args[0], wait_stopped=wait_stopped))


@resource.command("delete", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def delete_cmd(args: tuple[str, ...]) -> None:
    """delete RESOURCE: the resource and every constraint naming it."""
    _delete(args)


@resource.command("remove", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def remove_cmd(args: tuple[str, ...]) -> None:
    """remove RESOURCE: same as delete."""
    _delete(args)


def _defaults(args: tuple[str, ...], section: str) -> None:
    from tandem.lib.commands import resource as lib

    flags = Flags(args, ["--all", "--full", "--no-check-expired"])
    rest = flags.args
    if not rest or rest == ["config"]:
        sets = run(lambda env: lib.defaults_config(env, section))
        if not sets:
            click.echo("No defaults set")
        for sid, values in sets:
            click.echo(f"Meta Attrs: {sid}")
            for k, v in sorted(values.items()):
                click.echo(f"  {k}={v}")
        return
    if rest[0] == "update":
        rest = rest[1:]
    else:
        what = "resource op defaults" if section == "op_defaults" else "resource defaults"
        click.echo(
            "Deprecation Warning: This command is deprecated and will be removed. "
            f"Please use 'tandem {what} update' instead.",
            err=True,
        )
    values = name_values(rest)
    run(lambda env: lib.defaults_update(env, values, section))


@resource.command("defaults", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def defaults_cmd(args: tuple[str, ...]) -> None:
    """defaults [config] | defaults [update] NAME=VALUE...: resource defaults."""
    _defaults(args, "rsc_defaults")


@resource.command("op", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def op_cmd(args: tuple[str, ...]) -> None:
    """op defaults [config] | op defaults [update] NAME=VALUE...: operation defaults."""
    if not args or args[0] != "defaults":
        fail("Usage: tandem resource op defaults [update] NAME=VALUE...")
    _defaults(args[1:], "op_defaults")


@resource.command("config", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def config_cmd(args: tuple[str, ...]) -> None:
    """config [RESOURCE...]: resource options (pcs 0.11 text; --full for the 0.9 layout)."""
    from tandem.lib.commands import resource as lib

    flags = Flags(args, ["--full", "--output-format"])
    views = run(lambda env: lib.config_items(env, flags.args))
    lines = listing_full(views) if "--full" in flags else listing_config(views)
    for line in lines:
        click.echo(line)


@resource.command("show", context_settings=ARGS, hidden=True)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def show_cmd(args: tuple[str, ...]) -> None:
    """show [RESOURCE...] --full: pcs 0.9's spelling."""
    from tandem.lib.commands import resource as lib

    flags = Flags(args, ["--full"])
    for line in listing_full(run(lambda env: lib.config_items(env, flags.args))):
        click.echo(line)


# ---- move / ban / clear / cleanup


def _rsc_node(
    args: tuple[str, ...], usage: str, known: Sequence[str] = (), lifetime: bool = False
) -> tuple[Flags, str, str | None]:
    """RESOURCE [NODE] [lifetime=DURATION] (lifetime kept in ``flags.values``)."""
    flags = Flags(args, ["--promoted", "--master", "--wait", "--strict", "--autodelete", *known])
    positional = [a for a in flags.args if "=" not in a]
    for a in flags.args:
        if "=" not in a:
            continue
        name, _, value = a.partition("=")
        if name == "lifetime" and lifetime:
            flags.values["lifetime"] = value
        else:
            fail(f"invalid option '{a}'")
    if not 1 <= len(positional) <= 2:
        fail(f"Usage: tandem resource {usage}")
    return flags, positional[0], positional[1] if len(positional) == 2 else None


@resource.command("ban", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def ban_cmd(args: tuple[str, ...]) -> None:
    """ban RESOURCE [NODE]: keep RESOURCE off NODE (cli-ban-RESOURCE-on-NODE) until clear."""
    from tandem.lib.commands import resource_move as lib

    flags, rsc, node = _rsc_node(args, "ban RESOURCE [NODE] [lifetime=DURATION]", lifetime=True)
    promoted = "--promoted" in flags or "--master" in flags
    lifetime = flags.values.get("lifetime")
    run(lambda env: lib.ban(env, rsc, node, promoted=promoted, lifetime=lifetime))


@resource.command("move-with-constraint", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def move_with_constraint_cmd(args: tuple[str, ...]) -> None:
    """move-with-constraint RESOURCE [NODE]: add cli-prefer-RESOURCE and leave it."""
    from tandem.lib.commands import resource_move as lib

    flags, rsc, node = _rsc_node(
        args, "move-with-constraint RESOURCE [NODE] [lifetime=DURATION]", lifetime=True
    )
    promoted = "--promoted" in flags or "--master" in flags
    lifetime = flags.values.get("lifetime")
    run(
        lambda env: lib.move_with_constraint(
            env, rsc, node, promoted=promoted, lifetime=lifetime
        )
    )


@resource.command("move", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def move_cmd(args: tuple[str, ...]) -> None:
    """move RESOURCE [NODE]: move it, then drop the constraint used (live cluster only)."""
    from tandem.lib.commands import resource_move as lib

    flags, rsc, node = _rsc_node(args, "move RESOURCE [NODE]")
    require_live_not_file("resource move")
    promoted = "--promoted" in flags or "--master" in flags
    waiter = lib.Waiter()
    if flags.values.get("--wait"):
        try:
            waiter.timeout = float(flags.values["--wait"])
        except ValueError:
            fail(f"'{flags.values['--wait']}' is not a valid number of seconds to wait")
    strict = "--strict" in flags
    run(lambda env: lib.move(env, rsc, node, promoted=promoted, waiter=waiter, strict=strict))


@resource.command("clear", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def clear_cmd(args: tuple[str, ...]) -> None:
    """clear RESOURCE [NODE]: remove the constraints of move and ban."""
    from tandem.lib.commands import resource_move as lib

    flags, rsc, node = _rsc_node(args, "clear RESOURCE [NODE]", ["--expired"])
    promoted = "--promoted" in flags or "--master" in flags
    run(lambda env: lib.clear(env, rsc, node, promoted=promoted))


def _cleanup(args: tuple[str, ...], refresh: bool) -> None:
    from tandem.lib.commands import resource_move as lib

    name = "refresh" if refresh else "cleanup"
    flags = Flags(args, ["--strict", "--force"])
    require_live_not_file(f"resource {name}")
    options = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in flags.args if "=" in a}
    positional = [a for a in flags.args if "=" not in a]
    if len(positional) > 1 or set(options) - {"node"}:
        fail(f"Usage: tandem resource {name} [RESOURCE] [node=NODE]")
    rsc = positional[0] if positional else None
    run(lambda env: lib.cleanup(env, rsc, options.get("node"), refresh=refresh))


@resource.command("cleanup", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def cleanup_cmd(args: tuple[str, ...]) -> None:
    """cleanup [RESOURCE] [node=NODE]: forget failures (live cluster only)."""
    _cleanup(args, False)


@resource.command("refresh", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def refresh_cmd(args: tuple[str, ...]) -> None:
    """refresh [RESOURCE] [node=NODE]: forget every history, so the cluster probes again."""
    _cleanup(args, True)


@resource.command("why", context_settings=ARGS)
@click.argument("rsc")
def why_cmd(rsc: str) -> None:
    """why RESOURCE: where it runs (or why not) and the score contributions that decided."""
    from tandem.lib.commands.resource_why import why

    for line in run(lambda env: why(env, rsc)):
        click.echo(line)


COMMANDS = [resource]
