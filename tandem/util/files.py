"""Atomic file writes shared by the CIB store, corosync config and the API daemon.

Why one place: every layer that persists state (CIB, authkey, TLS key, backups)
needs the same crash-safe sequence (temp file in the same folder, fsync, rename),
and the private variants must never be readable by others even for a moment.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_private_file(path: str | os.PathLike[str], data: bytes, mode: int) -> None:
    """Write atomically with ``mode`` from the start (never readable by others meanwhile)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, p)
