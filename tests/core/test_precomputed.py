"""Opening embeddings computed elsewhere (Parquet, NPZ)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmviewer.core.dataset import open_dataset
from mmviewer.core.embeddings import EmbeddingTable
from mmviewer.core.job import embed_dataset, run_job
from mmviewer.core.precomputed import PrecomputedError


def test_parquet_with_list_columns_nulls_and_metadata(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.standard_normal((3, 5)).astype(np.float32)
    table = pa.table({
        "id": ["a", "b", "c"],
        "image_embedding": [img[0].tolist(), img[1].tolist(), None],
        "text": pa.FixedSizeListArray.from_arrays(pa.array(rng.standard_normal(9).astype(np.float32)), 3),
        "label": ["x", "y", "x"],
    })
    pq.write_table(table, tmp_path / "emb.parquet")
    ds = open_dataset(tmp_path / "emb.parquet")
    assert ds.layout == "precomputed"
    t = ds.precomputed
    assert list(t.ids) == ["a", "b", "c"]
    assert t.present["image"].tolist() == [True, True, False]
    np.testing.assert_allclose(t.vectors["image"][0], img[0] / np.linalg.norm(img[0]), rtol=1e-6)
    assert t.dim("text") == 3 and t.metadata["label"].tolist() == ["x", "y", "x"]
    # The job hands precomputed tables straight through.
    result = run_job(embed_dataset(ds, {}, None))
    assert result.table is t and result.stats["computed"] == 0


def test_round_trip_of_our_own_export(tmp_path):
    rng = np.random.default_rng(1)
    t = EmbeddingTable.from_rows(
        ["p", "q"],
        {"image": {"p": rng.standard_normal(4), "q": rng.standard_normal(4)}, "audio": {"q": rng.standard_normal(6)}},
        encoders={"image": "enc-i", "audio": "enc-a"},
        metadata={"label": ["1", "2"]},
    )
    t.to_parquet(tmp_path / "out.parquet")
    back = open_dataset(tmp_path / "out.parquet").precomputed
    assert back.encoders == {"image": "enc-i", "audio": "enc-a"}
    np.testing.assert_allclose(back.vectors["image"], t.vectors["image"], rtol=1e-6)
    assert back.present["audio"].tolist() == [False, True]


def test_npz_and_refusal_of_pickled_arrays(tmp_path):
    rng = np.random.default_rng(2)
    np.savez(tmp_path / "e.npz", ids=np.array(["a", "b"]), audio=rng.standard_normal((2, 7)),
             label=np.array(["u", "v"]))
    t = open_dataset(tmp_path / "e.npz").precomputed
    assert t.modalities == ["audio"] and t.metadata["label"].tolist() == ["u", "v"]
    np.savez(tmp_path / "bad.npz", ids=np.array(["a", None], dtype=object), audio=np.ones((2, 2)))
    with pytest.raises(PrecomputedError, match="pickle"):
        open_dataset(tmp_path / "bad.npz")


@pytest.mark.parametrize("content", [b"", b"not a parquet file at all"])
def test_unreadable_tables_name_the_file(tmp_path, content):
    p = tmp_path / "x.parquet"
    p.write_bytes(content)
    with pytest.raises(PrecomputedError, match="x.parquet"):
        open_dataset(p)


def test_table_without_vectors_and_with_nan(tmp_path):
    pq.write_table(pa.table({"id": ["a"], "label": ["x"]}), tmp_path / "novec.parquet")
    with pytest.raises(PrecomputedError, match="no embedding columns"):
        open_dataset(tmp_path / "novec.parquet")
    pq.write_table(pa.table({"id": ["a"], "image": [[1.0, float("nan")]]}), tmp_path / "nan.parquet")
    with pytest.raises(PrecomputedError, match="NaN"):
        open_dataset(tmp_path / "nan.parquet")
