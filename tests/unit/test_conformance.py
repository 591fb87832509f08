"""Conformance against Pacemaker's regression corpus, with a floor (issue 3, acceptance 2).

Runs ``shared/tools/scheduler-conformance --tier N`` with ``tandem simulate``
for every tier listed in ``tests/conformance-floor.json`` (tiers 1 and 2) and
fails when the transition or scores pass counts drop below that tier's floor.
The shared folder is required: a missing one is a failure, never a skip (see
tests/conftest.py).  Tier 1 takes ~15 s and tier 2 ~60 s of CPU.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _floors() -> dict[str, dict[str, int]]:
    return json.loads((REPO / "tests" / "conformance-floor.json").read_text())["tiers"]


@pytest.mark.parametrize("tier", sorted(_floors()))
def test_conformance_does_not_drop_below_floor(tier: str, tmp_path: Path, shared: Path) -> None:
    tool = shared / "tools" / "scheduler-conformance"
    assert tool.is_file(), f"{tool} is missing"
    out = tmp_path / "result.json"
    cmd = f"{sys.executable} -m tandem.cli.main simulate -x {{xml}} -S -s"
    proc = subprocess.run(
        [sys.executable, str(tool), "--tier", tier, "--cmd", cmd, "-j", "2", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    tests = json.loads(out.read_text())["tests"]
    assert tests, f"the conformance tool ran no tier-{tier} test"
    floor = _floors()[tier]
    for kind in ("transition", "scores"):
        got = sum(1 for t in tests if t[kind])
        failing = [t["name"] for t in tests if not t[kind]]
        assert got >= floor[kind], (
            f"tier-{tier} {kind} passes fell to {got} (floor {floor[kind]}); failing: {failing}"
        )
