"""Pure planning for the namespace lab: names, addresses, files and rules.

Why a separate pure module: everything the lab *decides* (which names a lab
uses, which address a node gets, what its hosts file says, which nftables
ruleset realises a partition, which folders are private) is computed here
without touching the system, so it is unit-tested in milliseconds and the
code that runs ``ip``/``nft``/``mount`` only carries these plans out.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tandem.errors import LabError, error

DEFAULT_LAB = "tandem"
DEFAULT_PREFIX = "pcmk-"
DEFAULT_SUBNET = "192.0.2.0/24"
DEFAULT_NODES = 2
MAX_NODES = 32

#: Folders that are private to each node and survive crash/boot (kept in the
#: lab's state directory).  Order matters: parents before children.
PERSISTENT_DIRS: tuple[str, ...] = (
    "/etc/corosync",
    "/etc/tandem",
    "/var/lib/corosync",
    "/var/lib/pacemaker",
    "/var/lib/tandem",
    "/var/log",
    "/var/www/html",
)

#: Folders that are private to each node and fresh (tmpfs) at every boot.
FRESH_DIRS: tuple[str, ...] = ("/run", "/dev/shm")

#: Sub-folders created in each node's persistent /var/log (apache and corosync
#: refuse to start without theirs; the boot log goes in tandem/; Debian's
#: Pacemaker, run side by side by bench/failover_pacemaker.py, logs in pacemaker/).
LOG_SUBDIRS: tuple[str, ...] = ("apache2", "corosync", "pacemaker", "tandem")

#: Marker files under /etc/tandem/enabled read by the node's init at boot.
ENABLED_API = "api"
ENABLED_CLUSTER = "cluster"

#: /etc/resolv.conf inside nodes.  The machine's DNS server is unreachable from
#: the lab (nothing routes out), so every lookup of a name missing from the
#: hosts file would hang for the resolver's timeouts; with no nameserver line
#: glibc asks 127.0.0.1, which refuses at once.
RESOLV_CONF = "# tandem lab node: no DNS server; names come from /etc/hosts\n"

_LAB_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")
_NODE_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
BRIDGE = "br0"
NFT_TABLE = "tandem_lab"


@dataclass(frozen=True)
class NodePlan:
    """One node: its name, index (1-based), address and the names it uses."""

    name: str
    index: int
    address: str
    netns: str
    veth: str  # host-side end, inside the lab-host namespace
    cgroup: str  # relative to the cgroup2 mount


@dataclass(frozen=True)
class LabPlan:
    """The complete, validated layout of one lab."""

    name: str
    prefix: str
    subnet: str
    prefixlen: int
    host_address: str
    host_netns: str
    nodes: tuple[NodePlan, ...] = field(default_factory=tuple)

    def node(self, name: str) -> NodePlan:
        for n in self.nodes:
            if n.name == name:
                return n
        known = ", ".join(n.name for n in self.nodes) or "none"
        raise LabError(
            error(
                "LAB_NO_SUCH_NODE",
                f"lab '{self.name}' has no node '{name}' (its nodes: {known})",
                lab=self.name,
                node=name,
            )
        )

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "prefix": self.prefix, "subnet": self.subnet,
                "nodes": len(self.nodes)}


def validate_lab_name(name: str) -> str:
    if not _LAB_NAME.match(name):
        raise LabError(
            error(
                "LAB_BAD_NAME",
                f"invalid lab name '{name}': use 1-24 lowercase letters, digits, '-' or '_', "
                "starting with a letter or digit",
                lab=name,
            )
        )
    return name


def make_plan(
    name: str = DEFAULT_LAB,
    nodes: int = DEFAULT_NODES,
    prefix: str = DEFAULT_PREFIX,
    subnet: str = DEFAULT_SUBNET,
) -> LabPlan:
    """Validate the parameters of ``lab up`` and compute every name and address.

    Nodes get addresses .101, .102, ... of the subnet and the lab host .1, as
    the walkthrough's pcmk-1 / pcmk-2 layout expects.
    """
    validate_lab_name(name)
    if not _NODE_PREFIX.match(prefix):
        raise LabError(
            error("LAB_BAD_PREFIX",
                  f"invalid node prefix '{prefix}': use lowercase letters, digits and '-', "
                  "starting with a letter", prefix=prefix)
        )
    if not 1 <= nodes <= MAX_NODES:
        raise LabError(
            error("LAB_BAD_NODE_COUNT",
                  f"a lab has 1 to {MAX_NODES} nodes, not {nodes}", nodes=nodes)
        )
    try:
        net = ipaddress.ip_network(subnet, strict=False)
    except ValueError as exc:
        raise LabError(
            error("LAB_BAD_SUBNET", f"invalid subnet '{subnet}': {exc}", subnet=subnet)
        ) from None
    if net.version != 4 or net.num_addresses < 256:
        raise LabError(
            error("LAB_BAD_SUBNET",
                  f"subnet '{subnet}' must be IPv4 and at least a /24 (nodes use .101 upwards)",
                  subnet=subnet)
        )
    base = net.network_address
    plans = []
    for i in range(1, nodes + 1):
        node = f"{prefix}{i}"
        plans.append(
            NodePlan(
                name=node,
                index=i,
                address=str(base + 100 + i),
                netns=f"tandem-{name}-{node}",
                veth=f"vn{i}",
                cgroup=f"tandem-lab/{name}/{node}",
            )
        )
    return LabPlan(
        name=name,
        prefix=prefix,
        subnet=str(net),
        prefixlen=net.prefixlen,
        host_address=str(base + 1),
        host_netns=f"tandem-{name}-host",
        nodes=tuple(plans),
    )


def hosts_file(plan: LabPlan) -> str:
    """The /etc/hosts of every node: each node name resolves to its cluster address.

    Deliberately no ``127.0.1.1 NODE`` line (Debian's default), which would make
    corosync and pcs-style tools pick the loopback address for the node.
    """
    lines = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
        f"{plan.host_address}\tlabhost",
    ]
    lines += [f"{n.address}\t{n.name}" for n in plan.nodes]
    return "\n".join(lines) + "\n"


def partition_sides(plan: LabPlan, side: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split the lab's nodes into the listed side and the rest, validating names."""
    wanted = list(dict.fromkeys(side))
    if not wanted:
        raise LabError(error("LAB_BAD_PARTITION", "name at least one node to partition off"))
    for name in wanted:
        plan.node(name)  # raises on unknown names
    other = [n for n in plan.node_names if n not in wanted]
    if not other:
        raise LabError(
            error("LAB_BAD_PARTITION",
                  "every node is on the same side, nothing would be cut; "
                  "name only the nodes of one side", nodes=wanted)
        )
    ordered = [n for n in plan.node_names if n in wanted]
    return ordered, other


def nft_partition_script(plan: LabPlan, side_a: Sequence[str], side_b: Sequence[str]) -> str:
    """An atomic ``nft -f`` script dropping every frame bridged between the two sides.

    The rules match bridge ports (the host-side veths), so they cut any
    traffic, virtual IPs and ARP included, while frames to or from the lab
    host's own bridge address (input/output, not forward) still pass.  The
    script first (re)creates then deletes the table, so a new partition
    replaces the previous one in one transaction.
    """
    a = ", ".join(plan.node(n).veth for n in side_a)
    b = ", ".join(plan.node(n).veth for n in side_b)
    return (
        f"table bridge {NFT_TABLE} {{}}\n"
        f"delete table bridge {NFT_TABLE}\n"
        f"table bridge {NFT_TABLE} {{\n"
        "  chain forward {\n"
        "    type filter hook forward priority 0; policy accept;\n"
        f"    iifname {{ {a} }} oifname {{ {b} }} drop\n"
        f"    iifname {{ {b} }} oifname {{ {a} }} drop\n"
        "  }\n"
        "}\n"
    )


def nft_heal_script() -> str:
    """Remove the partition table if there is one (idempotent)."""
    return f"table bridge {NFT_TABLE} {{}}\ndelete table bridge {NFT_TABLE}\n"


def host_setup_commands(plan: LabPlan) -> list[str]:
    """``ip -batch`` lines run inside the lab-host namespace at ``up``."""
    return [
        "link set lo up",
        # A fixed MAC: by default a bridge takes its ports' lowest MAC, which
        # would change when a node's veth is recreated at boot and leave stale
        # ARP entries for the lab host in every node.
        f"link add {BRIDGE} address {node_mac(plan.name, 0)} type bridge stp_state 0 "
        "forward_delay 0",
        f"addr add {plan.host_address}/{plan.prefixlen} dev {BRIDGE}",
        f"link set {BRIDGE} up",
    ]


def node_link_commands(plan: LabPlan, node: NodePlan) -> tuple[list[str], list[str]]:
    """``ip -batch`` lines (lab-host side, node side) that give a node its eth0.

    The veth is created inside the lab host with its peer moved straight into
    the node's namespace, so nothing ever appears in the root namespace.
    """
    host = [
        f"link add {node.veth} type veth peer name eth0 address {node_mac(plan.name, node.index)}"
        f" netns {node.netns}",
        f"link set {node.veth} master {BRIDGE}",
        f"link set {node.veth} up",
    ]
    inside = [
        "link set lo up",
        f"addr add {node.address}/{plan.prefixlen} dev eth0",
        "link set eth0 up",
        f"route add default via {plan.host_address} dev eth0",
    ]
    return host, inside


def node_mac(lab: str, index: int) -> str:
    """A stable, locally administered MAC for a node's eth0.

    Stable across crash/boot like a container's configured hwaddr: otherwise
    the peers' ARP caches keep the old MAC and the rebooted node stays
    unreachable for seconds.  Different labs get different MACs.
    """
    h = hashlib.sha256(lab.encode()).digest()
    octets = [0x02, 0x54, h[0], h[1], h[2], index & 0xFF]
    return ":".join(f"{o:02x}" for o in octets)


def cgroup2_mount(mounts_text: str) -> str | None:
    """The mount point of the cgroup2 hierarchy from /proc/self/mounts text.

    /sys/fs/cgroup on a plain Debian 12, /sys/fs/cgroup/unified on hybrid
    machines such as this one.
    """
    for line in mounts_text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "cgroup2":
            return parts[1].replace("\\040", " ")
    return None


def is_under(path: str, parent: str) -> bool:
    """True when ``path`` is ``parent`` or inside it (both absolute, normalised)."""
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def masked_keep_paths(keep: Iterable[str]) -> list[str]:
    """Paths that must stay visible in nodes but sit under a folder made private.

    The node's init re-binds them from the host view (e.g. a checkout cloned
    under /run or /var/log would otherwise vanish inside nodes).
    """
    private = PERSISTENT_DIRS + FRESH_DIRS
    out = []
    for p in keep:
        if any(is_under(p, d) for d in private) and p not in out:
            out.append(p)
    return out
