"""The one job runner: named slots, the newest request per slot wins, debounce, cancellation.

Every long job of the app (embedding, layouts, fits, metrics, match lists, preview decoding,
thumbnails, exports, text queries) is ``runner.submit(slot, func, *args, on_result=...)``.

* **Slots.** A slot holds at most one running job and one waiting request. A new request in a
  slot cancels the running job's :class:`~mmviewer.core.runtime.cancel.CancelToken` and replaces
  the waiting one; the stale job's results are never delivered (a generation counter).
* **Cancellation reaches inside.** The job runs with its token as the thread's current token, so
  :func:`~mmviewer.core.runtime.cancel.check_cancelled` in a fit, a metric or a kNN block stops
  it; generator jobs are also closed at their next ``yield``.
* **Lanes.** Jobs that only fill in figures ahead of need (fits before the first click,
  metrics, per-item values) name a ``lane``: one job of a lane runs at a time, the waiting one
  with the lowest ``priority`` next; a generator job of the lane pauses at its next ``yield``
  while a more urgent one runs, and every lane waits while an ``urgent`` job (one the user
  waits for: a click's lists) runs. At a million items five such jobs side by side on two cores
  made each of them 1.5-4x slower, and metrics after a weight change waited a minute and a
  half behind every item's ranks.
* **Debounce.** ``delay_s`` holds a request back; a newer one within the delay replaces it, so a
  slider drag starts one job after the drag pauses, not one per pixel.
* **Delivery.** Results, progress and errors reach the callbacks through the
  :class:`Scheduler`'s ``call_soon`` on the owner's thread (the Qt event loop in the app, see
  ``mmviewer.gui.qt_jobs``; :class:`ManualScheduler` in tests and scripts).

Jobs run in daemon threads, one per running job: nothing here can keep the process alive after
:meth:`JobRunner.shutdown` gave up waiting.
"""

from __future__ import annotations

import inspect
import itertools
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from psygnal import Signal

from mmviewer.core.app.scheduling import Handle, ManualScheduler, Scheduler
from mmviewer.core.runtime.cancel import Cancelled, CancelToken, running_with

__all__ = ["Handle", "JobRunner", "ManualScheduler", "Scheduler", "SlotHandle", "each"]


@dataclass
class _Request:
    func: Callable
    args: tuple
    on_result: Callable | None
    on_progress: Callable | None
    on_error: Callable | None
    label: str
    generation: int
    lane: str | None = None
    priority: int = 0
    order: int = 0  # submission order across slots: ties of priority start first-come
    token: CancelToken = field(default_factory=CancelToken)
    # A generator job of a lane gives the lane to a more urgent one at its next yield:
    yield_asked: threading.Event = field(default_factory=threading.Event)  # owner -> worker
    resume: threading.Event = field(default_factory=threading.Event)  # owner -> worker
    paused: bool = False  # owner thread's view: waiting at a yield, the lane handed over
    urgent: bool = False  # the user waits for it: lanes give way while it runs


@dataclass
class _Slot:
    generation: int = 0
    running: _Request | None = None
    thread: threading.Thread | None = None
    waiting: _Request | None = None
    timer: Handle | None = None
    started_at: float = 0.0


class JobRunner:
    """See the module docstring. Every method is called on the owner's thread."""

    #: What runs, for a status line: the labels of running jobs ("" when idle).
    busy_changed = Signal(str)
    #: Errors of jobs submitted without ``on_error``: ``(slot, exception)``.
    failed = Signal(object, object)

    def __init__(self, scheduler: Scheduler | None = None) -> None:
        self.scheduler = scheduler if scheduler is not None else ManualScheduler()
        self._slots: dict[Hashable, _Slot] = {}
        self._closed = False
        self._busy_text = ""
        self._submitted = itertools.count()

    # -- requests -------------------------------------------------------------------------------
    def submit(self, slot: Hashable, func: Callable, *args: Any, on_result: Callable | None = None,
               on_progress: Callable | None = None, on_error: Callable | None = None,
               delay_s: float = 0.0, label: str = "", lane: str | None = None,
               priority: int = 0, urgent: bool = False) -> None:
        """Run ``func(*args)`` in slot ``slot``, superseding whatever that slot was doing.

        ``func`` may be a plain function (``on_result(value)``) or a generator function
        (``on_progress(item)`` for each ``yield``, ``on_result(return value)``). ``on_error``
        gets the exception (default: the :attr:`failed` signal). Nothing is delivered for a
        request that a newer one replaced. With ``lane``, the job waits until no other job of
        that lane runs; waiting jobs of a lane start lowest ``priority`` first. While an
        ``urgent`` job runs, no lane job starts and a lane's generator job pauses at its next
        yield.
        """
        if self._closed:
            return
        s = self._slots.setdefault(slot, _Slot())
        s.generation += 1
        request = _Request(func, args, on_result, on_progress, on_error, label, s.generation,
                           lane, priority, next(self._submitted), urgent=urgent)
        if s.timer is not None:
            s.timer.cancel()
            s.timer = None
        s.waiting = request
        if s.running is not None:
            s.running.token.cancel()  # newest wins: stop the stale job at its next check
        if delay_s > 0:
            s.timer = self.scheduler.call_later(delay_s, lambda: self._on_timer(slot, request))
        else:
            self._start_waiting(slot)

    def cancel(self, slot: Hashable) -> None:
        """Drop the waiting request and cancel the running job of ``slot``."""
        s = self._slots.get(slot)
        if s is None:
            return
        s.generation += 1
        s.waiting = None
        if s.timer is not None:
            s.timer.cancel()
            s.timer = None
        if s.running is not None:
            s.running.token.cancel()

    def cancel_all(self) -> None:
        for slot in list(self._slots):
            self.cancel(slot)

    def is_active(self, slot: Hashable) -> bool:
        """A job runs, waits or is held back (debounced) in ``slot``."""
        s = self._slots.get(slot)
        return s is not None and (s.running is not None or s.waiting is not None)

    def running_for(self, slot: Hashable) -> float:
        """Seconds the current job of ``slot`` has been running (0 when none)."""
        s = self._slots.get(slot)
        return time.monotonic() - s.started_at if s is not None and s.running is not None else 0.0

    @property
    def idle(self) -> bool:
        return not any(s.running or s.waiting for s in self._slots.values())

    def shutdown(self, timeout_s: float = 1.5) -> bool:
        """Cancel everything, deliver nothing more, and wait up to ``timeout_s`` for running
        jobs to end. Returns True when none is left running (daemon threads never block exit)."""
        self.cancel_all()
        self._closed = True
        deadline = time.monotonic() + timeout_s
        for s in self._slots.values():
            thread = s.thread
            if thread is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        return not any(s.thread is not None and s.thread.is_alive() for s in self._slots.values())

    def slot(self, *key: Hashable) -> SlotHandle:
        """A handle on slot ``key`` for one owner (e.g. a panel: ``runner.slot("colour", id(self))``)."""
        return SlotHandle(self, key)

    # -- internals (owner thread) ---------------------------------------------------------------
    def _on_timer(self, slot: Hashable, request: _Request) -> None:
        s = self._slots[slot]
        if s.waiting is request:
            s.timer = None
            self._start_waiting(slot)

    def _ready(self, s: _Slot) -> bool:
        """``s`` has a request that may start now (not debounced, not behind its own job)."""
        return s.running is None and s.waiting is not None and s.timer is None and not self._closed

    def _start_waiting(self, slot: Hashable) -> None:
        s = self._slots[slot]
        if not self._ready(s):
            return  # the running job is winding down; the waiting request starts when it ends
        if s.waiting.lane is not None:
            self._start_lane(s.waiting.lane)
            return
        self._start(slot)

    def _start_lane(self, lane: str) -> None:
        """Give ``lane`` to its most urgent job, waiting or paused; ask a less urgent running
        one to pause at its next yield."""
        if self._closed:
            return
        running = [r for s in self._slots.values() if (r := s.running) is not None
                   and r.lane == lane and not r.paused]
        waiting = [(s.waiting, key, False) for key, s in self._slots.items()
                   if self._ready(s) and s.waiting.lane == lane]
        paused = [(s.running, key, True) for key, s in self._slots.items()
                  if s.running is not None and s.running.lane == lane and s.running.paused
                  and not s.running.token.cancelled]
        if running and self._urgent_running():
            running[0].yield_asked.set()
            return
        if not waiting and not paused:
            return
        request, key, is_paused = min(waiting + paused, key=lambda e: (e[0].priority, e[0].order))
        if running:
            if request.priority < running[0].priority:
                running[0].yield_asked.set()
            return
        if self._urgent_running():
            return  # it starts (or resumes) when the urgent jobs end
        if is_paused:
            request.paused = False
            request.resume.set()
            self._update_busy()
        else:
            self._start(key)

    def _urgent_running(self) -> bool:
        return any(s.running is not None and s.running.urgent for s in self._slots.values())

    def _lanes(self) -> set[str]:
        return {r.lane for s in self._slots.values() for r in (s.running, s.waiting)
                if r is not None and r.lane is not None}

    def _on_paused(self, slot: Hashable, request: _Request) -> None:
        """The worker of ``request`` waits at a yield: the lane goes to the most urgent job."""
        s = self._slots.get(slot)
        if s is None or s.running is not request:
            return
        request.paused = True
        request.yield_asked.clear()
        self._update_busy()
        self._start_lane(request.lane)

    def _start(self, slot: Hashable) -> None:
        s = self._slots[slot]
        request, s.waiting = s.waiting, None
        s.running = request
        s.started_at = time.monotonic()
        s.thread = threading.Thread(target=self._work, args=(slot, request), daemon=True,
                                    name=f"mmviewer-job-{slot}")
        s.thread.start()
        self._update_busy()
        if request.urgent:
            for lane in self._lanes():
                self._start_lane(lane)  # which asks the lane's running job to pause

    def _current(self, slot: Hashable, request: _Request) -> bool:
        s = self._slots.get(slot)
        return (not self._closed and s is not None and s.generation == request.generation
                and not request.token.cancelled)

    def _deliver(self, slot: Hashable, request: _Request, callback: Callable | None, *value) -> None:
        def run() -> None:
            if callback is not None and self._current(slot, request):
                callback(*value)
        self.scheduler.call_soon(run)

    def _work(self, slot: Hashable, request: _Request) -> None:
        """The job's thread: run it with its token current; post what it yields and returns."""
        outcome: tuple = ()
        try:
            with running_with(request.token):
                result = request.func(*request.args)
                if inspect.isgenerator(result):
                    result = self._drain(slot, request, result)
            outcome = (request.on_result, result)
        except Cancelled:
            pass
        except BaseException as err:  # noqa: BLE001 - every failure reaches one sink
            outcome = (request.on_error or (lambda e: self.failed.emit(slot, e)), err)
        finally:
            self.scheduler.call_soon(lambda: self._on_finished(slot, request, outcome))

    def _drain(self, slot: Hashable, request: _Request, gen):
        try:
            while True:
                request.token.check()
                if request.yield_asked.is_set():
                    self._pause(slot, request)
                try:
                    item = next(gen)
                except StopIteration as stop:
                    return stop.value
                self._deliver(slot, request, request.on_progress, item)
        finally:
            gen.close()

    def _pause(self, slot: Hashable, request: _Request) -> None:
        """(Worker thread) hand the lane over and wait until it is given back or cancelled."""
        request.resume.clear()
        self.scheduler.call_soon(lambda: self._on_paused(slot, request))
        while not request.resume.wait(0.1):
            request.token.check()

    def _on_finished(self, slot: Hashable, request: _Request, outcome: tuple) -> None:
        """The job ended: free its slot, deliver its outcome if it is still the newest, then
        start the request that waited (a handler may also have submitted one)."""
        s = self._slots.get(slot)
        if s is None or s.running is not request:
            return
        current = self._current(slot, request)
        s.running, s.thread = None, None
        self._update_busy()
        try:
            if current and outcome and outcome[0] is not None:
                outcome[0](outcome[1])
        finally:
            if not self._closed:
                self._start_waiting(slot)
                for lane in [request.lane] if request.lane is not None else \
                        (self._lanes() if request.urgent else []):
                    self._start_lane(lane)

    def _update_busy(self) -> None:
        labels = [s.running.label for s in self._slots.values()
                  if s.running is not None and s.running.label and not s.running.paused]
        text = labels[-1] if labels else ""
        if text != self._busy_text:
            self._busy_text = text
            self.busy_changed.emit(text)


class SlotHandle:
    """One slot of a :class:`JobRunner`, bound: ``submit`` supersedes, ``cancel`` drops."""

    def __init__(self, runner: JobRunner, key: Hashable):
        self.runner, self.key = runner, key

    def submit(self, func: Callable, *args: Any, **kwargs: Any) -> None:
        self.runner.submit(self.key, func, *args, **kwargs)

    def cancel(self) -> None:
        self.runner.cancel(self.key)

    @property
    def active(self) -> bool:
        return self.runner.is_active(self.key)


def each(func: Callable, items) -> Any:
    """A generator job over ``(key, value)`` pairs: yields ``(key, func(value), "")`` per item,
    or ``(key, None, reason)`` when it fails, so a caller shows results as they land. Submitted
    again with what is still missing, it supersedes itself without losing what was delivered
    (thumbnails, audio durations)."""
    for key, value in items:
        try:
            yield key, func(value), ""
        except Cancelled:
            raise
        except Exception as err:  # noqa: BLE001 - one bad file costs one result
            yield key, None, f"{type(err).__name__}: {err}"
