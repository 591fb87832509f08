"""Generate synthetic CIBs for the scheduler benchmark.

Why synthetic: the scheduler's speed matters on clusters much larger than
the corpus's (8 to 32 nodes, 200 to 2000 resources), and nobody ships such
CIBs.  The shape follows what real clusters carry:

- ``stonith-enabled=false`` (no fence devices to model), resource-stickiness
  100 as the walkthrough sets it;
- ``ocf:heartbeat:Dummy`` primitives with one parameter and start / stop /
  10 s monitor operations;
- resources in colocation chains of 4 (each member ``INFINITY`` with the
  previous one) with mandatory orders along the chain;
- location preferences: each chain prefers one node (score 100-199) and,
  less, the next one; every fifth chain is banned from a third node;
- two states: ``steady`` (every resource started where the constraints put
  it, its 10 s monitor recorded, a probe with rc 7 on every other node, all
  with real digests: a correct scheduler has nothing to do) and ``fresh``
  (every node online, no history: everything to probe and start).

The file validates against pacemaker-3.8 and uses ``stonith-enabled`` (not
``fencing-enabled``) so that Debian's Pacemaker 2.1.5 crm_simulate reads it
the same way.

    python bench/gen_cib.py --nodes 8 --resources 200 --state steady -o cib.xml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tandem.cib import xmlio  # noqa: E402
from tandem.cib.digest import op_digest  # noqa: E402
from tandem.cib.history import (  # noqa: E402
    CRM_FEATURE_SET,
    OpRecord,
    append_record,
    transition_key,
)

CHAIN = 4
MONITOR_MS = 10000
OP_TIMEOUT_MS = 20000
UUID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
T0 = 1_700_000_000


def node_name(i: int) -> str:
    return f"node{i + 1}"


def rsc_name(k: int) -> str:
    return f"rsc{k + 1}"


def preferred_node(chain: int, nodes: int) -> int:
    return chain % nodes


def _set(el: etree._Element, *pairs: tuple[str, str]) -> etree._Element:
    for name, value in pairs:
        el.set(name, value)
    return el


def _nvpair(parent: etree._Element, set_id: str, name: str, value: str) -> None:
    _set(
        etree.SubElement(parent, "nvpair"),
        ("id", f"{set_id}-{name}"),
        ("name", name),
        ("value", value),
    )


def _configuration(cib: etree._Element, nodes: int, resources: int) -> None:
    conf = etree.SubElement(cib, "configuration")
    crm = etree.SubElement(conf, "crm_config")
    props = etree.SubElement(crm, "cluster_property_set", id="cib-bootstrap-options")
    for name, value in (
        ("cluster-infrastructure", "corosync"),
        ("cluster-name", "bench"),
        ("stonith-enabled", "false"),
    ):
        _nvpair(props, "cib-bootstrap-options", name, value)
    node_list = etree.SubElement(conf, "nodes")
    for i in range(nodes):
        etree.SubElement(node_list, "node", id=str(i + 1), uname=node_name(i))
    rscs = etree.SubElement(conf, "resources")
    for k in range(resources):
        rid = rsc_name(k)
        prim = _set(
            etree.SubElement(rscs, "primitive"),
            ("id", rid),
            ("class", "ocf"),
            ("type", "Dummy"),
            ("provider", "heartbeat"),
        )
        inst = etree.SubElement(prim, "instance_attributes", id=f"{rid}-instance_attributes")
        _nvpair(inst, f"{rid}-instance_attributes", "fake", f"value-{k + 1}")
        ops = etree.SubElement(prim, "operations")
        for name, interval in (("monitor", "10s"), ("start", "0s"), ("stop", "0s")):
            _set(
                etree.SubElement(ops, "op"),
                ("name", name),
                ("interval", interval),
                ("timeout", "20s"),
                ("id", f"{rid}-{name}-interval-{interval}"),
            )
    cons = etree.SubElement(conf, "constraints")
    chains = (resources + CHAIN - 1) // CHAIN
    for c in range(chains):
        members = list(range(c * CHAIN, min((c + 1) * CHAIN, resources)))
        head = rsc_name(members[0])
        p = preferred_node(c, nodes)
        score = 100 + (c * 37) % 100
        _set(
            etree.SubElement(cons, "rsc_location"),
            ("id", f"loc-{head}-{node_name(p)}"),
            ("rsc", head),
            ("node", node_name(p)),
            ("score", str(score)),
        )
        if nodes > 1:
            q = (p + 1) % nodes
            _set(
                etree.SubElement(cons, "rsc_location"),
                ("id", f"loc-{head}-{node_name(q)}"),
                ("rsc", head),
                ("node", node_name(q)),
                ("score", str(score // 2)),
            )
        if nodes > 2 and c % 5 == 0:
            b = (p + 2) % nodes
            _set(
                etree.SubElement(cons, "rsc_location"),
                ("id", f"ban-{head}-{node_name(b)}"),
                ("rsc", head),
                ("node", node_name(b)),
                ("score", "-INFINITY"),
            )
        for prev, cur in zip(members, members[1:], strict=False):
            a, b_ = rsc_name(prev), rsc_name(cur)
            _set(
                etree.SubElement(cons, "rsc_colocation"),
                ("id", f"col-{b_}-{a}"),
                ("rsc", b_),
                ("with-rsc", a),
                ("score", "INFINITY"),
            )
            _set(
                etree.SubElement(cons, "rsc_order"),
                ("id", f"ord-{a}-{b_}"),
                ("first", a),
                ("then", b_),
                ("kind", "Mandatory"),
            )
    defaults = etree.SubElement(conf, "rsc_defaults")
    meta = etree.SubElement(defaults, "meta_attributes", id="rsc_defaults-meta_attributes")
    _nvpair(meta, "rsc_defaults-meta_attributes", "resource-stickiness", "100")


class _Ops:
    def __init__(self) -> None:
        self.call_id = 0

    def add(
        self,
        parent: etree._Element,
        rid: str,
        params: dict[str, str],
        node: str,
        operation: str,
        interval_ms: int,
        rc: int,
        key_id: str,
    ) -> None:
        self.call_id += 1
        target = 7 if operation == "monitor" and interval_ms == 0 else 0
        append_record(
            parent,
            OpRecord(
                id=key_id,
                rsc=rid,
                operation=operation,
                interval_ms=interval_ms,
                rc=rc,
                call_id=self.call_id,
                node=node,
                transition_key=transition_key(self.call_id % 1000, self.call_id // 1000, target, UUID),
                op_digest=op_digest(params, interval_ms=interval_ms, timeout_ms=OP_TIMEOUT_MS),
                last_rc_change=T0,
                exec_ms=10,
            ),
        )


def _status(cib: etree._Element, nodes: int, resources: int, steady: bool) -> None:
    status = etree.SubElement(cib, "status")
    ops = _Ops()
    for i in range(nodes):
        uname = node_name(i)
        ns = _set(
            etree.SubElement(status, "node_state"),
            ("id", str(i + 1)),
            ("uname", uname),
            ("in_ccm", "true"),
            ("crmd", "online"),
            ("crm-debug-origin", "do_update_resource"),
            ("join", "member"),
            ("expected", "member"),
        )
        lrm = etree.SubElement(ns, "lrm", id=str(i + 1))
        lrm_rscs = etree.SubElement(lrm, "lrm_resources")
        if not steady:
            continue
        for k in range(resources):
            rid = rsc_name(k)
            params = {"fake": f"value-{k + 1}"}
            lr = _set(
                etree.SubElement(lrm_rscs, "lrm_resource"),
                ("id", rid),
                ("class", "ocf"),
                ("provider", "heartbeat"),
                ("type", "Dummy"),
            )
            if preferred_node(k // CHAIN, nodes) == i:
                ops.add(lr, rid, params, uname, "start", 0, 0, f"{rid}_last_0")
                ops.add(
                    lr, rid, params, uname, "monitor", MONITOR_MS, 0, f"{rid}_monitor_{MONITOR_MS}"
                )
            else:
                ops.add(lr, rid, params, uname, "monitor", 0, 7, f"{rid}_last_0")


def generate(nodes: int, resources: int, state: str) -> etree._Element:
    """A synthetic CIB (see the module docstring); ``state`` is "steady" or "fresh"."""
    if state not in ("steady", "fresh"):
        raise ValueError(f"state must be steady or fresh, not {state!r}")
    cib = _set(
        etree.Element("cib"),
        ("crm_feature_set", CRM_FEATURE_SET),
        ("validate-with", "pacemaker-3.8"),
        ("epoch", "10"),
        ("num_updates", "0"),
        ("admin_epoch", "0"),
        ("have-quorum", "1"),
        ("dc-uuid", "1"),
    )
    _configuration(cib, nodes, resources)
    _status(cib, nodes, resources, steady=state == "steady")
    return cib


def write(nodes: int, resources: int, state: str, path: str | Path) -> Path:
    return xmlio.write_file_atomic(generate(nodes, resources, state), path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=8)
    ap.add_argument("--resources", type=int, default=200)
    ap.add_argument("--state", choices=("steady", "fresh"), default="steady")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args(argv)
    print(write(args.nodes, args.resources, args.state, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
