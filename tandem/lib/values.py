"""Validation of the value types the configuration commands accept.

Why a module: scores, durations, booleans and the cluster property table are
checked by several commands (property, resource create, constraints) and the
messages must be the same everywhere (pcs's wording).
"""

from __future__ import annotations

import re

from tandem.errors import Report, error

INFINITY_WORDS = ("INFINITY", "+INFINITY", "-INFINITY")
PCMK_BOOLEANS = ("0", "1", "false", "n", "no", "off", "on", "true", "y", "yes")

_SCORE = re.compile(r"^[+-]?(\d+|INFINITY)$")
# Pacemaker durations: "30", "30s", "5min", "1h", "500ms", ISO 8601 "PT30S".
_TIME = re.compile(r"^\s*\d+\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$", re.IGNORECASE)
_ISO = re.compile(r"^P(T(\d+H)?(\d+M)?(\d+S)?|\d+D)$", re.IGNORECASE)


def is_score(value: str) -> bool:
    return bool(_SCORE.match(value))


def validate_score(value: str) -> Report | None:
    if is_score(value):
        return None
    return error(
        "INVALID_SCORE",
        f"invalid score '{value}', use integer or INFINITY or -INFINITY",
        score=value,
    )


def negate_score(value: str) -> str:
    if value.startswith("-"):
        return value[1:]
    return "-" + value.lstrip("+")


def is_time(value: str) -> bool:
    return bool(_TIME.match(value) or _ISO.match(value))


def is_boolean(value: str) -> bool:
    return value.lower() in PCMK_BOOLEANS


#: Cluster options (name -> (type, default, allowed values for enums)), as
#: Pacemaker 2.1.5's daemons describe them, restricted to what pcs lets users set.
CLUSTER_PROPERTIES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "batch-limit": ("integer", "0", ()),
    "cluster-delay": ("time", "60s", ()),
    "cluster-ipc-limit": ("integer", "500", ()),
    "cluster-recheck-interval": ("time", "15min", ()),
    "concurrent-fencing": ("boolean", "false", ()),
    "dc-deadtime": ("time", "20s", ()),
    "election-timeout": ("time", "2min", ()),
    "enable-acl": ("boolean", "false", ()),
    "enable-startup-probes": ("boolean", "true", ()),
    "fence-reaction": ("string", "stop", ()),
    "join-finalization-timeout": ("time", "30min", ()),
    "join-integration-timeout": ("time", "3min", ()),
    "load-threshold": ("percentage", "80%", ()),
    "maintenance-mode": ("boolean", "false", ()),
    "migration-limit": ("integer", "-1", ()),
    "no-quorum-policy": ("select", "stop", ("stop", "freeze", "ignore", "demote", "suicide")),
    "node-action-limit": ("integer", "0", ()),
    "node-health-base": ("integer", "0", ()),
    "node-health-green": ("integer", "0", ()),
    "node-health-red": ("integer", "-INFINITY", ()),
    "node-health-strategy": (
        "select",
        "none",
        ("none", "migrate-on-red", "only-green", "progressive", "custom"),
    ),
    "node-health-yellow": ("integer", "0", ()),
    "pe-error-series-max": ("integer", "-1", ()),
    "pe-input-series-max": ("integer", "4000", ()),
    "pe-warn-series-max": ("integer", "5000", ()),
    "placement-strategy": ("select", "default", ("default", "utilization", "minimal", "balanced")),
    "priority-fencing-delay": ("time", "0", ()),
    "remove-after-stop": ("boolean", "false", ()),
    "shutdown-escalation": ("time", "20min", ()),
    "shutdown-lock": ("boolean", "false", ()),
    "shutdown-lock-limit": ("time", "0", ()),
    "start-failure-is-fatal": ("boolean", "true", ()),
    "startup-fencing": ("boolean", "true", ()),
    "stonith-action": ("select", "reboot", ("reboot", "off", "poweroff")),
    "stonith-enabled": ("boolean", "true", ()),
    "stonith-max-attempts": ("integer", "10", ()),
    "stonith-timeout": ("time", "60s", ()),
    "stonith-watchdog-timeout": ("time", "0", ()),
    "stop-all-resources": ("boolean", "false", ()),
    "stop-orphan-actions": ("boolean", "true", ()),
    "stop-orphan-resources": ("boolean", "true", ()),
    "symmetric-cluster": ("boolean", "true", ()),
    "transition-delay": ("time", "0s", ()),
}

#: Set by the cluster itself; shown, never set by users.
READONLY_PROPERTIES = ("cluster-infrastructure", "cluster-name", "dc-version", "have-watchdog",
                       "last-lrm-refresh")


def validate_property_value(name: str, value: str) -> Report | None:
    """Type check of one cluster property value (forceable, as in pcs)."""
    spec = CLUSTER_PROPERTIES.get(name)
    if spec is None:
        return None
    kind, _default, options = spec
    ok = True
    hint = ""
    if kind == "boolean":
        ok = is_boolean(value)
        hint = "a pacemaker boolean value: " + ", ".join(f"'{b}'" for b in PCMK_BOOLEANS)
    elif kind == "integer":
        ok = is_score(value)
        hint = "an integer or INFINITY or -INFINITY"
    elif kind == "time":
        ok = is_time(value)
        hint = "time interval (e.g. 1, 2s, 3m, 4h, ...)"
    elif kind == "percentage":
        ok = bool(re.match(r"^\d+%?$", value))
        hint = "a non-negative integer followed by '%' (e.g. 0%, 50%, 200%, ...)"
    elif kind == "select":
        ok = value in options
        hint = ", ".join(f"'{o}'" for o in sorted(options))
    if ok:
        return None
    return error(
        "INVALID_OPTION_VALUE",
        f"'{value}' is not a valid {name} value, use {hint}",
        force_code="FORCE",
        option_name=name,
        option_value=value,
    )
