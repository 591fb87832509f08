"""InlineExecutor: the synchronous executor other layers' unit tests rely on."""

from __future__ import annotations

from tandem.agents.ocf import AgentSpec, ExecStatus
from tandem.agents.runner import AgentResult
from tandem.daemon.executor import OpEvent, OpRequest
from tandem.daemon.executor.fakes import FakeRunner, InlineExecutor

SPEC = AgentSpec.parse("ocf:heartbeat:apache")


def make(**kw) -> tuple[InlineExecutor, list[OpEvent]]:  # type: ignore[no-untyped-def]
    seen: list[OpEvent] = []
    return InlineExecutor("n1", seen.append, **kw), seen


def test_start_monitor_kill_recover_cycle() -> None:
    ex, seen = make(runner=FakeRunner(leave_processes={"web"}))
    ex.submit(OpRequest("web", SPEC, "start"))
    ex.submit(OpRequest("web", SPEC, "monitor", interval_ms=10000))
    assert [(e.request.action, e.rc) for e in seen] == [("start", 0), ("monitor", 0)]
    ex.advance(25)
    assert [e.trigger for e in seen[2:]] == ["interval", "interval"]
    assert ex.kill("web")
    last = seen[-1]
    assert (last.trigger, last.rc, last.failed) == ("cgroup-empty", 7, True)
    assert not ex.kill("web")  # one-shot: nothing watches now
    ex.submit(OpRequest("web", SPEC, "stop"))
    assert seen[-2].status is ExecStatus.CANCELLED
    assert (seen[-1].request.action, seen[-1].rc) == ("stop", 0)
    ex.advance(100)
    assert seen[-1].request.action == "stop"  # no monitor after the stop


def test_not_watched_without_processes_and_scripted_failure() -> None:
    runner = FakeRunner()
    runner.script[("ip", "start")] = AgentResult(1, exit_reason="no such interface")
    ex, seen = make(runner=runner)
    ex.submit(OpRequest("ip", SPEC, "start"))
    assert seen[-1].failed and seen[-1].exit_reason == "no such interface"
    ex.submit(OpRequest("ip2", SPEC, "start"))
    ex.submit(OpRequest("ip2", SPEC, "monitor", interval_ms=1000))
    assert not ex.kill("ip2")  # started, but left no process: interval monitoring only
    ex.advance(1.5)
    assert (seen[-1].trigger, seen[-1].rc) == ("interval", 7)


def test_restarted_daemon_probe_rearms_on_a_live_cgroup() -> None:
    runner = FakeRunner(leave_processes={"web"})
    ex, seen = make(runner=runner)
    ex.submit(OpRequest("web", SPEC, "start"))
    # a new executor (the daemon restarted) sharing the same cgroups and service
    ex2, seen2 = make(runner=runner)
    ex2.cgroups = ex.cgroups
    ex2.submit(OpRequest("web", SPEC, "monitor"))  # probe: running
    ex2.submit(OpRequest("web", SPEC, "monitor", interval_ms=60000))
    assert "web" in ex2.watcher.watching
    assert ex2.kill("web")
    assert (seen2[-1].trigger, seen2[-1].rc) == ("cgroup-empty", 7)
    # and a probe on a node where it never started (no cgroup) watches nothing
    ex3, _ = make(runner=FakeRunner(running={"web"}))
    ex3.submit(OpRequest("web", SPEC, "monitor"))
    assert ex3.watcher.watching == {}
    assert not ex3.core.is_watching("web")
