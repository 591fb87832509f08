"""Running the local ``tandem cluster ...`` commands on behalf of a remote caller.

Why a subprocess: the daemon helper's CLI implements ``tandem cluster
start|stop|enable|disable`` for the local node; the management daemon only
relays.  A subprocess with a timeout keeps the API daemon responsive even when
the command hangs, and keeps the two daemons independent (the API daemon
never imports the cluster daemon).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


class CommandRunner(Protocol):
    async def run(self, argv: list[str], timeout: float) -> CommandResult: ...


def default_tandem_command() -> list[str]:
    """The ``tandem`` script next to the running interpreter (the venv), else ``python -m``."""
    beside = os.path.join(os.path.dirname(sys.executable), "tandem")
    if os.access(beside, os.X_OK):
        return [beside]
    found = shutil.which("tandem")
    if found:
        return [found]
    return [sys.executable, "-m", "tandem.cli.main"]


class SubprocessRunner:
    """Runs commands with asyncio subprocesses; kills them at the timeout."""

    MAX_OUTPUT = 64 * 1024

    async def run(self, argv: list[str], timeout: float) -> CommandResult:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            return CommandResult(127, "", f"cannot run {argv[0]}: {exc.strerror}")
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 5)
            return CommandResult(-9, "", f"{' '.join(argv[-2:])} timed out after {timeout:g}s", True)
        return CommandResult(
            proc.returncode if proc.returncode is not None else -1,
            out[: self.MAX_OUTPUT].decode(errors="replace"),
            err[: self.MAX_OUTPUT].decode(errors="replace"),
        )
