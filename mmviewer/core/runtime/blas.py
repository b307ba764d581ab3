"""Numerical-library thread limits.
"""

from __future__ import annotations


def one_blas_thread():
    """Context: BLAS/LAPACK on one thread. Mid-sized factorisations (``eigh`` of 512 x 512, a
    10k-row Gram matrix) ran 10-100x slower with OpenBLAS's two threads on a loaded 2-core
    machine (threads spin waiting for a core) and no faster on an idle one."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")
