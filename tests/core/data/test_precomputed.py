"""Opening embeddings computed elsewhere (Parquet, NPZ)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmviewer.core.data.open import open_dataset
from mmviewer.core.data.precomputed import PrecomputedError
from mmviewer.core.data.table import EmbeddingTable
from mmviewer.core.embed.job import embed_dataset
from mmviewer.core.runtime.generators import run_to_end


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
    result = run_to_end(embed_dataset(ds, {}, None))
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


def test_parquet_in_several_row_groups_with_null_vectors_reads_in_place(tmp_path):
    from mmviewer.core.data.table import l2_normalise

    rng = np.random.default_rng(3)
    n, dim = 2500, 6
    img = rng.standard_normal((n, dim)).astype(np.float32)
    aud = rng.standard_normal((n, 4)).astype(np.float32)
    missing = rng.random(n) < 0.2
    table = pa.table({
        "id": [f"i{k}" for k in range(n)],
        "image": pa.FixedSizeListArray.from_arrays(pa.array(img.reshape(-1)), dim),
        "audio_emb": pa.FixedSizeListArray.from_arrays(pa.array(aud.reshape(-1)), 4,
                                                       mask=pa.array(missing)),
        "label": [None if k % 7 == 0 else f"c{k % 3}" for k in range(n)],
        "score": list(range(n)),
    })
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=700)
    ds = open_dataset(tmp_path / "big.parquet")
    t = ds.precomputed
    np.testing.assert_allclose(t.vectors["image"], l2_normalise(img), rtol=1e-6)
    assert t.present["audio"].tolist() == (~missing).tolist()
    np.testing.assert_allclose(t.vectors["audio"][~missing], l2_normalise(aud[~missing]), rtol=1e-6)
    assert not t.vectors["audio"][missing].any()
    assert t.metadata["label"][0] == "" and t.metadata["label"][1] == "c1"
    assert t.metadata["score"][5] == "5"
    # Items are made on demand, with the table's ids and metadata.
    assert len(ds.items) == n and ds.items[1].id == "i1" and ds.items[1].metadata["label"] == "c1"
    assert [it.id for it in ds.items[2:4]] == ["i2", "i3"] and ds.metadata_columns == ["label", "score"]


def test_parquet_with_nan_in_a_fixed_size_column_or_duplicate_ids_is_refused(tmp_path):
    vec = np.ones(6, np.float32)
    vec[4] = np.nan
    bad = pa.table({"id": ["a", "b"], "image": pa.FixedSizeListArray.from_arrays(pa.array(vec), 3)})
    pq.write_table(bad, tmp_path / "nan.parquet")
    with pytest.raises(PrecomputedError, match="NaN"):
        open_dataset(tmp_path / "nan.parquet")
    dup = pa.table({"id": ["a", "a"], "image": pa.FixedSizeListArray.from_arrays(pa.array(np.ones(6, np.float32)), 3)})
    pq.write_table(dup, tmp_path / "dup.parquet")
    with pytest.raises(PrecomputedError, match="not unique"):
        open_dataset(tmp_path / "dup.parquet")
