"""The Qt side of the job runner: deliver results on the UI thread, debounce with QTimers.

:class:`QtScheduler` is the :class:`~mmviewer.core.app.runner.Scheduler` of the app: worker
threads post callbacks through a queued signal, so every result, progress report and error of a
job runs in the Qt event loop, where panels may touch widgets. Callbacks posted after the
scheduler is deleted (the window closed) are dropped by Qt.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal


class QtScheduler(QObject):
    """``call_soon`` from any thread; ``call_later`` from the UI thread."""

    _posted = Signal(object)

    def __init__(self, parent: QObject | None = None):
        # Without a parent the application owns it: job threads may hold the last Python
        # reference, and a QObject must never be destroyed from a thread other than its own.
        super().__init__(parent if parent is not None else QCoreApplication.instance())
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
