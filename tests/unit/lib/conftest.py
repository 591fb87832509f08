"""Fixtures for the library command tests: an in-memory CIB and fake agent meta-data.

The fake meta-data copies the *shape* of resource-agents 4.12's IPaddr2,
apache and Dummy (parameter names, required flags, action timeouts), so the
tests need no installed agent and run no process.
"""

from __future__ import annotations

import pytest

from tandem.agents.metadata import Action, AgentMetadata, AgentName, Parameter, StaticMetadataSource
from tandem.lib.env import LibraryEnvironment, MemoryBackend

BASE_CIB = """<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config/>
    <nodes>
      <node id="1" uname="pcmk-1"/>
      <node id="2" uname="pcmk-2"/>
    </nodes>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>"""


def fake_metadata() -> StaticMetadataSource:
    src = StaticMetadataSource()
    src.add(
        AgentMetadata(
            AgentName("ocf", "heartbeat", "IPaddr2"),
            parameters=(
                Parameter("ip", required=True, unique=True),
                Parameter("nic"),
                Parameter("cidr_netmask"),
            ),
            actions=(
                Action("start", timeout="20s"),
                Action("stop", timeout="20s"),
                Action("status", timeout="20s", interval="10s", depth="0"),
                Action("monitor", timeout="20s", interval="10s", depth="0"),
                Action("meta-data", timeout="5s"),
                Action("validate-all", timeout="20s"),
            ),
        )
    )
    src.add(
        AgentMetadata(
            AgentName("ocf", "heartbeat", "apache"),
            parameters=(Parameter("configfile"), Parameter("statusurl"), Parameter("httpd")),
            actions=(
                Action("start", timeout="40s"),
                Action("stop", timeout="60s"),
                Action("status", timeout="30s"),
                Action("monitor", timeout="20s", interval="10s", depth="0"),
                Action("meta-data", timeout="5s"),
                Action("validate-all", timeout="5s"),
            ),
        )
    )
    for provider in ("heartbeat", "pacemaker"):
        src.add(
            AgentMetadata(
                AgentName("ocf", provider, "Dummy"),
                parameters=(Parameter("state"), Parameter("fake")),
                actions=(
                    Action("start", timeout="20s"),
                    Action("stop", timeout="20s"),
                    Action("monitor", timeout="20s", interval="10s", depth="0"),
                    Action("reload", timeout="20s"),
                    Action("meta-data", timeout="5s"),
                ),
            )
        )
    return src


@pytest.fixture
def base_cib() -> str:
    return BASE_CIB


@pytest.fixture
def metadata() -> StaticMetadataSource:
    return fake_metadata()


@pytest.fixture
def backend() -> MemoryBackend:
    return MemoryBackend(BASE_CIB)


@pytest.fixture
def env(backend: MemoryBackend, metadata: StaticMetadataSource) -> LibraryEnvironment:
    return LibraryEnvironment(backend, metadata=metadata)


@pytest.fixture
def make_env(backend: MemoryBackend, metadata: StaticMetadataSource):
    """A fresh environment per command, as the CLI makes one per invocation."""

    def factory(force: bool = False) -> LibraryEnvironment:
        return LibraryEnvironment(backend, metadata=metadata, force=force)

    return factory
