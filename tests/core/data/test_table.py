"""The embedding table's helpers: in-place normalisation and memoised derived arrays."""

from __future__ import annotations

import numpy as np
import pytest

from mmviewer.core.data.table import EmbeddingTable, l2_normalise, l2_normalise_inplace


def test_l2_normalise_inplace_matches_the_copying_version_in_small_blocks():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1000, 7)).astype(np.float32)
    x[[3, 500]] = 0
    expected = l2_normalise(x)
    out = l2_normalise_inplace(x, block=64)
    assert out is x
    np.testing.assert_allclose(x, expected, rtol=1e-6)
    assert not x[[3, 500]].any()
    with pytest.raises(ValueError):
        l2_normalise_inplace(np.ones((2, 2)))  # float64: would not be in place


def test_derived_values_are_computed_once_per_table():
    t = EmbeddingTable(np.array(["a", "b"]), {"image": np.eye(2, dtype=np.float32)},
                       {"image": np.ones(2, bool)})
    calls = []
    for _ in range(3):
        t.derived("k", lambda: calls.append(1) or len(calls))
    assert calls == [1] and t.derived("k", lambda: 99) == 1
    assert t.subset(np.array([0])).derived("k", lambda: 7) == 7  # a new table has its own
