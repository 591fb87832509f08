"""Which parameters force a restart: ``op-force-restart`` and ``op-restart-digest``.

Why: Pacemaker records, beside ``op-digest``, the list of parameters whose
change needs a full restart and a digest over just those; the scheduler
compares it to decide "reload" versus "restart".  The rules (Pacemaker 2.1,
seen in the corpus records):

- the agent advertises ``reload-agent`` and OCF >= 1.1: the list is every
  parameter *not* marked ``reloadable``;
- otherwise it advertises the legacy ``reload``: the list is every parameter
  marked ``unique`` (the pre-1.1 convention);
- otherwise neither attribute is written.

Only non-recurring operations carry them.  The list is written in meta-data
order as two spaces, the names separated by one space, two spaces
(``"  state  "``), as feature sets 3.13 and later do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from tandem.agents.metadata import AgentMetadata, AgentName, parse_metadata
from tandem.cib.digest import op_digest


@dataclass(frozen=True)
class ReloadInfo:
    """What the record builder needs from an agent's meta-data."""

    #: parameter names in meta-data order whose change forces a restart; None = no reload support
    restart_params: tuple[str, ...] | None


def _ocf_version(xml: str | bytes) -> tuple[int, int]:
    data = xml.encode() if isinstance(xml, str) else xml
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return (1, 0)
    text = (root.findtext("version") or "1.0").strip()
    major, _, minor = text.partition(".")
    try:
        return (int(major), int(minor or 0))
    except ValueError:
        return (1, 0)


def reload_info_from_metadata(md: AgentMetadata, ocf_version: tuple[int, int]) -> ReloadInfo:
    actions = {a.name for a in md.actions}
    if "reload-agent" in actions and ocf_version >= (1, 1):
        return ReloadInfo(tuple(p.name for p in md.parameters if not p.reloadable))
    if "reload" in actions:
        return ReloadInfo(tuple(p.name for p in md.parameters if p.unique))
    return ReloadInfo(None)


def reload_info_from_xml(agent: AgentName, xml: str | bytes) -> ReloadInfo:
    """Parse an agent's meta-data output (raises AgentError when it is not meta-data)."""
    return reload_info_from_metadata(parse_metadata(agent, xml), _ocf_version(xml))


NO_RELOAD = ReloadInfo(None)


def restart_attributes(info: ReloadInfo, params: Mapping[str, str]) -> dict[str, str]:
    """``op-force-restart`` and ``op-restart-digest`` for an operation run with ``params``."""
    if info.restart_params is None:
        return {}
    names = info.restart_params
    listed = "  " + " ".join(names) + "  " if names else ""
    subset = {n: params[n] for n in names if n in params}
    return {"op-force-restart": listed, "op-restart-digest": op_digest(subset)}
