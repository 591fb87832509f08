"""Multi-node scenarios of the node daemon, in memory (see daemon_scenario.py for the language)."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_scenario import load

DATA = Path(__file__).parent / "testdata"


@pytest.mark.parametrize("path", sorted(DATA.glob("*.txt")), ids=lambda p: p.stem)
def test_scenario(path: Path) -> None:
    load(path)
