"""The reference walkthrough's CIB at every step of sections 5, 6 and 7.

Why: the walkthrough (../shared/notes/seed-walkthrough.md) is the behaviour
tandem must reproduce, and its score tables are the scheduler's first
acceptance test.  This module rebuilds, for each sampled moment, the CIB a
real cluster would hold then:

- the configuration exactly as the walkthrough's pcs commands create it (pcs
  0.11's ids: ``ClusterIP-instance_attributes``,
  ``ClusterIP-monitor-interval-30s``, ``rsc_defaults-meta_attributes``,
  ``colocation-WebSite-ClusterIP-INFINITY``, ``location-WebSite-pcmk-1-250``...;
  the lab's addresses: VIP 192.0.2.100, Debian's apache configuration);
- a status section with both nodes' state and each resource's operation
  history where the walkthrough's tables put it (start and recurring monitor
  with rc 0 where it runs, a stop where it stopped, a probe with rc 7 where
  it never ran), with real ``op-digest`` values, so that a correct scheduler
  sees a steady cluster and restarts nothing.

Each :class:`Step` also carries what the walkthrough says should happen: the
allocation scores of its tables and the transition summary (in crm_simulate
3.x's words).  Only facts stated by the walkthrough are recorded; where it
gives no scores (section 5) the step has none.

Step ids: ``5a``..``5f`` (failover of the VIP), ``6a``..``6c`` (Apache,
constraints; ``6c`` = WebSite enabled and started on pcmk-1, the state the
demo shows), ``7a-1``..``7a-4`` (WebSite prefers pcmk-2=500, four samples of
the move) and ``7b-1``..``7b-4`` (that constraint removed, moving back).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from tandem.cib import xmlio
from tandem.cib.digest import op_digest
from tandem.cib.history import CRM_FEATURE_SET, OpRecord, append_record, transition_key
from tandem.errors import UsageError

NODES = {"pcmk-1": "1", "pcmk-2": "2"}
VIP = "192.0.2.100"
APACHE_CONF = "/etc/apache2/apache2.conf"
STATUS_URL = "http://localhost/server-status"
INF = "INFINITY"
NINF = "-INFINITY"

# Node states in a step
ONLINE, OFFLINE, SHUTDOWN = "online", "offline", "shutdown"
# Resource history states on a node
RUNNING, STOPPED, PROBED = "running", "stopped", "probed"

# Configuration stages, cumulative, in the walkthrough's order.
STAGES = ("5", "6a", "6b", "6c", "7a", "7b")


@dataclass(frozen=True)
class Resource:
    """A primitive as pcs created it: parameters and operations (name, interval, extra attrs)."""

    id: str
    agent_type: str
    params: tuple[tuple[str, str], ...]
    ops: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]

    @property
    def param_dict(self) -> dict[str, str]:
        return dict(self.params)

    def monitor(self) -> tuple[int, int | None]:
        """(interval ms, timeout ms or None) of the recurring monitor."""
        for name, interval, extra in self.ops:
            if name == "monitor":
                attrs = dict(extra)
                timeout = attrs.get("timeout")
                return _ms(interval), (_ms(timeout) if timeout else None)
        raise ValueError(f"{self.id} has no monitor")


def _ms(text: str) -> int:
    """'30s' / '3s' / '20000ms' / '2min' -> milliseconds (only the forms used here)."""
    units = {"ms": 1, "s": 1000, "min": 60000}
    for suffix in ("ms", "min", "s"):
        if text.endswith(suffix):
            return int(text[: -len(suffix)]) * units[suffix]
    return int(text) * 1000


CLUSTER_IP = Resource(
    "ClusterIP",
    "IPaddr2",
    (("cidr_netmask", "32"), ("ip", VIP)),
    (
        ("monitor", "30s", ()),
        ("start", "0s", (("timeout", "20s"),)),
        ("stop", "0s", (("timeout", "20s"),)),
    ),
)
WEB_SITE = Resource(
    "WebSite",
    "apache",
    (("configfile", APACHE_CONF), ("statusurl", STATUS_URL)),
    (
        ("monitor", "3s", (("on-fail", "restart"),)),
        ("start", "0s", (("timeout", "40s"),)),
        ("stop", "0s", (("timeout", "60s"),)),
    ),
)
RESOURCES = {"ClusterIP": CLUSTER_IP, "WebSite": WEB_SITE}


@dataclass(frozen=True)
class Step:
    """One sampled moment of the walkthrough and what the walkthrough says about it."""

    id: str
    title: str
    stage: str
    nodes: dict[str, str]
    #: resource -> node -> RUNNING / STOPPED / PROBED (absent: no history there)
    history: dict[str, dict[str, str]]
    #: (resource, node) -> score text, from the walkthrough's tables
    scores: dict[tuple[str, str], str] = field(default_factory=dict)
    #: transition summary lines (action, resource, details) in crm_simulate 3.x words
    transitions: tuple[tuple[str, str, str], ...] = ()

    def summary_lines(self) -> list[str]:
        """The transition summary as crm_simulate 3.x prints it (whitespace aside)."""
        return [f"* {a} {r} ( {d} )" for a, r, d in self.transitions]


def _both(state1: str, state2: str) -> dict[str, str]:
    return {"pcmk-1": state1, "pcmk-2": state2}


def _scores(cip1: str, cip2: str, ws1: str, ws2: str) -> dict[tuple[str, str], str]:
    return {
        ("ClusterIP", "pcmk-1"): cip1,
        ("ClusterIP", "pcmk-2"): cip2,
        ("WebSite", "pcmk-1"): ws1,
        ("WebSite", "pcmk-2"): ws2,
    }


MOVE_12 = ("pcmk-1 -> pcmk-2",)
MOVE_21 = ("pcmk-2 -> pcmk-1",)

STEPS: dict[str, Step] = {
    s.id: s
    for s in (
        # ---- 5. failover of the VIP, no failback (no stickiness yet, no scores in the text)
        Step(
            "5a",
            "ClusterIP created, started on pcmk-1",
            "5",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(RUNNING, PROBED)},
        ),
        Step(
            "5b",
            "pcs cluster stop pcmk-1: pcmk-1 shutting down, the VIP moves to pcmk-2",
            "5",
            _both(SHUTDOWN, ONLINE),
            {"ClusterIP": _both(RUNNING, PROBED)},
            transitions=(("Move", "ClusterIP", *MOVE_12),),
        ),
        Step(
            "5c",
            "pcmk-1 stopped: OFFLINE, ClusterIP Started pcmk-2",
            "5",
            _both(OFFLINE, ONLINE),
            {"ClusterIP": _both(STOPPED, RUNNING)},
        ),
        Step(
            "5d",
            "pcs cluster start pcmk-1: pcmk-1 rejoins, the VIP stays on pcmk-2 (no failback)",
            "5",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(PROBED, RUNNING)},
        ),
        Step(
            "5e",
            "pcs cluster stop pcmk-2: pcmk-2 shutting down, the VIP moves back to pcmk-1",
            "5",
            _both(ONLINE, SHUTDOWN),
            {"ClusterIP": _both(PROBED, RUNNING)},
            transitions=(("Move", "ClusterIP", *MOVE_21),),
        ),
        Step(
            "5f",
            "pcs cluster start pcmk-2: pcmk-2 rejoins, the VIP stays on pcmk-1",
            "5",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(RUNNING, PROBED)},
        ),
        # ---- 6. Apache, constraints and scores (ClusterIP on pcmk-1 throughout)
        Step(
            "6a",
            "constraint colocation add WebSite with ClusterIP INFINITY (WebSite disabled)",
            "6a",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(RUNNING, PROBED), "WebSite": _both(PROBED, PROBED)},
            _scores("100", "0", NINF, NINF),
        ),
        Step(
            "6b",
            "constraint order ClusterIP then WebSite; location WebSite prefers pcmk-1=250",
            "6b",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(RUNNING, PROBED), "WebSite": _both(PROBED, PROBED)},
            _scores("350", "0", NINF, NINF),
        ),
        Step(
            "6c",
            "resource enable WebSite: WebSite Started pcmk-1",
            "6c",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(RUNNING, PROBED), "WebSite": _both(RUNNING, PROBED)},
            _scores("450", "0", "350", NINF),
        ),
        # ---- 7. location WebSite prefers pcmk-2=500, sampled while the move happens
        Step(
            "7a-1",
            "WebSite prefers pcmk-2=500: both on pcmk-1",
            "7a",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(RUNNING, PROBED), "WebSite": _both(RUNNING, PROBED)},
            _scores("450", "500", NINF, "500"),
            (("Move", "ClusterIP", *MOVE_12), ("Move", "WebSite", *MOVE_12)),
        ),
        Step(
            "7a-2",
            "WebSite stopped",
            "7a",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(RUNNING, PROBED), "WebSite": _both(STOPPED, PROBED)},
            _scores("350", "500", NINF, "500"),
            (("Move", "ClusterIP", *MOVE_12), ("Start", "WebSite", "pcmk-2")),
        ),
        Step(
            "7a-3",
            "ClusterIP on pcmk-2",
            "7a",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(STOPPED, RUNNING), "WebSite": _both(STOPPED, PROBED)},
            _scores("250", "600", NINF, "500"),
            (("Start", "WebSite", "pcmk-2"),),
        ),
        Step(
            "7a-4",
            "both on pcmk-2",
            "7a",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(STOPPED, RUNNING), "WebSite": _both(STOPPED, RUNNING)},
            _scores("250", "700", NINF, "600"),
        ),
        # ---- 7. constraint remove location-WebSite-pcmk-2-500, moving back
        Step(
            "7b-1",
            "location-WebSite-pcmk-2-500 removed: both on pcmk-2",
            "7b",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(STOPPED, RUNNING), "WebSite": _both(STOPPED, RUNNING)},
            _scores("250", "200", "250", NINF),
            (("Move", "ClusterIP", *MOVE_21), ("Move", "WebSite", *MOVE_21)),
        ),
        Step(
            "7b-2",
            "WebSite stopped",
            "7b",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(STOPPED, RUNNING), "WebSite": _both(STOPPED, STOPPED)},
            _scores("250", "100", "250", NINF),
            (("Move", "ClusterIP", *MOVE_21), ("Start", "WebSite", "pcmk-1")),
        ),
        Step(
            "7b-3",
            "ClusterIP on pcmk-1",
            "7b",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(RUNNING, STOPPED), "WebSite": _both(STOPPED, STOPPED)},
            _scores("350", "0", "250", NINF),
            (("Start", "WebSite", "pcmk-1"),),
        ),
        Step(
            "7b-4",
            "both on pcmk-1",
            "7b",
            _both(ONLINE, ONLINE),
            {"ClusterIP": _both(RUNNING, STOPPED), "WebSite": _both(RUNNING, STOPPED)},
            _scores("450", "0", "350", NINF),
        ),
    )
}

STEP_IDS: tuple[str, ...] = tuple(STEPS)


# ---------------------------------------------------------------------------
# Configuration


def _nvpair(parent: etree._Element, set_id: str, name: str, value: str) -> None:
    nv = etree.SubElement(parent, "nvpair")
    nv.set("id", f"{set_id}-{name}")
    nv.set("name", name)
    nv.set("value", value)


def _primitive(resources: etree._Element, rsc: Resource, disabled: bool) -> None:
    prim = etree.SubElement(resources, "primitive")
    for name, value in (
        ("id", rsc.id),
        ("class", "ocf"),
        ("type", rsc.agent_type),
        ("provider", "heartbeat"),
    ):
        prim.set(name, value)
    if rsc.id == "WebSite":  # created --disabled; `resource enable` empties the set
        meta = etree.SubElement(prim, "meta_attributes", id=f"{rsc.id}-meta_attributes")
        if disabled:
            _nvpair(meta, f"{rsc.id}-meta_attributes", "target-role", "Stopped")
    inst = etree.SubElement(prim, "instance_attributes", id=f"{rsc.id}-instance_attributes")
    for name, value in rsc.params:
        _nvpair(inst, f"{rsc.id}-instance_attributes", name, value)
    ops = etree.SubElement(prim, "operations")
    for name, interval, extra in rsc.ops:
        op = etree.SubElement(ops, "op", name=name, interval=interval)
        for attr, value in extra:
            op.set(attr, value)
        op.set("id", f"{rsc.id}-{name}-interval-{interval}")


def _configuration(cib: etree._Element, stage: str) -> None:
    level = STAGES.index(stage)
    conf = etree.SubElement(cib, "configuration")
    crm = etree.SubElement(conf, "crm_config")
    props = etree.SubElement(crm, "cluster_property_set", id="cib-bootstrap-options")
    for name, value in (
        ("have-watchdog", "false"),
        ("cluster-infrastructure", "corosync"),
        ("cluster-name", "mycluster"),
        ("stonith-enabled", "false"),
    ):
        _nvpair(props, "cib-bootstrap-options", name, value)
    nodes = etree.SubElement(conf, "nodes")
    for uname, node_id in NODES.items():
        etree.SubElement(nodes, "node", id=node_id, uname=uname)
    resources = etree.SubElement(conf, "resources")
    _primitive(resources, CLUSTER_IP, disabled=False)
    if level >= STAGES.index("6a"):
        _primitive(resources, WEB_SITE, disabled=level < STAGES.index("6c"))
    cons = etree.SubElement(conf, "constraints")
    if level >= STAGES.index("6a"):
        c = etree.SubElement(cons, "rsc_colocation")
        for name, value in (
            ("rsc", "WebSite"),
            ("with-rsc", "ClusterIP"),
            ("score", INF),
            ("id", "colocation-WebSite-ClusterIP-INFINITY"),
        ):
            c.set(name, value)
    if level >= STAGES.index("6b"):
        o = etree.SubElement(cons, "rsc_order")
        for name, value in (
            ("first", "ClusterIP"),
            ("then", "WebSite"),
            ("first-action", "start"),
            ("then-action", "start"),
            ("id", "order-ClusterIP-WebSite-mandatory"),
        ):
            o.set(name, value)
        prefs = [("pcmk-1", "250")]
        if stage == "7a":
            prefs.append(("pcmk-2", "500"))
        for node, score in prefs:
            loc = etree.SubElement(cons, "rsc_location")
            for name, value in (
                ("id", f"location-WebSite-{node}-{score}"),
                ("rsc", "WebSite"),
                ("node", node),
                ("score", score),
            ):
                loc.set(name, value)
    if level >= STAGES.index("6a"):
        defaults = etree.SubElement(conf, "rsc_defaults")
        meta = etree.SubElement(defaults, "meta_attributes", id="rsc_defaults-meta_attributes")
        _nvpair(meta, "rsc_defaults-meta_attributes", "resource-stickiness", "100")


# ---------------------------------------------------------------------------
# Status

_UUID = "3a1c5e2b-7d4f-4c0e-9b8a-6f2d1e0c4b7a"
T0 = 1_700_000_000


class _History:
    """Writes lrm_rsc_op records with increasing call ids (the executor's counter)."""

    def __init__(self) -> None:
        self.call_id = 0

    def op(
        self,
        parent: etree._Element,
        rsc: Resource,
        node: str,
        operation: str,
        interval_ms: int,
        rc: int,
        *,
        key_id: str,
        timeout_ms: int | None = None,
    ) -> None:
        self.call_id += 1
        target = 7 if operation == "monitor" and interval_ms == 0 else 0
        append_record(
            parent,
            OpRecord(
                id=key_id,
                rsc=rsc.id,
                operation=operation,
                interval_ms=interval_ms,
                rc=rc,
                call_id=self.call_id,
                node=node,
                transition_key=transition_key(self.call_id, self.call_id, target, _UUID),
                op_digest=op_digest(rsc.param_dict, interval_ms=interval_ms, timeout_ms=timeout_ms),
                last_rc_change=T0 + self.call_id,
                exec_ms=20,
            ),
        )


def _lrm_resource(
    parent: etree._Element, hist: _History, rsc: Resource, node: str, state: str
) -> None:
    lrm_rsc = etree.SubElement(parent, "lrm_resource")
    lrm_rsc.set("id", rsc.id)
    lrm_rsc.set("class", "ocf")
    lrm_rsc.set("provider", "heartbeat")
    lrm_rsc.set("type", rsc.agent_type)
    last = f"{rsc.id}_last_0"
    if state == PROBED:
        hist.op(lrm_rsc, rsc, node, "monitor", 0, 7, key_id=last)
    elif state == RUNNING:
        hist.op(lrm_rsc, rsc, node, "start", 0, 0, key_id=last)
        interval, timeout = rsc.monitor()
        hist.op(
            lrm_rsc,
            rsc,
            node,
            "monitor",
            interval,
            0,
            key_id=f"{rsc.id}_monitor_{interval}",
            timeout_ms=timeout,
        )
    elif state == STOPPED:
        hist.op(lrm_rsc, rsc, node, "stop", 0, 0, key_id=last)
    else:
        raise ValueError(f"unknown history state {state!r}")


def _status(cib: etree._Element, step: Step) -> None:
    status = etree.SubElement(cib, "status")
    hist = _History()
    for uname, node_id in NODES.items():
        state = step.nodes[uname]
        ns = etree.SubElement(status, "node_state")
        up = state in (ONLINE, SHUTDOWN)
        for name, value in (
            ("id", node_id),
            ("uname", uname),
            ("in_ccm", "true" if up else "false"),
            ("crmd", "online" if up else "offline"),
            ("crm-debug-origin", "do_update_resource" if up else "do_state_transition"),
            ("join", "member" if up else "down"),
            ("expected", "member" if up else "down"),
        ):
            ns.set(name, value)
        if state == SHUTDOWN:
            ta = etree.SubElement(ns, "transient_attributes", id=node_id)
            attrs = etree.SubElement(ta, "instance_attributes", id=f"status-{node_id}")
            _nvpair(attrs, f"status-{node_id}", "shutdown", str(T0 + 500))
        lrm = etree.SubElement(ns, "lrm", id=node_id)
        lrm_resources = etree.SubElement(lrm, "lrm_resources")
        for rsc_id, per_node in step.history.items():
            rsc_state = per_node.get(uname)
            if rsc_state is not None:
                _lrm_resource(lrm_resources, hist, RESOURCES[rsc_id], uname, rsc_state)


# ---------------------------------------------------------------------------
# Public API


def get_step(step: str) -> Step:
    try:
        return STEPS[step]
    except KeyError:
        raise UsageError(
            f"unknown walkthrough step '{step}': use one of {', '.join(STEP_IDS)}", step=step
        ) from None


def build_step_root(step: str) -> etree._Element:
    """The CIB of a walkthrough step, as an lxml tree."""
    s = get_step(step)
    cib = etree.Element("cib")
    dc = "2" if s.nodes["pcmk-2"] != OFFLINE else "1"
    for name, value in (
        ("crm_feature_set", CRM_FEATURE_SET),
        ("validate-with", "pacemaker-3.8"),
        ("epoch", str(5 + STAGES.index(s.stage))),
        ("num_updates", "0"),
        ("admin_epoch", "0"),
        ("have-quorum", "1"),
        ("dc-uuid", dc),
    ):
        cib.set(name, value)
    _configuration(cib, s.stage)
    _status(cib, s)
    return cib


def build_step_cib(step: str) -> str:
    """The CIB of a walkthrough step, as XML text."""
    return xmlio.write_string(build_step_root(step))


def write_step_cib(step: str, path: str | os.PathLike[str]) -> str:
    """Write the step's CIB to ``path`` (atomically); return the path as a string."""
    xmlio.write_file_atomic(build_step_root(step), path)
    return str(Path(path))


def main(argv: list[str] | None = None) -> int:
    """``python -m tandem.cib.walkthrough [STEP PATH]``: list the steps, or write one's CIB."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        for s in STEPS.values():
            print(f"{s.id:5} {s.title}")
        return 0 if not args else 2
    try:
        print(write_step_cib(args[0], args[1]))
    except (UsageError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
