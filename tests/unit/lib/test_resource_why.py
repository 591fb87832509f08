"""``resource why``: the decision and its contributions, on the walkthrough's CIBs."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from tandem.cib import scores
from tandem.cib.walkthrough import write_step_cib
from tandem.cli.main import cli


def _why(tmp_path: Path, step: str, rsc: str) -> tuple[int, str]:
    path = write_step_cib(step, str(tmp_path / f"{step}.xml"))
    result = CliRunner().invoke(cli, ["-f", path, "resource", "why", rsc])
    return result.exit_code, result.output


def _node_blocks(text: str) -> dict[str, tuple[int, list[int]]]:
    """{node: (printed total, [contribution amounts])} from the 'Scores of' block."""
    blocks: dict[str, tuple[int, list[int]]] = {}
    node = None
    for line in text.splitlines():
        m = re.match(r"^  (\S+): (-?INFINITY|-?\d+)$", line)
        if m:
            node = m.group(1)
            blocks[node] = (scores.parse(m.group(2)), [])
            continue
        m = re.match(r"^\s+([+-]?(?:INFINITY|\d+))\s{2}", line)
        if m and node:
            blocks[node][1].append(scores.parse(m.group(1)))
    return blocks


def test_why_names_the_move_and_its_contributions_add_up(tmp_path: Path) -> None:
    code, out = _why(tmp_path, "7a-1", "WebSite")  # prefers pcmk-2=500 was just added
    assert code == 0, out
    assert "WebSite is active on: pcmk-1" in out
    assert "WebSite goes to pcmk-2" in out
    assert "location-WebSite-pcmk-2-500" in out
    blocks = _node_blocks(out)
    assert set(blocks) == {"pcmk-1", "pcmk-2"}
    for total, parts in blocks.values():
        folded = 0
        for p in parts:
            folded = scores.add(folded, p)
        assert folded == total


def test_why_for_a_settled_resource(tmp_path: Path) -> None:
    code, out = _why(tmp_path, "6c", "ClusterIP")
    assert code == 0, out
    assert "ClusterIP stays on pcmk-1" in out
    assert "resource-stickiness" in out


def test_why_unknown_resource_is_one_error_line(tmp_path: Path) -> None:
    code, out = _why(tmp_path, "6c", "Nope")
    assert code == 1
    assert out.strip().splitlines() == ["Error: resource 'Nope' does not exist"]
