"""CIB operations and storage: deterministic apply, version rules, digest-checked files."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from tandem.daemon import cibops
from tandem.daemon.storage import FileCibStorage, InMemoryCibStorage
from tandem.errors import CibError

PRIM = '<primitive id="A" class="ocf" provider="heartbeat" type="Dummy"/>'


def _base() -> etree._Element:
    return cibops.apply_ops(
        cibops.empty(), [{"op": "create", "parent": "resources", "xml": PRIM}], origin="n1", ts=0
    )


@pytest.mark.parametrize(
    ("ops", "version"),
    [
        # configuration change: epoch + 1, num_updates reset
        ([{"op": "modify", "xml": '<primitive id="A" description="x"/>'}], (0, 2, 0)),
        # status only: num_updates + 1
        (
            [{"op": "create", "parent": "status", "xml": '<node_state id="1" uname="n1"/>'}],
            (0, 1, 1),
        ),
        # admin_epoch raised by an administrator
        ([{"op": "modify", "xml": '<cib admin_epoch="5"/>'}], (5, 2, 0)),
        # versions cannot be set through modify
        ([{"op": "modify", "xml": '<cib epoch="99" num_updates="7"/>'}], (0, 1, 0)),
    ],
)
def test_version_rules(ops: list[dict[str, str]], version: tuple[int, int, int]) -> None:
    assert cibops.version_of(cibops.apply_ops(_base(), ops, origin="n1", ts=0)) == version


def test_modify_merges_children_by_id_and_appends_new_ones() -> None:
    root = _base()
    xml = (
        '<primitive id="A"><instance_attributes id="A-ia"><nvpair id="A-ia-ip" name="ip" '
        'value="1"/></instance_attributes></primitive>'
    )
    root = cibops.apply_ops(root, [{"op": "modify", "xml": xml}], origin="n1", ts=0)
    xml2 = '<primitive id="A"><instance_attributes id="A-ia"><nvpair id="A-ia-ip" value="2"/></instance_attributes></primitive>'
    root = cibops.apply_ops(root, [{"op": "modify", "xml": xml2}], origin="n1", ts=0)
    pairs = root.findall(".//primitive[@id='A']/instance_attributes/nvpair")
    assert [(p.get("name"), p.get("value")) for p in pairs] == [("ip", "2")]


def test_batch_is_atomic() -> None:
    root = _base()
    ops = [
        {"op": "modify", "xml": '<primitive id="A" description="x"/>'},
        {"op": "delete", "xpath": "//primitive[@id='missing']"},
    ]
    with pytest.raises(CibError) as exc:
        cibops.apply_ops(root, ops, origin="n1", ts=0)
    assert exc.value.code == "CIB_NOT_FOUND"
    assert root.find(".//primitive").get("description") is None


def test_replace_section_and_wrong_tag() -> None:
    root = _base()
    new = cibops.apply_ops(
        root, [{"op": "replace", "xpath": "resources", "xml": "<resources/>"}], origin="n", ts=0
    )
    assert new.find(".//primitive") is None
    with pytest.raises(CibError, match="cannot replace it with <constraints>"):
        cibops.apply_ops(
            root,
            [{"op": "replace", "xpath": "resources", "xml": "<constraints/>"}],
            origin="n",
            ts=0,
        )


def test_push_takes_highest_epoch_plus_one_and_keeps_live_status() -> None:
    live = _base()
    live.find("status").append(etree.fromstring('<node_state id="1" uname="n1"/>'))
    pushed = cibops.parse(
        '<cib epoch="7" admin_epoch="0" num_updates="3"><configuration><crm_config/><nodes/><resources/><constraints/></configuration><status><node_state id="9"/></status></cib>'
    )
    new = cibops.push(live, pushed, origin="n2", ts=0)
    assert cibops.version_of(new) == (0, 8, 0)
    assert [e.get("id") for e in new.find("status")] == ["1"]
    assert new.get("update-origin") == "n2"


def test_file_storage_roundtrip_backups_and_corruption(tmp_path: Path) -> None:
    st = FileCibStorage(tmp_path, keep=3)
    assert st.load().xml is None and st.load().problem is None
    versions = []
    root = cibops.empty()
    for i in range(5):
        root = cibops.apply_ops(
            root, [{"op": "modify", "xml": f'<cib owner="v{i}"/>'}], origin="n", ts=0
        )
        st.save(cibops.to_text(cibops.strip_status(root)))
        versions.append(cibops.version_of(root))
    loaded = st.load()
    assert loaded.problem is None
    assert cibops.version_of(cibops.parse(loaded.xml)) == versions[-1]
    assert len(st.backups()) == 3  # older versions pruned, newest kept
    assert 'owner="v3"' in st.backups()[-1].read_text()
    # truncation is detected by the digest, and the good backup is still there
    data = st.path.read_bytes()
    st.path.write_bytes(data[: len(data) // 2])
    bad = st.load()
    assert bad.xml is None and "does not match its digest" in (bad.problem or "")


def test_file_storage_without_signature_still_rejects_broken_xml(tmp_path: Path) -> None:
    (tmp_path / "cib.xml").write_text("<cib><configuration>")
    assert "not well-formed" in (FileCibStorage(tmp_path).load().problem or "")


def test_memory_storage_corrupt() -> None:
    st = InMemoryCibStorage()
    st.save(cibops.EMPTY_CIB)
    assert st.load().xml
    st.corrupt()
    assert st.load().problem


def test_runtime_dirs_from_tmpfiles(tmp_path: Path) -> None:
    from tandem.daemon import service

    conf = tmp_path / "ra.conf"
    conf.write_text(
        "# comment\nd /run/resource-agents 1755 root root\nf /run/x 0644\nd /var/y 0755\n"
    )
    made = service.prepare_runtime_dirs((str(conf),), root=str(tmp_path))
    target = tmp_path / "run" / "resource-agents"
    assert made == [str(target)]
    assert oct(target.stat().st_mode & 0o7777) == "0o1755"
    assert not (tmp_path / "run" / "x").exists() and not (tmp_path / "var").exists()
    assert service.prepare_runtime_dirs((str(conf),), root=str(tmp_path)) == []  # idempotent
