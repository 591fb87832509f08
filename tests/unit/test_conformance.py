"""Tier-1 conformance against Pacemaker's regression corpus, with a floor (issue 3, acceptance 2).

Runs ``shared/tools/scheduler-conformance --tier 1`` with ``tandem simulate``
and fails when the transition or scores pass counts drop below the floor in
``tests/conformance-floor.json``.  The shared folder is required: a missing
one is a failure, never a skip (see tests/conftest.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _floor() -> dict[str, int]:
    return json.loads((REPO / "tests" / "conformance-floor.json").read_text())


def test_tier1_conformance_does_not_drop_below_floor(tmp_path: Path, shared: Path) -> None:
    tool = shared / "tools" / "scheduler-conformance"
    assert tool.is_file(), f"{tool} is missing"
    out = tmp_path / "result.json"
    cmd = f"{sys.executable} -m tandem.cli.main simulate -x {{xml}} -S -s"
    proc = subprocess.run(
        [sys.executable, str(tool), "--tier", "1", "--cmd", cmd, "-j", "2", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    tests = data["tests"]
    assert tests, "the conformance tool ran no test"
    got = {
        "transition": sum(1 for t in tests if t["transition"]),
        "scores": sum(1 for t in tests if t["scores"]),
    }
    floor = _floor()
    failing = {
        kind: [t["name"] for t in tests if not t[kind]] for kind in ("transition", "scores")
    }
    for kind in ("transition", "scores"):
        assert got[kind] >= floor[kind], (
            f"tier-1 {kind} passes fell to {got[kind]} (floor {floor[kind]}); "
            f"failing: {failing[kind]}"
        )
