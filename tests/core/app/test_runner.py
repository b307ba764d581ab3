"""The job runner's policies, each with a test that fails when the policy is removed."""

from __future__ import annotations

import threading
import time

import pytest

from mmviewer.core.app.runner import JobRunner, ManualScheduler, each
from mmviewer.core.runtime.cancel import Cancelled, check_cancelled, current_token


@pytest.fixture
def runner(scheduler):
    r = JobRunner(scheduler)
    yield r
    r.shutdown(0.5)


def blocking(started: threading.Event, release: threading.Event, value):
    """A job that ignores cancellation until released (a long BLAS call, say)."""
    started.set()
    release.wait(10)
    return value


def test_newest_request_wins_and_cancels_the_stale_job(runner, drive):
    started, release = threading.Event(), threading.Event()
    got = []
    runner.submit("s", blocking, started, release, "old", on_result=got.append)
    assert started.wait(5)
    old_token = runner._slots["s"].running.token
    runner.submit("s", lambda: "new", on_result=got.append)
    assert old_token.cancelled  # the stale job was told to stop
    release.set()
    drive.until(lambda: got == ["new"], 10)
    drive.settle(0.2)
    assert got == ["new"]  # "old" returned too, but was never delivered


def test_a_waiting_request_starts_only_when_the_running_one_ends(runner, drive):
    started, release = threading.Event(), threading.Event()
    runs = []
    runner.submit("s", blocking, started, release, 1)
    assert started.wait(5)
    runner.submit("s", lambda: runs.append("second") or 2)
    drive.settle(0.2)
    assert runs == []  # one job per slot at a time
    release.set()
    drive.until(lambda: runs == ["second"], 10)


def test_cancellation_reaches_inside_long_work(runner, drive):
    started = threading.Event()
    stopped = []

    def long_loop():
        started.set()
        try:
            for _ in range(10_000_000):
                check_cancelled()
                threading.Event().wait(0.001)
        except Cancelled:
            stopped.append(True)
            raise

    runner.submit("s", long_loop, on_result=lambda v: pytest.fail("must not finish"))
    assert started.wait(5)
    runner.cancel("s")
    drive.until(lambda: not runner.is_active("s"), 10)
    assert stopped == [True]


def test_generators_stop_at_their_next_yield(runner, drive):
    yielded = []
    closed = threading.Event()
    gate = threading.Event()

    def gen():
        try:
            for i in range(1000):
                gate.wait(5)
                gate.clear()
                yield i
        finally:
            closed.set()

    runner.submit("s", gen, on_progress=yielded.append)
    gate.set()
    drive.until(lambda: yielded == [0], 10)
    runner.cancel("s")
    gate.set()
    assert closed.wait(5)
    drive.settle(0.1)
    assert yielded == [0]


def test_a_lane_runs_one_job_at_a_time_most_urgent_first(runner, drive):
    started, release = threading.Event(), threading.Event()
    order, running, overlap = [], [0], []

    def job(name):
        running[0] += 1
        overlap.append(running[0])
        order.append(name)
        running[0] -= 1
        return name

    runner.submit("fits", blocking, started, release, "fits", lane="figures", priority=0,
                  on_result=order.append)
    assert started.wait(5)
    runner.submit("values", job, "values", lane="figures", priority=2)
    runner.submit("metrics", job, "metrics", lane="figures", priority=1)
    runner.submit("click", job, "click")  # outside the lane: starts at once
    drive.until(lambda: "click" in order, 10)
    drive.settle(0.2)
    assert order == ["click"] and runner.is_active("values")  # the lane waits for "fits"
    release.set()
    drive.until(lambda: len(order) == 4, 10)
    assert order == ["click", "fits", "metrics", "values"] and max(overlap) == 1


def test_a_lane_generator_pauses_for_a_more_urgent_job_and_resumes(runner, drive):
    events, step, urgent_ran = [], threading.Event(), threading.Event()

    def ranks():
        for i in range(4):
            step.wait(10)
            step.clear()
            events.append(f"rank {i}")
            yield i
        return "ranks done"

    got = []
    runner.submit("values", ranks, lane="figures", priority=3, on_progress=got.append,
                  on_result=got.append)
    step.set()
    drive.until(lambda: got == [0], 10)
    runner.submit("metrics", lambda: events.append("metrics") or urgent_ran.set() or "m",
                  lane="figures", priority=1, on_result=got.append)
    step.set()  # "values" finishes the item in hand, then gives the lane to "metrics"
    drive.until(urgent_ran.is_set, 10)
    assert events == ["rank 0", "rank 1", "metrics"]
    for n in (4, 6):
        step.set()
        drive.until(lambda n=n: len(got) >= n, 10)
    assert got == [0, 1, "m", 2, 3, "ranks done"]  # nothing lost across the pause


def test_a_paused_lane_job_is_cancelled_as_any_other(runner, drive):
    started, release = threading.Event(), threading.Event()
    stopped = []

    def ranks():
        try:
            while True:
                yield 1
                time.sleep(0.01)
        finally:
            stopped.append(True)

    runner.submit("values", ranks, lane="figures", priority=3)
    drive.settle(0.1)
    runner.submit("metrics", blocking, started, release, None, lane="figures", priority=1)
    drive.until(started.is_set, 10)
    assert runner._slots["values"].running.paused
    runner.cancel("values")
    drive.until(lambda: bool(stopped), 10)
    assert runner.is_active("metrics")
    release.set()


def test_lanes_give_way_while_a_job_the_user_waits_for_runs(runner, drive):
    started, release = threading.Event(), threading.Event()
    events = []

    def ranks():
        for i in range(1000):
            events.append("rank")
            yield i
            time.sleep(0.005)

    runner.submit("values", ranks, lane="figures", priority=3)
    drive.until(lambda: len(events) >= 2, 10)
    runner.submit("lists", blocking, started, release, "lists", urgent=True)
    drive.until(lambda: runner._slots["values"].running.paused, 10)
    runner.submit("metrics", events.append, "metrics", lane="figures", priority=1)
    count = len(events)
    drive.settle(0.2)
    assert len(events) == count  # paused, and nothing of the lane starts meanwhile
    release.set()
    drive.until(lambda: "metrics" in events and events[-1] == "rank", 10)
    assert events.index("metrics") == count  # the most urgent lane job first, then the ranks


def test_a_superseded_lane_job_holds_the_lane_until_it_ends(runner, drive):
    started, release = threading.Event(), threading.Event()
    got = []
    runner.submit("a", blocking, started, release, "stale", lane="figures", on_result=got.append)
    assert started.wait(5)
    runner.cancel("a")  # cancelled, but still computing: the core is still taken
    runner.submit("b", got.append, "next", lane="figures")
    drive.settle(0.2)
    assert got == []
    release.set()
    drive.until(lambda: got == ["next"], 10)


def test_debounce_starts_one_job_after_the_last_request(scheduler):
    runner = JobRunner(scheduler)
    ran = []
    for value in (1, 2, 3):
        runner.submit("s", ran.append, value, delay_s=0.25)
        scheduler.advance(0.1)
    assert ran == [] and runner.is_active("s")
    scheduler.advance(0.2)  # 0.25 s after the last request
    runner.shutdown(5)
    assert ran == [3]


def test_errors_reach_one_sink(runner, drive):
    failures = []
    runner.failed.connect(lambda slot, err: failures.append((slot, str(err))))
    runner.submit("s", lambda: 1 / 0)
    drive.until(lambda: bool(failures), 10)
    assert failures == [("s", "division by zero")]
    mine = []
    runner.submit("t", lambda: 1 / 0, on_error=mine.append)
    drive.until(lambda: bool(mine), 10)
    assert isinstance(mine[0], ZeroDivisionError) and len(failures) == 1


def test_the_job_runs_with_its_token_current(runner, drive):
    seen = []
    runner.submit("s", lambda: current_token(), on_result=seen.append)
    drive.until(lambda: bool(seen), 10)
    assert seen[0] is not None and current_token() is None


def test_shutdown_cancels_everything_and_delivers_nothing_more(scheduler):
    runner = JobRunner(scheduler)
    started, release = threading.Event(), threading.Event()
    got = []
    runner.submit("stuck", blocking, started, release, "late", on_result=got.append)
    runner.submit("later", got.append, "debounced", delay_s=1.0)
    assert started.wait(5)
    assert runner.shutdown(0.2) is False  # a job that ignores its token is still running
    release.set()
    assert runner.shutdown(5) is True
    scheduler.advance(2.0)
    scheduler.drain()
    assert got == []
    runner.submit("s", got.append, "after")  # a closed runner starts nothing
    scheduler.drain()
    assert got == []


def test_each_yields_results_and_failures_one_by_one():
    out = list(each(lambda v: 10 // v, [("a", 2), ("b", 0), ("c", 5)]))
    assert out[0] == ("a", 5, "") and out[2] == ("c", 2, "")
    assert out[1][0] == "b" and out[1][1] is None and "ZeroDivisionError" in out[1][2]


def test_manual_scheduler_runs_timers_in_order():
    s = ManualScheduler()
    order = []
    s.call_later(0.3, lambda: order.append("b"))
    s.call_later(0.1, lambda: order.append("a"))
    cancelled = s.call_later(0.2, lambda: order.append("x"))
    cancelled.cancel()
    s.advance(0.5)
    assert order == ["a", "b"]
