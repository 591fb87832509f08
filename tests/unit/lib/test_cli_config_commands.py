"""The CLI layer of the configuration commands: argv parsing and rendering.

Runs ``tandem -f FILE ...`` in-process (click's runner) with the fake agent
meta-data installed as the default source.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from lxml import etree

from tandem.agents import metadata as md_module
from tandem.cli.main import cli


@pytest.fixture
def cib(tmp_path, base_cib, metadata, monkeypatch):
    monkeypatch.setattr(md_module, "_default", metadata)
    path = tmp_path / "cib.xml"
    path.write_text(base_cib)
    return path


def tandem(path, *args, ok=True):
    result = CliRunner().invoke(cli, ["-f", str(path), *args])
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1, result.output
    return result


def _root(path):
    return etree.parse(str(path)).getroot()


def test_create_parses_ops_meta_and_flags_anywhere(cib):
    tandem(cib, "resource", "create", "D", "ocf:heartbeat:Dummy", "--disabled", "fake=1",
           "op", "monitor", "interval=11s", "start", "timeout=33s", "op", "stop", "timeout=44s",
           "meta", "resource-stickiness=7")
    prim = _root(cib).find("configuration/resources/primitive")
    ops = {o.get("id"): o.attrib for o in prim.iter("op")}
    assert ops["D-monitor-interval-11s"]["interval"] == "11s"
    assert ops["D-start-interval-0s"]["timeout"] == "33s"
    assert ops["D-stop-interval-0s"]["timeout"] == "44s"
    meta = {nv.get("name"): nv.get("value") for nv in prim.find("meta_attributes")}
    assert meta == {"resource-stickiness": "7", "target-role": "Stopped"}


def test_force_after_the_subcommand_and_hint_on_first_line(cib):
    r = tandem(cib, "resource", "create", "V", "ocf:heartbeat:IPaddr2", "ip=192.0.2.1", "foo=1",
               ok=False)
    lines = [line for line in r.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and lines[0].endswith(", use --force to override")
    r = tandem(cib, "resource", "create", "V", "ocf:heartbeat:IPaddr2", "ip=192.0.2.1", "foo=1",
               "--force")
    assert "Warning: invalid resource option 'foo'" in r.output
    assert "use --force" not in r.output


def test_constraint_argv_forms(cib):
    tandem(cib, "resource", "create", "A", "ocf:heartbeat:Dummy")
    tandem(cib, "resource", "create", "B", "ocf:heartbeat:Dummy")
    tandem(cib, "constraint", "colocation", "add", "Promoted", "A", "with", "Started", "B", "50",
           "--force")
    tandem(cib, "constraint", "order", "promote", "A", "then", "start", "B", "kind=Optional",
           "--force")
    tandem(cib, "constraint", "location", "A", "prefers", "pcmk-1", "pcmk-2=20")
    cons = {c.get("id"): c.attrib for c in _root(cib).find("configuration/constraints")}
    assert cons["colocation-A-B-50"]["rsc-role"] == "Promoted"
    assert cons["colocation-A-B-50"]["with-rsc-role"] == "Started"
    assert cons["order-A-B-Optional"]["first-action"] == "promote"
    assert set(cons) >= {"location-A-pcmk-1-INFINITY", "location-A-pcmk-2-20"}
    r = tandem(cib, "constraint", "--full")
    assert "    Enabled on: pcmk-1 (score:INFINITY) (id:location-A-pcmk-1-INFINITY)" in r.output
    tandem(cib, "constraint", "delete", "location-A-pcmk-1-INFINITY")
    assert "location-A-pcmk-1-INFINITY" not in tandem(cib, "constraint", "--full").output


def test_refused_command_leaves_file_identical(cib):
    before = cib.read_bytes()
    tandem(cib, "constraint", "colocation", "add", "Nope", "with", "Other", ok=False)
    tandem(cib, "property", "set", "stonith-enabled=maybe", ok=False)
    tandem(cib, "resource", "move", "X", "pcmk-1", ok=False)
    assert cib.read_bytes() == before


def test_property_and_defaults_listings(cib):
    tandem(cib, "property", "set", "stonith-enabled=false", "batch-limit=3")
    assert tandem(cib, "property").output == (
        "Cluster Properties:\n batch-limit: 3\n stonith-enabled: false\n"
    )
    assert tandem(cib, "resource", "defaults").output == "No defaults set\n"
    r = tandem(cib, "resource", "defaults", "update", "resource-stickiness=100")
    assert "Deprecation" not in r.output
    assert tandem(cib, "resource", "defaults", "config").output == (
        "Meta Attrs: rsc_defaults-meta_attributes\n  resource-stickiness=100\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["resource", "create", "X", "ocf:heartbeat:Dummy", "op"],
        ["resource", "create", "X", "ocf:heartbeat:Dummy", "op", "meta", "a=1"],
        ["resource", "create", "X", "ocf:heartbeat:Dummy", "op", "interval=10s"],
        ["constraint", "location", "X", "prefers", "=5"],
        ["constraint", "order", "X", "then"],
        ["property", "set", "=1"],
    ],
)
def test_malformed_lines_refused_without_change(cib, args):
    tandem(cib, "resource", "create", "X", "ocf:heartbeat:Dummy", "--disabled")
    before = cib.read_bytes()
    r = tandem(cib, *args, ok=False)
    assert len([line for line in r.output.splitlines() if line.startswith("Error:")]) == 1
    assert cib.read_bytes() == before
