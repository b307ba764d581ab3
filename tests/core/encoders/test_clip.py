"""CLIP encoders through the same loading code users run, with tiny random-init models.

No network: weights are written on the fly (a custom config via ``local-dir:``, checkpoint files
for registered architectures, a pre-filled Hugging Face cache layout) and read back.
"""

from __future__ import annotations

import json
import pickle
import time

import numpy as np
import pytest

from mmviewer.core.data.model import MediaRef
from mmviewer.core.encoders import (
    WeightsUnavailable,
    clip_weights,
    default_encoders,
    embed_query,
    hub,
)
from mmviewer.core.encoders.clip import (
    ClipImageEncoder,
    ClipTextEncoder,
    can_cut_tokens,
    clear_cache,
    preprocess_cfg,
    text_features,
)

TINY = "mmv-tiny-test"  # registered with open_clip by the fixture below
TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
CAPTIONS = [
    "a photo of a cat",
    "a red bus parked next to a tall brick building on a rainy afternoon in the city",
    "dog",
    "two people walking along a beach at sunset, holding hands, waves behind them",
]


def _state_dict(seed: int = 0, cfg=TINY_CFG, **text_overrides):
    import open_clip
    import torch

    torch.manual_seed(seed)
    c = json.loads(json.dumps(cfg))
    c["text_cfg"].update(text_overrides)
    model = open_clip.CLIP(**c)
    return model, {k: v.contiguous() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Tiny weights as a local-dir folder, a .safetensors and a .pt file, and a registered arch."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("tiny_clip")
    (root / "configs").mkdir()
    (root / "configs" / f"{TINY}.json").write_text(json.dumps(TINY_CFG))
    open_clip.add_model_config(root / "configs")
    _, sd = _state_dict(0)
    folder = root / "folder"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CFG}))
    save_file(sd, str(folder / "open_clip_model.safetensors"))
    save_file(sd, str(root / "tiny.safetensors"))
    torch.save(sd, root / "tiny.pt")
    return root


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    """An empty Hugging Face cache, offline mode, no remembered network probe."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub._probe.clear()
    yield
    hub._probe.clear()


def _images(tmp_path, n=3):
    from PIL import Image

    rng = np.random.default_rng(1)
    refs = []
    for i in range(n):
        path = tmp_path / f"im{i}.png"
        Image.fromarray((rng.random((40 + 10 * i, 50, 3)) * 255).astype(np.uint8)).save(path)
        refs.append(MediaRef("image", path=path))
    return refs


def _encode_images(enc, refs):
    return enc.encode([enc.prepare(r).value for r in refs])


def _check_pair(img, txt, refs):
    vi, vt = _encode_images(img, refs), txt.encode(CAPTIONS)
    assert vi.shape == (len(refs), img.dim) and vt.shape == (len(CAPTIONS), txt.dim)
    assert img.dim == txt.dim == 32
    assert vi.dtype == vt.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vi, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vt, axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(vi, _encode_images(img, refs))  # deterministic
    np.testing.assert_array_equal(vt, txt.encode(CAPTIONS))
    return vi, vt


def test_local_dir_loads_and_encodes(tiny, tmp_path):
    img = ClipImageEncoder("ViT-B-32", f"local-dir:{tiny / 'folder'}")
    txt = ClipTextEncoder(f"local-dir:{tiny / 'folder'}", None)  # the schema may be the model too
    assert img.id.startswith("clip:local-dir-") and img.id.endswith("/image")
    assert txt.id == img.id[: -len("image")] + "text"
    assert img.loaded is txt.loaded  # both towers share one model
    _check_pair(img, txt, _images(tmp_path))
    assert txt.loaded.cut_tokens
    # The preprocessing known before loading is the one open_clip attaches to the model.
    import open_clip

    predicted = preprocess_cfg(img.source)
    assert predicted == {**open_clip.get_model_preprocess_cfg(img.loaded.model)}
    prepared = img.prepare(_images(tmp_path, 1)[0]).value
    assert prepared.shape == (3, 32, 32) and prepared.dtype == np.float32
    pickle.loads(pickle.dumps(img))  # payloads and encoders travel to worker processes


def test_checkpoint_files_match_the_folder(tiny, tmp_path):
    refs = _images(tmp_path)
    folder = ClipTextEncoder("ViT-B-32", f"local-dir:{tiny / 'folder'}")
    st = ClipTextEncoder(TINY, str(tiny / "tiny.safetensors"))
    pt = ClipTextEncoder(TINY, str(tiny / "tiny.pt"))
    assert (
        st.id == f"clip:{TINY}@file-{clip_weights.file_digest(tiny / 'tiny.safetensors')[:12]}/text"
    )
    assert pt.id != st.id  # different files, different content hashes
    expected = folder.encode(CAPTIONS)
    np.testing.assert_allclose(st.encode(CAPTIONS), expected, atol=1e-6)
    np.testing.assert_allclose(pt.encode(CAPTIONS), expected, atol=1e-6)
    img = ClipImageEncoder(TINY, str(tiny / "tiny.pt"))
    np.testing.assert_allclose(
        _encode_images(img, refs),
        _encode_images(ClipImageEncoder("x", f"local-dir:{tiny / 'folder'}"), refs),
        atol=1e-6,
    )


def test_id_follows_the_weights_content(tiny, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "w.safetensors"
    _, sd = _state_dict(0)
    save_file(sd, str(path))
    first = ClipTextEncoder(TINY, str(path))
    first_id, first_vec = first.id, first.encode(["a cat"])
    _, sd = _state_dict(1)
    save_file(sd, str(path))
    second = ClipTextEncoder(TINY, str(path))
    assert second.id != first_id
    assert not np.allclose(second.encode(["a cat"]), first_vec)
    with pytest.raises(ValueError, match="changed on disk"):  # never new vectors under an old id
        first.encode(["a cat"])
    clear_cache()


@pytest.mark.slow
def test_builtin_architecture_checkpoint(tmp_path):
    """A random-init checkpoint for a registered open_clip architecture (ViT-S-32-alt, 43M)."""
    import open_clip
    import torch

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-S-32-alt")
    torch.save(model.state_dict(), tmp_path / "vit_s32.pt")
    del model
    img = ClipImageEncoder("ViT-S-32-alt", str(tmp_path / "vit_s32.pt"))
    txt = ClipTextEncoder("ViT-S-32-alt", str(tmp_path / "vit_s32.pt"))
    vi = _encode_images(img, _images(tmp_path, 2))
    vt = txt.encode(CAPTIONS[:2])
    assert vi.shape == (2, 256) and vt.shape == (2, 256)
    np.testing.assert_allclose(np.linalg.norm(vi, axis=1), 1, atol=1e-5)
    assert img.id.startswith("clip:ViT-S-32-alt@file-")
    clear_cache()


def _fill_hf_cache(cache, repo, files: dict, commit="0123456789abcdef0123456789abcdef01234567"):
    base = cache / f"models--{repo.replace('/', '--')}"
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(commit)
    snap = base / "snapshots" / commit
    snap.mkdir(parents=True)
    for name, src in files.items():
        (snap / name).write_bytes(src.read_bytes())
    return snap


def test_hub_tag_from_a_prefilled_cache(tiny, tmp_path, monkeypatch):
    from open_clip import pretrained

    cfg = pretrained._pcfg(hf_hub="mmviewer-test/tiny-clip/", quick_gelu=True, mean=(0.5,) * 3)
    monkeypatch.setitem(pretrained._PRETRAINED, TINY, {"testtag": cfg})
    _fill_hf_cache(
        tmp_path / "hf" / "hub", "mmviewer-test/tiny-clip",
        {"open_clip_model.safetensors": tiny / "tiny.safetensors"},
    )  # fmt: skip
    t0 = time.perf_counter()
    img = ClipImageEncoder(TINY, "testtag")
    txt = ClipTextEncoder(TINY, "testtag")
    assert img.id == f"clip:{TINY}@testtag/image" and txt.id == f"clip:{TINY}@testtag/text"
    _check_pair(img, txt, _images(tmp_path))
    assert time.perf_counter() - t0 < 30
    assert type(img.loaded.model.transformer.resblocks[0].mlp.gelu).__name__ == "QuickGELU"
    assert preprocess_cfg(img.source)["mean"] == (0.5, 0.5, 0.5)
    clear_cache()


def test_hf_hub_repo_from_a_prefilled_cache(tiny, tmp_path):
    _fill_hf_cache(
        tmp_path / "hf" / "hub", "mmviewer-test/tiny-hub",
        {"open_clip_config.json": tiny / "folder" / "open_clip_config.json",
         "open_clip_model.safetensors": tiny / "tiny.safetensors"},
    )  # fmt: skip
    txt = ClipTextEncoder("hf-hub:mmviewer-test/tiny-hub", None)
    assert txt.id == "clip:hf-hub:mmviewer-test/tiny-hub/text"
    np.testing.assert_allclose(
        txt.encode(CAPTIONS),
        ClipTextEncoder(TINY, str(tiny / "tiny.pt")).encode(CAPTIONS),
        atol=1e-6,
    )


def test_missing_weights_fail_fast_with_directions(tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(WeightsUnavailable) as info:
        ClipImageEncoder("ViT-B-32", "openai")
    assert time.perf_counter() - t0 < 3
    msg = str(info.value)
    from open_clip.pretrained import get_pretrained_cfg

    repo = get_pretrained_cfg("ViT-B-32", "openai")["hf_hub"].strip("/")  # where open_clip looks
    for needle in ("ViT-B-32", "openai", "HF_HUB_OFFLINE", str(tmp_path / "hf" / "hub"), repo,
                   "HF_HOME", "local-dir:", "checkpoint", "offline encoders"):  # fmt: skip
        assert needle in msg, needle


def test_unreachable_hub_is_probed_quickly(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: refused at once
    t0 = time.perf_counter()
    with pytest.raises(WeightsUnavailable, match="unreachable"):
        ClipTextEncoder("ViT-B-32", "laion2b_s34b_b79k")
    assert time.perf_counter() - t0 < 3
    with pytest.raises(WeightsUnavailable, match="offline mode was requested"):
        ClipTextEncoder("ViT-B-32", "openai", allow_download=False)


def test_default_encoders_fall_back_with_a_notice(tiny):
    encoders, notices = default_encoders(offline=False)
    assert encoders["image"].id.startswith("pixels-") and encoders["text"].needs_fit
    assert len(notices) == 1 and "ViT-B-32" in notices[0] and "local-dir:" in notices[0]
    encoders, notices = default_encoders(offline=True)
    assert notices == [] and encoders["image"].id.startswith("pixels-")
    encoders, notices = default_encoders(False, "ViT-B-32", f"local-dir:{tiny / 'folder'}")
    assert notices == [] and encoders["image"].id.startswith("clip:local-dir-")
    encoders, notices = default_encoders(False, "no-such-model", "openai")
    assert "no-such-model" in notices[0] and encoders["text"].needs_fit


def test_bad_names_and_files_give_clear_errors(tiny, tmp_path):
    with pytest.raises(ValueError, match="unknown CLIP model 'ViT-Q-99'"):
        ClipImageEncoder("ViT-Q-99", "openai")
    with pytest.raises(ValueError, match="laion2b_s34b_b79k"):  # lists the model's real tags
        ClipImageEncoder("ViT-B-32", "no_such_tag")
    with pytest.raises(WeightsUnavailable, match="not found"):
        ClipImageEncoder("ViT-B-32", str(tmp_path / "missing.pt"))
    with pytest.raises(ValueError, match="no CLIP weights named"):  # never a silent random init
        ClipImageEncoder("ViT-B-32", "")
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes((tiny / "tiny.safetensors").read_bytes()[:100_000])
    with pytest.raises(ValueError, match="truncated"):
        ClipImageEncoder(TINY, str(cut))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint" * 100)
    enc = ClipTextEncoder(TINY, str(junk))  # only loading can tell
    with pytest.raises(ValueError, match="junk.pt"):
        enc.encode(["a cat"])
    with pytest.raises(ValueError, match="cannot load CLIP weights .*tiny.pt for ViT-S-32-alt"):
        ClipTextEncoder("ViT-S-32-alt", str(tiny / "tiny.pt")).encode(["a cat"])  # wrong arch


def test_cut_tokens_equal_encode_text(tiny):
    import torch

    enc = ClipTextEncoder(TINY, str(tiny / "tiny.safetensors"))
    model, tok = enc.loaded.model, enc.loaded.tokenizer
    tokens = tok(CAPTIONS + ["word " * 200])  # the last one fills the whole context
    with torch.inference_mode():
        for rows in (tokens[:1], tokens[:4], tokens):
            full = model.encode_text(rows)
            cut = text_features(model, rows, cut=True)
            assert float((full - cut).abs().max()) < 1e-4


def test_towers_that_cannot_be_cut_fall_back(tiny):
    import torch

    model, _ = _state_dict(0, no_causal_mask=True)
    model.eval()
    assert not can_cut_tokens(model)
    enc = ClipTextEncoder(TINY, str(tiny / "tiny.safetensors"))
    assert can_cut_tokens(enc.loaded.model)
    tokens = enc.loaded.tokenizer(CAPTIONS)
    with torch.inference_mode():
        assert torch.equal(text_features(model, tokens, cut=False), model.encode_text(tokens))


def test_long_text_and_queries(tiny):
    from mmviewer.core.encoders.clip import TOKENIZE_CHARS, _tokenizable

    enc = ClipTextEncoder(TINY, str(tiny / "tiny.safetensors"))
    long = "The quick brown fox jumps over the lazy dog. " * 5000  # 225k characters
    tok = enc.loaded.tokenizer
    assert len(_tokenizable(long)) == TOKENIZE_CHARS
    assert torch_equal(tok([long[:50_000]]), tok([_tokenizable(long)]))
    vec = embed_query(enc, "  a photo of a cat ")
    assert vec.shape == (32,) and abs(np.linalg.norm(vec) - 1) < 1e-5
    np.testing.assert_allclose(vec, enc.encode(["a photo of a cat"])[0], atol=1e-6)
    np.testing.assert_allclose(enc.embed_query("a photo of a cat"), vec, atol=1e-6)


def torch_equal(a, b) -> bool:
    return bool((a == b).all())


def test_folder_path_without_prefix_and_descriptions(tiny):
    plain = ClipTextEncoder("ViT-B-32", str(tiny / "folder"))
    assert plain.id == ClipTextEncoder("ViT-B-32", f"local-dir:{tiny / 'folder'}").id
    assert plain.describe().startswith("CLIP local-dir:") and plain.describe().endswith("32-d")
    assert (
        f"(checkpoint {tiny / 'tiny.pt'})"
        in ClipImageEncoder(TINY, str(tiny / "tiny.pt")).describe()
    )
