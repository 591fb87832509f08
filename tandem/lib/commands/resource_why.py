"""``tandem resource why RSC``: where RSC runs, or why it does not, in plain words.

Pacemaker only prints score totals; administrators then guess which constraint,
stickiness or failure decided.  This runs the scheduler on the current CIB with a
provenance recorder and reports, for RSC: where it is active now, where the
scheduler places it, the reason, and per node the contributions that make up
each score (they fold, with Pacemaker's score addition, to the printed total).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tandem.cib.model import Cib
from tandem.errors import TandemError, error
from tandem.lib.env import LibraryEnvironment


def why(env: LibraryEnvironment, rsc_id: str, now: datetime | None = None) -> list[str]:
    """Plain-words lines explaining RSC's placement on the CIB of ``env``."""
    from tandem.scheduler import Recorder, explain, schedule

    root = env.get_cib()
    cib = Cib.from_element(root)
    result = schedule(cib, now or datetime.now(UTC), recorder=Recorder())
    rsc = next((r for r in result.rscs if r.id == rsc_id), None)
    if rsc is None:
        known = root.xpath("configuration/resources//*[@id=$i]", i=rsc_id)
        if not known:
            raise TandemError(
                error("RESOURCE_NOT_FOUND", f"resource '{rsc_id}' does not exist", id=rsc_id)
            )
        raise TandemError(
            error(
                "RESOURCE_NOT_EXPLAINABLE",
                f"'{rsc_id}' is not a primitive the scheduler places on its own: "
                "ask about one of its members",
                id=rsc_id,
            )
        )
    lines: list[str] = []
    if rsc.current:
        lines.append(f"{rsc_id} is active on: {', '.join(rsc.current)}")
    else:
        lines.append(f"{rsc_id} is not running")
    if rsc.assigned:
        verb = "stays on" if rsc.assigned in rsc.current else "goes to"
        lines.append(f"The scheduler's decision: {rsc_id} {verb} {rsc.assigned}")
    else:
        lines.append(f"The scheduler's decision: {rsc_id} stays stopped")
    pending = [s for s in result.summary if f" {rsc_id} " in f" {s} "]
    lines.extend(f"Pending action: {' '.join(s.split())}" for s in pending)
    lines.append("")
    lines.extend(explain(result, rsc_id))
    return lines
