"""The Qt side of the job runner: deliver results on the UI thread, debounce with QTimers.

:class:`QtScheduler` is the :class:`~mmviewer.core.app.runner.Scheduler` of the app: worker
threads post callbacks through a queued signal, so every result, progress report and error of a
job runs in the Qt event loop, where panels may touch widgets. The application owns every
scheduler: a job thread may post at any moment, even after its window closed (a native call it
could not leave in time), and emitting on a QObject that the UI thread is deleting is a
use-after-free. What a closed runner receives it drops itself (``JobRunner._current``).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal


class QtScheduler(QObject):
    """``call_soon`` from any thread; ``call_later`` from the UI thread."""

    _posted = Signal(object)

    def __init__(self):
        # Owned by the application, never by a window or dialog (see the module's docstring);
        # nor by the last Python reference, which a job thread may hold: a QObject must never
        # be destroyed from a thread other than its own.
        super().__init__(QCoreApplication.instance())
        self._posted.connect(self._on_posted, Qt.ConnectionType.QueuedConnection)

    def call_soon(self, fn: Callable[[], None]) -> None:
        try:
            self._posted.emit(fn)
        except RuntimeError:
            pass  # the window that owned this scheduler is gone: nobody is left to tell

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> _TimerHandle:
        timer = QTimer(self, singleShot=True, interval=max(0, round(delay_s * 1000)))
        timer.timeout.connect(fn)
        timer.timeout.connect(timer.deleteLater)
        timer.start()
        return _TimerHandle(timer)

    def _on_posted(self, fn: Callable[[], None]) -> None:
        fn()


class _TimerHandle:
    """``cancel()`` for a pending :meth:`QtScheduler.call_later`."""

    def __init__(self, timer: QTimer):
        self._timer = timer

    def cancel(self) -> None:
        try:
            self._timer.stop()
            self._timer.deleteLater()
        except RuntimeError:
            pass  # already fired and deleted
