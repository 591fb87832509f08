"""ExecutorCore: ordering, recurring monitors, cancellation and cgroup-event handling.

Driven with a fake clock and hand-fed agent results: no threads, no processes.
"""

from __future__ import annotations

import pytest

from tandem.agents.ocf import AgentSpec, ExecStatus
from tandem.agents.runner import AgentResult
from tandem.daemon.executor.core import (
    TRIGGER_CGROUP,
    TRIGGER_INTERVAL,
    TRIGGER_REQUEST,
    CleanupCgroup,
    Emit,
    ExecutorCore,
    OpEvent,
    OpRequest,
    RunAgent,
    UnwatchCgroup,
    WatchCgroup,
)
from tandem.daemon.executor.fakes import FakeClock

SPEC = AgentSpec.parse("ocf:heartbeat:apache")


def op(action: str, interval_ms: int = 0, rsc: str = "web", **kw: object) -> OpRequest:
    return OpRequest(rsc, SPEC, action, interval_ms=interval_ms, **kw)  # type: ignore[arg-type]


def runs(cmds: list) -> list[RunAgent]:
    return [c for c in cmds if isinstance(c, RunAgent)]


def events(cmds: list) -> list[OpEvent]:
    return [c.event for c in cmds if isinstance(c, Emit)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def core(clock: FakeClock) -> ExecutorCore:
    return ExecutorCore("node1", clock, instance_uuid="uuid-1")


def finish(core: ExecutorCore, run: RunAgent, result: AgentResult) -> list:
    return core.on_result(run.run_id, result)


def start_running(core: ExecutorCore, populated: bool = True, **kw: object) -> list:
    (run,) = runs(core.submit(op("start", **kw)))
    return finish(core, run, AgentResult(0, cgroup_populated=populated))


def test_start_runs_in_cgroup_and_reports(core: ExecutorCore) -> None:
    (run,) = runs(core.submit(op("start", transition_key="7:3:0:abc", params={"a": "1"})))
    assert run.cgroup_rsc == "web"
    assert run.request.action == "start"
    assert dict(run.request.params) == {"a": "1"}
    out = finish(core, run, AgentResult(0, exec_ms=12, cgroup_populated=True))
    (ev,) = events(out)
    assert (ev.rc, ev.status, ev.call_id, ev.trigger) == (0, ExecStatus.DONE, 1, TRIGGER_REQUEST)
    assert ev.transition_magic == "0:0;7:3:0:abc"
    assert not ev.failed
    assert WatchCgroup("web") in out


def test_monitor_and_stop_do_not_run_in_cgroup(core: ExecutorCore) -> None:
    (run,) = runs(core.submit(op("monitor")))
    assert run.cgroup_rsc is None
    finish(core, run, AgentResult(7))
    (run,) = runs(core.submit(op("stop")))
    assert run.cgroup_rsc is None


def test_watch_not_armed_when_start_left_no_process(core: ExecutorCore) -> None:
    out = start_running(core, populated=False)
    assert not any(isinstance(c, WatchCgroup) for c in out)
    assert not core.is_watching("web")


def test_watch_not_armed_when_start_failed(core: ExecutorCore) -> None:
    (run,) = runs(core.submit(op("start")))
    out = finish(core, run, AgentResult(1, cgroup_populated=True))
    assert not any(isinstance(c, WatchCgroup) for c in out)
    assert events(out)[0].failed


def test_cgroup_watch_meta_false_disables_cgroup(core: ExecutorCore) -> None:
    (run,) = runs(core.submit(op("start", meta={"cgroup-watch": "false"})))
    assert run.cgroup_rsc is None
    out = finish(core, run, AgentResult(0, cgroup_populated=None))
    assert not any(isinstance(c, WatchCgroup) for c in out)


def test_cgroups_disabled_globally(clock: FakeClock) -> None:
    core = ExecutorCore("node1", clock, cgroups_enabled=False)
    (run,) = runs(core.submit(op("start")))
    assert run.cgroup_rsc is None
    out = finish(core, run, AgentResult(0, cgroup_populated=True))
    assert not any(isinstance(c, WatchCgroup) for c in out)


def test_one_action_at_a_time_per_resource(core: ExecutorCore) -> None:
    (first,) = runs(core.submit(op("start")))
    assert runs(core.submit(op("monitor", 10000))) == []  # queued behind start
    assert len(runs(core.submit(op("start", rsc="other")))) == 1  # other resource: parallel
    out = finish(core, first, AgentResult(0))
    (nxt,) = runs(out)
    assert (nxt.request.action, nxt.request.interval_ms) == ("monitor", 10000)


def test_recurring_monitor_runs_at_interval(core: ExecutorCore, clock: FakeClock) -> None:
    start_running(core)
    (run,) = runs(core.submit(op("monitor", 10000, timeout_ms=5000)))
    assert run.request.timeout_ms == 5000
    (ev,) = events(finish(core, run, AgentResult(0)))
    assert ev.trigger == TRIGGER_REQUEST and ev.changed
    call_id = ev.call_id
    assert core.next_wakeup() == pytest.approx(clock.mono + 10.0)
    clock.advance(9.9)
    assert runs(core.on_tick()) == []
    clock.advance(0.2)
    (run,) = runs(core.on_tick())
    assert runs(core.on_tick()) == []  # not queued twice
    clock.advance(0.5)
    (ev,) = events(finish(core, run, AgentResult(0)))
    assert ev.trigger == TRIGGER_INTERVAL
    assert not ev.changed
    assert ev.call_id == call_id  # a recurring op keeps its call-id
    # next run is an interval after the previous one *ended*
    assert core.next_wakeup() == pytest.approx(clock.mono + 10.0)


def test_last_rc_change_kept_while_rc_unchanged(core: ExecutorCore, clock: FakeClock) -> None:
    start_running(core)
    (run,) = runs(core.submit(op("monitor", 1000)))
    first = events(finish(core, run, AgentResult(0)))[0].last_rc_change
    clock.advance(5)
    (run,) = runs(core.on_tick())
    assert events(finish(core, run, AgentResult(0)))[0].last_rc_change == first
    clock.advance(5)
    (run,) = runs(core.on_tick())
    ev = events(finish(core, run, AgentResult(7)))[0]
    assert ev.changed and ev.failed
    assert ev.last_rc_change == first + 10


def test_stop_cancels_recurring_and_disarms_watch(core: ExecutorCore, clock: FakeClock) -> None:
    start_running(core)
    (mon,) = runs(core.submit(op("monitor", 10000)))
    finish(core, mon, AgentResult(0))
    assert core.is_watching("web")
    out = core.submit(op("stop"))
    assert UnwatchCgroup("web") in out
    cancelled = [e for e in events(out) if e.status is ExecStatus.CANCELLED]
    assert [e.request.op_key for e in cancelled] == ["web_monitor_10000"]
    assert not cancelled[0].failed
    (stop,) = runs(out)
    out = finish(core, stop, AgentResult(0))
    assert CleanupCgroup("web") in out
    assert core.recurring_keys("web") == []
    clock.advance(60)
    assert runs(core.on_tick()) == []
    # the kernel's event for the stop's kills is ignored
    assert core.on_cgroup_empty("web") == []


def test_result_of_monitor_cancelled_while_running_is_dropped(core: ExecutorCore) -> None:
    start_running(core)
    (mon,) = runs(core.submit(op("monitor", 10000)))
    out = core.submit(op("stop"))
    assert runs(out) == []  # stop waits for the running monitor
    out = finish(core, mon, AgentResult(7))
    assert events(out) == []  # a monitor of a resource being stopped reports nothing
    (stop,) = runs(out)
    assert stop.request.action == "stop"


def test_cancel_by_key(core: ExecutorCore) -> None:
    start_running(core)
    (mon,) = runs(core.submit(op("monitor", 10000)))
    finish(core, mon, AgentResult(0))
    (ev,) = events(core.cancel("web", "monitor", 10000))
    assert ev.status is ExecStatus.CANCELLED
    assert core.cancel("web", "monitor", 10000) == []
    assert core.next_wakeup() is None


def test_cgroup_empty_runs_monitor_at_once(core: ExecutorCore, clock: FakeClock) -> None:
    start_running(core, populated=True)
    (mon,) = runs(core.submit(op("monitor", 60000)))
    finish(core, mon, AgentResult(0))
    clock.advance(3)
    out = core.on_cgroup_empty("web")
    (run,) = runs(out)
    assert run.request.action == "monitor" and run.request.interval_ms == 60000
    (ev,) = events(finish(core, run, AgentResult(7)))
    assert ev.trigger == TRIGGER_CGROUP
    assert ev.rc == 7 and ev.failed
    assert not core.is_watching("web")  # one-shot
    # the interval restarts from this run
    assert core.next_wakeup() == pytest.approx(clock.mono + 60.0)


def test_cgroup_empty_while_monitor_running_runs_another(core: ExecutorCore) -> None:
    start_running(core, populated=True)
    (mon,) = runs(core.submit(op("monitor", 60000)))
    assert runs(core.on_cgroup_empty("web")) == []  # busy: queued
    out = finish(core, mon, AgentResult(0))  # the running one still saw it alive
    (again,) = runs(out)
    (ev,) = events(finish(core, again, AgentResult(7)))
    assert ev.trigger == TRIGGER_CGROUP


def test_cgroup_empty_promotes_a_queued_interval_monitor(core: ExecutorCore, clock: FakeClock) -> None:
    start_running(core, populated=True)
    (mon,) = runs(core.submit(op("monitor", 1000)))
    finish(core, mon, AgentResult(0))
    (other,) = runs(core.submit(op("validate-all")))
    clock.advance(2)
    assert runs(core.on_tick()) == []  # due, but queued behind validate-all
    core.on_cgroup_empty("web")
    (run,) = runs(finish(core, other, AgentResult(0)))
    assert run.request.interval_ms == 1000
    (ev,) = events(finish(core, run, AgentResult(7)))
    assert ev.trigger == TRIGGER_CGROUP  # one monitor, not two


def test_cgroup_empty_without_recurring_monitor_does_nothing(core: ExecutorCore) -> None:
    start_running(core, populated=True)
    assert core.on_cgroup_empty("web") == []


def test_cgroup_empty_for_unwatched_resource_ignored(core: ExecutorCore) -> None:
    start_running(core, populated=False)
    (mon,) = runs(core.submit(op("monitor", 1000)))
    finish(core, mon, AgentResult(0))
    assert core.on_cgroup_empty("web") == []
    assert core.on_cgroup_empty("nosuch") == []


def test_restart_rearms_the_watch(core: ExecutorCore) -> None:
    start_running(core, populated=True)
    (stop,) = runs(core.submit(op("stop")))
    finish(core, stop, AgentResult(0))
    assert not core.is_watching("web")
    out = start_running(core, populated=True)
    assert WatchCgroup("web") in out


def test_timeout_is_a_failure(core: ExecutorCore) -> None:
    (run,) = runs(core.submit(op("start", timeout_ms=1000)))
    (ev,) = events(finish(core, run, AgentResult(1, ExecStatus.TIMEOUT, "timed out")))
    assert ev.failed
    assert ev.transition_magic.startswith("2:1;")


def test_expected_rc_from_transition_key_and_probe_default(core: ExecutorCore) -> None:
    assert op("monitor").expected_rc == 7
    assert op("start").expected_rc == 0
    assert op("monitor", transition_key="1:2:8:u").expected_rc == 8
    (run,) = runs(core.submit(op("monitor")))
    (ev,) = events(finish(core, run, AgentResult(7)))
    assert not ev.failed
    assert ev.transition_key == "0:-1:7:uuid-1"
    (run,) = runs(core.submit(op("monitor")))
    (ev,) = events(finish(core, run, AgentResult(0)))
    assert ev.failed  # found running when expected stopped: Pacemaker records a failure


def test_call_ids_increase_and_queue_time_measured(core: ExecutorCore, clock: FakeClock) -> None:
    (a,) = runs(core.submit(op("start")))
    core.submit(op("monitor"))
    clock.advance(0.25)
    out = finish(core, a, AgentResult(0))
    (b,) = runs(out)
    ev_a = events(out)[0]
    (ev_b,) = events(finish(core, b, AgentResult(0)))
    assert ev_b.call_id == ev_a.call_id + 1
    assert ev_b.queue_ms == 250


def test_resubmitting_recurring_replaces_it(core: ExecutorCore) -> None:
    start_running(core)
    (m1,) = runs(core.submit(op("monitor", 1000)))
    core.submit(op("monitor", 1000, timeout_ms=9000))
    assert core.recurring_keys("web") == ["web_monitor_1000"]
    out = finish(core, m1, AgentResult(0))
    assert events(out) == []  # the replaced one's result is stale
    (m2,) = runs(out)
    assert m2.request.timeout_ms == 9000


def test_forget_drops_everything(core: ExecutorCore, clock: FakeClock) -> None:
    start_running(core)
    (m,) = runs(core.submit(op("monitor", 1000)))
    finish(core, m, AgentResult(0))
    out = core.forget("web")
    assert UnwatchCgroup("web") in out
    assert core.recurring_keys("web") == []
    clock.advance(10)
    assert runs(core.on_tick()) == []


def test_result_for_unknown_run_ignored(core: ExecutorCore) -> None:
    assert core.on_result(999, AgentResult(0)) == []


def test_vip_agents_not_watched_by_default_unless_asked() -> None:
    ip = AgentSpec.parse("ocf:heartbeat:IPaddr2")
    assert OpRequest("vip", ip, "start").cgroup_watch is False
    assert OpRequest("vip", ip, "start", meta={"cgroup-watch": "true"}).cgroup_watch is True
    assert OpRequest("web", SPEC, "start").cgroup_watch is True
    assert OpRequest("web", SPEC, "start", meta={"cgroup_watch": "no"}).cgroup_watch is False


def test_probe_finding_it_running_asks_for_a_conditional_watch(core: ExecutorCore) -> None:
    (run,) = runs(core.submit(op("monitor")))
    out = finish(core, run, AgentResult(0))
    assert WatchCgroup("web", only_if_populated=True) in out
    assert core.is_watching("web")
    core.on_watch_refused("web")  # nothing left in (or no) cgroup
    assert not core.is_watching("web")
    (run,) = runs(core.submit(op("monitor")))
    out = finish(core, run, AgentResult(7))
    assert not any(isinstance(c, WatchCgroup) for c in out)


def test_probe_of_vip_agent_asks_nothing(core: ExecutorCore) -> None:
    req = OpRequest("vip", AgentSpec.parse("ocf:heartbeat:IPaddr2"), "monitor")
    (run,) = runs(core.submit(req))
    assert not any(isinstance(c, WatchCgroup) for c in finish(core, run, AgentResult(0)))
