"""The ``tandem`` command: a pcs-style CLI.

Each area lives in its own module that exposes ``COMMANDS`` (a list of click
commands or groups); this file only wires them under the root group, so that
areas can grow without touching each other.
"""

from __future__ import annotations

import importlib
import sys

import click

from tandem.cli.context import CliContext
from tandem.errors import TandemError

# Modules under tandem.cli that contribute commands (each defines COMMANDS).
AREAS = [
    "simulate",
    "verify",
    "cib",
    "cluster",
    "status",
    "lab",
    "resource",
    "constraint",
    "property",
    "node",
    "host",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-f",
    "cib_file",
    metavar="FILE",
    default=None,
    help="Act on the CIB in FILE instead of the live cluster (as pcs -f).",
)
@click.option("--force", is_flag=True, help="Override errors that can be overridden.")
@click.option("--debug", is_flag=True, help="Print tracebacks of unexpected errors.")
@click.version_option(package_name="tandem")
@click.pass_context
def cli(ctx: click.Context, cib_file: str | None, force: bool, debug: bool) -> None:
    """tandem: a high-availability cluster resource manager."""
    ctx.obj = CliContext(cib_file=cib_file, force=force, debug=debug)


def _register() -> None:
    for area in AREAS:
        try:
            mod = importlib.import_module(f"tandem.cli.{area}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tandem.cli.{area}":
                continue
            raise
        for cmd in getattr(mod, "COMMANDS", []):
            cli.add_command(cmd)


_register()


def main() -> None:
    from tandem.cli.output import print_reports

    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except TandemError as exc:
        print_reports(exc.reports)
        sys.exit(getattr(exc, "exit_code", 1))
    except Exception as exc:  # never a traceback for the administrator
        if "--debug" in sys.argv:
            raise
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
