"""``tandem status``: cluster name, the crm_mon-style status, then the daemons.

The status body comes from the shared renderer ``tandem.lib.crm_mon`` (the
one ``simulate`` uses) when it is available; :func:`render_fallback` is a
small renderer of the same layout (Pacemaker 2.1/3.x crm_mon) for the parts
this layer knows: summary, node list and a plain resource list.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from lxml import etree

from tandem.cli.output import guarded
from tandem.daemon import client, service
from tandem.errors import NotRunningError

RESOURCE_TAGS = ("primitive", "group", "clone", "master", "bundle")


def _fencing_enabled(root: etree._Element) -> bool:
    for nv in root.iterfind("configuration/crm_config/cluster_property_set/nvpair"):
        if nv.get("name") in ("stonith-enabled", "fencing-enabled"):
            return str(nv.get("value", "true")).lower() not in ("false", "0", "no", "off", "n")
    return True


def node_lists(root: etree._Element) -> tuple[list[str], list[str], list[str]]:
    """(online, offline, unclean) node names from <nodes> and the status section.

    A node is UNCLEAN (offline) when fencing is enabled and it was lost without
    a clean leave (join and expected still "member"), as crm_mon shows it.
    """
    states = {e.get("id"): e for e in root.iterfind("status/node_state")}
    fencing = _fencing_enabled(root)
    online, offline, unclean = [], [], []
    for node in root.iterfind("configuration/nodes/node"):
        name = node.get("uname") or node.get("id") or "?"
        st = states.get(node.get("id"))
        is_online = (
            st is not None
            and st.get("in_ccm") not in (None, "false", "0")
            and st.get("crmd") not in (None, "offline", "0")
            and st.get("join") == "member"
        )
        if is_online:
            online.append(name)
        elif (
            fencing
            and st is not None
            and st.get("expected") == "member"
            and st.get("join") != "down"
        ):
            unclean.append(name)
        else:
            offline.append(name)
    return online, offline, unclean


def _resource_lines(root: etree._Element) -> list[str]:
    try:
        from tandem.lib.resource_state import running_nodes
    except ImportError:  # pragma: no cover - layer missing

        def running_nodes(cib: etree._Element, rsc_id: str) -> list[str]:
            return []

    lines = []
    for prim in root.iterfind("configuration/resources/primitive"):
        rid = prim.get("id", "?")
        agent = ":".join(
            x for x in (prim.get("class"), prim.get("provider"), prim.get("type")) if x
        )
        where = running_nodes(root, rid)
        state = f"Started {' '.join(where)}" if where else "Stopped"
        lines.append(f"  * {rid}\t({agent}):\t {state}")
    return lines


def _summary(root: etree._Element, info: dict[str, Any], now: float, full: bool = False) -> list[str]:
    dc = info.get("dc")
    quorum = "partition with quorum" if info.get("quorate") else "partition WITHOUT quorum"
    if full and dc:  # crm_mon --show-detail names the DC with its node id
        dc_id = next((n.get("id") for n in info.get("nodes", []) if n.get("name") == dc), None)
        dc = f"{dc} ({dc_id})" if dc_id is not None else dc
    dc_line = f"{dc} (version {info.get('daemon_version', '')}) - {quorum}" if dc else "NONE"
    nodes = root.findall("configuration/nodes/node")
    n_rsc = len(root.findall("configuration/resources//primitive"))
    last = root.get("cib-last-written")
    out = [
        "Cluster Summary:",
        "  * Stack: corosync",
        f"  * Current DC: {dc_line}",
        f"  * Last updated: {time.strftime('%a %b %d %H:%M:%S %Y', time.localtime(now))} "
        f"on {info.get('name')}",
    ]
    if last:
        user = root.get("update-user")  # crm_mon says "by USER" only when the CIB names one
        out.append(
            f"  * Last change:  {last}{f' by {user}' if user else ''} via "
            f"{root.get('update-client') or 'tandem'} on {root.get('update-origin') or '?'}"
        )
    out += [
        f"  * {len(nodes)} node{'s' if len(nodes) != 1 else ''} configured",
        f"  * {n_rsc} resource instance{'s' if n_rsc != 1 else ''} configured",
        "",
    ]
    return out


def render_fallback(root: etree._Element) -> list[str]:
    """Node List and resources without the shared renderer (same layout)."""
    out = ["Node List:"]
    online, offline, unclean = node_lists(root)
    for name in unclean:
        out.append(f"  * Node {name}: UNCLEAN (offline)")
    if online:
        out.append(f"  * Online: [ {' '.join(online)} ]")
    if offline:
        out.append(f"  * OFFLINE: [ {' '.join(offline)} ]")
    out += ["", "Full List of Resources:"]
    out += _resource_lines(root) or ["  * No resources"]
    return out


def _shared_renderer(root: etree._Element, now: float, full: bool = False) -> list[str] | None:
    """tandem.lib.crm_mon's lines (crm_simulate indentation), one level up for crm_mon."""
    try:
        from datetime import UTC, datetime

        from tandem.cib.model import Cib
        from tandem.cib.unpack import unpack_status
        from tandem.lib.crm_mon import render_cluster_status
    except ImportError:
        return None
    cib = Cib.from_element(root)
    state = unpack_status(cib, now=datetime.fromtimestamp(now, UTC))
    lines = render_cluster_status(cib, state, title=None, failcounts=full, detail=full)
    out = []
    for line in lines:
        if line.startswith("  * ") and line.endswith(":") and not line.startswith("    "):
            out.append(line[4:])
        else:
            out.append(line[2:] if line.startswith("  ") else line)
    return out


def render_status(xml: str, info: dict[str, Any], now: float, full: bool = False) -> str:
    root = etree.fromstring(xml.encode())
    try:
        body = _shared_renderer(root, now, full)
    except Exception:  # noqa: BLE001 - a renderer bug must not hide the cluster's state
        body = None
    return "\n".join(_summary(root, info, now, full) + (body or render_fallback(root)))


def warning_lines(root: etree._Element) -> list[str]:
    """pcs status's WARNINGS (stonith, leftover move/ban constraints), tandem's wording."""
    out = []
    has_stonith = bool(root.xpath("configuration/resources//primitive[@class='stonith']"))
    if _fencing_enabled(root) and not has_stonith:
        out.append("No stonith devices and stonith-enabled is not false")
    from tandem.lib.commands.resource_move import leftover_move_constraints

    out.extend(r.message for r in leftover_move_constraints(root))
    return out


def _api_active() -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"tandemd-api" in (entry / "cmdline").read_bytes():
                    return True
            except OSError:
                continue
    return False


def daemon_lines() -> list[str]:
    enabled = "enabled" if service.is_enabled() else "disabled"
    lines = ["Daemon Status:"]
    for name in ("corosync", "tandemd"):
        state = "active" if service.is_active(name) else "inactive"
        lines.append(f"  {name}: {state}/{enabled}")
    api_enabled = "enabled" if Path("/etc/tandem/enabled/api").exists() else "disabled"
    lines.append(f"  tandemd-api: {'active' if _api_active() else 'inactive'}/{api_enabled}")
    return lines


def pcsd_lines(nodes: list[str]) -> list[str]:
    """``PCSD Status:`` (each node's management daemon), when that layer is installed."""
    try:
        from tandem.api.client import pcsd_status
    except ImportError:
        return []
    try:
        states = pcsd_status(nodes)
    except Exception:  # noqa: BLE001 - the status must print even if the API layer fails
        return []
    return ["PCSD Status:"] + [f"  {n}: {states.get(n) or 'Offline'}" for n in sorted(nodes)]


@click.command("status")
@click.option("--full", is_flag=True,
              help="Also the fail counts (Migration Summary) and each failed action in detail.")
@guarded
def status(full: bool) -> None:
    """Cluster name, nodes, DC, quorum and resources, then the daemons (as pcs status)."""
    try:
        info = client.cluster_info()
        xml = client.get_cib_xml()
    except NotRunningError:
        raise NotRunningError(client.NOT_RUNNING) from None
    root = etree.fromstring(xml.encode())
    click.echo(f"Cluster name: {info.get('cluster_name') or ''}")
    warnings = warning_lines(root)
    if warnings:
        click.echo("\n".join(["", "WARNINGS:", *warnings, ""]))
    click.echo(render_status(xml, info, time.time(), full))
    nodes = [str(n["name"]) for n in info.get("nodes", [])]
    pcsd = pcsd_lines(nodes) if nodes else []
    if pcsd:
        click.echo("")
        click.echo("\n".join(pcsd))
    click.echo("")
    click.echo("\n".join(daemon_lines()))


COMMANDS = [status]
