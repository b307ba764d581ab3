"""BLAS thread limits: set once per process, before the jobs start, and never again under them."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_pinned_once_every_blas_on_one_thread_and_contexts_leave_it_alone():
    # A fresh process: the limit is process-wide, so this test must not set it in pytest's.
    out = run_python("""
        import threadpoolctl
        from mmviewer.core.runtime import blas

        blas.blas_one_thread_for_good()
        info = threadpoolctl.threadpool_info()
        print(sorted({i["filepath"].rsplit("/", 1)[-1] for i in info if i["user_api"] == "blas"}))
        assert all(i["num_threads"] == 1 for i in info if i["user_api"] == "blas"), info

        calls = []
        threadpoolctl.threadpool_limits = lambda *a, **k: calls.append(a)  # any later set
        blas.blas_one_thread_for_good()
        with blas.one_blas_thread():
            pass
        assert calls == [], calls
        print("untouched")
    """)
    names = out.splitlines()[0]
    assert "scipy_openblas64_" in names and "libscipy_openblas-" in names  # NumPy's and SciPy's
    assert out.splitlines()[1] == "untouched"


def test_before_pinning_a_context_limits_and_restores():
    out = run_python("""
        import numpy, threadpoolctl
        from mmviewer.core.runtime.blas import one_blas_thread

        def counts():
            return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                    if i["user_api"] == "blas"]

        before = counts()
        with one_blas_thread():
            inside = counts()
        print(before == counts(), set(inside))
    """)
    assert out.split() == ["True", "{1}"]
