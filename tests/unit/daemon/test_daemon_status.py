"""`tandem status` rendering of what the daemon writes (membership -> node list)."""

from __future__ import annotations

import pytest

from tandem.cli.status import render_status
from tandem.daemon.sim import SimCluster

NODES = {1: "pcmk-1", 2: "pcmk-2", 3: "pcmk-3"}
FENCING_OFF = [
    {
        "op": "create",
        "parent": "crm_config",
        "xml": '<cluster_property_set id="o"><nvpair id="o-se" name="stonith-enabled" '
        'value="false"/></cluster_property_set>',
    }
]


def _status(sim: SimCluster, n: int) -> str:
    return render_status(sim.cib(n), sim.info(n), 1_764_000_000.0)


@pytest.mark.parametrize(
    ("fencing", "how", "expected"),
    [
        (True, "crash", "  * Node pcmk-2: UNCLEAN (offline)"),
        (False, "crash", "  * OFFLINE: [ pcmk-2 ]"),
        (True, "stop", "  * OFFLINE: [ pcmk-2 ]"),
    ],
)
def test_lost_node_is_unclean_only_with_fencing_and_without_clean_leave(
    fencing: bool, how: str, expected: str
) -> None:
    sim = SimCluster(NODES)
    sim.start_all()
    sim.settle()
    if not fencing:
        assert sim.request(1, "apply", ops=FENCING_OFF).ok
    if how == "crash":
        sim.crash(2)
        sim.settle()
    else:
        sim.stop(2)
    text = _status(sim, 1).splitlines()
    assert expected in text
    assert "  * Online: [ pcmk-1 pcmk-3 ]" in text


def test_summary_names_dc_quorum_and_counts() -> None:
    sim = SimCluster(NODES)
    sim.start_all()
    sim.settle()
    sim.partition([3])
    sim.settle()
    lines3 = _status(sim, 3).splitlines()
    lines1 = _status(sim, 1).splitlines()
    assert lines1[:3] == [
        "Cluster Summary:",
        "  * Stack: corosync",
        "  * Current DC: pcmk-1 (version tandem-0.1.0) - partition with quorum",
    ]
    assert "  * Current DC: pcmk-3 (version tandem-0.1.0) - partition WITHOUT quorum" in lines3
    assert "  * 3 nodes configured" in lines1
    assert "  * 0 resource instances configured" in lines1
    assert lines1[-2:] == ["Full List of Resources:", "  * No resources"]


def test_warnings_as_pcs_status_gives_them() -> None:
    from lxml import etree

    from tandem.cli.status import warning_lines

    def cib(conf: str) -> etree._Element:
        return etree.fromstring(f"<cib><configuration>{conf}</configuration><status/></cib>")

    bare = "<crm_config/><resources/><constraints/>"
    assert warning_lines(cib(bare)) == ["No stonith devices and stonith-enabled is not false"]
    off = (
        '<crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" '
        'value="false"/></cluster_property_set></crm_config><resources/><constraints>'
        '<rsc_location id="cli-ban-B-on-n1" rsc="B" node="n1" score="-INFINITY"/>'
        '<rsc_location id="cli-prefer-A" rsc="A" node="n1" score="INFINITY"/>'
        '<rsc_location id="loc-C" rsc="C" node="n1" score="10"/></constraints>'
    )
    lines = warning_lines(cib(off))
    assert lines[0].endswith("still in place: 'A', 'B'")
    assert "tandem resource clear" in lines[1] and len(lines) == 2
    with_device = '<crm_config/><resources><primitive id="f" class="stonith" type="fence_x"/></resources><constraints/>'
    assert warning_lines(cib(with_device)) == []
