"""``tandem simulate``: crm_simulate's output, from tandem's scheduler.

Same flags and the same sections, in the same layout, as crm_simulate 3.x:
``Current cluster status``, ``Assignment Scores`` (-s; bare lines with -sQ),
``Transition Summary``, ``Executing Cluster Transition`` and ``Revised
Cluster Status`` (-S).  ``--explain RSC`` adds, per node, the contributions
that make each score (tandem's addition: Pacemaker prints only totals).
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from tandem.cib.model import Cib, resolve
from tandem.cib.rules import RuleContext, parse_datetime
from tandem.cli.output import guarded
from tandem.errors import NotRunningError, Report, UsageError


def _load_root(xml_file: str | None, live: bool):  # noqa: ANN202 - lxml element
    if live:
        try:
            from tandem.daemon import client  # another layer; may be missing
        except ImportError as exc:
            raise NotRunningError("cluster is not currently running on this node") from exc
        try:
            if hasattr(client, "is_running") and not client.is_running():
                raise NotRunningError("cluster is not currently running on this node")
            text = client.get_cib_xml()
        except NotRunningError:
            raise
        except Exception as exc:
            raise NotRunningError("cluster is not currently running on this node") from exc
        from tandem.cib import xmlio

        return xmlio.parse_string(text, "live CIB")
    if xml_file is None:
        raise UsageError(Report("USAGE", "give a CIB with -x FILE or use -L for the live cluster"))
    from tandem.cib import xmlio

    return xmlio.parse_file(xml_file)


def _status_order(cib: Cib, now: datetime) -> list[str]:
    from tandem.cib import scores as S

    ctx = RuleContext(now=now)
    prio: list[tuple[int, int, str]] = []
    for i, r in enumerate(cib.resources):
        meta = resolve(r.meta_sets, ctx)
        resolve(cib.rsc_defaults, ctx, into=meta)
        try:
            p = S.parse(meta.get("priority"), default=0)
        except Exception:
            p = 0
        prio.append((-p, i, r.id))
    prio.sort()
    return [t[2] for t in prio]


def run_simulate(
    root,  # noqa: ANN001 - lxml element
    *,
    simulate: bool,
    show_scores: bool,
    quiet: bool,
    when: str | None,
    explain_rsc: tuple[str, ...] = (),
) -> list[str]:
    """Build crm_simulate's output lines for a parsed CIB (pure apart from the clock default)."""
    from tandem.lib.crm_mon import render_cluster_status, render_header
    from tandem.scheduler import Recorder, explain, schedule

    out: list[str] = []
    cib = Cib.from_element(root)
    exec_date = root.get("execution-date")
    if when:
        now = parse_datetime(when)
        if not quiet:
            out.append(f"Setting effective cluster time: {when}")
    elif exec_date and exec_date.isdigit():
        now = datetime.fromtimestamp(int(exec_date), tz=UTC)
        if not quiet:
            out.append(f"Using the original execution date of: {now.strftime('%Y-%m-%d %H:%M:%SZ')}")
    else:
        now = datetime.now(UTC)
    recorder = Recorder() if explain_rsc else None
    result = schedule(cib, now, recorder=recorder)
    order = _status_order(cib, now)
    blocked = {r.id for r in result.rscs if r.blocked}
    if not quiet:
        out.extend(render_header(cib, result.state, blocked))
        out.extend(render_cluster_status(cib, result.state, order=order, blocked_ids=blocked))
        out.append("")
    if show_scores:
        if quiet:
            out.extend(result.score_lines)
        else:
            out.append("Assignment Scores:")
            out.extend(f"  * {line}" for line in result.score_lines)
            out.append("")
    if not quiet:
        out.append("Transition Summary:")
        out.extend(f"  * {line}" for line in result.summary)
        out.append("")
    if simulate and not quiet:
        out.append("Executing Cluster Transition:")
        out.extend(f"  * {line}" for line in result.executed())
        if when:
            out.append(f"Setting effective cluster time: {when}")
        elif exec_date and exec_date.isdigit():
            out.append(f"Using the original execution date of: {now.strftime('%Y-%m-%d %H:%M:%SZ')}")
        out.append("")
        positions = {}
        for r in result.rscs:
            if r.assigned is not None:
                start = None
                for a in result.graph.actions:
                    if a.rsc == r.id and a.task == "start" and a.node == r.assigned:
                        start = a
                if start is not None and start.runnable:
                    positions[r.id] = ("Started", [r.assigned])
                    continue
            if not r.managed:
                positions[r.id] = (r.role, list(r.current))
                continue
            positions[r.id] = ("Stopped", [])
        out.extend(
            render_cluster_status(
                cib,
                result.state,
                positions=positions,
                title="Revised Cluster Status:",
                order=order,
                blocked_ids=blocked,
            )
        )
    for rsc in explain_rsc:
        out.append("")
        out.extend(explain(result, rsc))
    return out


@click.command("simulate")
@click.option("-x", "--xml-file", "xml_file", metavar="FILE", help="Read the CIB from FILE.")
@click.option("-L", "--live-check", "live", is_flag=True, help="Use the live cluster's CIB.")
@click.option("-S", "--simulate", "simulate", is_flag=True, help="Simulate the transition and show the result.")
@click.option("-s", "--show-scores", "show_scores", is_flag=True, help="Show assignment scores.")
@click.option("-Q", "--quiet", "quiet", is_flag=True, help="Only the scores (with -s).")
@click.option("-t", "--set-datetime", "when", metavar="DATETIME", help="Evaluate as if now were DATETIME (ISO 8601).")
@click.option("--explain", "explain_rsc", metavar="RSC", multiple=True, help="Explain RSC's scores (contributions per node).")
@guarded
def simulate(xml_file: str | None, live: bool, simulate: bool, show_scores: bool, quiet: bool, when: str | None, explain_rsc: tuple[str, ...]) -> None:
    """Show where resources would run and which actions would be taken (crm_simulate)."""
    root = _load_root(xml_file, live)
    lines = run_simulate(
        root, simulate=simulate, show_scores=show_scores, quiet=quiet, when=when, explain_rsc=explain_rsc
    )
    # one write: 64 000 score lines through click.echo one by one cost seconds
    click.echo("\n".join(lines))


COMMANDS = [simulate]
