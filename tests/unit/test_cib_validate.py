"""tandem.cib.validate: every problem found, each naming its element, id and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tandem.cib import validate, xmlio
from tandem.cib.walkthrough import build_step_cib
from tandem.errors import CibError

BASE = """<cib epoch="5" num_updates="4" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="n1"/>
      <node id="2" uname="n2"/>
    </nodes>
    <resources>
      <primitive id="A" class="ocf" provider="heartbeat" type="Dummy"/>
      <primitive id="B" class="ocf" provider="heartbeat" type="Dummy"/>
      RSC
    </resources>
    <constraints>
      CONS
    </constraints>
  </configuration>
  <status/>
</cib>
"""


def cib(cons: str = "", rsc: str = "") -> str:
    return BASE.replace("CONS", cons).replace("RSC", rsc)


def reports(text: str) -> list:
    return list(validate.validate(xmlio.parse_string(text)))


def only_error(text: str):
    found = reports(text)
    errors = [r for r in found if r.is_error]
    assert len(errors) == 1, [r.message for r in found]
    return errors[0]


def test_clean_cib_has_no_reports() -> None:
    assert reports(cib('<rsc_location id="l" rsc="A" node="n1" score="5"/>')) == []


@pytest.mark.parametrize("step", ["5a", "6c", "7a-1", "7b-4"])
def test_walkthrough_cibs_are_clean(step: str) -> None:
    assert reports(build_step_cib(step)) == []


def test_duplicate_id_names_both_elements() -> None:
    r = only_error(cib('<rsc_location id="A" rsc="A" node="n1" score="5"/>'))
    assert r.code == "CIB_DUPLICATE_ID"
    assert r.payload["element"] == "rsc_location" and r.payload["id"] == "A"
    assert 'rsc_location "A"' in r.message and "primitive" in r.message
    assert f"line {r.payload['line']}" in r.message


def test_duplicate_node_id_and_name() -> None:
    text = cib().replace('<node id="2" uname="n2"/>', '<node id="1" uname="n1"/>')
    codes = sorted(r.code for r in reports(text))
    assert codes == ["CIB_DUPLICATE_ID", "CIB_DUPLICATE_NODE_NAME"]


@pytest.mark.parametrize(
    ("cons", "attr", "missing"),
    [
        ('<rsc_colocation id="c1" rsc="A" with-rsc="Z" score="INFINITY"/>', "with-rsc", "Z"),
        ('<rsc_colocation id="c1" rsc="Y" with-rsc="A" score="INFINITY"/>', "rsc", "Y"),
        ('<rsc_order id="c1" first="Q" then="A"/>', "first", "Q"),
        ('<rsc_order id="c1" first="A" then="Q"/>', "then", "Q"),
        ('<rsc_location id="c1" rsc="Q" node="n1" score="1"/>', "rsc", "Q"),
        (
            '<rsc_order id="c1"><resource_set id="s"><resource_ref id="A"/>'
            '<resource_ref id="Q"/></resource_set></rsc_order>',
            "resource_ref",
            "Q",
        ),
    ],
)
def test_constraint_with_missing_resource(cons: str, attr: str, missing: str) -> None:
    r = only_error(cib(cons))
    assert r.code == "CIB_CONSTRAINT_MISSING_RESOURCE"
    assert r.payload["id"] == "c1" and r.payload["resource"] == missing
    assert '"c1"' in r.message and f'"{missing}"' in r.message and attr in r.message


def test_constraint_may_name_a_tag() -> None:
    text = cib('<rsc_order id="o" first="A" then="t1"/>').replace(
        "</constraints>", '</constraints><tags><tag id="t1"><obj_ref id="B"/></tag></tags>'
    )
    assert [r for r in reports(text) if r.is_error] == []


@pytest.mark.parametrize(
    ("cons", "value"),
    [
        ('<rsc_location id="c1" rsc="A" node="n1" score="abc"/>', "abc"),
        ('<rsc_colocation id="c1" rsc="A" with-rsc="B" score="INFINITE"/>', "INFINITE"),
        ('<rsc_order id="c1" first="A" then="B" score="1e5x"/>', "1e5x"),
        (
            '<rsc_location id="c1" rsc="A"><rule id="r1" score="high">'
            '<expression id="e" attribute="#uname" operation="eq" value="n1"/></rule>'
            "</rsc_location>",
            "high",
        ),
    ],
)
def test_bad_score(cons: str, value: str) -> None:
    r = only_error(cib(cons))
    assert r.code == "INVALID_SCORE"
    assert r.payload["value"] == value
    assert f"'{value}'" in r.message
    assert r.payload["id"] in ("c1", "r1")


@pytest.mark.parametrize("score", ["INFINITY", "+INFINITY", "-INFINITY", "-100", "7", "red"])
def test_good_scores(score: str) -> None:
    assert reports(cib(f'<rsc_location id="c1" rsc="A" node="n1" score="{score}"/>')) == []


@pytest.mark.parametrize(
    ("rsc", "attr"),
    [
        ('<primitive id="C" provider="heartbeat" type="Dummy"/>', "class"),
        ('<primitive id="C" class="ocf" provider="heartbeat"/>', "type"),
        ('<primitive id="C" class="ocf" type="Dummy"/>', "provider"),
        (
            '<primitive id="C" class="ocf" provider="heartbeat" type="Dummy"><operations>'
            '<op id="C-mon" interval="10s"/></operations></primitive>',
            "name",
        ),
    ],
)
def test_missing_required_attribute(rsc: str, attr: str) -> None:
    r = only_error(cib(rsc=rsc))
    assert r.code == "CIB_MISSING_ATTRIBUTE"
    assert r.payload["attribute"] == attr
    assert f"'{attr}'" in r.message


def test_stonith_primitive_needs_no_provider() -> None:
    rsc = '<primitive id="fence" class="stonith" type="fence_xvm"/>'
    assert reports(cib(rsc=rsc)) == []


def test_missing_id_ref() -> None:
    cons = (
        '<rsc_location id="c1" rsc="A"><rule id-ref="nothere"/></rsc_location>'
        '<rsc_location id="c2" rsc="B"><rule id="r2" score="5">'
        '<expression id="e2" attribute="#uname" operation="eq" value="n1"/></rule></rsc_location>'
        '<rsc_location id="c3" rsc="A"><rule id-ref="r2"/></rsc_location>'
    )
    r = only_error(cib(cons))
    assert r.code == "CIB_MISSING_ID_REF"
    assert r.payload["ref"] == "nothere" and '"nothere"' in r.message


def test_location_on_unknown_node_is_a_warning_only() -> None:
    found = reports(cib('<rsc_location id="c1" rsc="A" node="elsewhere" score="10"/>'))
    assert [r.code for r in found] == ["CIB_LOCATION_UNKNOWN_NODE"]
    assert not found[0].is_error
    assert "elsewhere" in found[0].message


def test_every_problem_is_collected() -> None:
    cons = (
        '<rsc_location id="A" rsc="A" node="n1" score="5"/>'
        '<rsc_colocation id="c1" rsc="A" with-rsc="Z" score="oops"/>'
        '<rsc_order id="o1" first="Q" then="A"/>'
    )
    codes = sorted(r.code for r in reports(cib(cons)))
    assert codes == [
        "CIB_CONSTRAINT_MISSING_RESOURCE",
        "CIB_CONSTRAINT_MISSING_RESOURCE",
        "CIB_DUPLICATE_ID",
        "INVALID_SCORE",
    ]


def test_load_valid_raises_with_all_errors(tmp_path: Path) -> None:
    p = tmp_path / "bad.xml"
    p.write_text(
        cib(
            '<rsc_colocation id="c1" rsc="A" with-rsc="Z" score="INFINITY"/>'
            '<rsc_order id="o1" first="Q" then="A"/>'
        )
    )
    with pytest.raises(CibError) as info:
        validate.load_valid(p)
    assert len(info.value.reports) == 2
    assert all(str(p) in r.message for r in info.value.reports)
    good = tmp_path / "good.xml"
    good.write_text(cib())
    assert validate.load_valid(good).tag == "cib"


def test_corpus_cibs_have_no_errors(corpus: Path) -> None:
    """Pacemaker's own test inputs are valid: no false alarms (warnings allowed)."""
    files = sorted((corpus / "xml").glob("*.xml"))
    assert len(files) > 500
    bad = []
    for f in files:
        bad += [(f.name, r.message) for r in validate.validate(xmlio.parse_file(f)) if r.is_error]
    assert bad == []


def test_versions() -> None:
    root = xmlio.parse_string(cib())
    assert validate.get_versions(root) == (0, 5, 4)
    assert validate.bump_num_updates(root) == (0, 5, 5)
    assert validate.bump_epoch(root) == (0, 6, 0)
    other = xmlio.parse_string(cib())
    assert validate.compare_versions(root, other) == 1
    assert validate.compare_versions(other, root) == -1
    assert validate.bump_admin_epoch(other) == (1, 5, 4)
    assert validate.compare_versions(root, other) == -1
    assert validate.compare_versions(root, root) == 0


def test_bad_version_attribute() -> None:
    root = xmlio.parse_string(cib().replace('epoch="5"', 'epoch="five"'))
    with pytest.raises(CibError) as info:
        validate.get_versions(root)
    assert "epoch" in str(info.value) and "five" in str(info.value)
