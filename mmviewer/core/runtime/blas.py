"""Numerical-library thread limits.

Setting a BLAS library's thread count is process-wide and not safe while another thread is
inside that library (OpenBLAS resizes its thread pool under a running call). So the app sets it
once, before its jobs start, and a context asks for one thread only where nothing did so yet
(a CLI run, a layout child, a benchmark).
"""

from __future__ import annotations

import contextlib
import threading

_pinned = False
_pin_lock = threading.Lock()


def one_blas_thread():
    """Context: BLAS/LAPACK on one thread. Mid-sized factorisations (``eigh`` of 512 x 512, a
    10k-row Gram matrix) ran 10-100x slower with OpenBLAS's two threads on a loaded 2-core
    machine (threads spin waiting for a core) and no faster on an idle one. Nothing to do (and
    nothing touched under the app's other job threads) once :func:`blas_one_thread_for_good`
    ran."""
    if _pinned:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def blas_one_thread_for_good() -> None:
    """Put BLAS/LAPACK on one thread for the rest of the process (once: later calls do nothing).
    The app runs its jobs side by side on job threads (layout, fits, metrics, item values), so
    they already use the cores; OpenBLAS's own threads then only spin: a 50k-pair ridge fit took
    52 s with two BLAS threads beside the app's other jobs and 12 s with one. (A
    ``threadpool_limits`` context per job would not do: the limit is process-wide, and
    overlapping contexts restore each other's.)"""
    global _pinned
    with _pin_lock:
        if _pinned:
            return
        # SciPy carries its own OpenBLAS (the fits use its LAPACK): load it, so it is pinned too.
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
        _pinned = True
