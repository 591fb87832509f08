"""tandem's scheduler: Pacemaker's placement and action decisions, pure (no I/O, no clock).

Public API (stable; other layers use only this)::

    from tandem.cib.model import Cib
    from tandem.scheduler import schedule, explain, Recorder, ScheduleResult

    cib = Cib.from_element(root)                  # root: lxml <cib> element
    result = schedule(cib, now, recorder=None)    # now: aware datetime (UTC)

``ScheduleResult``:
  - ``scores``: {resource id: {node: score}} as Pacemaker prints them;
  - ``score_lines``: ``pcmk__primitive_assign: R allocation score on N: S``;
  - ``placement``: {resource id: node or None};
  - ``summary``: Transition Summary lines (``Start      R ( N )``...);
  - ``graph``: :class:`tandem.scheduler.actions.Graph` (actions with their
    ordering inputs; ``graph.execution_order()``); ``executed()`` gives
    crm_simulate's "Resource action:" lines;
  - ``recheck_at``: earliest time the decision could change, or None;
  - ``state``: the unpacked :class:`tandem.cib.unpack.ClusterState`.

Provenance: pass ``recorder=Recorder()`` and call ``explain(result, rsc)``
for plain-words lines (per node: final score and its contributions; then
the chosen node and why).  Folding ``recorder.contributions[rsc][node]``
with :func:`tandem.cib.scores.add` gives ``result.scores[rsc][node]``.
"""

from tandem.scheduler.core import ScheduleResult, schedule
from tandem.scheduler.provenance import Contribution, NullRecorder, Recorder, explain

__all__ = ["schedule", "explain", "ScheduleResult", "Recorder", "NullRecorder", "Contribution"]
