"""tandem.cib.xmlio: parsing, writing and the errors bad files give."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree

from tandem.cib import xmlio
from tandem.errors import CibError

SMALL = """<cib epoch="3" num_updates="1" admin_epoch="0" x-unknown="kept">
  <configuration>
    <crm_config/>
    <nodes><node id="1" uname="a"><future-thing depth="2">text &amp; more</future-thing></node></nodes>
    <resources/>
    <constraints/>
  </configuration>
  <!-- a comment -->
  <status/>
</cib>
"""


def canonical(root: etree._Element) -> bytes:
    return etree.tostring(root, method="c14n")


def test_round_trip_keeps_unknown_elements_and_attributes() -> None:
    root = xmlio.parse_string(SMALL)
    text = xmlio.write_string(root)
    again = xmlio.parse_string(text)
    assert canonical(again) == canonical(root)
    assert again.get("x-unknown") == "kept"
    thing = again.find("configuration/nodes/node/future-thing")
    assert thing is not None and thing.get("depth") == "2" and thing.text == "text & more"
    assert "<!-- a comment -->" in text


def test_round_trip_on_corpus_cibs(corpus: Path) -> None:
    files = sorted((corpus / "xml").glob("*.xml"))[:40]
    assert files
    for f in files:
        root = xmlio.parse_file(f)
        original = etree.parse(str(f), etree.XMLParser(remove_blank_text=True)).getroot()
        assert canonical(xmlio.parse_string(xmlio.write_string(root))) == canonical(original), f


@pytest.mark.parametrize(
    ("text", "line", "code"),
    [
        ("<cib>\n  <configuration>\n", 3, "CIB_XML_MALFORMED"),  # truncated
        ("<cib>\n<configuration></cib>", 2, "CIB_XML_MALFORMED"),  # mismatched tag
        ('<cib>\n\n<nodes a="1" a="2"/></cib>', 3, "CIB_XML_MALFORMED"),  # duplicate attribute
        ("", 1, "CIB_XML_MALFORMED"),
    ],
)
def test_malformed_xml_names_file_and_line(text: str, line: int, code: str) -> None:
    with pytest.raises(CibError) as info:
        xmlio.parse_string(text, source="bad.xml")
    err = info.value
    assert err.code == code
    msg = err.reports[0].message
    assert "\n" not in msg
    assert msg.startswith("bad.xml: ")
    assert f"line {err.reports[0].payload['line']}" in msg
    assert err.reports[0].payload["line"] >= line - 1


def test_root_must_be_cib() -> None:
    with pytest.raises(CibError) as info:
        xmlio.parse_string("<configuration/>", source="f.xml")
    assert info.value.code == "CIB_NOT_A_CIB"
    assert "<configuration>" in info.value.reports[0].message
    assert "f.xml" in info.value.reports[0].message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CibError) as info:
        xmlio.parse_file(tmp_path / "nope.xml")
    assert info.value.code == "CIB_FILE_MISSING"
    assert "nope.xml" in str(info.value)


def test_parse_file_names_the_file_in_errors(tmp_path: Path) -> None:
    p = tmp_path / "cut.xml"
    p.write_text(SMALL[: len(SMALL) // 2])
    with pytest.raises(CibError) as info:
        xmlio.parse_file(p)
    assert str(p) in info.value.reports[0].message


def test_entities_are_not_expanded() -> None:
    text = '<!DOCTYPE cib [<!ENTITY x SYSTEM "file:///etc/passwd">]><cib a="&amp;">&x;</cib>'
    root = xmlio.parse_string(text)
    assert "root:" not in xmlio.write_string(root)


def test_write_file_atomic_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "cib.xml"
    target.write_text("old")
    root = xmlio.parse_string(SMALL)
    out = xmlio.write_file_atomic(root, target)
    assert Path(out) == target
    assert canonical(xmlio.parse_file(target)) == canonical(root)
    assert os.listdir(tmp_path) == ["cib.xml"]


def test_write_file_atomic_into_missing_folder_raises(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "cib.xml"
    with pytest.raises(OSError):
        xmlio.write_file_atomic(xmlio.parse_string(SMALL), target)
    assert not target.exists()


def test_write_file_atomic_modes(tmp_path: Path) -> None:
    """New files are private (0600); a replaced file keeps its permissions."""
    root = xmlio.parse_string(SMALL)
    new = xmlio.write_file_atomic(root, tmp_path / "new.xml")
    assert new.stat().st_mode & 0o777 == 0o600
    shared = tmp_path / "shared.xml"
    shared.write_text("old")
    shared.chmod(0o644)
    xmlio.write_file_atomic(root, shared)
    assert shared.stat().st_mode & 0o777 == 0o644
