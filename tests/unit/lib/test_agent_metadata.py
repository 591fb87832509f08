"""Agent meta-data parsing, lookup by short name, and the per-agent cache."""

from __future__ import annotations

import os
import stat

import pytest

from tandem.agents.metadata import AgentName, OcfMetadataSource, parse_agent_name, parse_metadata
from tandem.errors import AgentError

META = """<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="Toy" version="1.0">
  <version>1.1</version>
  <shortdesc lang="en">Toy agent</shortdesc>
  <parameters>
    <parameter name="ip" unique="1" required="1"><content type="string" default=""/></parameter>
    <parameter name="count" reloadable="1"><content type="integer" default="5"/></parameter>
    <parameter name="old" deprecated="true"><content type="string"/></parameter>
  </parameters>
  <actions>
    <action name="start" timeout="20s"/>
    <action name="monitor" depth="0" timeout="20s" interval="10s"/>
    <action name="monitor" role="Promoted" timeout="20s" interval="9s"/>
    <action name="meta-data" timeout="5s"/>
  </actions>
</resource-agent>
"""


def test_parse_parameters_and_actions():
    md = parse_metadata(AgentName("ocf", "test", "Toy"), META)
    ip = md.parameter("ip")
    assert ip is not None and ip.required and ip.unique and ip.type == "string"
    count = md.parameter("count")
    assert count is not None and count.reloadable and count.default == "5"
    assert md.required_parameters == ["ip"]
    assert [(a.name, a.interval, a.role) for a in md.actions if a.name == "monitor"] == [
        ("monitor", "10s", None), ("monitor", "9s", "Promoted")
    ]


def test_bad_metadata_is_an_agent_error():
    with pytest.raises(AgentError):
        parse_metadata(AgentName("ocf", "t", "x"), "<html/>")
    with pytest.raises(AgentError):
        parse_metadata(AgentName("ocf", "t", "x"), "not xml")


def test_agent_names():
    assert parse_agent_name("ocf:heartbeat:IPaddr2") == AgentName("ocf", "heartbeat", "IPaddr2")
    assert parse_agent_name("lsb:apache2") == AgentName("lsb", None, "apache2")
    assert parse_agent_name("IPaddr2") is None
    assert parse_agent_name("ocf:IPaddr2") is None


def test_runs_agent_once_and_caches(tmp_path):
    agent_dir = tmp_path / "resource.d" / "test"
    agent_dir.mkdir(parents=True)
    log = tmp_path / "calls"
    script = agent_dir / "Toy"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$1 $OCF_ROOT" >> {log}\n'
        "cat <<'EOF'\n" + META + "EOF\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    src = OcfMetadataSource(ocf_root=str(tmp_path))
    name = AgentName("ocf", "test", "Toy")
    assert src.get(name).parameter("ip") is not None
    assert src.get(name).parameter("ip") is not None
    assert log.read_text() == f"meta-data {tmp_path}\n"
    assert src.find_by_type("Toy") == [name]
    with pytest.raises(AgentError) as exc:
        src.get(AgentName("ocf", "test", "Missing"))
    assert exc.value.reports[0].force_code == "FORCE"
    assert os.path.exists(script)
