"""The offline image and text encoders: real files, fixed dims, and a real signal."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from PIL import Image

from mmviewer.core.data.media import MediaError
from mmviewer.core.data.model import MediaRef
from mmviewer.core.encoders.image_features import DIM, PixelImageEncoder
from mmviewer.core.encoders.text_tfidf import TfidfLsaEncoder


def _photo(seed: int, hue_shift: int = 0, size=(256, 192)) -> Image.Image:
    """A smooth synthetic 'photo': coloured blobs on a gradient (deterministic)."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    arr = np.zeros((h, w, 3))
    for c in range(3):
        arr[..., c] = 0.3 + 0.4 * xx * (c + 1) / 3
    for _ in range(4):
        cy, cx, r = rng.random(3) * [1, 1, 0.3] + [0, 0, 0.1]
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / r**2)
        arr += blob[..., None] * rng.random(3)
    im = Image.fromarray((np.clip(arr, 0, 1) * 255).astype(np.uint8))
    if hue_shift:
        hsv = np.asarray(im.convert("HSV")).copy()
        hsv[..., 0] += np.uint8(hue_shift)
        im = Image.fromarray(hsv, "HSV").convert("RGB")
    return im


def _ref(path):
    return MediaRef("image", path=path)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "I;16", "CMYK"])
def test_pixel_features_on_every_mode(tmp_path, mode):
    im = _photo(0)
    if mode == "I;16":
        grey = np.asarray(im.convert("L"), dtype=np.uint16) * 257
        im, fmt = Image.fromarray(grey), "PNG"
    else:
        im, fmt = im.convert(mode), ("JPEG" if mode == "CMYK" else "PNG")
    path = tmp_path / f"x.{fmt.lower()}"
    im.save(path, format=fmt)
    enc = PixelImageEncoder()
    vec = enc.prepare(_ref(path)).value
    assert vec.shape == (DIM,) and vec.dtype == np.float32 and np.isfinite(vec).all()
    assert abs(np.linalg.norm(vec) - 1) < 1e-5
    out = enc.encode([vec, vec])
    assert out.shape == (2, enc.dim) and enc.id == f"pixels-v1-{DIM}"
    np.testing.assert_array_equal(enc.prepare(_ref(path)).value, vec)


def test_pixel_features_see_a_real_signal(tmp_path):
    enc = PixelImageEncoder()
    paths = {}
    for name, im in {
        "a": _photo(1),
        "a_small_jpeg": _photo(1, size=(128, 96)),
        "a_brighter": Image.eval(_photo(1), lambda v: min(255, v + 20)),
        "b": _photo(7, hue_shift=100),
        "flat": Image.new("RGB", (200, 200), (30, 90, 200)),
    }.items():
        paths[name] = tmp_path / f"{name}.{'jpg' if 'jpeg' in name else 'png'}"
        im.save(paths[name])
    v = {k: enc.prepare(_ref(p)).value for k, p in paths.items()}
    for near in ("a_small_jpeg", "a_brighter"):
        assert v["a"] @ v[near] > v["a"] @ v["b"] + 0.1, near
    assert np.isfinite(v["flat"]).all() and abs(np.linalg.norm(v["flat"]) - 1) < 1e-5
    # No block dominates: each of colour / layout / edges carries a real share of the norm.
    a = v["a"]
    shares = [np.linalg.norm(a[:128]), np.linalg.norm(a[128:192]), np.linalg.norm(a[192:])]
    assert min(shares) > 0.3 * max(shares)


def test_pixel_encoder_rejects_bad_files_and_pickles(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG junk" * 10)
    with pytest.raises(MediaError):
        PixelImageEncoder().prepare(_ref(bad))
    assert pickle.loads(pickle.dumps(PixelImageEncoder())).id == PixelImageEncoder().id


# -- TF-IDF ---------------------------------------------------------------------------------------
CORPUS = [
    "A small dog runs across the green park chasing a red ball.",
    "Quarterly revenue rose as the company cut its operating costs.",
    "The orchestra played a quiet symphony in the old concert hall.",
    "Heavy rain flooded the streets of the coastal town overnight.",
    "A chef slices fresh vegetables for a spicy noodle soup.",
    "Astronomers observed a distant galaxy with a new telescope.",
    "The children built a sandcastle on the sunny beach.",
    "Engineers tested the bridge with heavy trucks before opening it.",
]
PARAPHRASE = "A little dog is running through a green park after a red ball."


def test_tfidf_paraphrase_is_nearer_than_unrelated_text():
    enc = TfidfLsaEncoder().fit(CORPUS + [PARAPHRASE])
    src, para, unrelated = enc.encode([CORPUS[0], PARAPHRASE, CORPUS[1]])
    assert src @ para > src @ unrelated + 0.2
    # A new query (not in the corpus) still lands next to its topic.
    query = enc.embed_query("dog playing with a ball in the park")
    sims = enc.encode(CORPUS) @ query
    assert sims.argmax() == 0


def test_tfidf_small_corpus_gives_the_fixed_dim():
    enc = TfidfLsaEncoder(n_components=256).fit(CORPUS[:3])
    out = enc.encode(CORPUS[:3] + ["a completely new text"])
    assert out.shape == (4, 256) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out[:3], axis=1), 1, atol=1e-5)
    assert np.count_nonzero(np.abs(out).sum(axis=0)) <= 3  # rank 3: the rest is zero padding
    assert TfidfLsaEncoder(n_components=4).fit(["only one document here"]).encode(["x"]).shape == (
        1,
        4,
    )


def test_tfidf_state_round_trips_without_pickle(tmp_path):
    enc = TfidfLsaEncoder().fit(CORPUS)
    buf = io.BytesIO()
    np.savez(buf, **enc.state_arrays())
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        state = {k: npz[k] for k in npz.files}
    restored = TfidfLsaEncoder().load_state_arrays(state)
    assert restored.id == enc.id
    texts = CORPUS + [PARAPHRASE, "unseen words entirely"]
    np.testing.assert_array_equal(restored.encode(texts), enc.encode(texts))
    with pytest.raises(ValueError, match="fitted with"):
        TfidfLsaEncoder(n_components=64).load_state_arrays(state)
    with pytest.raises(ValueError, match="not a TF-IDF encoder state"):
        TfidfLsaEncoder().load_state_arrays({"params": state["params"]})


def test_tfidf_fingerprint_and_id():
    enc = TfidfLsaEncoder()
    with pytest.raises(RuntimeError):
        _ = enc.id
    fp = enc.corpus_fingerprint(CORPUS)
    assert fp == enc.corpus_fingerprint(list(reversed(CORPUS)) + CORPUS[:2])  # sorted unique texts
    assert fp != enc.corpus_fingerprint(CORPUS[:-1])
    assert fp != TfidfLsaEncoder(n_components=128).corpus_fingerprint(CORPUS)  # params count
    enc.fit(CORPUS)
    assert enc.id == f"tfidf-lsa256-{fp}" and len(fp) == 12
    # Duplicates do not change the fit, so the fingerprint fully describes the state.
    np.testing.assert_array_equal(
        TfidfLsaEncoder().fit(CORPUS + CORPUS[:3]).encode(CORPUS), enc.encode(CORPUS)
    )


def test_tfidf_odd_corpora():
    enc = TfidfLsaEncoder(n_components=8).fit(["🙂 🙂", "… !", "x"])  # no word of 2+ letters
    out = enc.encode(["🙂", "anything"])
    assert out.shape == (2, 8) and np.isfinite(out).all()
    long = " ".join(CORPUS) * 2000  # ~1 MB: kept whole, still encodes
    out = TfidfLsaEncoder(n_components=16).fit(CORPUS + [long]).encode([long])
    assert out.shape == (1, 16) and abs(np.linalg.norm(out) - 1) < 1e-5
    with pytest.raises(ValueError):
        TfidfLsaEncoder().fit([])
