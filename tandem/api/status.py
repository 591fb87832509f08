"""Lines ``tandem status`` appends: the ``PCSD Status:`` section and the daemon status line.

Why here: the management daemon knows how to tell whether it runs and is
enabled, and how to ask the other nodes' daemons within a hard deadline; the
daemon helper's ``tandem status`` only prints what these functions return.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from tandem.api.client import Transport, pcsd_status
from tandem.api.paths import DEFAULT_PORT, SERVICE_NAME, ApiPaths, default_paths
from tandem.api.storage import KnownHosts


def pcsd_status_lines(statuses: Mapping[str, str]) -> list[str]:
    """``PCSD Status:`` then ``  NODE: Online|Offline|Unauthorized`` (pcs's layout)."""
    return ["PCSD Status:", *(f"  {node}: {state}" for node, state in statuses.items())]


def pcsd_status_section(
    nodes: Iterable[str],
    total_timeout: float = 2.0,
    known_hosts: KnownHosts | Path | None = None,
    transport: Transport | None = None,
) -> list[str]:
    """Query every node's daemon in parallel (at most ``total_timeout`` s) and render."""
    return pcsd_status_lines(pcsd_status(list(nodes), total_timeout, known_hosts, transport))


def _pid_alive(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"tandemd-api" in cmdline or b"tandem.api" in cmdline


def _port_open(port: int, timeout: float = 0.3) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout):
        return True
    return False


def _systemd(verb: str) -> bool | None:
    if not Path("/run/systemd/system").is_dir() or not shutil.which("systemctl"):
        return None
    try:
        r = subprocess.run(
            ["systemctl", verb, "--quiet", f"{SERVICE_NAME}.service"], timeout=2, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return r.returncode == 0


def api_daemon_state(
    paths: ApiPaths | None = None,
    port: int | None = None,
    port_check: Callable[[int], bool] = _port_open,
) -> tuple[bool, bool]:
    """(active, enabled) of the local management daemon.

    Active: systemd says so, or the pidfile names a live tandemd-api, or the
    port answers on loopback.  Enabled: the marker file exists, or systemd
    has the unit enabled.
    """
    paths = paths or default_paths()
    port = port or int(os.environ.get("TANDEM_API_PORT", DEFAULT_PORT))
    active = bool(_systemd("is-active")) or _pid_alive(paths.pidfile) or port_check(port)
    enabled = paths.enabled_marker.exists() or bool(_systemd("is-enabled"))
    return active, enabled


def daemon_status_line(paths: ApiPaths | None = None, port: int | None = None) -> str:
    """``  tandemd-api: active/enabled`` for the ``Daemon Status:`` section."""
    active, enabled = api_daemon_state(paths, port)
    return (
        f"  {SERVICE_NAME}: {'active' if active else 'inactive'}/"
        f"{'enabled' if enabled else 'disabled'}"
    )
