"""Rendering of reports for the terminal: ``Error: ...`` / ``Warning: ...``.

The library never prints; the CLI renders the reports it gets and adds the
hints that only make sense on a command line (pcs's overlay), such as
", use --force to override".
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from tandem.errors import Report, Severity, TandemError

F = TypeVar("F", bound=Callable[..., Any])


def render(report: Report, *, forced: bool = False) -> str:
    prefix = {Severity.ERROR: "Error", Severity.WARNING: "Warning", Severity.INFO: ""}[
        report.severity
    ]
    msg = report.message
    if report.is_error and report.force_code and not forced:
        msg = f"{msg}, use --force to override"
    return f"{prefix}: {msg}" if prefix else msg


def print_reports(reports: Iterable[Report], *, forced: bool = False) -> None:
    for r in reports:
        click.echo(render(r, forced=forced), err=r.severity is not Severity.INFO)


def guarded(fn: F) -> F:
    """Decorator: turn TandemError into rendered lines and exit status 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TandemError as exc:
            print_reports(exc.reports)
            sys.exit(getattr(exc, "exit_code", 1))

    return wrapper  # type: ignore[return-value]
