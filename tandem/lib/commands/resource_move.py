"""``resource move|move-with-constraint|ban|clear|cleanup`` and the leftover warnings.

pcs 0.11 semantics: ``ban`` and ``move-with-constraint`` leave a
``cli-ban-RSC-on-NODE`` / ``cli-prefer-RSC`` location constraint (role Started,
score -INFINITY / INFINITY, as crm_resource writes them) until ``clear``;
``move`` creates the same constraint, waits until the resource has moved, then
removes it again -- which needs the live cluster, so it is refused on a CIB file.
"""

from __future__ import annotations

import calendar
import copy
import datetime
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from tandem.errors import Report, Severity, TandemError, error, warning
from tandem.lib import cib_tools
from tandem.lib.env import LibraryEnvironment
from tandem.lib.resource_state import running_nodes

NOT_LIVE = "this command cannot be run on a CIB file, it needs the live cluster"

_DURATION = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$"
)


def lifetime_end(lifetime: str, now: datetime.datetime) -> datetime.datetime | None:
    """``now`` + an ISO 8601 duration (``PT1H``, ``P1D``...); None when malformed."""
    m = _DURATION.match(lifetime.strip().upper())
    if not m:
        return None
    years, months, weeks, days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
    month_index = now.month - 1 + months + 12 * years
    year, month = now.year + month_index // 12, month_index % 12 + 1
    day = min(now.day, calendar.monthrange(year, month)[1])
    shifted = now.replace(year=year, month=month, day=day)
    return shifted + datetime.timedelta(
        weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds
    )


def _check_lifetime(
    env: LibraryEnvironment, lifetime: str | None, now: datetime.datetime | None
) -> str | None:
    if lifetime is None:
        return None
    now = now or datetime.datetime.now(datetime.UTC)
    end = lifetime_end(lifetime, now)
    if end is None:
        env.report(
            error(
                "INVALID_LIFETIME",
                f"invalid lifetime '{lifetime}', use ISO 8601 duration (e.g. PT1H, P1D)",
                lifetime=lifetime,
            )
        )
        return None
    return end.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _info(code: str, message: str, **payload: object) -> Report:
    return Report(code, message, payload, Severity.INFO)


def prefer_id(rsc: str) -> str:
    return f"cli-prefer-{rsc}"


def ban_id(rsc: str, node: str) -> str:
    return f"cli-ban-{rsc}-on-{node}"


def _check_resource(env: LibraryEnvironment, rsc: str) -> etree._Element:
    cib = env.get_cib()
    el = cib_tools.find_resource(cib, rsc)
    if el is None:
        env.report(
            error(
                "ID_NOT_FOUND",
                f"bundle/clone/group/resource '{rsc}' does not exist",
                id=rsc,
            )
        )
    env.raise_if_errors()
    assert el is not None
    return el


def _check_node(env: LibraryEnvironment, node: str) -> None:
    if cib_tools.find_node(env.get_cib(), node) is None:
        env.report(
            error(
                "NODE_NOT_FOUND",
                f"Node '{node}' does not appear to exist in configuration",
                node=node,
            )
        )


def _current_node(env: LibraryEnvironment, rsc: str, verb: str) -> str:
    nodes = running_nodes(env.get_cib(), rsc)
    if not nodes:
        env.report(
            error(
                "CANNOT_BAN_RESOURCE_STOPPED_NO_NODE_SPECIFIED",
                f"You must specify a node when {verb} a stopped resource",
                resource=rsc,
            )
        )
    elif len(nodes) > 1:
        env.report(
            error(
                "CANNOT_BAN_RESOURCE_MULTIPLE_INSTANCES_NO_NODE_SPECIFIED",
                f"Resource '{rsc}' is running on multiple nodes: "
                + ", ".join(nodes)
                + ", please specify a node",
                resource=rsc,
                nodes=nodes,
            )
        )
    env.raise_if_errors()
    return nodes[0]


def _put_location(
    cib: etree._Element,
    cid: str,
    rsc: str,
    node: str,
    score: str,
    role: str,
    end: str | None = None,
    rule_ids: tuple[str, str, str] | None = None,
) -> None:
    """Write a move/ban constraint as crm_resource does (a dated rule with a lifetime)."""
    cons = cib_tools.section(cib, "constraints")
    for old in cons.iterfind("rsc_location"):
        if old.get("id") == cid:
            cons.remove(old)
            break
    el = etree.SubElement(cons, "rsc_location")
    el.set("id", cid)
    el.set("rsc", rsc)
    el.set("role", role)
    if end is None:
        el.set("node", node)
        el.set("score", score)
        return
    rule_id, expr_id, date_id = rule_ids or (f"{cid}-rule", f"{cid}-expr", f"{cid}-lifetime")
    rule = etree.SubElement(el, "rule", id=rule_id, score=score)
    rule.set("boolean-op", "and")
    expr = etree.SubElement(rule, "expression", id=expr_id, attribute="#uname", operation="eq")
    expr.set("value", node)
    expr.set("type", "string")
    etree.SubElement(rule, "date_expression", id=date_id, operation="lt", end=end)


def _remove_ids(cib: etree._Element, ids: list[str]) -> list[str]:
    removed: list[str] = []
    cons = cib.find("configuration/constraints")
    if cons is None:
        return removed
    for c in list(cons.iterfind("rsc_location")):
        if c.get("id") in ids:
            cons.remove(c)
            removed.append(c.get("id", ""))
    return removed


def ban(
    env: LibraryEnvironment,
    rsc: str,
    node: str | None = None,
    *,
    promoted: bool = False,
    lifetime: str | None = None,
    now: datetime.datetime | None = None,
) -> str:
    """Add ``cli-ban-RSC-on-NODE`` (-INFINITY); NODE defaults to where RSC runs.

    ``lifetime`` (ISO 8601 duration) makes the ban expire, counted from ``now``.
    """
    _check_resource(env, rsc)
    end = _check_lifetime(env, lifetime, now)
    if node is None:
        env.raise_if_errors()
        node = _current_node(env, rsc, "moving/banning")
    else:
        _check_node(env, node)
    env.raise_if_errors()
    cib = env.get_cib()
    cid = ban_id(rsc, node)
    _put_location(cib, cid, rsc, node, "-INFINITY", "Promoted" if promoted else "Started", end)
    if end is not None:
        env.report(_info("MOVE_LIFETIME", f"Migration will take effect until: {end}", end=end))
    env.report(
        warning(
            "BAN_CONSTRAINT_CREATED",
            f"Creating location constraint '{cid}' with a score of -INFINITY for resource "
            f"{rsc} on {node}.\n\tThis will prevent {rsc} from running on {node} until the "
            f"constraint is removed\n\tThis will be the case even if {node} is the last node in "
            "the cluster",
            id=cid,
            resource=rsc,
            node=node,
        )
    )
    env.push_cib()
    return cid


def move_with_constraint(
    env: LibraryEnvironment,
    rsc: str,
    node: str | None = None,
    *,
    promoted: bool = False,
    lifetime: str | None = None,
    now: datetime.datetime | None = None,
) -> str:
    """Add ``cli-prefer-RSC`` on NODE (or a ban of the current node) and leave it."""
    _check_resource(env, rsc)
    if node is None:
        return ban(env, rsc, None, promoted=promoted, lifetime=lifetime, now=now)
    end = _check_lifetime(env, lifetime, now)
    _check_node(env, node)
    env.raise_if_errors()
    cib = env.get_cib()
    if env.is_cib_live and running_nodes(cib, rsc) == [node]:
        env.report(
            error(
                "RESOURCE_ALREADY_THERE",
                f"Resource '{rsc}' is already running on node '{node}'",
                resource=rsc,
                node=node,
            )
        )
        env.raise_if_errors()
    # A ban of the destination would contradict the move: crm_resource drops it.
    _remove_ids(cib, [ban_id(rsc, node)])
    cid = prefer_id(rsc)
    _put_location(
        cib, cid, rsc, node, "INFINITY", "Promoted" if promoted else "Started", end,
        (f"cli-prefer-rule-{rsc}", f"cli-prefer-expr-{rsc}", f"cli-prefer-lifetime-end-{rsc}"),
    )
    if end is not None:
        env.report(_info("MOVE_LIFETIME", f"Migration will take effect until: {end}", end=end))
    env.report(
        warning(
            "RESOURCE_MOVE_CONSTRAINT_CREATED",
            f"A move constraint has been created and the resource '{rsc}' may or may not move "
            "depending on other configuration",
            resource=rsc,
            id=cid,
        )
    )
    env.push_cib()
    return cid


@dataclass
class Waiter:
    """Clock and sleep used while waiting for the cluster (fakes in tests)."""

    timeout: float = 60.0
    poll: float = 0.5
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def until(self, env: LibraryEnvironment, done: Callable[[etree._Element], bool]) -> bool:
        deadline = self.clock() + self.timeout
        while True:
            if done(env.reload_cib()):
                return True
            if self.clock() >= deadline:
                return False
            self.sleep(self.poll)


def move(
    env: LibraryEnvironment,
    rsc: str,
    node: str | None = None,
    *,
    promoted: bool = False,
    waiter: Waiter | None = None,
    now: datetime.datetime | None = None,
    strict: bool = False,
) -> None:
    """pcs 0.11 ``resource move``: constraint, wait for the move, remove the constraint.

    Before anything is changed, the scheduler forecasts the move (as pcs asks
    crm_simulate): a resource that would not move, or would move back once the
    constraint is removed, is refused with the CIB untouched.
    """
    if not env.is_cib_live:
        env.report(error("LIVE_ENVIRONMENT_REQUIRED", NOT_LIVE, command="resource move"))
        env.raise_if_errors()
    waiter = waiter or Waiter()
    _check_resource(env, rsc)
    before = running_nodes(env.get_cib(), rsc)
    if node is not None:
        _check_node(env, node)
        env.raise_if_errors()
    _check_move_sticks(env, rsc, node, promoted, now, strict)
    if node is None:
        cid = ban(env, rsc, None, promoted=promoted)
        origin = before[0] if before else None

        def arrived(cib: etree._Element) -> bool:
            now = running_nodes(cib, rsc)
            return bool(now) and origin not in now
    else:
        cid = move_with_constraint(env, rsc, node, promoted=promoted)

        def arrived(cib: etree._Element) -> bool:
            return running_nodes(cib, rsc) == [node]

    moved = waiter.until(env, arrived)
    cib = env.reload_cib()
    _remove_ids(cib, [cid])
    env.push_cib()
    if not moved:
        raise TandemError(
            error(
                "RESOURCE_MOVE_FAILED",
                f"Resource '{rsc}' did not move within {waiter.timeout:g} s; "
                f"the constraint '{cid}' has been removed",
                resource=rsc,
                id=cid,
            )
        )
    where = running_nodes(env.reload_cib(), rsc)
    env.report(
        _info(
            "RESOURCE_MOVED",
            f"Resource '{rsc}' is running on node {', '.join(where) or '?'}.",
            resource=rsc,
            nodes=where,
        )
    )


def _constraint_nodes(c: etree._Element) -> set[str]:
    nodes = {c.get("node")} if c.get("node") else set()
    for expr in c.iter("expression"):
        if expr.get("attribute") == "#uname" and expr.get("operation") == "eq":
            nodes.add(expr.get("value", ""))
    return nodes


def _check_move_sticks(
    env: LibraryEnvironment,
    rsc: str,
    node: str | None,
    promoted: bool,
    now: datetime.datetime | None,
    strict: bool = False,
) -> None:
    from tandem.lib.move_check import forecast_move

    trial = copy.deepcopy(env.get_cib())
    role = "Promoted" if promoted else "Started"
    if node is None:
        origin = _current_node(env, rsc, "moving/banning")
        cid = ban_id(rsc, origin)
        _put_location(trial, cid, rsc, origin, "-INFINITY", role)
    else:
        origin = (running_nodes(trial, rsc)[:1] or [None])[0]
        cid = prefer_id(rsc)
        _remove_ids(trial, [ban_id(rsc, node)])
        _put_location(trial, cid, rsc, node, "INFINITY", role)
    try:
        forecast = forecast_move(trial, rsc, cid, now or datetime.datetime.now(datetime.UTC))
    except Exception as exc:  # the forecast is advice: never block a move on its failure
        env.report(
            warning(
                "RESOURCE_MOVE_FORECAST_FAILED",
                f"Unable to forecast the move of resource '{rsc}': {exc}",
                resource=rsc,
            )
        )
        return
    target = forecast.with_constraint
    if target is None or target == origin or (node is not None and target != node):
        env.report(
            error(
                "RESOURCE_MOVE_NOT_POSSIBLE",
                f"Resource '{rsc}' would not move"
                + (f" to node '{node}'" if node else "")
                + (f": the cluster would place it on '{target}'" if target else
                   ": the cluster would stop it"),
                resource=rsc,
                node=node,
                forecast=target,
            )
        )
    elif not forecast.stays:
        env.report(
            error(
                "RESOURCE_MOVE_WOULD_MOVE_BACK",
                f"Unable to ensure that moved resource '{rsc}' will stay on the same node after "
                "a constraint used for moving it is removed",
                resource=rsc,
                node=target,
                after_removal=forecast.after_removal,
            )
        )
    if strict and forecast.others:
        moved = ", ".join(
            f"'{rid}' ({src or 'stopped'} -> {dst or 'stopped'})"
            for rid, (src, dst) in sorted(forecast.others.items())
        )
        env.report(
            error(
                "RESOURCE_MOVE_AFFECTS_OTHER_RESOURCES",
                f"Moving resource '{rsc}' would also move: {moved}",
                resource=rsc,
                others=sorted(forecast.others),
            )
        )
    env.raise_if_errors()


def clear(
    env: LibraryEnvironment, rsc: str, node: str | None = None, *, promoted: bool = False
) -> list[str]:
    """Remove the move/ban constraints of RSC (on NODE only when given)."""
    _check_resource(env, rsc)
    cib = env.get_cib()
    ids: list[str] = []
    cons = cib.find("configuration/constraints")
    for c in cons.iterfind("rsc_location") if cons is not None else []:
        cid = c.get("id", "")
        if c.get("rsc") != rsc:
            continue
        if not (cid == prefer_id(rsc) or cid.startswith(f"cli-ban-{rsc}-on-")):
            continue
        if node is not None and node not in _constraint_nodes(c):
            continue
        if promoted and c.get("role") not in ("Promoted", "Master"):
            continue
        ids.append(cid)
    removed = _remove_ids(cib, ids)
    for cid in sorted(removed, key=lambda i: (not i.startswith("cli-ban"), i)):
        env.report(_info("CONSTRAINT_REMOVED", f"Removing constraint: {cid}", id=cid))
    env.push_cib()
    return removed


def cleanup(
    env: LibraryEnvironment,
    rsc: str | None = None,
    node: str | None = None,
    *,
    client: object | None = None,
    refresh: bool = False,
) -> int:
    """Forget failures (fail counts, failed operations) of RSC or every resource; live only.

    As ``crm_resource --cleanup``: only the (node, resource) pairs with a failure
    on record are cleaned; ``refresh`` forgets every history (``--refresh``), so
    the DC probes again.  The operations come from the controller's
    ``cleanup_ops``; returns how many operations were sent.
    """
    if not env.is_cib_live:
        env.report(error("LIVE_ENVIRONMENT_REQUIRED", NOT_LIVE, command="resource cleanup"))
        env.raise_if_errors()
    if rsc is not None:
        _check_resource(env, rsc)
    if node is not None:
        _check_node(env, node)
    env.raise_if_errors()
    if client is None:
        from tandem.daemon import client as daemon_client

        client = daemon_client
    from tandem.daemon.controller.status import cleanup_ops

    ops = cleanup_ops(rsc, node) if refresh else cleanup_ops(rsc, node, cib=env.get_cib())
    if ops:
        client.apply(ops)  # type: ignore[attr-defined]
    what = f"resource '{rsc}'" if rsc else "all resources"
    where = f"on {node}" if node else "on all nodes"
    env.report(
        _info(
            "CLEANED_UP",
            f"{'Refreshed' if refresh else 'Cleaned up'} {what} {where}"
            + ("" if ops or refresh else " (no failures recorded)"),
            resource=rsc,
            node=node,
            operations=len(ops),
        )
    )
    return len(ops)


def leftover_move_constraints(cib_root: etree._Element) -> list[Report]:
    """Warnings for ``cli-prefer-*`` / ``cli-ban-*`` constraints still in the CIB.

    ``tandem status`` shows them, as pcs does, naming the command that clears them.
    """
    cons = cib_root.find("configuration/constraints")
    if cons is None:
        return []
    resources: list[str] = []
    ids: list[str] = []
    for c in cons.iterfind("rsc_location"):
        cid = c.get("id", "")
        if cid.startswith("cli-prefer-") or cid.startswith("cli-ban-"):
            ids.append(cid)
            rsc = c.get("rsc", "")
            if rsc and rsc not in resources:
                resources.append(rsc)
    if not ids:
        return []
    resources.sort()
    names = ", ".join(f"'{r}'" for r in resources)
    return [
        warning(
            "RESOURCE_MOVE_CONSTRAINTS_LEFT",
            f"Following resources have been moved and their move constraints are still in "
            f"place: {names}",
            resources=resources,
            constraint_ids=ids,
            clear_command="tandem resource clear <resource id>",
        ),
        Report(
            "RESOURCE_MOVE_CONSTRAINTS_HINT",
            "Run 'tandem constraint location' or 'tandem resource clear <resource id>' to view "
            "or remove the constraints, respectively",
            {"resources": resources},
            Severity.INFO,
        ),
    ]
