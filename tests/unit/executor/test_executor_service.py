"""ExecutorService wired to in-memory fakes: the driver executes the core's commands."""

from __future__ import annotations

import queue

import pytest

from tandem.agents.ocf import AgentSpec, ExecStatus
from tandem.agents.runner import AgentResult
from tandem.daemon.executor import ExecutorService, OpEvent, OpRequest
from tandem.daemon.executor.fakes import FakeCgroups, FakeRunner, FakeWatcher

SPEC = AgentSpec.parse("ocf:heartbeat:apache")


class Harness:
    def __init__(self, runner: FakeRunner) -> None:
        self.events: queue.Queue[OpEvent] = queue.Queue()
        self.cgroups = FakeCgroups()
        self.watchers: list[FakeWatcher] = []

        def factory(cb):  # type: ignore[no-untyped-def]
            w = FakeWatcher(cb)
            self.watchers.append(w)
            return w

        self.runner = runner
        self.svc = ExecutorService("n1", runner, self.events.put, cgroups=self.cgroups,
                                   watcher_factory=factory)

    def next(self) -> OpEvent:
        return self.events.get(timeout=5)

    @property
    def watcher(self) -> FakeWatcher:
        return self.watchers[0]


@pytest.fixture
def h() -> Harness:
    harness = Harness(FakeRunner(leave_processes={"web"}))
    yield harness
    harness.svc.close()


def test_start_in_cgroup_then_event_triggers_monitor(h: Harness) -> None:
    h.svc.submit(OpRequest("web", SPEC, "start"))
    ev = h.next()
    assert (ev.request.action, ev.rc, ev.cgroup_populated) == ("start", 0, True)
    (start_call,) = [c for c in h.runner.calls if c.action == "start"]
    assert start_call.cgroup == h.cgroups.path("web")
    h.svc.submit(OpRequest("web", SPEC, "monitor", interval_ms=600000))
    assert h.next().rc == 0
    assert h.svc.call(h.svc.core.is_watching, "web")
    assert "web" in h.watcher.watching
    h.runner.running.discard("web")  # the service died
    assert h.watcher.fire("web")
    ev = h.next()
    assert (ev.trigger, ev.rc, ev.failed) == ("cgroup-empty", 7, True)


def test_stop_unwatches_and_removes_cgroup(h: Harness) -> None:
    h.svc.submit(OpRequest("web", SPEC, "start"))
    h.next()
    h.svc.submit(OpRequest("web", SPEC, "monitor", interval_ms=600000))
    h.next()
    h.svc.submit(OpRequest("web", SPEC, "stop"))
    cancelled = h.next()
    assert cancelled.status is ExecStatus.CANCELLED
    stop = h.next()
    assert stop.request.action == "stop" and stop.rc == 0
    h.svc.call(lambda: None)  # the loop has executed the stop's commands
    assert "web" not in h.watcher.watching
    assert "web" in h.cgroups.removed
    assert not h.watcher.fire("web")


def test_no_watch_when_start_left_nothing() -> None:
    h = Harness(FakeRunner())
    try:
        h.svc.submit(OpRequest("ip", SPEC, "start"))
        assert h.next().cgroup_populated is False
        h.svc.call(lambda: None)
        assert h.watcher.watching == {}
    finally:
        h.svc.close()


def test_runner_exception_becomes_error_result() -> None:
    class Broken(FakeRunner):
        def run(self, request):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    h = Harness(Broken())
    try:
        h.svc.submit(OpRequest("x", SPEC, "start"))
        ev = h.next()
        assert ev.status is ExecStatus.ERROR and "boom" in ev.exit_reason
    finally:
        h.svc.close()


def test_scripted_results_and_reload_info(h: Harness) -> None:
    h.runner.script[("web", "start")] = AgentResult(6, exit_reason="bad config")
    h.svc.submit(OpRequest("web", SPEC, "start"))
    ev = h.next()
    assert ev.rc == 6 and ev.exit_reason == "bad config" and ev.failed
    # FakeRunner's meta-data is empty: no reload support is assumed, not a crash
    assert h.svc.reload_info(ev.request).restart_params is None


def test_watcher_unavailable_falls_back_to_interval_monitoring() -> None:
    def broken(cb):  # type: ignore[no-untyped-def]
        raise OSError(24, "Too many open files")

    events: queue.Queue[OpEvent] = queue.Queue()
    runner = FakeRunner(leave_processes={"web"})
    svc = ExecutorService("n1", runner, events.put, cgroups=FakeCgroups(),
                          watcher_factory=broken)
    try:
        svc.submit(OpRequest("web", SPEC, "start"))
        assert events.get(timeout=5).rc == 0
        (start,) = [c for c in runner.calls if c.action == "start"]
        assert start.cgroup is None  # no watch possible: no cgroup either
        with pytest.raises(ZeroDivisionError):
            svc.call(lambda: 1 / 0)
    finally:
        svc.close()
