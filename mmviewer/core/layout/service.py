"""UMAP in a persistent child process.

numba (under umap-learn and pynndescent) compiles on first use in every process and holds the
GIL while it does: run in a thread of the GUI process, a first UMAP freezes the window for
seconds. A :class:`LayoutService` owns one child process (forkserver: it never inherits torch
or Qt threads) that imports umap once, warms numba up on a toy problem, and then serves every
layout of the session. Callers block in a worker thread, never in the UI thread. Inputs are the
small PCA scores (N x 64), so shipping them to the child costs milliseconds.
"""

from __future__ import annotations

import atexit
import threading
import time
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from mmviewer.core.runtime.cancel import Cancelled, check_cancelled, current_token

#: A cancelled UMAP older than this is abandoned by terminating the child (see umap()).
RESTART_AFTER_S = 10.0


def _warm_up() -> bool:
    from mmviewer.core.layout.umap import umap_layout

    rng = np.random.default_rng(0)
    umap_layout(rng.standard_normal((64, 8)).astype(np.float32), n_epochs=10, random_state=None)
    return True


def _peak_rss_bytes() -> int:
    """Peak resident set size of this process (``ru_maxrss`` is in KiB on Linux)."""
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _chain(source: Future, target: Future) -> None:
    if source.cancelled():
        target.cancel()
    elif source.exception() is not None:
        target.set_exception(source.exception())
    else:
        target.set_result(source.result())


def _run_umap(x: np.ndarray, kwargs: dict) -> np.ndarray:
    from mmviewer.core.layout.umap import umap_layout

    return umap_layout(x, **kwargs)


class LayoutService:
    """One child process for UMAP; thread-safe; restarts itself if the child dies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._warm: Future | None = None

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                from mmviewer.core.runtime.processes import process_context

                self._executor = ProcessPoolExecutor(1, mp_context=process_context())
            return self._executor

    def warm_up(self) -> Future:
        """Start the child and compile numba there, without waiting (call at start-up).

        Starting the pool blocks until the forkserver has preloaded its modules (~2 s), so that
        happens on a thread of its own; the returned future resolves when the child is warm.
        """
        with self._lock:
            if self._warm is not None:
                return self._warm
            self._warm = outer = Future()

        def start() -> None:
            try:
                inner = self._pool().submit(_warm_up)
                inner.add_done_callback(lambda f: _chain(f, outer))
            except Exception as err:  # reported through the future
                outer.set_exception(err)

        threading.Thread(target=start, name="mmviewer-layout-warm-up", daemon=True).start()
        return outer

    def umap(self, x: np.ndarray, **kwargs) -> np.ndarray:
        """:func:`mmviewer.core.layout.umap.umap_layout` in the child; blocks the calling thread.

        Inside a job (a current cancel token) a cancelled request stops waiting: a UMAP that has
        run for more than ``RESTART_AFTER_S`` is abandoned by terminating the child (a fresh one
        costs about that much to warm up), a shorter one is left to finish and its result
        dropped, so a slider drag never throws away the warm child.
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        try:
            return self._wait(self._pool().submit(_run_umap, x, kwargs))
        except BrokenProcessPool:
            check_cancelled()  # killed because the app is quitting or the job was abandoned
            # The child died (killed, out of memory): start a fresh one and try once more.
            self.close()
            return self._wait(self._pool().submit(_run_umap, x, kwargs))

    def _wait(self, future: Future) -> np.ndarray:
        token = current_token()
        started = time.monotonic()
        while True:
            try:
                return future.result(timeout=0.1 if token is not None else None)
            except FuturesTimeout:
                if token is not None and token.cancelled:
                    if time.monotonic() - started > RESTART_AFTER_S:
                        self.close()
                        raise Cancelled from None
                continue
            except CancelledError:
                raise Cancelled from None

    def peak_rss_bytes(self) -> int:
        """Peak resident memory of the child so far (for benchmarks and diagnostics)."""
        return self._pool().submit(_peak_rss_bytes).result()

    def close(self) -> None:
        """Stop the child now (a running UMAP is abandoned, not awaited)."""
        with self._lock:
            executor, self._executor, self._warm = self._executor, None, None
        if executor is None:
            return
        if getattr(executor, "_pending_work_items", None):
            # A UMAP of 1M rows must not hold up closing the window.
            for process in list(getattr(executor, "_processes", {}).values()):
                process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)


_shared: LayoutService | None = None


def shared_service() -> LayoutService:
    """The process-wide service (one child serves every window and test in this process)."""
    global _shared
    if _shared is None:
        _shared = LayoutService()
        atexit.register(_shared.close)
    return _shared
