"""Resource agent meta-data: what parameters an agent takes and its default operations.

Why a module of its own: ``resource create`` validates parameters against the
agent's meta-data and copies its default operations (as pcs does), and the
executor needs the same facts (default timeouts, reloadable parameters for
digests).  Running an agent's ``meta-data`` action costs a fork and a shell
script (~30 ms), so results are cached per agent.

The I/O (running the agent, listing /usr/lib/ocf/resource.d) is behind the
:class:`MetadataSource` protocol so that library code and tests can use the
in-memory :class:`StaticMetadataSource`.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lxml import etree

from tandem.errors import AgentError, Report

OCF_ROOT = os.environ.get("OCF_ROOT", "/usr/lib/ocf")
LSB_DIR = "/etc/init.d"
#: Seconds a ``meta-data`` action may take before we give up on the agent.
METADATA_TIMEOUT = 10.0


@dataclass(frozen=True)
class AgentName:
    """``standard:provider:type`` (provider only for ocf)."""

    standard: str
    provider: str | None
    type: str

    @property
    def full(self) -> str:
        if self.provider:
            return f"{self.standard}:{self.provider}:{self.type}"
        return f"{self.standard}:{self.type}"

    def __str__(self) -> str:
        return self.full


@dataclass(frozen=True)
class Parameter:
    name: str
    required: bool = False
    unique: bool = False
    reloadable: bool = False
    type: str = "string"
    default: str | None = None
    deprecated: bool = False
    advanced: bool = False


@dataclass(frozen=True)
class Action:
    name: str
    timeout: str | None = None
    interval: str | None = None
    depth: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class AgentMetadata:
    agent: AgentName
    parameters: tuple[Parameter, ...] = ()
    actions: tuple[Action, ...] = ()
    shortdesc: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def parameter(self, name: str) -> Parameter | None:
        for p in self.parameters:
            if p.name == name:
                return p
        return None

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def required_parameters(self) -> list[str]:
        return [p.name for p in self.parameters if p.required and not p.deprecated]


def parse_agent_name(text: str) -> AgentName | None:
    """Parse ``ocf:heartbeat:IPaddr2`` / ``lsb:apache2``; None when not a full name."""
    parts = text.split(":")
    if len(parts) == 3 and parts[0] == "ocf" and all(parts):
        return AgentName("ocf", parts[1], parts[2])
    if len(parts) == 2 and parts[0] in ("lsb", "service", "systemd") and parts[1]:
        return AgentName(parts[0], None, parts[1])
    return None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "y")


def parse_metadata(agent: AgentName, xml: str | bytes) -> AgentMetadata:
    """Parse OCF meta-data XML; raise AgentError when it is not meta-data."""
    data = xml.encode() if isinstance(xml, str) else xml
    try:
        root = etree.fromstring(
            data, etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError as exc:
        raise AgentError(
            Report(
                "AGENT_METADATA_INVALID",
                f"Agent '{agent}' does not provide valid metadata: {exc}",
                {"agent": agent.full},
            )
        ) from None
    if root.tag != "resource-agent":
        raise AgentError(
            Report(
                "AGENT_METADATA_INVALID",
                f"Agent '{agent}' does not provide valid metadata: root is <{root.tag}>",
                {"agent": agent.full},
            )
        )
    params: list[Parameter] = []
    for p in root.iterfind("parameters/parameter"):
        name = p.get("name")
        if not name:
            continue
        content = p.find("content")
        shortdesc = (p.findtext("shortdesc") or "").strip()
        params.append(
            Parameter(
                name=name,
                required=_truthy(p.get("required")),
                unique=_truthy(p.get("unique")),
                reloadable=_truthy(p.get("reloadable")),
                type=(content.get("type") if content is not None else None) or "string",
                default=content.get("default") if content is not None else None,
                deprecated=_truthy(p.get("deprecated")) or p.find("deprecated") is not None,
                advanced=shortdesc.startswith("*** Advanced"),
            )
        )
    actions = [
        Action(
            name=a.get("name", ""),
            timeout=a.get("timeout"),
            interval=a.get("interval"),
            depth=a.get("depth"),
            role=a.get("role"),
        )
        for a in root.iterfind("actions/action")
        if a.get("name")
    ]
    return AgentMetadata(
        agent=agent,
        parameters=tuple(params),
        actions=tuple(actions),
        shortdesc=(root.findtext("shortdesc") or "").strip(),
    )


class MetadataSource(Protocol):
    """Where agent meta-data comes from (real agents, or a fake in tests)."""

    def get(self, agent: AgentName) -> AgentMetadata:
        """Meta-data of ``agent``; AgentError when missing or invalid."""
        ...

    def find_by_type(self, type_name: str) -> list[AgentName]:
        """Every installed agent whose type is ``type_name`` (for short names)."""
        ...


# LSB scripts have no meta-data; these are the actions Pacemaker synthesises for them
# (its values, unitless seconds, are what pcs copies into default operations).
_LSB_ACTIONS = (
    Action("meta-data", timeout="5"),
    Action("start", timeout="15"),
    Action("stop", timeout="15"),
    Action("status", timeout="15"),
    Action("restart", timeout="15"),
    Action("force-reload", timeout="15"),
    Action("monitor", timeout="15", interval="15"),
)


class OcfMetadataSource:
    """Runs ``<agent> meta-data`` with OCF_ROOT set; caches per agent (thread-safe)."""

    def __init__(self, ocf_root: str = OCF_ROOT, lsb_dir: str = LSB_DIR) -> None:
        self.ocf_root = ocf_root
        self.lsb_dir = lsb_dir
        self._cache: dict[AgentName, AgentMetadata] = {}
        self._lock = threading.Lock()

    def agent_path(self, agent: AgentName) -> Path:
        if agent.standard == "ocf":
            return Path(self.ocf_root, "resource.d", agent.provider or "", agent.type)
        return Path(self.lsb_dir, agent.type)

    def _not_installed(self, agent: AgentName, why: str) -> AgentError:
        return AgentError(
            Report(
                "AGENT_NOT_INSTALLED",
                f"Agent '{agent}' is not installed or does not provide valid metadata: {why}",
                {"agent": agent.full, "reason": why},
                force_code="FORCE",
            )
        )

    def get(self, agent: AgentName) -> AgentMetadata:
        with self._lock:
            cached = self._cache.get(agent)
        if cached is not None:
            return cached
        if agent.standard not in ("ocf", "lsb"):
            raise self._not_installed(
                agent, f"resource standard '{agent.standard}' is not supported by tandem"
            )
        path = self.agent_path(agent)
        if "/" in agent.type or (agent.provider and "/" in agent.provider):
            raise self._not_installed(agent, "invalid agent name")
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise self._not_installed(agent, f"{path} not found")
        if agent.standard != "ocf":
            md = AgentMetadata(agent=agent, actions=_LSB_ACTIONS)
        else:
            env = dict(os.environ)
            env.update(
                OCF_ROOT=self.ocf_root,
                OCF_RESOURCE_TYPE=agent.type,
                OCF_RESOURCE_PROVIDER=agent.provider or "",
                OCF_RESOURCE_INSTANCE="metadata",
            )
            try:
                proc = subprocess.run(
                    [str(path), "meta-data"],
                    env=env,
                    capture_output=True,
                    timeout=METADATA_TIMEOUT,
                    check=False,
                    stdin=subprocess.DEVNULL,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise self._not_installed(agent, str(exc)) from None
            if proc.returncode != 0 or not proc.stdout.strip():
                raise self._not_installed(agent, f"meta-data exited with {proc.returncode}")
            try:
                md = parse_metadata(agent, proc.stdout)
            except AgentError as exc:
                raise self._not_installed(agent, exc.reports[0].message) from None
        with self._lock:
            self._cache[agent] = md
        return md

    def find_by_type(self, type_name: str) -> list[AgentName]:
        if not type_name or "/" in type_name:
            return []
        found: list[AgentName] = []
        base = Path(self.ocf_root, "resource.d")
        if base.is_dir():
            for prov in sorted(base.iterdir()):
                cand = prov / type_name
                if cand.is_file() and os.access(cand, os.X_OK):
                    found.append(AgentName("ocf", prov.name, type_name))
        return found


class StaticMetadataSource:
    """In-memory meta-data for tests and for callers that already have it."""

    def __init__(self, agents: dict[str, AgentMetadata] | None = None) -> None:
        self.agents: dict[str, AgentMetadata] = dict(agents or {})
        self.calls = 0

    def add(self, md: AgentMetadata) -> None:
        self.agents[md.agent.full] = md

    def get(self, agent: AgentName) -> AgentMetadata:
        self.calls += 1
        md = self.agents.get(agent.full)
        if md is None:
            raise AgentError(
                Report(
                    "AGENT_NOT_INSTALLED",
                    f"Agent '{agent}' is not installed or does not provide valid metadata",
                    {"agent": agent.full},
                    force_code="FORCE",
                )
            )
        return md

    def find_by_type(self, type_name: str) -> list[AgentName]:
        return [md.agent for md in self.agents.values() if md.agent.type == type_name]


_default: OcfMetadataSource | None = None


def default_source() -> OcfMetadataSource:
    """The process-wide cached source reading the installed agents."""
    global _default
    if _default is None:
        _default = OcfMetadataSource()
    return _default
