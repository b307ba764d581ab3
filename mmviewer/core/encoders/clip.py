"""CLIP image and text encoders through open_clip.

Both towers of one (model, weights, device) share a single loaded model (a small module-level
cache), built on first ``encode`` -- never in ``prepare`` and never at construction. Construction
only resolves the weights (:func:`~mmviewer.core.encoders.clip_weights.resolve_weights`), so a
missing download fails fast with :class:`~mmviewer.core.encoders.base.WeightsUnavailable`.

Ids: ``clip:<weights>/<tower>`` where ``<weights>`` is ``ViT-B-32@openai`` for a hub tag,
``ViT-B-32@file-<sha256[:12]>`` for a checkpoint file, ``local-dir-<sha256[:12]>`` for a folder
(config + weights), ``hf-hub:org/repo`` for a hub repository, and ``<tower>`` is ``image`` or
``text``. Vectors are float32, L2-normalised; the model runs in float32 on CPU and CUDA alike.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmviewer.core.data import media
from mmviewer.core.data.model import MediaRef
from mmviewer.core.encoders.base import Encoder
from mmviewer.core.encoders.clip_weights import WeightsSource, resolve_weights, weights_files

log = logging.getLogger(__name__)

#: Loaded models kept at once (one per model/weights/device); both towers share an entry.
MAX_LOADED = 2
#: Longer texts are cut to this many characters (whitespace collapsed) before tokenising:
#: far more than a 77-token context can hold, so the tokens are unchanged, while BPE on a
#: multi-megabyte text would take minutes.
TOKENIZE_CHARS = 20_000


@dataclass
class LoadedClip:
    """One model in memory: both towers, the tokenizer, where it runs."""

    model: Any
    tokenizer: Any
    device: Any
    #: True when the text tower is open_clip's standard ``CLIP`` one with a causal mask and a
    #: pooling that reads a position at or before the end-of-text token, so the token sequence
    #: can be cut to the batch's longest caption (see :func:`text_features`).
    cut_tokens: bool


_cache: OrderedDict[tuple, LoadedClip] = OrderedDict()
_cache_lock = threading.Lock()


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_clip(source: WeightsSource, device: str | None = None) -> LoadedClip:
    """The loaded model for ``source`` on ``device`` (loaded once, then shared).

    Raises ``ValueError`` naming the file and the reason when the weights cannot be read.
    """
    device = str(device or default_device())
    key = (source, device, _stat(source))
    with _cache_lock:  # loading under the lock: two towers asking at once load one model
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        loaded = _build(source, device)
        _cache[key] = loaded
        while len(_cache) > MAX_LOADED:
            _cache.popitem(last=False)
        return loaded


def clear_cache() -> None:
    """Drop every loaded model (frees memory; the next encode loads again)."""
    with _cache_lock:
        _cache.clear()


def _stat(source: WeightsSource) -> tuple:
    """(size, mtime_ns) of each local weights file: a change means different weights."""
    out = []
    for path in weights_files(source):
        try:
            st = path.stat()
        except OSError:
            st = None
        out.append((st.st_size, st.st_mtime_ns) if st else None)
    return tuple(out)


def _build(source: WeightsSource, device: str) -> LoadedClip:
    import open_clip
    import torch

    where = source.checkpoint or source.folder or source.open_clip_name
    kwargs: dict[str, Any] = {"device": device, "precision": "fp32", "cache_dir": source.cache_dir}
    try:
        if source.kind == "tag":
            # Weights trained with QuickGELU (e.g. OpenAI's) need it in the model too; open_clip
            # only warns about the mismatch.
            kwargs["force_quick_gelu"] = bool(source.tag_cfg.get("quick_gelu", False))
            if source.checkpoint is not None:  # cached: read the file, skip hub round-trips
                kwargs["force_preprocess_cfg"] = _tag_preprocess(source.tag_cfg)
            weights = str(source.checkpoint or source.pretrained)
            model = open_clip.create_model(source.model, pretrained=weights, **kwargs)
        elif source.kind == "file":
            model = open_clip.create_model(
                source.model, pretrained=str(source.checkpoint), **kwargs
            )
        elif source.kind == "random":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model = open_clip.create_model(source.model, pretrained=None, **kwargs)
        else:  # local-dir, hf-hub (a cached snapshot is a local-dir)
            model = open_clip.create_model(source.open_clip_name, **kwargs)
        tokenizer = open_clip.get_tokenizer(source.open_clip_name, cache_dir=source.cache_dir)
    except Exception as err:  # torch/safetensors/zip/json each raise their own types
        raise ValueError(
            f"cannot load CLIP weights {where} for {source.model}: {_reason(err)}"
        ) from err
    model.eval()
    predicted = preprocess_cfg(source)
    actual = open_clip.get_model_preprocess_cfg(model)
    if _norm(predicted) != _norm(actual):
        log.warning("CLIP preprocessing predicted %s but the model reports %s", predicted, actual)
    return LoadedClip(model, tokenizer, torch.device(device), can_cut_tokens(model))


def _tag_preprocess(tag_cfg: dict) -> dict:
    from open_clip.transform import merge_preprocess_dict

    return merge_preprocess_dict({}, tag_cfg)


def _reason(err: Exception) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:300]


def _norm(cfg: dict) -> dict:
    return {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in cfg.items()}


def preprocess_cfg(source: WeightsSource) -> dict:
    """The image preprocessing open_clip would attach to the model, known without weights."""
    from open_clip.transform import PreprocessCfg, merge_preprocess_dict

    cfg = merge_preprocess_dict(PreprocessCfg(), source.preprocess_overrides())
    size = source.model_config().get("vision_cfg", {}).get("image_size")
    if size is not None:  # the vision tower stores it as (h, w); so does the model's cfg
        cfg["size"] = tuple(size) if isinstance(size, (list, tuple)) else (int(size), int(size))
    return cfg


# -- text tower -----------------------------------------------------------------------------------
def can_cut_tokens(model) -> bool:
    """Whether :func:`text_features` may cut the token sequence for ``model`` (see LoadedClip)."""
    import torch
    from open_clip.model import CLIP

    if not isinstance(model, CLIP) or type(model).encode_text is not CLIP.encode_text:
        return False
    mask = getattr(model, "attn_mask", None)
    pos = getattr(model, "positional_embedding", None)
    if (
        mask is None
        or pos is None
        or mask.ndim != 2
        or pos.ndim != 2
        or pos.shape[0] != mask.shape[0]
    ):
        return False
    upper = torch.triu(torch.ones(mask.shape, dtype=torch.bool, device=mask.device), 1)
    causal = bool(torch.isneginf(mask[upper]).all()) and bool((mask[~upper] == 0).all())
    return causal and getattr(model, "text_pool_type", None) in ("argmax", "eos", "first")


def text_features(model, tokens, cut: bool):
    """Unnormalised text features, as ``model.encode_text(tokens)``.

    With ``cut`` the sequence is cut to L = the last position any row pools from (+1); the
    positional embedding and the causal mask are sliced to L. Causal attention means positions
    before L never see the cut ones, so the result is the same up to float rounding (max abs
    difference ~1e-6) and the forward pass costs L/77 of the full one (142 vs 26 captions/s on
    17-token captions here).
    """
    import torch
    from open_clip.transformer import text_global_pool

    if not cut:
        return model.encode_text(tokens)
    pool = model.text_pool_type
    if pool == "argmax":
        last = tokens.argmax(dim=-1)
    elif pool == "eos":
        last = (tokens == model.text_eos_id).int().argmax(dim=-1)
    else:
        last = torch.zeros(tokens.shape[0], dtype=torch.long)
    n = int(last.max()) + 1
    tokens = tokens[:, :n]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:n].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:n, :n])
    x = model.ln_final(x)
    x = text_global_pool(x, tokens, pool, eos_token_id=getattr(model, "text_eos_id", None))
    if model.text_projection is not None:
        proj = model.text_projection
        x = proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj
    return x


def _tokenizable(text: str) -> str:
    if len(text) <= TOKENIZE_CHARS:
        return text
    return " ".join(text[: TOKENIZE_CHARS * 8].split())[:TOKENIZE_CHARS]


def _normalised(x) -> np.ndarray:
    import torch.nn.functional as F

    return F.normalize(x.float(), dim=-1).cpu().numpy().astype(np.float32, copy=False)


# -- encoders -------------------------------------------------------------------------------------
class _ClipTower(Encoder):
    tower = ""

    def __init__(
        self,
        model: str = "ViT-B-32",
        pretrained: str = "openai",
        device: str | None = None,
        *,
        allow_download: bool = True,
    ) -> None:
        self.model_name = model
        self.pretrained = pretrained
        self.device = device
        self.source = resolve_weights(model, pretrained, allow_download=allow_download)
        self._dim = int(self.source.model_config()["embed_dim"])
        self._id: str | None = None
        self._id_stat: tuple = ()

    @property
    def id(self) -> str:
        if self._id is None:  # a local file is hashed once, on first use
            self._id_stat = _stat(self.source)
            self._id = f"clip:{self.source.identity()}/{self.tower}"
        return self._id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def loaded(self) -> LoadedClip:
        """The shared model (loads it on first use; heavy: seconds)."""
        if self._id is not None and _stat(self.source) != self._id_stat:
            # Vectors from the new file must not be stored under the old file's id.
            where = self.source.checkpoint or self.source.folder
            raise ValueError(
                f"CLIP weights {where} changed on disk after they were identified; reload the encoders"
            )
        return load_clip(self.source, self.device)

    def load(self) -> _ClipTower:
        """Load the model now (e.g. in a worker, before the first batch); returns self."""
        self.loaded  # noqa: B018
        return self

    def describe(self) -> str:
        src = self.source
        what = {
            "tag": f"{src.model} ({src.pretrained})",
            "file": f"{src.model} (checkpoint {src.pretrained})",
            "local-dir": f"local-dir:{src.folder}",
            "hf-hub": f"hf-hub:{src.pretrained}",
            "random": f"{src.model} (random init: meaningless vectors, for benchmarks)",
        }[src.kind]
        return f"CLIP {what}, {self.tower} tower, {self.dim}-d"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_transform", None)  # rebuilt on demand in the receiving process
        return state


class ClipImageEncoder(_ClipTower):
    """CLIP image tower; ``prepare`` gives the model's preprocessing as float32 CHW numpy."""

    modality = "image"
    tower = "image"
    batch_size = 32

    def transform(self):
        """The image preprocessing (built from configs, no weights needed)."""
        if getattr(self, "_transform", None) is None:
            from open_clip.transform import PreprocessCfg, image_transform_v2

            self._transform = image_transform_v2(
                PreprocessCfg(**preprocess_cfg(self.source)), is_train=False
            )
        return self._transform

    def prepare(self, ref: MediaRef) -> media.Loaded:
        loaded = media.load_image(ref)
        x = self.transform()(loaded.value)
        return media.Loaded(x.numpy().astype(np.float32, copy=False), loaded.notes)

    def encode(self, payloads: Sequence[Any]) -> np.ndarray:
        import torch

        clip = self.loaded
        batch = torch.from_numpy(np.stack([np.asarray(p, dtype=np.float32) for p in payloads]))
        with torch.inference_mode():
            return _normalised(clip.model.encode_image(batch.to(clip.device)))


class ClipTextEncoder(_ClipTower):
    """CLIP text tower; ``prepare`` gives the text (the tokenizer truncates to the context)."""

    modality = "text"
    tower = "text"
    batch_size = 64

    def prepare(self, ref: MediaRef) -> media.Loaded:
        return media.load_text(ref)

    def encode(self, payloads: Sequence[Any]) -> np.ndarray:
        import torch

        clip = self.loaded
        tokens = clip.tokenizer([_tokenizable(str(t)) for t in payloads]).to(clip.device)
        with torch.inference_mode():
            return _normalised(text_features(clip.model, tokens, clip.cut_tokens))

    def embed_query(self, text: str) -> np.ndarray:
        """One free query text as a (dim,) unit vector, comparable with the image vectors."""
        return self.encode([text.strip()])[0]

