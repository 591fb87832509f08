"""Issue 4 acceptance, end to end on the real corosync: tandemd in lab nodes.

Each module-scoped lab has its own name (dmn2 / dmn3) so that other suites
running at the same time never touch it.  Waiting here is polling for a state
with a generous deadline, never a timing assertion (timings: bench/).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tandem.demo import wait_for as poll_until
from tandem.lab.api import Lab, venv_dir
from tandem.lab.testing import lab_fixture

pytestmark = pytest.mark.lab

TANDEM = str(venv_dir() / "bin" / "tandem")
PY = str(venv_dir() / "bin" / "python")

lab2 = lab_fixture("dmn2", nodes=2, enable_api=False)
lab3 = lab_fixture("dmn3", nodes=3, enable_api=False)


# --------------------------------------------------------------------------- helpers


def host(lab: Lab, *args: str, check: bool = True, timeout: float = 120) -> str:
    """``tandem ARGS`` on the lab host (the multi-node forms)."""
    cp = subprocess.run(
        [TANDEM, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TANDEM_LAB": lab.name},
    )
    if check and cp.returncode != 0:
        raise AssertionError(f"tandem {' '.join(args)} -> {cp.returncode}\n{cp.stdout}{cp.stderr}")
    return cp.stdout + cp.stderr


def node(lab: Lab, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cp = lab.exec(name, [TANDEM, *args], timeout=120)
    if check and cp.returncode != 0:
        raise AssertionError(
            f"{name}: tandem {' '.join(args)} -> {cp.returncode}\n{cp.stdout}{cp.stderr}"
        )
    return cp


def pyexec(lab: Lab, name: str, code: str) -> Any:
    """Run Python inside the node; its last stdout line is JSON."""
    cp = lab.exec(name, [PY, "-c", code], timeout=300)
    assert cp.returncode == 0, f"{name}: {cp.stdout}{cp.stderr}"
    return json.loads(cp.stdout.strip().splitlines()[-1])


def info(lab: Lab, name: str) -> dict[str, Any] | None:
    cp = lab.exec(
        name,
        [
            PY,
            "-c",
            "import json; from tandem.daemon import client; print(json.dumps(client.cluster_info()))",
        ],
        timeout=30,
    )
    if cp.returncode != 0:
        return None
    return json.loads(cp.stdout)


def wait_for(what: str, pred: Callable[[], Any], timeout: float = 60.0) -> Any:
    return poll_until(pred, timeout, what, poll=0.3)


def status(lab: Lab, name: str) -> str:
    return node(lab, name, "status").stdout


def online_line(text: str) -> str:
    m = re.search(r"^\s*\* Online: \[ (.*) \]$", text, re.M)
    return m.group(1) if m else ""


def dc_line(text: str) -> str:
    m = re.search(r"^\s*\* Current DC: (.*)$", text, re.M)
    return m.group(1) if m else ""


def all_agree(lab: Lab, names: list[str], online: list[str]) -> bool:
    """Every node in ``names`` shows exactly ``online`` Online and the same DC line."""
    lines = set()
    for n in names:
        cp = node(lab, n, "status", check=False)
        if cp.returncode != 0 or online_line(cp.stdout) != " ".join(online):
            return False
        lines.add(dc_line(cp.stdout))
    return len(lines) == 1 and "NONE" not in next(iter(lines))


SUMMARY = (
    "import json; from lxml import etree; from tandem.daemon import client, cibops\n"
    "r = etree.fromstring(client.get_cib_xml().encode())\n"
    "a, e, _ = cibops.version_of(r)\n"
    "ids = [p.get('id') for p in r.iterfind('configuration/resources/primitive')]\n"
    "ids += [p.get('id') for p in r.iterfind('configuration/rsc_defaults/meta_attributes/nvpair')]\n"
    "print(json.dumps([f'{a}:{e}', cibops.config_digest(r), ids]))\n"
)


def cib_summary(lab: Lab, name: str) -> tuple[str, str, tuple[str, ...]]:
    """(admin_epoch:epoch, configuration digest, ids of resources then of rsc_defaults
    nvpairs, in document order)."""
    version, digest, ids = pyexec(lab, name, SUMMARY)
    return version, digest, tuple(ids)


def apply(lab: Lab, name: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
    return pyexec(
        lab,
        name,
        f"import json; from tandem.daemon import client; print(json.dumps(client.apply({ops!r})))",
    )


def dummy(rid: str) -> list[dict[str, str]]:
    return [
        {
            "op": "create",
            "parent": "resources",
            "xml": f'<primitive id="{rid}" class="ocf" provider="heartbeat" type="Dummy"/>',
        }
    ]


def fencing_off(lab: Lab, name: str) -> None:
    apply(
        lab,
        name,
        [
            {
                "op": "modify",
                "parent": "crm_config",
                "xml": '<cluster_property_set id="cib-bootstrap-options"><nvpair '
                'id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" '
                'value="false"/></cluster_property_set>',
            }
        ],
    )


def setup_and_start(lab: Lab) -> None:
    names = lab.nodes
    host(lab, "cluster", "setup", "--name", "mycluster", *names)
    host(lab, "cluster", "start", "--all", "--wait=60")
    wait_for("all nodes Online with the same DC", lambda: all_agree(lab, names, names))


# --------------------------------------------------------------------------- two nodes


@pytest.fixture(scope="module")
def two(lab2: Lab) -> Lab:
    setup_and_start(lab2)
    return lab2


def test_two_nodes_start_all_online_same_dc(two: Lab) -> None:
    for n in two.nodes:
        text = status(two, n)
        assert text.startswith("Cluster name: mycluster\n")
        assert "* Stack: corosync" in text
        assert "- partition with quorum" in dc_line(text)
        assert re.search(r"^  corosync: active/disabled$", text, re.M)
        assert re.search(r"^  tandemd: active/disabled$", text, re.M)


def test_inside_a_node_other_nodes_go_through_the_api(two: Lab) -> None:
    # this lab runs no tandemd-api and no host was authorized: one clear line, exit 1
    cp = node(two, "pcmk-1", "cluster", "stop", "pcmk-2", check=False)
    assert cp.returncode == 1
    assert cp.stderr == "Error: pcmk-2: not authenticated, run 'tandem host auth pcmk-2' first\n"
    assert "Online: [ pcmk-1 pcmk-2 ]" in status(two, "pcmk-2")  # nothing was stopped


def test_change_on_any_node_is_visible_everywhere(two: Lab) -> None:
    apply(two, "pcmk-2", dummy("FromTwo"))
    apply(two, "pcmk-1", dummy("FromOne"))
    a, b = cib_summary(two, "pcmk-1"), cib_summary(two, "pcmk-2")
    assert a == b
    assert {"FromOne", "FromTwo"} <= set(a[2])


def test_200_concurrent_changes_from_two_nodes_same_order(two: Lab) -> None:
    # 200 small configuration changes (resource defaults: no resource to probe or start)
    apply(
        two,
        "pcmk-1",
        [{"op": "create", "parent": "/cib/configuration", "xml": "<rsc_defaults/>"}],
    )
    apply(
        two,
        "pcmk-1",
        [{"op": "create", "parent": "rsc_defaults", "xml": '<meta_attributes id="conc"/>'}],
    )
    script = (
        "import json, sys, time; from concurrent.futures import ThreadPoolExecutor\n"
        "from tandem.daemon import client\n"
        "p = sys.argv[1]\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # both fire at once\n"
        "ops = lambda i: [{'op': 'create', 'parent': \"//meta_attributes[@id='conc']\", 'xml': "
        'f\'<nvpair id="{p}{i}" name="{p}{i}" value="{i}"/>\'}]\n'
        "with ThreadPoolExecutor(8) as ex: res = list(ex.map(lambda i: client.apply(ops(i)), range(100)))\n"
        "print(json.dumps(len(res)))\n"
    )
    go = f"{time.time() + 3:.3f}"
    procs = [
        two.spawn(
            n,
            [PY, "-c", script, f"c{n[-1]}x", go],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in ("pcmk-1", "pcmk-2")
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    a, b = cib_summary(two, "pcmk-1"), cib_summary(two, "pcmk-2")
    assert a == b  # same version, same digest, same order
    landed = [r for r in a[2] if r.startswith(("c1x", "c2x"))]
    assert len(landed) == 200
    assert {r[:3] for r in landed} == {"c1x", "c2x"}


def test_crash_of_one_of_two_survivor_keeps_quorum(two: Lab) -> None:
    fencing_off(two, "pcmk-1")
    two.crash("pcmk-1")

    def survivor_sees_it_offline() -> bool:
        text = status(two, "pcmk-2")
        return (
            "OFFLINE: [ pcmk-1 ]" in text
            and online_line(text) == "pcmk-2"
            and "pcmk-2 (version" in dc_line(text)
            and "partition with quorum" in dc_line(text)
        )

    wait_for("pcmk-2 to see pcmk-1 OFFLINE and keep quorum", survivor_sees_it_offline)
    two.boot("pcmk-1")
    host(two, "cluster", "start", "pcmk-1", "--wait=60")
    wait_for("both back", lambda: all_agree(two, two.nodes, two.nodes))


def test_stop_of_the_dc_moves_the_dc(two: Lab) -> None:
    dc = dc_line(status(two, "pcmk-1")).split(" ")[0]
    other = "pcmk-2" if dc == "pcmk-1" else "pcmk-1"
    out = host(two, "cluster", "stop", dc)
    assert f"{dc}: Stopping Cluster (tandemd)..." in out
    assert f"{dc}: Stopping Cluster (corosync)..." in out
    wait_for(
        f"{other} to be DC with {dc} OFFLINE",
        lambda: (
            dc_line(t := status(two, other)).startswith(f"{other} (version")
            and f"OFFLINE: [ {dc} ]" in t
        ),
    )
    cp = node(two, dc, "status", check=False)
    assert cp.returncode == 1
    assert cp.stderr.strip() == "Error: cluster is not currently running on this node"
    host(two, "cluster", "start", dc, "--wait=60")
    wait_for("both back", lambda: all_agree(two, two.nodes, two.nodes))


def test_changes_while_a_node_is_down_reach_it(two: Lab) -> None:
    host(two, "cluster", "stop", "pcmk-2")
    apply(two, "pcmk-1", dummy("WhileDown"))
    host(two, "cluster", "start", "pcmk-2", "--wait=60")
    wait_for("pcmk-2 to have WhileDown", lambda: "WhileDown" in cib_summary(two, "pcmk-2")[2])
    assert cib_summary(two, "pcmk-1") == cib_summary(two, "pcmk-2")


def test_stop_all_start_again_cib_intact(two: Lab) -> None:
    before = cib_summary(two, "pcmk-1")
    host(two, "cluster", "stop", "--all")
    for n in two.nodes:
        assert node(two, n, "status", check=False).returncode == 1
    host(two, "cluster", "start", "--all", "--wait=60")
    wait_for("both back", lambda: all_agree(two, two.nodes, two.nodes))
    assert cib_summary(two, "pcmk-1") == before == cib_summary(two, "pcmk-2")


def test_corrupted_file_takes_the_clusters_copy(two: Lab) -> None:
    good = cib_summary(two, "pcmk-1")
    host(two, "cluster", "stop", "pcmk-2")
    path = two.node_path("pcmk-2", "/var/lib/tandem/cib/cib.xml")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    host(two, "cluster", "start", "pcmk-2", "--wait=60")
    assert cib_summary(two, "pcmk-2") == good
    log = two.node_path("pcmk-2", "/var/log/tandem/tandemd.log").read_text()
    assert "does not match its digest" in log
    import hashlib

    fixed = path.read_bytes()
    sig = Path(f"{path}.sig").read_text().strip()
    assert hashlib.sha256(fixed).hexdigest() == sig


def test_corrupted_file_alone_refuses_to_start(two: Lab) -> None:
    host(two, "cluster", "stop", "--all")
    path = two.node_path("pcmk-1", "/var/lib/tandem/cib/cib.xml")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    cp = node(two, "pcmk-1", "cluster", "start", "--wait=30", check=False)
    assert cp.returncode == 1
    assert "tandemd stopped" in cp.stderr and "refusing to start" in cp.stderr
    log = two.node_path("pcmk-1", "/var/log/tandem/tandemd.log").read_text()
    assert "refusing to start" in log
    # nothing was lost: the previous version is still beside it
    backups = sorted(path.parent.glob("cib-*.xml"))
    assert backups
    node(two, "pcmk-1", "cluster", "stop")
    # with pcmk-2 (good copy) running, pcmk-1 takes its copy
    host(two, "cluster", "start", "--all", "--wait=60")
    wait_for("both back", lambda: all_agree(two, two.nodes, two.nodes))
    assert cib_summary(two, "pcmk-1") == cib_summary(two, "pcmk-2")


def test_enabled_node_rejoins_by_itself_after_boot(two: Lab) -> None:
    out = host(two, "cluster", "enable", "pcmk-2")
    assert "pcmk-2: Cluster Enabled" in out
    assert "tandemd: active/enabled" in status(two, "pcmk-2")
    assert "tandemd: active/disabled" in status(two, "pcmk-1")
    two.crash("pcmk-2")
    two.boot("pcmk-2")  # the node init runs `tandem cluster start` (marker present)
    wait_for("pcmk-2 back without a start command", lambda: all_agree(two, two.nodes, two.nodes))
    host(two, "cluster", "disable", "--all")
    assert "tandemd: active/disabled" in status(two, "pcmk-2")


def test_setup_refuses_a_running_cluster_and_destroys_the_old_cib(two: Lab) -> None:
    out = host(two, "cluster", "setup", "--name", "other", *two.nodes, check=False)
    assert "the cluster is running there; stop it first" in out
    host(two, "cluster", "stop", "--all")
    out = host(two, "cluster", "setup", "--name", "other", *two.nodes)
    assert "Cluster has been successfully set up." in out
    assert not two.node_path("pcmk-1", "/var/lib/tandem/cib/cib.xml").exists()
    out = host(two, "cluster", "start", "--all", "--wait=60")
    assert "pcmk-1: Started" in out
    wait_for("both in the new cluster", lambda: all_agree(two, two.nodes, two.nodes))
    text = status(two, "pcmk-2")
    assert text.startswith("Cluster name: other\n")
    assert cib_summary(two, "pcmk-1")[2] == ()  # no resource from the old cluster


# --------------------------------------------------------------------------- three nodes


@pytest.fixture(scope="module")
def three(lab3: Lab) -> Lab:
    setup_and_start(lab3)
    fencing_off(lab3, "pcmk-2")
    return lab3


def test_three_nodes_start_all_online_same_dc(three: Lab) -> None:
    assert all_agree(three, three.nodes, three.nodes)


def test_partition_one_of_three_loses_quorum_then_heal(three: Lab) -> None:
    three.partition(["pcmk-3"])

    def split() -> bool:
        t3, t1, t2 = (status(three, n) for n in ("pcmk-3", "pcmk-1", "pcmk-2"))
        return (
            "partition WITHOUT quorum" in dc_line(t3)
            and online_line(t3) == "pcmk-3"
            and all("partition with quorum" in dc_line(t) for t in (t1, t2))
            and all(online_line(t) == "pcmk-1 pcmk-2" for t in (t1, t2))
        )

    wait_for("pcmk-3 cut off without quorum, the others with", split)
    apply(three, "pcmk-1", dummy("DuringSplit"))
    three.heal()
    wait_for("all agree after heal", lambda: all_agree(three, three.nodes, three.nodes))
    assert "DuringSplit" in cib_summary(three, "pcmk-3")[2]
    assert len({cib_summary(three, n) for n in three.nodes}) == 1


def test_crash_one_of_three_two_keep_quorum(three: Lab) -> None:
    three.crash("pcmk-3")

    def two_left() -> bool:
        return all(
            "partition with quorum" in dc_line(t := status(three, n)) and "OFFLINE: [ pcmk-3 ]" in t
            for n in ("pcmk-1", "pcmk-2")
        )

    wait_for("the two to keep quorum with pcmk-3 OFFLINE", two_left)
    three.boot("pcmk-3")
    host(three, "cluster", "start", "pcmk-3", "--wait=60")
    wait_for("all back", lambda: all_agree(three, three.nodes, three.nodes))


def test_stop_of_the_dc_of_three(three: Lab) -> None:
    host(three, "cluster", "stop", "pcmk-1")
    wait_for(
        "pcmk-2 DC with pcmk-1 OFFLINE on both others",
        lambda: all(
            dc_line(t := status(three, n)).startswith("pcmk-2 (version")
            and "OFFLINE: [ pcmk-1 ]" in t
            for n in ("pcmk-2", "pcmk-3")
        ),
    )
    host(three, "cluster", "start", "pcmk-1", "--wait=60")
    wait_for("all back", lambda: all_agree(three, three.nodes, three.nodes))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))


def test_cib_show_and_push_through_the_cli(three: Lab) -> None:
    from lxml import etree

    xml = node(three, "pcmk-2", "cib", "show").stdout
    assert xml.startswith("<cib ")
    root = etree.fromstring(xml.encode())
    etree.SubElement(
        root.find("configuration/resources"),
        "primitive",
        id="Pushed",
        **{"class": "ocf", "provider": "heartbeat", "type": "Dummy"},
    )
    tmp = three.node_path("pcmk-2", "/var/lib/tandem/pushed.xml")
    tmp.write_bytes(etree.tostring(root))
    out = node(three, "pcmk-2", "cib", "push", "/var/lib/tandem/pushed.xml").stdout
    assert out.startswith("CIB updated (version ")
    wait_for("pcmk-3 to have Pushed", lambda: "Pushed" in cib_summary(three, "pcmk-3")[2])
    # with the controller in tandemd (fencing off), the pushed resource gets started
    wait_for(
        "Pushed to be Started (status on pcmk-3)",
        lambda: re.search(
            r"^  \* Pushed\t\(ocf:heartbeat:Dummy\):\t Started pcmk-\d$",
            status(three, "pcmk-3"),
            re.M,
        ),
    )
    etree.SubElement(
        root.find("configuration/constraints"),
        "rsc_location",
        id="l-nope",
        rsc="nope",
        node="pcmk-1",
        score="1",
    )
    tmp.write_bytes(etree.tostring(root))
    before = cib_summary(three, "pcmk-1")
    cp = node(three, "pcmk-2", "cib", "push", "/var/lib/tandem/pushed.xml", check=False)
    assert cp.returncode == 1 and cp.stderr.startswith("Error: ")
    assert "nope" in cp.stderr
    assert cib_summary(three, "pcmk-1") == before
