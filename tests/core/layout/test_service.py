"""UMAP runs in a child process, survives the child's death, and matches the in-process result."""

from __future__ import annotations

import os
import signal

import numpy as np

from mmviewer.core.layout.service import LayoutService


def test_umap_in_child_process_and_recovery_after_kill():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal((40, 8)) + 6 * i for i in range(3)]).astype(np.float32)
    service = LayoutService()
    try:
        assert service.warm_up().result(timeout=300) is True
        y = service.umap(x, random_state=0)
        assert y.shape == (120, 2) and np.isfinite(y).all()
        (pid,) = list(service._pool()._processes)
        assert pid != os.getpid()
        os.kill(pid, signal.SIGKILL)
        y2 = service.umap(x, random_state=0)  # a fresh child takes over
        assert y2.shape == (120, 2)
        np.testing.assert_allclose(y, y2, atol=1e-4)  # seeded: same layout
    finally:
        service.close()
