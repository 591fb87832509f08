"""``GET /metrics``: ha_cluster_exporter's metric names, computed from the CIB and corosync tools.

Why the exporter's names: administrators already have dashboards and alerts
on ``ha_cluster_pacemaker_nodes``, ``ha_cluster_pacemaker_resources``,
``ha_cluster_corosync_quorate``...; keeping names, labels and 0/1 values lets
them point Prometheus at tandem unchanged
(../shared/reference/ha_cluster_exporter-metrics.md).  tandem adds its own
``tandem_transitions_total`` and ``tandem_last_failover_seconds`` when the
cluster daemon publishes them.

The collector parses the CIB's ``status`` section itself (a small, read-only
interpretation: node membership from ``node_state``, resource role from the
last operations).  Sources are plain callables so tests feed XML strings.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

NODE_STATUSES = (
    "online", "standby", "standby_onfail", "maintenance", "pending",
    "unclean", "shutdown", "expected_up", "dc",
)
RESOURCE_STATUSES = ("active", "orphaned", "blocked", "failed", "failure_ignored")


# --------------------------------------------------------------------------- CIB interpretation


@dataclass
class NodeInfo:
    name: str
    id: str
    type: str = "member"
    status: dict[str, bool] = field(default_factory=dict)


@dataclass
class ResourceInfo:
    id: str
    agent: str
    group: str = ""
    clone: str = ""
    managed: bool = True
    # node -> (role, failed, failure_ignored)
    on: dict[str, tuple[str, bool, bool]] = field(default_factory=dict)
    orphaned: bool = False
    ignore_ops: frozenset[str] = frozenset()


def _truthy(v: str | None) -> bool:
    return (v or "").lower() in ("1", "true", "on", "yes", "y")


def _falsy(v: str | None) -> bool:
    return (v or "").lower() in ("0", "false", "off", "no", "n")


def _fencing_enabled(props: dict[str, str]) -> bool:
    """``fencing-enabled`` (Pacemaker 3 name) or ``stonith-enabled``, default true."""
    return not _falsy(props.get("fencing-enabled", props.get("stonith-enabled", "true")))


def _in_ccm(v: str | None) -> bool:
    # Pacemaker < 2.1.7 writes "true"; newer versions write a join timestamp.
    return v is not None and (v == "true" or v.isdigit() and v != "0")


def _nvpairs(el: etree._Element | None, path: str) -> dict[str, str]:
    if el is None:
        return {}
    return {nv.get("name", ""): nv.get("value", "") for nv in el.iterfind(path)}


def parse_nodes(cib: etree._Element) -> list[NodeInfo]:
    dc = cib.get("dc-uuid")
    props = _nvpairs(cib.find("configuration/crm_config"), "cluster_property_set/nvpair")
    # without fencing, a node that left is taken as cleanly down (Pacemaker does the same)
    fencing = _fencing_enabled(props)
    states = {s.get("id"): s for s in cib.iterfind("status/node_state")}
    out = []
    for n in cib.iterfind("configuration/nodes/node"):
        nid, name = n.get("id", ""), n.get("uname", n.get("id", ""))
        attrs = _nvpairs(n, "instance_attributes/nvpair")
        st = states.get(nid)
        transient = _nvpairs(st, "transient_attributes/instance_attributes/nvpair")
        online = (
            st is not None
            and _in_ccm(st.get("in_ccm"))
            and st.get("crmd") == "online"
            and st.get("join", "member") == "member"
        )
        expected_up = st is not None and st.get("expected") == "member"
        s = {
            "online": online,
            "standby": _truthy(attrs.get("standby")),
            "standby_onfail": False,
            "maintenance": _truthy(attrs.get("maintenance")),
            "pending": st is not None and _in_ccm(st.get("in_ccm")) and not online,
            # expected up but gone from the membership: it must be fenced (corpus: 26 of 27)
            # never seen since the cluster started: unclean unless startup-fencing=false
            "unclean": fencing and (
                (st is not None and expected_up and not _in_ccm(st.get("in_ccm")))
                or (st is None and not _falsy(props.get("startup-fencing", "true")))
            ),
            "shutdown": transient.get("shutdown", "0") not in ("", "0"),
            "expected_up": expected_up,
            "dc": dc is not None and dc == nid and online,
        }
        out.append(NodeInfo(name, nid, n.get("type", "member"), s))
    return out


def _op_role(op: str, rc: int) -> str | None:
    if op in ("start", "migrate_from") and rc == 0:
        return "started"
    if op == "stop" and rc == 0:
        return "stopped"
    if op == "promote" and rc == 0:
        return "master"
    if op == "demote" and rc == 0:
        return "slave"
    if op == "monitor":
        return {0: "started", 7: "stopped", 8: "master"}.get(rc)
    return None


def _lrm_state(lrm_rsc: etree._Element, ignore_ops: frozenset[str]) -> tuple[str, bool, bool]:
    """(role, failed, failure_ignored) after the operations recorded on one node, in call order.

    ``*_last_failure_*`` entries only record a failure (they duplicate a call
    whose current result is in the regular entry); operations whose
    configuration says ``on-fail=ignore`` never make the resource failed.
    """
    ops = []
    for op in lrm_rsc.iterfind("lrm_rsc_op"):
        try:
            call = int(op.get("call-id", "-1"))
            rc = int(op.get("rc-code", "0"))
        except ValueError:
            continue
        if call < 0 or op.get("op-status", "0") not in ("0", "4", "5"):
            continue  # pending or cancelled
        key = (op.get("transition-key") or "").split(":")
        target = int(key[2]) if len(key) >= 3 and key[2].isdigit() else 0
        last_failure = "_last_failure_" in op.get("id", "")
        ops.append((call, not last_failure, op.get("operation", ""), rc, target))
    role, failed, ignored = "stopped", False, False
    for _call, regular, name, rc, target in sorted(ops):
        is_probe = name == "monitor" and target == 7
        if rc != target and not (is_probe and rc in (0, 7, 8)):
            if name in ignore_ops:
                ignored = True
                if regular and name == "stop":
                    role = "stopped"
                continue  # on-fail=ignore: the role stays what it was
            failed = True
            if not regular:
                continue
            if name in ("start", "promote", "demote", "stop"):
                role = "started"  # a failed start/stop leaves it active, to be recovered
                continue
        elif name in ("start", "stop") and regular:
            failed = False  # a successful recovery step clears the failure
        new = _op_role(name, rc) if regular else None
        if new is not None:
            role = new
    return role, failed, ignored


def parse_resources(cib: etree._Element, nodes: list[NodeInfo]) -> list[ResourceInfo]:
    by_id = {n.id: n.name for n in nodes}
    online = {n.name for n in nodes if n.status.get("online") or n.status.get("unclean")}
    maintenance_mode = _truthy(
        _nvpairs(cib.find("configuration/crm_config"), "cluster_property_set/nvpair").get(
            "maintenance-mode"
        )
    )
    rscs: dict[str, ResourceInfo] = {}

    def walk(el: etree._Element, group: str, clone: str) -> None:
        for child in el:
            tag = child.tag
            if tag == "primitive":
                agent = ":".join(
                    x for x in (child.get("class"), child.get("provider"), child.get("type")) if x
                )
                meta = _nvpairs(child, "meta_attributes/nvpair")
                managed = not maintenance_mode and meta.get("is-managed", "true") != "false"
                ignore = frozenset(
                    op.get("name", "") for op in child.iterfind("operations/op")
                    if op.get("on-fail") == "ignore"
                )
                rscs[child.get("id", "")] = ResourceInfo(
                    child.get("id", ""), agent, group, clone, managed, ignore_ops=ignore
                )
            elif tag == "group":
                walk(child, child.get("id", ""), clone)
            elif tag in ("clone", "master"):
                walk(child, group, child.get("id", ""))

    res = cib.find("configuration/resources")
    if res is not None:
        walk(res, "", "")
    for st in cib.iterfind("status/node_state"):
        node = by_id.get(st.get("id", ""), st.get("uname", ""))
        for lr in st.iterfind("lrm/lrm_resources/lrm_resource"):
            rid = lr.get("id", "")
            base = rid.split(":")[0]  # clone instances are recorded as id:N
            info = rscs.get(rid) or rscs.get(base)
            if info is None:
                info = rscs.setdefault(
                    rid,
                    ResourceInfo(rid, ":".join(
                        x for x in (lr.get("class"), lr.get("provider"), lr.get("type")) if x
                    ), orphaned=True),
                )
            if node not in online:
                continue  # a node that left cleanly runs nothing
            role, failed, ignored = _lrm_state(lr, info.ignore_ops)
            if role != "stopped" or failed or ignored:
                info.on[node] = (role, failed, ignored)
    return list(rscs.values())


# --------------------------------------------------------------------------- corosync tools


@dataclass
class CorosyncInfo:
    quorate: bool | None = None
    votes: dict[str, int] = field(default_factory=dict)  # expected_votes, highest_expected, ...
    members: list[tuple[str, str, int, bool]] = field(default_factory=list)  # id, name, votes, local
    ring_id: str = ""
    local_id: str = ""
    links: list[tuple[str, str, bool]] = field(default_factory=list)  # number, address, healthy


def parse_quorumtool(text: str, info: CorosyncInfo) -> None:
    """Parse ``corosync-quorumtool -s`` output."""
    keys = {
        "Expected votes": "expected_votes",
        "Highest expected": "highest_expected",
        "Total votes": "total_votes",
        "Quorum": "quorum",
    }
    in_members = False
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z ]+):\s+(\S.*?)\s*$", line)
        if m and not in_members:
            k, v = m.group(1).strip(), m.group(2)
            if k == "Quorate":
                info.quorate = v.lower().startswith("yes")
            elif k == "Ring ID":
                info.ring_id = v
            elif k == "Node ID":
                info.local_id = v
            elif k in keys:
                num = re.match(r"\d+", v)
                if num:
                    info.votes[keys[k]] = int(num.group())
        if re.match(r"^\s*Nodeid\s+Votes", line):
            in_members = True
            continue
        if in_members:
            parts = line.split()
            local = bool(parts) and parts[-1] == "(local)"
            if local:
                parts.pop()
            if len(parts) >= 3 and parts[0].isdigit() and parts[1].isdigit():
                info.members.append((parts[0], parts[-1], int(parts[1]), local))


def parse_cfgtool(text: str, info: CorosyncInfo) -> None:
    """Parse ``corosync-cfgtool -s`` (corosync 3 / knet) output."""
    number, addr, healthy = None, "", True

    def flush() -> None:
        if number is not None:
            info.links.append((number, addr, healthy))

    for line in text.splitlines():
        m = re.match(r"^(?:LINK|RING) ID (\d+)", line.strip())
        if m:
            flush()
            number, addr, healthy = m.group(1), "", True
            continue
        m = re.match(r"^addr\s*=\s*(\S+)", line.strip())
        if m:
            addr = m.group(1)
            continue
        m = re.match(r"^nodeid:?\s*(\d+):\s*(.*)$", line.strip())
        if m and number is not None:
            state = m.group(2).strip()
            if state not in ("localhost", "connected") and "connected" not in state.split():
                healthy = False
            if state.startswith("disconnected"):
                healthy = False
        if "FAULTY" in line:
            healthy = False
    flush()


def read_corosync(timeout: float = 2.0) -> CorosyncInfo | None:
    """Run the corosync tools; None when corosync is not running."""
    info = CorosyncInfo()
    try:
        q = subprocess.run(
            ["corosync-quorumtool", "-s"], capture_output=True, text=True, timeout=timeout
        )
        if "Quorum information" not in q.stdout:
            return None
        parse_quorumtool(q.stdout, info)
        c = subprocess.run(
            ["corosync-cfgtool", "-s"], capture_output=True, text=True, timeout=timeout
        )
        if c.returncode == 0:
            parse_cfgtool(c.stdout, info)
    except (OSError, subprocess.SubprocessError):
        return None
    return info


def live_cib_source() -> str | None:
    """The local CIB through the cluster daemon's client, None when it is not running."""
    try:
        from tandem.daemon import client  # type: ignore[attr-defined]
    except ImportError:
        return None
    call = getattr(client, "call", None)
    if call is None:
        return None
    try:
        return str(call("get_cib", timeout=5.0))  # short: a scrape must not hang
    except Exception:
        return None


def live_stats_source() -> dict[str, float] | None:
    """tandem's own counters from the cluster daemon, when it publishes them.

    Read from ``tandem.daemon.client.get_stats()`` if it exists, else from the
    ``transitions_total`` / ``last_failover_seconds`` keys of its ``info`` answer.
    """
    try:
        from tandem.daemon import client  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        getter = getattr(client, "get_stats", None)
        stats = getter() if getter is not None else client.call("info", timeout=5.0)
    except Exception:
        return None
    if not isinstance(stats, dict):
        return None
    out = {
        k: float(stats[k])
        for k in ("transitions_total", "last_failover_seconds")
        if isinstance(stats.get(k), int | float) and not isinstance(stats.get(k), bool)
    }
    return out or None


# --------------------------------------------------------------------------- collector


class ClusterCollector(Collector):
    """Builds every metric family at scrape time from the injected sources."""

    def __init__(
        self,
        cib_source: Callable[[], str | None] | None,
        corosync_source: Callable[[], CorosyncInfo | None] | None = None,
        stats_source: Callable[[], dict[str, float] | None] | None = None,
    ) -> None:
        self.cib_source = cib_source
        self.corosync_source = corosync_source
        self.stats_source = stats_source

    def collect(self) -> Iterator[Any]:
        xml = self.cib_source() if self.cib_source else None
        cib = None
        if xml:
            try:
                cib = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
            except etree.XMLSyntaxError:
                cib = None
        if cib is not None:
            yield from self._pacemaker(cib)
        coro = self.corosync_source() if self.corosync_source else None
        yield from self._corosync(coro, cib)
        stats = self.stats_source() if self.stats_source else None
        if stats:
            if "transitions_total" in stats:
                c = CounterMetricFamily(
                    "tandem_transitions", "Transitions run by the tandem controller"
                )
                c.add_metric([], float(stats["transitions_total"]))
                yield c
            if "last_failover_seconds" in stats:
                g = GaugeMetricFamily(
                    "tandem_last_failover_seconds",
                    "Duration of the last failover (node loss to resources started)",
                )
                g.add_metric([], float(stats["last_failover_seconds"]))
                yield g

    def _pacemaker(self, cib: etree._Element) -> Iterator[Any]:
        nodes = parse_nodes(cib)
        g = GaugeMetricFamily(
            "ha_cluster_pacemaker_nodes",
            "The status of each node in the cluster; 1 means the node is in the status specified by the status label, 0 means it is not",
            labels=["node", "type", "status"],
        )
        for n in nodes:
            for s in NODE_STATUSES:
                g.add_metric([n.name, n.type, s], 1.0 if n.status.get(s) else 0.0)
        yield g

        r = GaugeMetricFamily(
            "ha_cluster_pacemaker_resources",
            "The status of each resource in the cluster; 1 means the resource is in the status specified by the status label, 0 means it is not",
            labels=["agent", "clone", "group", "managed", "node", "resource", "role", "status"],
        )
        for rsc in parse_resources(cib, nodes):
            places = list(rsc.on.items()) or [("", ("stopped", False, False))]
            for node, (role, failed, ignored) in places:
                flags = {
                    "active": role != "stopped",
                    "orphaned": rsc.orphaned,
                    "blocked": False,
                    "failed": failed,
                    "failure_ignored": ignored,
                }
                for s in RESOURCE_STATUSES:
                    r.add_metric(
                        [rsc.agent, rsc.clone, rsc.group, str(rsc.managed).lower(), node,
                         rsc.id, role, s],
                        1.0 if flags[s] else 0.0,
                    )
        yield r

        props = _nvpairs(cib.find("configuration/crm_config"), "cluster_property_set/nvpair")
        s = GaugeMetricFamily(
            "ha_cluster_pacemaker_stonith_enabled", "Whether or not stonith is enabled"
        )
        s.add_metric([], 1.0 if _fencing_enabled(props) else 0.0)
        yield s

        epoch = cib.get("cib-last-written")
        if epoch:
            import email.utils

            try:
                ts = email.utils.parsedate_to_datetime(epoch).timestamp()
            except (TypeError, ValueError):
                ts = None
            if ts is not None:
                c = GaugeMetricFamily(
                    "ha_cluster_pacemaker_config_last_change",
                    "The timestamp of the last change of the cluster configuration",
                )
                c.add_metric([], ts)
                yield c

    def _corosync(self, info: CorosyncInfo | None, cib: etree._Element | None) -> Iterator[Any]:
        q = GaugeMetricFamily(
            "ha_cluster_corosync_quorate", "Whether or not the cluster is quorate"
        )
        if info is not None and info.quorate is not None:
            q.add_metric([], 1.0 if info.quorate else 0.0)
            yield q
        elif cib is not None:
            q.add_metric([], 1.0 if cib.get("have-quorum") in ("1", "true") else 0.0)
            yield q
        if info is None:
            return
        v = GaugeMetricFamily(
            "ha_cluster_corosync_quorum_votes", "Cluster quorum votes; one line per type",
            labels=["type"],
        )
        for k in ("expected_votes", "highest_expected", "total_votes", "quorum"):
            if k in info.votes:
                v.add_metric([k], float(info.votes[k]))
        yield v
        m = GaugeMetricFamily(
            "ha_cluster_corosync_member_votes",
            "How many votes each member node has contributed with to the current quorum",
            labels=["node_id", "node", "local"],
        )
        for nid, name, votes, local in info.members:
            m.add_metric([nid, name, str(local).lower()], float(votes))
        yield m
        rings = GaugeMetricFamily(
            "ha_cluster_corosync_rings",
            "The status of each Corosync ring; 1 means healthy, 0 means faulty.",
            labels=["ring_id", "node_id", "number", "address"],
        )
        errors = 0
        for number, addr, healthy in info.links:
            rings.add_metric([info.ring_id, info.local_id, number, addr], 1.0 if healthy else 0.0)
            errors += 0 if healthy else 1
        yield rings
        e = GaugeMetricFamily("ha_cluster_corosync_ring_errors", "The total number of faulty corosync rings")
        e.add_metric([], float(errors))
        yield e


def render_metrics(
    cib_source: Callable[[], str | None] | None,
    registry: CollectorRegistry | None = None,
    corosync_source: Callable[[], CorosyncInfo | None] | None = None,
    stats_source: Callable[[], dict[str, float] | None] | None = None,
) -> tuple[bytes, str]:
    """The /metrics body and its content type; ``registry`` overrides everything (tests)."""
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(ClusterCollector(cib_source, corosync_source, stats_source))
    return generate_latest(registry), "text/plain; version=0.0.4; charset=utf-8"
