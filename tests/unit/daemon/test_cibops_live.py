"""The in-place status path (``cibops.apply_ops_live`` / ``check_ops``) against the copying one.

``apply_ops`` (copy, apply, compare) is the reference: for every batch the live
path must give the same tree and the same error, leave the CIB untouched when it
refuses, and move the version the same way when the status really changed.
Batches are built from the controller's own record builders (what failovers
send) plus random corruptions, so the comparison covers the real shapes.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from tandem.agents.ocf import AgentSpec
from tandem.daemon import cibops
from tandem.daemon.controller import status as cst
from tandem.errors import CibError

SPEC = AgentSpec("ocf", "Dummy", "heartbeat")
NODES = [("1", "pcmk-1"), ("2", "pcmk-2"), ("3", "pcmk-3")]
RSCS = ["A", "B", "C"]


def _record(rsc: str, op: str, interval: int, rc: int, call: int) -> etree._Element:
    rid = f"{rsc}_last_0" if interval == 0 else f"{rsc}_monitor_{interval}"
    return etree.Element(
        "lrm_rsc_op",
        {
            "id": rid,
            "operation_key": f"{rsc}_{op}_{interval}",
            "operation": op,
            "call-id": str(call),
            "rc-code": str(rc),
            "op-status": "0",
            "interval": str(interval),
        },
    )


def _base() -> etree._Element:
    root = cibops.empty()
    ops: list[dict] = [
        {"op": "create", "parent": "resources",
         "xml": f'<primitive id="{r}" class="ocf" provider="heartbeat" type="Dummy"/>'}
        for r in RSCS
    ]  # fmt: skip
    root = cibops.apply_ops(root, ops, origin="pcmk-1", ts=0)
    for nid, uname in NODES:
        root = cibops.apply_ops(root, cst.wipe_lrm_ops(nid, uname, "tok"), origin=uname, ts=0)
    return root


def _batch(rng: random.Random) -> list[dict]:
    """One batch as the node agents and the DC send them (sometimes corrupted)."""
    nid, uname = rng.choice(NODES)
    rsc = rng.choice(RSCS)
    kind = rng.randrange(6)
    if kind == 0:
        els = [_record(rsc, rng.choice(["start", "stop", "monitor"]), 0, rng.choice([0, 7, 1]),
                       rng.randrange(1, 99))]
        if rng.random() < 0.5:
            els.append(_record(rsc, "monitor", 10000, rng.choice([0, 7]), rng.randrange(1, 99)))
        ops = cst.record_ops(nid, uname, rsc, SPEC, els, [f"{rsc}_last_failure_0"])
    elif kind == 1:
        ops = cst.attribute_ops(nid, uname, {f"fail-count-{rsc}#monitor_10000": str(rng.randrange(5))})
    elif kind == 2:
        ops = cst.cleanup_ops(rsc=rsc, node=uname if rng.random() < 0.5 else None)
    elif kind == 3:
        ops = cst.wipe_lrm_ops(nid, uname, f"tok{rng.randrange(3)}")
    elif kind == 4:  # reaches into the configuration: must take the copying path
        ops = [{"op": "modify", "xml": f'<primitive id="{rsc}" description="d{rng.randrange(9)}"/>'}]
    else:
        ops = [{"op": "replace", "xpath": f"/cib/status/node_state[@id='{nid}']/lrm",
                "xml": f'<lrm id="{nid}"><lrm_resources/></lrm>'}]  # fmt: skip
    ops = [dict(op) for op in ops]
    if rng.random() < 0.25:  # a step that fails, anywhere in the batch
        bad = rng.choice([
            {"op": "delete", "xpath": "/cib/status/node_state[@id='99']"},
            {"op": "replace", "xpath": f"/cib/status/node_state[@id='{nid}']/lrm",
             "xml": "<node_state/>"},
            {"op": "modify", "parent": "/cib/status", "xml": "<node_state id='1'"},
            {"op": "create", "parent": "/cib/status", "xml": f'<node_state id="{nid}"/>'},
            {"op": "frobnicate"},
            {"op": "delete", "xpath": "/cib/status"},
        ])  # fmt: skip
        ops.insert(rng.randrange(len(ops) + 1), bad)
    return ops


def _text(root: etree._Element) -> bytes:
    return etree.tostring(root, method="c14n")


def _error(fn, *args, **kw):  # noqa: ANN001, ANN202 - test helper
    try:
        return fn(*args, **kw), None
    except CibError as exc:
        return None, [r.code for r in exc.reports]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_live_path_matches_the_copying_path(seed: int) -> None:
    rng = random.Random(seed)
    live = _base()
    for _ in range(12):
        ops = _batch(rng)
        before = _text(live)
        before_config = cibops.config_text(live)
        version = cibops.version_of(live)
        ref, ref_err = _error(cibops.apply_ops, live, ops, origin="pcmk-1", ts=0)
        assert _text(live) == before  # the reference path never touches its input
        _, check_err = _error(cibops.check_ops, live, ops)
        assert check_err == ref_err and _text(live) == before
        got, err = _error(cibops.apply_ops_live, live, ops, origin="pcmk-1", ts=0)
        assert err == ref_err
        if err is not None:
            assert _text(live) == before  # refused: untouched
            continue
        new, config_changed = got
        assert ref is not None
        assert config_changed == (cibops.config_text(ref) != before_config)
        # same content; the version may only differ where the live path bumped
        # num_updates for a delete + re-add of identical records
        assert cibops.config_text(new) == cibops.config_text(ref)
        assert etree.tostring(new.find("status"), method="c14n") == etree.tostring(
            ref.find("status"), method="c14n"
        )
        a, e, n = cibops.version_of(new)
        assert (a, e) == cibops.version_of(ref)[:2]
        assert n in (cibops.version_of(ref)[2], version[2] + 1)
        live = new


def test_status_batch_changes_the_live_tree_and_bumps_num_updates() -> None:
    root = _base()
    version = cibops.version_of(root)
    ops = cst.record_ops("1", "pcmk-1", "A", SPEC, [_record("A", "start", 0, 0, 5)], [])
    new, config_changed = cibops.apply_ops_live(root, ops, origin="pcmk-1", ts=0)
    assert new is root and not config_changed
    assert cibops.version_of(root) == (version[0], version[1], version[2] + 1)
    assert root.find(".//lrm_rsc_op[@id='A_last_0']").get("call-id") == "5"


def test_configuration_batch_returns_a_copy() -> None:
    root = _base()
    before = _text(root)
    new, config_changed = cibops.apply_ops_live(
        root, [{"op": "modify", "xml": '<primitive id="A" description="x"/>'}], origin="n", ts=0
    )
    assert new is not root and config_changed and _text(root) == before
    assert cibops.version_of(new)[1] == cibops.version_of(root)[1] + 1


@pytest.mark.parametrize(
    "bad",
    [
        {"op": "delete", "xpath": "/cib/status/node_state[@id='99']"},
        {"op": "modify", "parent": "/cib/status", "xml": "<node_state id='1'"},
        {"op": "replace", "xpath": "/cib/status/node_state[@id='1']/lrm", "xml": "<x/>"},
    ],
)
def test_a_failing_last_step_rolls_back_every_earlier_one(bad: dict) -> None:
    root = _base()
    root = cibops.apply_ops_live(
        root, cst.attribute_ops("1", "pcmk-1", {"x": "1"}), origin="n", ts=0
    )[0]
    before = _text(root)
    ops = [
        *cst.record_ops("1", "pcmk-1", "A", SPEC, [_record("A", "start", 0, 0, 5)], []),
        *cst.cleanup_ops(rsc="B"),
        *cst.attribute_ops("1", "pcmk-1", {"x": "2", "y": "3"}),
        *cst.wipe_lrm_ops("2", "pcmk-2", "new"),
        bad,
    ]
    with pytest.raises(CibError):
        cibops.apply_ops_live(root, ops, origin="n", ts=0)
    assert _text(root) == before
