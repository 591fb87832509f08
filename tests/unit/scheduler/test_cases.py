"""Data-driven scheduler tests in the corpus's layout (cases/xml, cases/summary, cases/scores).

Expected outputs come from Pacemaker 2.1.5 (see cases/README.md); tandem must print the same
Transition Summary lines (in order) and the same allocation scores (as a multiset).
``TANDEM_REWRITE=1`` rewrites the expected files from tandem's output and shows the diffs.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest

from tandem.cib import xmlio
from tandem.cli.simulate import run_simulate

CASES = Path(__file__).parent / "cases"
NAMES = sorted(p.stem for p in (CASES / "xml").glob("*.xml"))
REWRITE = os.environ.get("TANDEM_REWRITE") == "1"
WS = re.compile(r"\s+")


def _norm(lines: list[str]) -> list[str]:
    return [WS.sub(" ", line.strip()) for line in lines if line.strip()]


def _section(lines: list[str], title: str) -> list[str]:
    out: list[str] = []
    inside = False
    for line in lines:
        if line.strip() == title:
            inside = True
            continue
        if inside:
            if line and not line.startswith(" "):
                break
            out.append(line)
    return _norm(out)


def _status(lines: list[str], title: str) -> list[str]:
    """A status section: up to the next section title (it contains blank lines)."""
    stops = {"Transition Summary:", "Executing Cluster Transition:", "Assignment Scores:"}
    out: list[str] = []
    inside = False
    for line in lines:
        if line.strip() == title:
            inside = True
            continue
        if inside and line.strip() in stops:
            break
        if inside:
            out.append(line)
    return _norm(out)


def _scores(lines: list[str]) -> list[str]:
    return sorted(
        WS.sub(" ", line.strip().removeprefix("* ").strip())
        for line in lines
        if "allocation score on" in line
    )


def _run(name: str) -> list[str]:
    root = xmlio.parse_file(CASES / "xml" / f"{name}.xml")
    return run_simulate(root, simulate=True, show_scores=True, quiet=False, when=None)


def test_there_are_cases() -> None:
    assert len(NAMES) >= 10


@pytest.mark.parametrize("name", NAMES)
def test_case(name: str) -> None:
    out = _run(name)
    summary_path = CASES / "summary" / f"{name}.summary"
    scores_path = CASES / "scores" / f"{name}.scores"
    got_transition = _section(out, "Transition Summary:")
    got_scores = _scores(out)
    if REWRITE:
        old = summary_path.read_text().splitlines() if summary_path.exists() else []
        new = [line for line in out if "allocation score on" not in line and line != "Assignment Scores:"]
        diff = list(difflib.unified_diff(old, new, "expected", "tandem", lineterm=""))
        if diff:
            print(f"--- rewriting {name}\n" + "\n".join(diff))
        summary_path.write_text("\n".join(new) + "\n")
        scores_path.write_text("\n".join(got_scores) + "\n")
        return
    want_transition = _section(summary_path.read_text().splitlines(), "Transition Summary:")
    want_scores = _scores(scores_path.read_text().splitlines())
    assert got_transition == want_transition, "\n".join(
        difflib.unified_diff(want_transition, got_transition, "expected", "tandem", lineterm="")
    )
    assert got_scores == want_scores, "\n".join(
        difflib.unified_diff(want_scores, got_scores, "expected", "tandem", lineterm="")
    )
    want_lines = summary_path.read_text().splitlines()
    for title in ("Current cluster status:", "Revised Cluster Status:"):
        want, got = _status(want_lines, title), _status(out, title)
        assert got == want, "\n".join(difflib.unified_diff(want, got, "expected", "tandem", lineterm=""))
