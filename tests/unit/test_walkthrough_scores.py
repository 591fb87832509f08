"""Acceptance 1 and 3 of issue 3: the walkthrough's scores and moves, and --explain sums.

For every sampled step of sections 5-7 of ../shared/notes/seed-walkthrough.md,
:mod:`tandem.cib.walkthrough` builds the CIB (configuration as pcs creates it,
status with real digests) and records what the walkthrough's tables say:
the allocation scores and the transition summary.  These tests run
``tandem simulate -x FILE -s -S`` on each and compare, and check that the
contributions ``--explain`` prints fold (with Pacemaker's score addition)
to the printed scores.

The builder itself is checked against Debian's Pacemaker 2.1.5
(``crm_simulate``), so that a failure here is the scheduler's, not the
builder's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from functools import reduce
from pathlib import Path

import pytest
from click.testing import CliRunner

from tandem.cib import scores, xmlio
from tandem.cib.digest import op_digest
from tandem.cib.walkthrough import STEP_IDS, STEPS, build_step_root, write_step_cib
from tandem.cli.main import cli

SCORE_RE = re.compile(r"pcmk__primitive_assign: (\S+) allocation score on (\S+): (\S+)\s*$")


def parse_scores(text: str) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        m = SCORE_RE.search(line)
        if m:
            found[(m.group(1), m.group(2))] = m.group(3)
    return found


def parse_summary(text: str) -> list[str]:
    """Transition Summary lines, whitespace normalised (`* Move ClusterIP ( a -> b )`)."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Transition Summary:")
    except StopIteration:
        raise AssertionError(f"no 'Transition Summary:' section in:\n{text}") from None
    out = []
    for line in lines[start + 1 :]:
        if not line.strip() or not line.startswith(" "):
            break
        out.append(" ".join(line.replace("(", "( ").replace(")", " )").split()))
    return out


def simulate(path: str, *extra: str) -> str:
    res = CliRunner().invoke(cli, ["simulate", "-x", path, *extra], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.parametrize("step", STEP_IDS)
def test_scores_and_moves(tmp_path: Path, step: str) -> None:
    s = STEPS[step]
    out = simulate(write_step_cib(step, tmp_path / "cib.xml"), "-s", "-S")
    got = parse_scores(out)
    for key, expected in s.scores.items():
        assert got.get(key) == expected, f"{step}: {key[0]} on {key[1]}"
    assert parse_summary(out) == s.summary_lines()


EXPLAIN_NODE = re.compile(r"^\s+(pcmk-\d): (\S+)\s*$")
EXPLAIN_ITEM = re.compile(r"^\s{4,}([+-]?(?:\d+|INFINITY))\s\s")


def parse_explain(text: str) -> dict[str, tuple[int, list[int]]]:
    """node -> (printed total, contributions in order)."""
    nodes: dict[str, tuple[int, list[int]]] = {}
    current: list[int] | None = None
    for line in text.splitlines():
        m = EXPLAIN_NODE.match(line)
        if m:
            current = []
            nodes[m.group(1)] = (scores.parse(m.group(2)), current)
            continue
        m = EXPLAIN_ITEM.match(line)
        if m and current is not None:
            current.append(scores.parse(m.group(1)))
    return nodes


@pytest.mark.parametrize("step", STEP_IDS)
def test_explain_adds_up(tmp_path: Path, step: str) -> None:
    path = write_step_cib(step, tmp_path / "cib.xml")
    printed = parse_scores(simulate(path, "-s"))
    for rsc in sorted({r for r, _ in printed}):
        nodes = parse_explain(simulate(path, "--explain", rsc))
        assert set(nodes) == {n for r, n in printed if r == rsc}, f"{step}: {rsc}"
        for node, (total, items) in nodes.items():
            assert reduce(scores.add, items, 0) == total, f"{step}: {rsc} on {node}: {items}"
            assert scores.to_str(total) == printed[(rsc, node)], f"{step}: {rsc} on {node}"


NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("step", STEP_IDS)
def test_scheduler_api_scores_moves_and_provenance(step: str) -> None:
    """The same checks through tandem.scheduler's API, and the recorded folds."""
    from tandem.cib.model import Cib
    from tandem.scheduler import Recorder, schedule

    s = STEPS[step]
    rec = Recorder()
    result = schedule(Cib.from_element(build_step_root(step)), NOW, recorder=rec)
    for (rsc, node), expected in s.scores.items():
        assert scores.to_str(result.scores[rsc][node]) == expected, f"{step}: {rsc} on {node}"
    summary = [
        " ".join(("* " + line.strip()).replace("(", "( ").replace(")", " )").split())
        for line in result.summary
    ]
    assert summary == s.summary_lines()
    for rsc, per_node in result.scores.items():
        for node, total in per_node.items():
            assert rec.fold(rsc, node) == total, f"{step}: {rsc} on {node}"


# ---------------------------------------------------------------------------
# The builder: what it records and that Pacemaker agrees with it


def test_steps_cover_every_table_row() -> None:
    with_scores = [s for s in STEP_IDS if STEPS[s].scores]
    assert with_scores == ["6a", "6b", "6c", "7a-1", "7a-2", "7a-3", "7a-4"] + [
        "7b-1",
        "7b-2",
        "7b-3",
        "7b-4",
    ]
    assert all(len(STEPS[s].scores) == 4 for s in with_scores)
    assert STEPS["7a-1"].summary_lines() == [
        "* Move ClusterIP ( pcmk-1 -> pcmk-2 )",
        "* Move WebSite ( pcmk-1 -> pcmk-2 )",
    ]


def test_history_digests_follow_the_recipe(shared: Path, tmp_path: Path) -> None:
    """The digests in the step CIBs are those of ../shared/notes/op-digests.md's example."""
    note = (shared / "notes" / "op-digests.md").read_text()
    root = xmlio.parse_file(write_step_cib("6c", tmp_path / "cib.xml"))
    ops = {op.get("operation_key") + "@" + op.get("on_node"): op for op in root.iter("lrm_rsc_op")}
    start = ops["ClusterIP_start_0@pcmk-1"].get("op-digest")
    monitor = ops["ClusterIP_monitor_30000@pcmk-1"].get("op-digest")
    assert start in note and monitor in note
    assert start == "8aa05eaf0a3b23e83d69ded4e3744164"
    assert monitor == "75093a4c7a2174e765eab8faf3b43b1d"
    web = ops["WebSite_monitor_3000@pcmk-1"].get("op-digest")
    assert web == op_digest(
        {"configfile": "/etc/apache2/apache2.conf", "statusurl": "http://localhost/server-status"},
        interval_ms=3000,
        timeout_ms=20000,
    )


CRM_SIMULATE = shutil.which("crm_simulate")


@pytest.mark.skipif(CRM_SIMULATE is None, reason="Debian's pacemaker-cli-utils is not installed")
@pytest.mark.parametrize("step", STEP_IDS)
def test_pacemaker_agrees_with_the_walkthrough(tmp_path: Path, step: str) -> None:
    """crm_simulate 2.1.5 on the built CIB prints the walkthrough's scores and moves."""
    s = STEPS[step]
    path = write_step_cib(step, tmp_path / "cib.xml")
    res = subprocess.run(
        [str(CRM_SIMULATE), "-x", path, "-s", "-S", "--text-fancy"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"LC_ALL": "C", "CIB_shadow_dir": str(tmp_path), "PATH": "/usr/sbin:/usr/bin"},
    )
    assert res.returncode == 0, res.stderr
    got = parse_scores(res.stdout)
    for key, expected in s.scores.items():
        assert got.get(key) == expected, f"{step}: {key}"
    assert parse_summary(res.stdout) == s.summary_lines()
    assert "error" not in res.stderr
