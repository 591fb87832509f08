"""Score provenance adds up: folding the recorded contributions gives every printed score.

Checked on the hand-written cases and on every tier-1/tier-2 CIB of Pacemaker's corpus, so
that any score path that forgets to record (or records a merge that was rolled back) fails.
Also checks that ``explain`` names the contributions in plain words and the chosen node.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import reduce
from pathlib import Path

import pytest

from tandem.cib import scores, xmlio
from tandem.cib.model import Cib
from tandem.scheduler import Recorder, explain, schedule

CASES = Path(__file__).parent / "cases" / "xml"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _check_folds(path: Path) -> int:
    cib = Cib.from_element(xmlio.parse_file(path))
    rec = Recorder()
    result = schedule(cib, NOW, recorder=rec)
    checked = 0
    for rsc, table in result.scores.items():
        for node, total in table.items():
            items = rec.contributions.get(rsc, {}).get(node, [])
            folded = reduce(lambda acc, c: scores.add(acc, c.amount), items, 0)
            assert folded == total, (
                f"{path.name}: {rsc} on {node}: contributions {[(c.label, c.amount) for c in items]} "
                f"fold to {folded}, printed {total}"
            )
            checked += 1
    return checked


@pytest.mark.parametrize("path", sorted(CASES.glob("*.xml")), ids=lambda p: p.stem)
def test_contributions_fold_to_scores_on_cases(path: Path) -> None:
    assert _check_folds(path) > 0


def test_contributions_fold_to_scores_on_corpus_tiers_1_and_2(corpus: Path) -> None:
    manifest = json.loads((corpus / "manifest.json").read_text())["tests"]
    names = [n for n, t in manifest.items() if t["tier"] in (1, 2)]
    assert len(names) > 100
    checked = sum(_check_folds(corpus / "xml" / f"{n}.xml") for n in sorted(names))
    assert checked > 1000


def test_explain_names_constraints_and_choice() -> None:
    cib = Cib.from_element(xmlio.parse_file(CASES / "coloc-pulls-primary.xml"))
    result = schedule(cib, NOW, recorder=Recorder())
    text = "\n".join(explain(result, "IP"))
    assert "web-prefers-2" not in text or "web-with-ip" in text
    assert "web-with-ip" in text  # the colocation that pulls IP towards Web's preference
    assert "resource-stickiness" in text
    assert "Chosen node: node2" in text
    assert "node1: 200" in text and "node2: 500" in text


def test_explain_without_recorder_says_so() -> None:
    cib = Cib.from_element(xmlio.parse_file(CASES / "asymmetric.xml"))
    result = schedule(cib, NOW)
    assert "Recorder" in explain(result, "A")[0]
