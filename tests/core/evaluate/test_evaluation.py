"""End-to-end evaluation on tiny planted tables: keys, JSON, leakage, fusion, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmviewer.core.align.linear import IdentityAligner
from mmviewer.core.align.registry import ALIGNERS, paired_split
from mmviewer.core.data.table import EmbeddingTable, l2_normalise
from mmviewer.core.evaluate.evaluation import evaluate, evaluate_fusion

KEYS = {
    "method", "query", "target", "n_train", "n_test", "recall@1", "recall@5", "recall@10", "mrr",
    "median_rank", "top1_accuracy", "mse", "mutual_information", "modality_gap",
    "chance_recall@1", "chance_recall@5", "chance_recall@10", "chance_mrr", "n_dense",
}


def make_table(n: int = 160, seed: int = 0, noise: float = 0.1) -> EmbeddingTable:
    """image / text share a space (text = image + noise); audio = rotated, cut, noisy image."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=n)
    centres = rng.normal(size=(4, 12))
    image = centres[labels] + 0.8 * rng.normal(size=(n, 12))
    text = image + noise * rng.normal(size=(n, 12))
    audio = (image @ np.linalg.qr(rng.normal(size=(12, 12)))[0])[:, :8] + noise * rng.normal(size=(n, 8))
    present = {"image": np.ones(n, bool), "text": rng.random(n) > 0.1, "audio": rng.random(n) > 0.2}
    vectors = {
        m: l2_normalise(v) * present[m][:, None]
        for m, v in {"image": image, "text": text, "audio": audio}.items()
    }
    meta = {"label": np.array([f"c{x}" for x in labels], dtype=object)}
    meta["label"][:3] = [None, "", float("nan")]  # missing labels are skipped
    return EmbeddingTable(np.array([f"id{i}" for i in range(n)]), vectors, present, metadata=meta)


def plain(value) -> bool:
    """Only JSON's own types, with every float a real Python float."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_evaluate_none_keys_json_and_counts():
    table = make_table()
    result = evaluate(table, "image", "text", label_column="label")
    assert KEYS | {"label_precision@1", "label_precision@5", "chance_label_precision"} <= set(result)
    assert plain(result) and json.loads(json.dumps(result)) == result
    n_pairs = len(table.paired("image", "text"))
    assert result["n_train"] + result["n_test"] == n_pairs
    assert result["n_test"] == int(np.ceil(0.3 * n_pairs))
    assert result["chance_recall@1"] == pytest.approx(1 / result["n_test"])
    assert result["recall@1"] > 0.9 and result["top1_accuracy"] > 0.9
    assert result["recall@1"] <= result["recall@5"] <= result["recall@10"] <= 1.0
    assert 0 < result["mutual_information"] <= result["mutual_information_max"]
    assert result["modality_gap"] == pytest.approx(result["modality_gap_raw"], abs=1e-6)
    assert result["label_precision@1"] > result["chance_label_precision"]
    assert result == evaluate(table, "image", "text", label_column="label")  # seeded


@pytest.mark.parametrize("method", ["procrustes", "ridge", "cca"])
def test_learned_methods_bridge_different_dims(method):
    result = evaluate(make_table(), "image", "audio", method=method, random_state=1)
    assert plain(result)
    assert result["recall@1"] > 0.8 > 10 * result["chance_recall@1"]
    assert result["modality_gap_raw"] is None and result["method"] == method
    if method == "cca":
        assert result["gaussian_mi_train"] > 0


def test_contrastive_through_evaluate_passes_params_and_seed():
    table = make_table(n=120)
    kw = dict(method="contrastive", n_components=8, epochs=5)
    result = evaluate(table, "image", "audio", **kw)
    assert result["params"]["random_state"] == 0 and result["params"]["epochs"] == 5
    assert plain(result) and result == evaluate(table, "image", "audio", **kw)


def test_none_across_different_dims_is_a_clear_error():
    with pytest.raises(ValueError, match=r"image vectors have 12 dims and audio vectors have 8.*procrustes"):
        evaluate(make_table(), "image", "audio", method="none")


def test_fit_sees_exactly_the_training_pairs(monkeypatch):
    seen = {}

    class Spy(IdentityAligner):
        def fit(self, Xa, Xb):
            seen["a"], seen["b"] = np.array(Xa), np.array(Xb)
            return super().fit(Xa, Xb)

    monkeypatch.setitem(ALIGNERS, "spy", Spy)
    table = make_table()
    result = evaluate(table, "image", "text", method="spy", test_size=0.25, random_state=3)
    train, test = paired_split(table.paired("image", "text"), 0.25, 3)
    np.testing.assert_array_equal(seen["a"], table.vectors["image"][train])
    np.testing.assert_array_equal(seen["b"], table.vectors["text"][train])
    assert result["n_train"] == len(train) and result["n_test"] == len(test)
    fitted = {row.tobytes() for row in seen["a"]}
    assert not any(table.vectors["image"][i].tobytes() in fitted for i in test)


def test_dense_metrics_use_a_capped_subsample():
    result = evaluate(make_table(), "image", "text", max_dense=10)
    assert result["n_dense"] == 10 and result["n_test"] > 10
    assert 0.0 <= result["top1_accuracy"] <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(query="smell", target="text"), "query modality 'smell'"),
        (dict(query="image", target="image"), "different modalities"),
        (dict(query="image", target="text", method="magic"), "unknown alignment method"),
        (dict(query="image", target="text", label_column="colour"), "no metadata column 'colour'"),
        (dict(query="image", target="text", method="ridge", bogus=1), "no parameter"),
    ],
)
def test_evaluate_bad_inputs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        evaluate(make_table(), **kwargs)


def test_too_few_pairs():
    full = make_table(n=12)
    table = full.subset(full.paired("image", "text")[:3])
    with pytest.raises(ValueError, match="only 3 items have both image and text"):
        evaluate(table, "image", "text")


def fusion_table(n: int = 240, seed: int = 1) -> EmbeddingTable:
    """Each modality sees the label through independent heavy noise: fusing should help."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=n)
    vectors = {
        m: l2_normalise(rng.normal(size=(4, d))[labels] + 1.3 * rng.normal(size=(n, d)))
        for m, d in (("image", 16), ("text", 10))
    }
    present = {m: np.ones(n, bool) for m in vectors}
    return EmbeddingTable(np.arange(n).astype(str), vectors, present, metadata={"label": labels})


def test_evaluate_fusion_side_by_side():
    table = fusion_table()
    result = evaluate_fusion(table, {"image": 1.0, "text": 1.0}, "label", k=(1, 5))
    assert plain(result) and json.loads(json.dumps(result)) == result
    assert set(result["single"]) == {"image", "text"} and result["k"] == [1, 5]
    assert result["n_queries"] == result["n_candidates"] == table.n_items
    for key in ("label_precision@1", "label_precision@5"):
        best_single = max(result["single"][m][key] for m in ("image", "text"))
        assert result["fused"][key] > best_single > result["chance_label_precision"]
    only_text = evaluate_fusion(table, {"image": 0.0, "text": 2.0}, "label", k=5)
    p5 = result["single"]["text"]["label_precision@5"]
    assert only_text["fused"] == only_text["single"]["text"] == {"label_precision@5": p5}
    assert evaluate_fusion(table, {"image": 1, "text": 1}, "label", max_queries=20)["n_queries"] == 20


def test_evaluate_fusion_bad_inputs():
    table = fusion_table(n=20)
    with pytest.raises(ValueError, match="finite"):
        evaluate_fusion(table, {"image": float("nan")}, "label")
    with pytest.raises(ValueError, match="positive weight"):
        evaluate_fusion(table, {"image": 0.0}, "label")
    with pytest.raises(ValueError, match="no metadata column"):
        evaluate_fusion(table, {"image": 1.0}, "colour")
