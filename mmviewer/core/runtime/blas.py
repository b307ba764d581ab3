"""Numerical-library thread limits."""

from __future__ import annotations


def one_blas_thread():
    """Context: BLAS/LAPACK on one thread. Mid-sized factorisations (``eigh`` of 512 x 512, a
    10k-row Gram matrix) ran 10-100x slower with OpenBLAS's two threads on a loaded 2-core
    machine (threads spin waiting for a core) and no faster on an idle one."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def blas_one_thread_for_good() -> None:
    """Put BLAS/LAPACK on one thread for the rest of the process. The app runs its jobs side by
    side on job threads (layout, fits, metrics, item values), so they already use the cores;
    OpenBLAS's own threads then only spin: a 50k-pair ridge fit took 52 s with two BLAS threads
    beside the app's other jobs and 12 s with one. (A ``threadpool_limits`` context per job
    would not do: the limit is process-wide, and overlapping contexts restore each other's.)"""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
