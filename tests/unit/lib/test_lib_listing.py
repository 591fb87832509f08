"""``resource --full`` and ``constraint --full`` print what the walkthrough shows.

The expected text is read from the walkthrough itself
(shared/notes/seed-walkthrough.md, sections 4 and 7), not written here.
"""

from __future__ import annotations

import re

from click.testing import CliRunner

from tandem.cli.main import cli
from tandem.lib.commands import constraint, resource
from tandem.lib.commands.resource import Operation
from tandem.lib.env import LibraryEnvironment, MemoryBackend


def _block_after(text: str, marker: str) -> str:
    """The first fenced block after ``marker`` in the walkthrough."""
    start = text.index(marker)
    m = re.search(r"```\n(.*?)```", text[start:], re.S)
    assert m
    return m.group(1)


def _cli(path, *args):
    result = CliRunner().invoke(cli, ["-f", str(path), *args])
    assert result.exit_code == 0, result.output
    return result.output


def _build(metadata, base_cib, tmp_path, with_website: bool):
    backend = MemoryBackend(base_cib)

    def env():
        return LibraryEnvironment(backend, metadata=metadata)

    resource.create(env(), "ClusterIP", "ocf:heartbeat:IPaddr2",
                    {"ip": "10.155.92.100", "cidr_netmask": "32"},
                    [Operation("monitor", {"interval": "30s"})])
    if with_website:
        resource.create(env(), "WebSite", "ocf:heartbeat:apache",
                        {"configfile": "/etc/httpd/conf/httpd.conf"},
                        [Operation("monitor", {"interval": "3s", "on-fail": "restart"})],
                        disabled=True)
        constraint.colocation_add(env(), "WebSite", "ClusterIP", "INFINITY")
        constraint.order_add(env(), "ClusterIP", "WebSite")
        constraint.location_prefers(env(), "WebSite", [("pcmk-1", "250")])
        resource.enable(env(), ["WebSite"])
        constraint.location_prefers(env(), "WebSite", [("pcmk-2", "500")])
    path = tmp_path / "cib.xml"
    path.write_bytes(
        __import__("lxml.etree").etree.tostring(backend.root, pretty_print=True)
    )
    return path


def test_resource_full_is_walkthrough_section_4(shared, metadata, base_cib, tmp_path):
    doc = (shared / "notes" / "seed-walkthrough.md").read_text()
    expected = _block_after(doc, "`pcs resource --full`")
    path = _build(metadata, base_cib, tmp_path, with_website=False)
    assert _cli(path, "resource", "--full") == expected


def test_constraint_full_is_walkthrough_section_7(shared, metadata, base_cib, tmp_path):
    doc = (shared / "notes" / "seed-walkthrough.md").read_text()
    expected = _block_after(doc, "`pcs constraint --full`")
    path = _build(metadata, base_cib, tmp_path, with_website=True)
    assert _cli(path, "constraint", "--full") == expected
    # without --full the same lines lose their ids
    plain = _cli(path, "constraint")
    assert plain == re.sub(r" \(id:[^)]*\)", "", expected)
