"""Options shared by every command (pcs's global modifiers)."""

from __future__ import annotations

from dataclasses import dataclass

import click


@dataclass
class CliContext:
    """Global flags: ``-f FILE`` edits a CIB file instead of the live cluster."""

    cib_file: str | None = None
    force: bool = False
    debug: bool = False


def get(ctx: click.Context | None = None) -> CliContext:
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext()
    return root.obj
