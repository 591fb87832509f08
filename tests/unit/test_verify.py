"""``tandem verify``: crm_verify's checks and text, one line per bad input, never a traceback."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from tandem.cib import xmlio
from tandem.cib.verify import ERRORS_FOUND, run_verify
from tandem.cib.walkthrough import build_step_root
from tandem.cli.main import cli

STONITH_LINES = [
    "(unpack_resources) \terror: Resource start-up disabled since no STONITH resources "
    "have been defined",
    "(unpack_resources) \terror: Either configure some or disable STONITH with the {opt} option",
    "(unpack_resources) \terror: NOTE: Clusters with shared data need STONITH to ensure "
    "data integrity",
]


def fencing_cib(value: str | None, name: str = "stonith-enabled") -> etree._Element:
    """The walkthrough's CIB with the fencing switch set to ``value`` (None: not set)."""
    root = build_step_root("6c")
    nv = root.find(".//nvpair[@name='stonith-enabled']")
    assert nv is not None
    if value is None:
        nv.getparent().remove(nv)
    else:
        nv.set("name", name)
        nv.set("value", value)
    return root


def run(args: list[str], **kw):
    return CliRunner().invoke(cli, args, catch_exceptions=False, **kw)


def write(tmp_path: Path, root_or_text, name: str = "cib.xml") -> str:
    p = tmp_path / name
    if isinstance(root_or_text, str):
        p.write_text(root_or_text)
    else:
        xmlio.write_file_atomic(root_or_text, p)
    return str(p)


def test_valid_cib_is_silent_and_exits_0(tmp_path: Path) -> None:
    res = run(["verify", "-x", write(tmp_path, build_step_root("6c")), "-V"])
    assert res.exit_code == 0
    assert res.output == ""


def test_fencing_on_by_default_gives_the_three_lines(tmp_path: Path) -> None:
    res = run(["verify", "-x", write(tmp_path, fencing_cib(None)), "-V"])
    assert res.exit_code == 78
    expected = [line.format(opt="stonith-enabled") for line in STONITH_LINES] + [ERRORS_FOUND]
    assert res.stderr.splitlines() == expected


def test_fencing_option_named_as_the_cib_names_it(tmp_path: Path) -> None:
    lines, code = run_verify(fencing_cib("true", name="fencing-enabled"), verbose=1)
    assert code == 78
    assert lines[1] == STONITH_LINES[1].format(opt="fencing-enabled")
    lines, code = run_verify(fencing_cib("yes"), verbose=1)
    assert code == 78
    assert lines[1] == STONITH_LINES[1].format(opt="stonith-enabled")


@pytest.mark.parametrize("name", ["stonith-enabled", "fencing-enabled"])
def test_fencing_disabled_is_valid(name: str) -> None:
    assert run_verify(fencing_cib("false", name=name), verbose=2) == ([], 0)


def test_fencing_device_satisfies_the_check() -> None:
    root = fencing_cib(None)
    resources = root.find("configuration/resources")
    etree.SubElement(resources, "primitive", id="fence1", type="fence_xvm").set("class", "stonith")
    assert run_verify(root, verbose=1) == ([], 0)


def test_without_v_only_the_verdict(tmp_path: Path) -> None:
    res = run(["verify", "-x", write(tmp_path, fencing_cib(None))])
    assert res.exit_code == 78
    assert res.stderr.splitlines() == [ERRORS_FOUND, "-V may provide more details"]


def _bad(root: etree._Element, cons: str) -> etree._Element:
    constraints = root.find("configuration/constraints")
    constraints.append(etree.fromstring(cons))
    return root


BAD_CONFIGS = {
    "duplicate id": (
        '<rsc_location id="ClusterIP" rsc="WebSite" node="pcmk-1" score="1"/>',
        "rsc_location",
    ),
    "missing resource": (
        '<rsc_colocation id="c9" rsc="WebSite" with-rsc="Nope" score="10"/>',
        "c9",
    ),
    "bad score": ('<rsc_location id="l9" rsc="WebSite" node="pcmk-2" score="lots"/>', "l9"),
    "missing attribute": ('<rsc_order id="o9" first="ClusterIP"/>', "o9"),
    "missing id-ref": (
        '<rsc_location id="l8" rsc="WebSite"><rule id-ref="r-none"/></rsc_location>',
        "r-none",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_CONFIGS))
def test_each_bad_configuration_gives_one_line_naming_the_element(
    tmp_path: Path, kind: str
) -> None:
    cons, name = BAD_CONFIGS[kind]
    path = write(tmp_path, _bad(build_step_root("6c"), cons))
    res = run(["verify", "-x", path])
    assert res.exit_code == 78
    lines = res.stderr.splitlines()
    naming = [line for line in lines if name in line]
    assert len(naming) == 1, lines
    assert re.search(r"\(line \d+\)", naming[0])
    assert lines[-2:] == [ERRORS_FOUND, "-V may provide more details"]
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    ("text", "needle", "code"),
    [
        ("<cib>\n<configuration>\n<nodes>", "line", 78),  # truncated
        ("<cib><configuration></cib>", "line", 78),  # malformed
        ("<status/>", "<status>", 78),  # not a CIB
    ],
)
def test_unreadable_cib_gives_one_error_line(
    tmp_path: Path, text: str, needle: str, code: int
) -> None:
    path = write(tmp_path, text)
    res = run(["verify", "-x", path, "-V"])
    assert res.exit_code == code
    lines = res.output.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ") and path in lines[0] and needle in lines[0]


def test_missing_file(tmp_path: Path) -> None:
    res = run(["verify", "-x", str(tmp_path / "none.xml")])
    assert res.exit_code == 1
    assert res.output.splitlines() == [f"Error: {tmp_path / 'none.xml'}: no such file"]


def test_live_without_a_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_RUN_DIR", str(tmp_path))
    res = run(["verify", "-L", "-V"])
    assert res.exit_code == 1
    assert res.output.splitlines() == ["Error: cluster is not currently running on this node"]


def test_needs_exactly_one_source(tmp_path: Path) -> None:
    for args in (["verify"], ["verify", "-L", "-x", "f.xml"]):
        res = run(args)
        assert res.exit_code == 1
        assert len(res.output.splitlines()) == 1 and res.output.startswith("Error: ")


def test_unknown_node_is_accepted(tmp_path: Path) -> None:
    root = _bad(
        build_step_root("6c"), '<rsc_location id="l7" rsc="WebSite" node="pcmk-9" score="5"/>'
    )
    res = run(["verify", "-x", write(tmp_path, root)])
    assert res.exit_code == 0 and res.output == ""
    res = run(["verify", "-x", write(tmp_path, root), "-V"])
    assert res.exit_code == 0 and "pcmk-9" in res.output and "warning" in res.output


CRM_VERIFY = shutil.which("crm_verify")


@pytest.mark.skipif(CRM_VERIFY is None, reason="Debian's pacemaker-cli-utils is not installed")
@pytest.mark.parametrize("value", [None, "true", "false"])
def test_same_text_as_crm_verify(tmp_path: Path, value: str | None) -> None:
    """Pacemaker 2.1.5 as a second opinion (it prefixes its verdict with 'crm_verify: ')."""
    path = write(tmp_path, fencing_cib(value))
    theirs = subprocess.run(
        [str(CRM_VERIFY), "-x", path, "-V"], capture_output=True, text=True, timeout=60
    )
    ours = run(["verify", "-x", path, "-V"])
    assert ours.exit_code == theirs.returncode
    assert ours.stderr.splitlines() == [
        line.removeprefix("crm_verify: ") for line in theirs.stderr.splitlines()
    ]


def test_duplicate_operation_as_pacemaker_reports_it(tmp_path: Path) -> None:
    """Same name and interval twice in a resource (30s == PT30S): an error, named by op id."""
    root = build_step_root("6c")
    ops = root.find(".//primitive[@id='ClusterIP']/operations")
    etree.SubElement(ops, "op", id="ClusterIP-monitor-PT30S", name="monitor", interval="PT30S")
    lines, code = run_verify(root, verbose=1)
    assert code == 78
    assert lines == [
        "(is_op_dup) \terror: Operation ClusterIP-monitor-PT30S is duplicate of "
        "ClusterIP-monitor-interval-30s (do not use same name and interval combination more "
        "than once per resource)",
        ERRORS_FOUND,
    ]
    ops[-1].set("interval", "PT31S")
    assert run_verify(root, verbose=1) == ([], 0)


@pytest.mark.skipif(CRM_VERIFY is None, reason="Debian's pacemaker-cli-utils is not installed")
def test_duplicate_operation_same_text_as_crm_verify(tmp_path: Path) -> None:
    root = build_step_root("6c")
    ops = root.find(".//primitive[@id='WebSite']/operations")
    etree.SubElement(ops, "op", id="WebSite-monitor-3000ms", name="monitor", interval="3000ms")
    path = write(tmp_path, root)
    theirs = subprocess.run(
        [str(CRM_VERIFY), "-x", path, "-V"], capture_output=True, text=True, timeout=60
    )
    ours = run(["verify", "-x", path, "-V"])
    assert ours.exit_code == theirs.returncode == 78
    # Pacemaker 2.1.5 logs the same line once per unpacking pass: compare without repeats
    expected = list(
        dict.fromkeys(line.removeprefix("crm_verify: ") for line in theirs.stderr.splitlines())
    )
    assert ours.stderr.splitlines() == expected


def test_non_recurring_operations_may_repeat() -> None:
    """Pacemaker checks only recurring operations: two start definitions are accepted."""
    root = build_step_root("6c")
    ops = root.find(".//primitive[@id='WebSite']/operations")
    etree.SubElement(ops, "op", id="WebSite-start-again", name="start", interval="0s")
    assert run_verify(root, verbose=1) == ([], 0)
