"""Cluster options (``crm_config``) with Pacemaker's defaults.

Why a table: the scheduler reads a dozen options, each with a default that
changes behaviour when absent (``symmetric-cluster`` true, ``no-quorum-policy``
stop, fencing enabled...).  Pacemaker 3 renamed ``stonith-enabled`` to
``fencing-enabled``; both are accepted, the newer name winning when both are
set (as Pacemaker does), and :func:`fencing_option_name` tells verify which
name to print.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULTS: dict[str, str] = {
    "symmetric-cluster": "true",
    "no-quorum-policy": "stop",
    "fencing-enabled": "true",
    "stonith-action": "reboot",
    "start-failure-is-fatal": "true",
    "stop-orphan-resources": "true",
    "stop-orphan-actions": "true",
    "stop-all-resources": "false",
    "maintenance-mode": "false",
    "placement-strategy": "default",
    "node-health-strategy": "none",
    "node-health-base": "0",
    "node-health-green": "0",
    "node-health-yellow": "0",
    "node-health-red": "-INFINITY",
    "cluster-recheck-interval": "15min",
    "shutdown-lock": "false",
    "startup-fencing": "true",
    "concurrent-fencing": "true",
    "priority-fencing-delay": "0",
    "default-resource-stickiness": "0",
    "is-managed-default": "true",
}

# Old name -> new name (Pacemaker 3 aliases).
ALIASES: dict[str, str] = {
    "stonith-enabled": "fencing-enabled",
    "stonith-action": "fencing-action",
    "stonith-timeout": "fencing-timeout",
}

TRUE_WORDS = {"true", "on", "yes", "y", "1"}
FALSE_WORDS = {"false", "off", "no", "n", "0"}


def is_true(value: str | None, default: bool = False) -> bool:
    """Pacemaker's crm_is_true: true/on/yes/y/1 (case-insensitive)."""
    if value is None:
        return default
    v = value.strip().lower()
    if v in TRUE_WORDS:
        return True
    if v in FALSE_WORDS:
        return False
    return default


def fencing_option_name(props: Mapping[str, str]) -> str:
    """The name the CIB uses for the fencing switch (``stonith-enabled`` if it sets neither)."""
    if "fencing-enabled" in props:
        return "fencing-enabled"
    return "stonith-enabled"


class ClusterOptions:
    """Resolved cluster options: explicit values over defaults, aliases merged."""

    def __init__(self, props: Mapping[str, str]) -> None:
        self.raw = dict(props)
        merged = dict(DEFAULTS)
        for name, value in props.items():
            if name in ALIASES and ALIASES[name] in props:
                continue  # the new name wins when both are set
            merged[ALIASES.get(name, name)] = value
        self.values = merged

    def get(self, name: str) -> str | None:
        return self.values.get(ALIASES.get(name, name))

    def flag(self, name: str) -> bool:
        return is_true(self.get(name), is_true(DEFAULTS.get(ALIASES.get(name, name))))

    @property
    def fencing_enabled(self) -> bool:
        return self.flag("fencing-enabled")

    @property
    def symmetric(self) -> bool:
        return self.flag("symmetric-cluster")

    @property
    def no_quorum_policy(self) -> str:
        return (self.get("no-quorum-policy") or "stop").strip().lower()

    @property
    def stop_all(self) -> bool:
        return self.flag("stop-all-resources")

    @property
    def maintenance_mode(self) -> bool:
        return self.flag("maintenance-mode")

    @property
    def start_failure_is_fatal(self) -> bool:
        return self.flag("start-failure-is-fatal")

    @property
    def stop_orphan_resources(self) -> bool:
        return self.flag("stop-orphan-resources")

    @property
    def placement_strategy(self) -> str:
        return (self.get("placement-strategy") or "default").strip().lower()
