"""Where the management daemon and its clients keep their state.

Why one place: the daemon, the ``tandem host``/``pcsd`` commands and the
status renderer must agree on the same files, and tests must be able to point
all of them at a temporary directory.  Every path can be overridden by an
environment variable (the lab gives each node its own /var/lib/tandem and
/etc/tandem through its mount namespace, so the defaults work there as-is).

Layout (pcs's file names in brackets):

- ``/var/lib/tandem/known-hosts`` [/var/lib/pcsd/known-hosts]: tokens this
  node uses to talk to other nodes' daemons, pcs's JSON format.
- ``/var/lib/tandem/api/tokens.json`` [pcs_users.conf]: tokens the local
  daemon accepts (stored as SHA-256 digests, never in clear).
- ``/var/lib/tandem/api/tandemd-api.crt`` / ``.key`` [pcsd.crt, pcsd.key].
- ``/etc/tandem/enabled/api``: the "enabled at boot" marker.
- ``/run/tandem/tandemd-api.pid``: written while the daemon runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 2224
SERVICE_NAME = "tandemd-api"


@dataclass(frozen=True)
class ApiPaths:
    """The files of the management daemon; build with :func:`default_paths` or by hand in tests."""

    state_dir: Path
    known_hosts: Path
    enabled_marker: Path
    pidfile: Path
    corosync_dir: Path
    #: the cluster daemon's CIB folder, emptied by ``cluster setup`` (pcs's destroy)
    cib_dir: Path = Path("/var/lib/tandem/cib")

    @property
    def tokens(self) -> Path:
        return self.state_dir / "tokens.json"

    @property
    def cert(self) -> Path:
        return self.state_dir / "tandemd-api.crt"

    @property
    def key(self) -> Path:
        return self.state_dir / "tandemd-api.key"

    @classmethod
    def under(cls, root: Path) -> ApiPaths:
        """All files below ``root`` (tests and non-root runs)."""
        return cls(
            state_dir=root / "var/lib/tandem/api",
            known_hosts=root / "var/lib/tandem/known-hosts",
            enabled_marker=root / "etc/tandem/enabled/api",
            pidfile=root / "run/tandem/tandemd-api.pid",
            corosync_dir=root / "etc/corosync",
            cib_dir=root / "var/lib/tandem/cib",
        )


def default_paths() -> ApiPaths:
    """The real locations, each overridable through a ``TANDEM_*`` environment variable."""
    env = os.environ.get
    return ApiPaths(
        state_dir=Path(env("TANDEM_API_STATE_DIR", "/var/lib/tandem/api")),
        known_hosts=Path(env("TANDEM_KNOWN_HOSTS", "/var/lib/tandem/known-hosts")),
        enabled_marker=Path(env("TANDEM_API_ENABLED_MARKER", "/etc/tandem/enabled/api")),
        pidfile=Path(env("TANDEM_API_PIDFILE", "/run/tandem/tandemd-api.pid")),
        corosync_dir=Path(env("TANDEM_COROSYNC_DIR", "/etc/corosync")),
        cib_dir=Path(env("TANDEM_CIB_DIR", "/var/lib/tandem/cib")),
    )
