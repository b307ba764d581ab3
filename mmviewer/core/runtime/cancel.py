"""Cooperative cancellation that reaches inside long work.

The job runner (:mod:`mmviewer.core.app.runner`) runs every job with a :class:`CancelToken` as
the *current* token of its thread (a context variable), so long numeric loops deep inside a fit,
a metric or a layout need no extra parameter: they call :func:`check_cancelled` between blocks
and stop with :class:`Cancelled` when a newer request or quitting cancelled their job. Code that
owns a child process registers :meth:`CancelToken.on_cancel` to terminate it.

Outside a job (the command line, tests, scripts) there is no current token and
:func:`check_cancelled` costs one context-variable lookup.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator


class Cancelled(Exception):
    """The job this code runs in was cancelled (superseded, or the app is quitting)."""


class CancelToken:
    """A one-way switch: once cancelled it stays cancelled and runs its callbacks once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def is_set(self) -> bool:
        """Alias of :attr:`cancelled`, so a token can stand where a ``threading.Event`` did."""
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - one failing callback must not stop the others
                pass

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancelled."""
        if self._event.is_set():
            raise Cancelled

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on cancellation; True if cancelled."""
        return self._event.wait(timeout)

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` on cancellation (at once if already cancelled); returns a function
        that unregisters it."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)

                def remove() -> None:
                    with self._lock:
                        if callback in self._callbacks:
                            self._callbacks.remove(callback)

                return remove
        callback()
        return lambda: None


_current: contextvars.ContextVar[CancelToken | None] = contextvars.ContextVar(
    "mmviewer_cancel_token", default=None)


def current_token() -> CancelToken | None:
    """The token of the job running in this thread, or None outside a job."""
    return _current.get()


def check_cancelled() -> None:
    """Raise :class:`Cancelled` when the current job was cancelled (no-op outside a job)."""
    token = _current.get()
    if token is not None and token.cancelled:
        raise Cancelled


@contextlib.contextmanager
def running_with(token: CancelToken | None) -> Iterator[CancelToken | None]:
    """Make ``token`` the current token of this thread for the duration of the block."""
    reset = _current.set(token)
    try:
        yield token
    finally:
        _current.reset(reset)
