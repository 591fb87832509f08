"""Score provenance: every score as a fold of named contributions.

Why: Pacemaker prints only totals, and administrators cannot tell why a
resource sits where it does.  The scheduler reports each change it makes to a
node score (a location constraint by id, stickiness, a colocation with the
partner's score after scaling, a node being unavailable, a fail count over
``migration-threshold``...) to a recorder.  Folding the contributions for a
(resource, node) in order with :func:`tandem.cib.scores.add` gives the printed
score; merges that Pacemaker rolls back are never reported.

The default :class:`NullRecorder` does nothing and is checked with one
attribute test on the hot path, so provenance costs nothing when unused.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING

from tandem.cib.scores import add, to_str

if TYPE_CHECKING:
    from tandem.scheduler.core import ScheduleResult


@dataclass(frozen=True)
class Contribution:
    label: str  # plain words: "location constraint loc-1", "stickiness (active here)"...
    amount: int
    kind: str  # location | stickiness | colocation | dependent | node | failcount | role | other
    source: str | None = None  # constraint id or resource id


class NullRecorder:
    """Records nothing (the fast path)."""

    enabled = False

    def contribute(self, rsc: str, node: str, c: Contribution) -> None:  # pragma: no cover - no-op
        return None

    def discard(self, rsc: str, node: str, count: int) -> None:  # pragma: no cover - no-op
        return None

    def note(self, rsc: str, text: str) -> None:  # pragma: no cover - no-op
        return None


class Recorder(NullRecorder):
    """Keeps contributions per resource per node, in the order they were applied."""

    enabled = True

    def __init__(self) -> None:
        self.contributions: dict[str, dict[str, list[Contribution]]] = {}
        self.notes: dict[str, list[str]] = {}

    def contribute(self, rsc: str, node: str, c: Contribution) -> None:
        self.contributions.setdefault(rsc, {}).setdefault(node, []).append(c)

    def discard(self, rsc: str, node: str, count: int) -> None:
        lst = self.contributions.get(rsc, {}).get(node)
        if lst and count:
            del lst[-count:]

    def note(self, rsc: str, text: str) -> None:
        self.notes.setdefault(rsc, []).append(text)

    def fold(self, rsc: str, node: str) -> int:
        items = self.contributions.get(rsc, {}).get(node, [])
        return reduce(lambda acc, c: add(acc, c.amount), items, 0)


def _signed(n: int) -> str:
    s = to_str(n)
    return s if s.startswith("-") else "+" + s


def explain(result: ScheduleResult, rsc: str) -> list[str]:
    """Human lines: for each node the final score, the contributions, and the choice.

    ``result`` must come from ``schedule(..., recorder=Recorder())``.
    """
    rec = result.recorder
    if not isinstance(rec, Recorder):
        return [f"no provenance was recorded for {rsc}: schedule with a Recorder"]
    scores = result.scores.get(rsc)
    if scores is None:
        return [f"{rsc}: no such resource was scheduled"]
    lines = [f"Scores of {rsc}:"]
    for node, total in scores.items():
        lines.append(f"  {node}: {to_str(total)}")
        items = rec.contributions.get(rsc, {}).get(node, [])
        if not items:
            lines.append("      0  (no preference: default score)")
        for c in items:
            lines.append(f"    {_signed(c.amount):>10}  {c.label}")
    chosen = result.placement.get(rsc)
    lines.extend(f"  note: {t}" for t in rec.notes.get(rsc, []))
    if chosen:
        lines.append(f"Chosen node: {chosen} ({result.reasons.get(rsc, 'highest score')})")
    else:
        lines.append(f"Not placed: {result.reasons.get(rsc, 'no node can run it')}")
    return lines
