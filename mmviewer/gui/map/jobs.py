"""Background jobs of the map panel, one kind at a time, where the newest request wins.

Same idea as the controller's job slots (a generation counter; results of superseded requests
are dropped), kept local because the map's jobs (kd-tree, colourings, match lists) are its own.
Generator jobs are also asked to stop at their next yield when superseded.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker


class LatestJob(QObject):
    """One job kind: ``start`` supersedes whatever this kind was doing."""

    failed = Signal(object)  # the exception of the newest request

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.generation = 0
        self._workers: set = set()

    @property
    def running(self) -> bool:
        return bool(self._workers)

    def start(self, func, *args, on_return, on_yield=None) -> None:
        """Run ``func(*args)`` in a worker thread; deliver its results only if still newest."""
        self.cancel()
        generation = self.generation

        def fresh(callback):
            def deliver(value):
                if generation == self.generation and callback is not None:
                    callback(value)
            return deliver

        worker = create_worker(func, *args, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(fresh(on_return))
        if on_yield is not None and hasattr(worker, "yielded"):
            worker.yielded.connect(fresh(on_yield))
        worker.errored.connect(fresh(self.failed.emit))
        worker.finished.connect(lambda w=worker: self._workers.discard(w))
        self._workers.add(worker)
        worker.start()

    def cancel(self) -> None:
        """Drop every pending result; generator jobs stop at their next yield."""
        self.generation += 1
        for worker in list(self._workers):
            quit_ = getattr(worker, "quit", None)
            if quit_ is not None:
                quit_()
