"""Pure parts of the lab: names, addresses, files, nft rules, state record."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from tandem.errors import LabError
from tandem.lab import plan as P
from tandem.lab.state import LabDir, LabRecord, NodeRecord


def test_addresses_names_and_namespaces() -> None:
    plan = P.make_plan("mine", nodes=3, prefix="pcmk-", subnet="192.0.2.0/24")
    assert plan.node_names == ["pcmk-1", "pcmk-2", "pcmk-3"]
    assert [n.address for n in plan.nodes] == ["192.0.2.101", "192.0.2.102", "192.0.2.103"]
    assert plan.host_address == "192.0.2.1"
    assert plan.host_netns == "tandem-mine-host"
    assert plan.node("pcmk-2").netns == "tandem-mine-pcmk-2"
    assert plan.node("pcmk-2").cgroup == "tandem-lab/mine/pcmk-2"
    # Host-side veth names fit the kernel's 15-character limit whatever the prefix.
    long = P.make_plan("x", nodes=32, prefix="a-very-long-node-name-prefix-")
    assert all(len(n.veth) <= 15 for n in long.nodes)
    assert len({n.veth for n in long.nodes}) == 32


def test_other_subnet() -> None:
    plan = P.make_plan("t", nodes=2, subnet="10.1.2.0/24")
    assert [n.address for n in plan.nodes] == ["10.1.2.101", "10.1.2.102"]
    assert plan.host_address == "10.1.2.1"
    assert plan.prefixlen == 24


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"name": "Bad Name"}, "LAB_BAD_NAME"),
        ({"name": ""}, "LAB_BAD_NAME"),
        ({"nodes": 0}, "LAB_BAD_NODE_COUNT"),
        ({"nodes": P.MAX_NODES + 1}, "LAB_BAD_NODE_COUNT"),
        ({"subnet": "not-a-net"}, "LAB_BAD_SUBNET"),
        ({"subnet": "192.0.2.0/25"}, "LAB_BAD_SUBNET"),
        ({"subnet": "2001:db8::/64"}, "LAB_BAD_SUBNET"),
        ({"prefix": "Node_"}, "LAB_BAD_PREFIX"),
    ],
)
def test_invalid_parameters_are_refused(kwargs: dict, code: str) -> None:
    with pytest.raises(LabError) as exc:
        P.make_plan(**kwargs)
    assert exc.value.code == code


def test_unknown_node_names_the_known_ones() -> None:
    plan = P.make_plan("t", nodes=2)
    with pytest.raises(LabError, match=r"no node 'pcmk-9' \(its nodes: pcmk-1, pcmk-2\)"):
        plan.node("pcmk-9")


def test_hosts_file_maps_every_node_to_its_cluster_address() -> None:
    plan = P.make_plan("t", nodes=3)
    text = P.hosts_file(plan)
    entries = {}
    for line in text.splitlines():
        addr, *names = line.split()
        for n in names:
            entries.setdefault(n, addr)
    for n in plan.nodes:
        assert entries[n.name] == n.address
    assert "127.0.1.1" not in text
    assert entries["localhost"] == "127.0.0.1"


def test_partition_sides_and_validation() -> None:
    plan = P.make_plan("t", nodes=3)
    assert P.partition_sides(plan, ["pcmk-3", "pcmk-1"]) == (["pcmk-1", "pcmk-3"], ["pcmk-2"])
    with pytest.raises(LabError, match="at least one node"):
        P.partition_sides(plan, [])
    with pytest.raises(LabError, match="same side"):
        P.partition_sides(plan, ["pcmk-1", "pcmk-2", "pcmk-3"])
    with pytest.raises(LabError, match="no node 'pcmk-4'"):
        P.partition_sides(plan, ["pcmk-4"])


def test_nft_partition_drops_both_directions_between_sides_only() -> None:
    plan = P.make_plan("t", nodes=3)
    script = P.nft_partition_script(plan, ["pcmk-1"], ["pcmk-2", "pcmk-3"])
    assert "iifname { vn1 } oifname { vn2, vn3 } drop" in script
    assert "iifname { vn2, vn3 } oifname { vn1 } drop" in script
    assert "hook forward" in script  # bridged frames only: the lab host's own traffic passes
    # The new ruleset replaces the old one atomically: create-if-missing, delete, recreate.
    lines = script.splitlines()
    assert lines[0] == "table bridge tandem_lab {}"
    assert lines[1] == "delete table bridge tandem_lab"
    assert P.nft_heal_script().splitlines() == lines[:2]


def test_node_links_are_created_inside_the_lab_host() -> None:
    plan = P.make_plan("t", nodes=2)
    host, inside = P.node_link_commands(plan, plan.node("pcmk-2"))
    assert host[0].startswith("link add vn2 type veth peer name eth0 address ")
    assert host[0].endswith("netns tandem-t-pcmk-2")
    assert "link set vn2 master br0" in host
    assert "addr add 192.0.2.102/24 dev eth0" in inside
    assert "link set lo up" in inside


def test_bridge_has_a_fixed_mac_distinct_from_nodes() -> None:
    plan = P.make_plan("t", nodes=2)
    cmds = P.host_setup_commands(plan)
    assert f"link add br0 address {P.node_mac('t', 0)} type bridge" in cmds[1]
    assert P.node_mac("t", 0) not in {P.node_mac("t", n.index) for n in plan.nodes}


def test_node_mac_is_stable_unicast_and_distinct() -> None:
    a1, a2 = P.node_mac("a", 1), P.node_mac("a", 2)
    assert a1 == P.node_mac("a", 1)
    assert len({a1, a2, P.node_mac("b", 1)}) == 3
    first = int(a1.split(":")[0], 16)
    assert first & 1 == 0 and first & 2 == 2  # unicast, locally administered


def test_cgroup2_mount_found_in_mounts() -> None:
    hybrid = (
        "tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
        "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
        "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
    )
    assert P.cgroup2_mount(hybrid) == "/sys/fs/cgroup/unified"
    assert P.cgroup2_mount("cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n") == "/sys/fs/cgroup"
    assert P.cgroup2_mount("cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n") is None


def test_paths_hidden_by_private_folders_are_bound_back() -> None:
    keep = ["/work/main", "/tmp/ci/checkout", "/run/user/ci/checkout", "/var/log/x/.venv",
            "/var/lib/tandem-lab/t", "/var/lib/tandem/x"]
    assert P.masked_keep_paths(keep) == ["/run/user/ci/checkout", "/var/log/x/.venv",
                                         "/var/lib/tandem/x"]
    assert P.is_under("/var/log", "/var/log")
    assert not P.is_under("/var/logs", "/var/log")


def test_state_record_round_trip_and_atomic_save(tmp_path: Path) -> None:
    d = LabDir("t", root=tmp_path)
    assert d.load() is None
    rec = LabRecord("t", "pcmk-", "192.0.2.0/24", 3, phase="up", partition=["pcmk-1"])
    rec.node_state["pcmk-1"] = NodeRecord(pid=123, starttime=456)
    rec.node_state["pcmk-2"] = NodeRecord()
    d.save(rec)
    back = d.load()
    assert back is not None
    assert back.to_json() == rec.to_json()
    assert back.node_state["pcmk-1"].pid == 123
    assert not list(tmp_path.glob("t/*.tmp"))
    assert d.persist_root("pcmk-1") == tmp_path / "t" / "nodes" / "pcmk-1" / "root"


def test_addresses_stay_inside_the_subnet() -> None:
    plan = P.make_plan("t", nodes=P.MAX_NODES, subnet="198.51.100.0/24")
    net = ipaddress.ip_network(plan.subnet)
    assert all(ipaddress.ip_address(n.address) in net for n in plan.nodes)
