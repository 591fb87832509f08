"""``tandem constraint ...``: colocation, order, location, remove, listing.

The listing uses the walkthrough's layout (pcs 0.10: ``Enabled on: NODE
(score:N) (id:ID)`` on one line); ``--full`` adds the ids.
"""

from __future__ import annotations

import click

from tandem.cli.resource import ARGS, Flags, fail, name_values, run
from tandem.errors import TandemError
from tandem.lib.env import LibraryEnvironment


def listing(env: LibraryEnvironment, full: bool, only: str | None = None) -> list[str]:
    from tandem.lib.commands import constraint as lib

    data = lib.config(env)
    lines: list[str] = []
    if only in (None, "location"):
        lines.append("Location Constraints:")
        for rsc in sorted(data.location):
            items = data.location[rsc]
            label = f"Resource pattern: {rsc[8:]}" if rsc.startswith("pattern:") else f"Resource: {rsc}"
            lines.append(f"  {label}")
            enabled = [c for c in items if c.get("node") and not c.get("score", "0").startswith("-")]
            disabled = [c for c in items if c.get("node") and c.get("score", "0").startswith("-")]
            for c in enabled:
                lines.append(f"    Enabled on: {lib.describe(c, full)}")
            for c in disabled:
                lines.append(f"    Disabled on: {lib.describe(c, full)}")
            for c in items:
                if c.get("node"):
                    continue
                lines.append(f"    Constraint: {c.get('id')}")
                for rule in c.iterfind("rule"):
                    lines += _rule_lines(rule, full)
    if only in (None, "order"):
        lines.append("Ordering Constraints:")
        lines += [f"  {lib.describe(c, full)}" for c in data.order]
    if only in (None, "colocation"):
        lines.append("Colocation Constraints:")
        lines += [f"  {lib.describe(c, full)}" for c in data.colocation]
    if data.ticket and only is None:
        lines.append("Ticket Constraints:")
        lines += [f"  {c.get('ticket')} {c.get('rsc')} (id:{c.get('id')})" for c in data.ticket]
    return lines


def _rule_lines(rule, full: bool) -> list[str]:
    """pcs 0.10's rule layout: ``Rule: boolean-op=and score=N`` then ``Expression:`` lines."""

    def ident(el) -> str:
        return f" (id:{el.get('id')})" if full else ""

    opts = " ".join(
        f"{k}={rule.get(k)}" for k in ("boolean-op", "role", "score", "score-attribute")
        if rule.get(k) is not None
    )
    lines = [f"      Rule: {opts}{ident(rule)}"]
    for e in rule:
        if e.tag == "expression":
            parts = [e.get("attribute"), e.get("operation"), e.get("type"), e.get("value")]
            text = " ".join(p for p in parts if p)
        elif e.tag == "date_expression":
            if e.get("operation") == "in_range":
                text = f"date in_range {e.get('start', '')} to {e.get('end', '')}".strip()
            else:
                text = f"date {e.get('operation')} {e.get('end') or e.get('start') or ''}".strip()
        else:
            continue
        lines.append(f"        Expression: {text}{ident(e)}")
    return lines


def _show(full: bool, only: str | None = None) -> None:
    for line in run(lambda env: listing(env, full, only)):
        click.echo(line)


@click.group("constraint", invoke_without_command=True, context_settings=ARGS)
@click.option("--full", is_flag=True, help="Show the constraint ids too.")
@click.option("--all", "all_", is_flag=True, help="Also expired constraints (all are shown).")
@click.pass_context
def constraint(ctx: click.Context, full: bool, all_: bool) -> None:
    """Manage constraints."""
    if ctx.invoked_subcommand is None:
        _show(full)


@constraint.command("config", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def config_cmd(args: tuple[str, ...]) -> None:
    """config [--full]: list every constraint."""
    flags = Flags(args, ["--full", "--all"])
    _show("--full" in flags)


@constraint.command("show", context_settings=ARGS, hidden=True)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def show_cmd(args: tuple[str, ...]) -> None:
    flags = Flags(args, ["--full", "--all"])
    _show("--full" in flags)


@constraint.command("colocation", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def colocation_cmd(args: tuple[str, ...]) -> None:
    """colocation add [ROLE] RSC with [ROLE] WITH [SCORE] [OPTIONS] [id=ID] | colocation [config] [--full]"""
    from tandem.lib.commands import constraint as lib

    flags = Flags(args, ["--full"])
    rest = flags.args
    if not rest or rest[0] in ("config", "show"):
        _show("--full" in flags, "colocation")
        return
    if rest[0] in ("delete", "remove"):
        if len(rest) != 3:
            fail("Usage: tandem constraint colocation delete RSC WITH")
        _remove_colocation(rest[1], rest[2])
        return
    if rest[0] != "add":
        fail(f"Unknown colocation command '{rest[0]}'")
    rest = rest[1:]
    if "with" not in rest:
        fail("Usage: tandem constraint colocation add [ROLE] RSC with [ROLE] WITH [SCORE]")
    w = rest.index("with")
    left, right = rest[:w], rest[w + 1:]
    rsc_role = left[0] if len(left) == 2 else None
    if len(left) not in (1, 2):
        fail("Usage: tandem constraint colocation add [ROLE] RSC with [ROLE] WITH [SCORE]")
    rsc = left[-1]
    positional = [a for a in right if "=" not in a or a.lstrip("+-").startswith("INFINITY")]
    options = name_values([a for a in right if a not in positional])
    with_role = None
    if len(positional) >= 2 and positional[0].capitalize() in lib.ROLES and not _is_score(positional[1]):
        with_role, positional = positional[0], positional[1:]
    if not positional:
        fail("Usage: tandem constraint colocation add [ROLE] RSC with [ROLE] WITH [SCORE]")
    with_rsc, extra = positional[0], positional[1:]
    score = "INFINITY"
    if extra:
        score = extra[0]
        if len(extra) > 1:
            fail(f"unexpected argument '{extra[1]}'")
    if "score" in options:
        score = options.pop("score")
    run(
        lambda env: lib.colocation_add(
            env, rsc, with_rsc, score, rsc_role=rsc_role, with_rsc_role=with_role, options=options
        )
    )


def _is_score(text: str) -> bool:
    from tandem.lib.values import is_score

    return is_score(text)


def _remove_colocation(rsc: str, with_rsc: str) -> None:
    from tandem.lib.commands import constraint as lib

    def do(env: LibraryEnvironment) -> None:
        data = lib.config(env)
        ids = [
            c.get("id", "")
            for c in data.colocation
            if (c.get("rsc"), c.get("with-rsc")) == (rsc, with_rsc)
        ]
        if not ids:
            from tandem.errors import error

            raise TandemError(
                error("CONSTRAINT_NOT_FOUND", f"Unable to find colocation constraint with "
                      f"'{rsc}' and '{with_rsc}'")
            )
        lib.remove(env, ids)

    run(do)


@constraint.command("order", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def order_cmd(args: tuple[str, ...]) -> None:
    """order [ACTION] FIRST then [ACTION] THEN [kind=..] [symmetrical=..] [id=..] | order [config]"""
    from tandem.lib.commands import constraint as lib

    flags = Flags(args, ["--full"])
    rest = flags.args
    if not rest or rest[0] in ("config", "show"):
        _show("--full" in flags, "order")
        return
    if rest[0] == "add":
        rest = rest[1:]
    if "then" not in rest:
        fail("Usage: tandem constraint order [ACTION] FIRST then [ACTION] THEN [OPTIONS]")
    t = rest.index("then")
    left = rest[:t]
    right_pos = [a for a in rest[t + 1:] if "=" not in a]
    options = name_values([a for a in rest[t + 1:] if "=" in a])
    if len(left) not in (1, 2) or len(right_pos) not in (1, 2):
        fail("Usage: tandem constraint order [ACTION] FIRST then [ACTION] THEN [OPTIONS]")
    first_action = left[0] if len(left) == 2 else "start"
    then_action = right_pos[0] if len(right_pos) == 2 else "start"
    run(
        lambda env: lib.order_add(
            env, left[-1], right_pos[-1], first_action=first_action, then_action=then_action,
            options=options,
        )
    )


@constraint.command("location", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def location_cmd(args: tuple[str, ...]) -> None:
    """location RSC prefers|avoids NODE[=SCORE]... | location [config] [--full]"""
    from tandem.lib.commands import constraint as lib

    flags = Flags(args, ["--full", "--all"])
    rest = flags.args
    if not rest or rest[0] in ("config", "show"):
        _show("--full" in flags, "location")
        return
    if rest[0] in ("delete", "remove") and len(rest) == 2:
        run(lambda env: lib.remove(env, [rest[1]]))
        return
    if len(rest) < 3 or rest[1] not in ("prefers", "avoids"):
        fail("Usage: tandem constraint location RSC prefers|avoids NODE[=SCORE]...")
    pairs: list[tuple[str, str | None]] = []
    for item in rest[2:]:
        node, sep, score = item.partition("=")
        pairs.append((node, score if sep else None))

    def do(env: LibraryEnvironment) -> object:
        known = _cluster_nodes(env)
        return lib.location_prefers(
            env, rest[0], pairs, avoids=rest[1] == "avoids", known_nodes=known
        )

    run(do)


def _cluster_nodes(env: LibraryEnvironment) -> list[str] | None:
    """Nodes of the live cluster; None on a CIB file (check skipped, as pcs)."""
    if not env.is_cib_live:
        return None
    from tandem.lib import cib_tools

    names = set(cib_tools.node_names(env.get_cib()))
    try:
        from tandem.daemon import client

        info = client.cluster_info()
    except TandemError:  # the CIB's node list is enough when info is unavailable
        return sorted(names)
    names |= {str(m) for m in info.get("members") or []}
    for node in info.get("nodes") or []:
        if isinstance(node, dict) and node.get("name"):
            names.add(str(node["name"]))
    return sorted(names)


def _remove(args: tuple[str, ...]) -> None:
    from tandem.lib.commands import constraint as lib

    flags = Flags(args, [])
    if not flags.args:
        fail("Usage: tandem constraint remove ID...")
    run(lambda env: lib.remove(env, flags.args))


@constraint.command("remove", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def remove_cmd(args: tuple[str, ...]) -> None:
    """remove ID...: delete constraints by id."""
    _remove(args)


@constraint.command("delete", context_settings=ARGS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def delete_cmd(args: tuple[str, ...]) -> None:
    """delete ID...: same as remove."""
    _remove(args)


COMMANDS = [constraint]
