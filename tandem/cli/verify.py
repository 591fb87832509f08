"""``tandem verify``: check a CIB as Pacemaker's crm_verify does.

    tandem verify -x FILE [-V]     check a CIB file
    tandem verify -L [-V]          check the live CIB of the running cluster

Prints nothing and exits 0 when the configuration is valid; otherwise prints
the problems (one line each, naming the element) and
``Errors found during check: config not valid`` on stderr and exits 78.
A file that cannot be read as a CIB gives one ``Error: ...`` line.
"""

from __future__ import annotations

import sys

import click
from lxml import etree

from tandem.cib import xmlio
from tandem.cib.verify import EXIT_CONFIG, run_verify
from tandem.cli.output import print_reports
from tandem.errors import CibError, NotRunningError, TandemError

EXIT_ERROR = 1

__all__ = ["COMMANDS", "run_verify", "verify"]


def _load_live() -> etree._Element:
    """The live CIB through the local daemon; NotRunningError when there is none."""
    try:
        from tandem.daemon import client
    except ImportError as exc:  # the daemon layer is not installed in this build
        raise NotRunningError("cluster is not currently running on this node") from exc
    return xmlio.parse_string(client.get_cib_xml(), source="live CIB")


@click.command("verify")
@click.option(
    "-x", "--xml-file", "xml_file", metavar="FILE", default=None, help="Check the CIB in FILE."
)
@click.option("-L", "--live-check", "live", is_flag=True, help="Check the running cluster's CIB.")
@click.option("-V", "--verbose", "verbose", count=True, help="Show details (repeat for more).")
def verify(xml_file: str | None, live: bool, verbose: int) -> None:
    """Check the cluster configuration for errors (as crm_verify)."""
    if bool(xml_file) == bool(live):
        print_reports(
            [
                CibError(
                    "give exactly one of -x FILE or -L (live cluster)", option="-x/-L"
                ).reports[0]
            ]
        )
        sys.exit(EXIT_ERROR)
    try:
        root = _load_live() if live else xmlio.parse_file(str(xml_file))
    except CibError as exc:
        print_reports(exc.reports)
        missing = exc.code in ("CIB_FILE_MISSING", "CIB_FILE_UNREADABLE")
        sys.exit(EXIT_ERROR if missing else EXIT_CONFIG)
    except TandemError as exc:
        print_reports(exc.reports)
        sys.exit(EXIT_ERROR)
    lines, code = run_verify(root, verbose)
    for line in lines:
        click.echo(line, err=True)
    sys.exit(code)


COMMANDS = [verify]
