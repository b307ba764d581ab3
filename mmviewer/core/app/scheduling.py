"""Where the job runner's callbacks run: the :class:`Scheduler` protocol, and
:class:`ManualScheduler`, driven by hand in tests and headless scripts (the app's Qt one is
``mmviewer.gui.qt_jobs.QtScheduler``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Handle(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """Where callbacks run: ``call_soon`` is thread-safe and runs ``fn`` on the owner's thread;
    ``call_later`` is called on the owner's thread only."""

    def call_soon(self, fn: Callable[[], None]) -> None: ...

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> Handle: ...


class ManualScheduler:
    """A scheduler driven by hand: :meth:`drain` runs what workers posted, :meth:`advance` moves
    a virtual clock for debounced requests. For tests and headless drivers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: list[Callable[[], None]] = []
        self._posted = threading.Condition(self._lock)
        self.now = 0.0
        self._timers: list[_Timer] = []

    def call_soon(self, fn: Callable[[], None]) -> None:
        with self._lock:
            self._ready.append(fn)
            self._posted.notify_all()

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> _Timer:
        timer = _Timer(self.now + max(0.0, float(delay_s)), fn)
        self._timers.append(timer)
        return timer

    def drain(self) -> int:
        """Run every posted callback (and those they post); returns how many ran."""
        count = 0
        while True:
            with self._lock:
                ready, self._ready = self._ready, []
            if not ready:
                return count
            for fn in ready:
                fn()
                count += 1

    def advance(self, seconds: float) -> None:
        """Move the clock and fire the timers that fall due, in order."""
        self.now += float(seconds)
        while True:
            due = sorted((t for t in self._timers if not t.cancelled and t.at <= self.now), key=lambda t: t.at)
            if not due:
                break
            timer = due[0]
            self._timers.remove(timer)
            timer.cancelled = True
            timer.fn()
        self._timers = [t for t in self._timers if not t.cancelled]

    def wait_posted(self, timeout: float = 5.0) -> bool:
        """Block until a worker posts a callback (or ``timeout``); True if one is waiting."""
        with self._lock:
            return self._posted.wait_for(lambda: bool(self._ready), timeout)


@dataclass
class _Timer:
    at: float
    fn: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True
