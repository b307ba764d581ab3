"""Where CLIP weights come from, checked before anything heavy is loaded.

Users name weights with one ``pretrained`` string next to an open_clip model name:

* an open_clip pretrained tag (``ViT-B-32`` + ``openai``), fetched from the Hugging Face hub
  through open_clip's pretrained table;
* a local checkpoint file (``.pt/.pth/.bin`` read with ``torch.load(weights_only=True)``, or
  ``.safetensors``) for a registered architecture;
* ``local-dir:/path`` (open_clip's own schema: ``open_clip_config.json`` + weights);
* ``hf-hub:org/repo`` (may also be given as the model name).

:func:`resolve_weights` turns that into a :class:`WeightsSource` with local paths only, or raises
:class:`~mmviewer.core.encoders.base.WeightsUnavailable` quickly (no hub retries) with a message
that says what is missing, where it looked and how to provide it. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from mmviewer.core.encoders.base import WeightsUnavailable
from mmviewer.core.encoders.hub import (
    cached_file,
    hf_cache_dir,
    missing_message,
    network_blocked,
    safe_alternatives,
)

LOCAL_DIR = "local-dir:"
HF_HUB = "hf-hub:"
RANDOM = ("random", "random-init")  # random init with a fixed seed: benchmarks and demos only
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")
_WEIGHT_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


@dataclass(frozen=True)
class WeightsSource:
    """Resolved weights: what to build and which local files to read.

    ``kind`` is ``tag``, ``file``, ``local-dir``, ``hf-hub`` or ``random``. ``checkpoint`` is a
    local weights file, ``folder`` a local open_clip folder (local-dir or a hub snapshot); both
    are None when the weights still have to be downloaded (network allowed and reachable).
    """

    kind: str
    model: str
    pretrained: str
    checkpoint: Path | None = None
    folder: Path | None = None
    tag_cfg: dict = field(default_factory=dict, compare=False, hash=False)
    cache_dir: str | None = None

    @property
    def open_clip_name(self) -> str:
        """The model name to give open_clip (a schema string for folders)."""
        if self.folder is not None:
            return f"{LOCAL_DIR}{self.folder}"
        if self.kind == "hf-hub":
            return f"{HF_HUB}{self.pretrained}"
        return self.model

    def model_config(self) -> dict:
        """The architecture config (``embed_dim``, ``vision_cfg``, ``text_cfg``), without weights."""
        if self.folder is not None:
            cfg = _read_json(self.folder / "open_clip_config.json")
            return cfg.get("model_cfg", cfg)
        from open_clip.factory import get_model_config

        cfg = get_model_config(self.open_clip_name)
        if cfg is None:
            raise ValueError(f"no open_clip config for {self.open_clip_name!r}")
        return cfg

    def preprocess_overrides(self) -> dict:
        """Preprocessing settings the weights were trained with (mean/std/resize...)."""
        if self.folder is not None:
            return dict(_read_json(self.folder / "open_clip_config.json").get("preprocess_cfg", {}))
        return dict(self.tag_cfg)

    def identity(self) -> str:
        """The weights' part of an encoder id: tag name, or a content hash of local files."""
        if self.kind == "tag":
            return f"{self.model}@{self.pretrained}"
        if self.kind == "hf-hub":
            return f"hf-hub:{self.pretrained}"
        if self.kind == "random":
            return f"{self.model}@random-seed0"
        if self.kind == "file":
            return f"{self.model}@file-{file_digest(self.checkpoint)[:12]}"
        h = hashlib.sha256((self.folder / "open_clip_config.json").read_bytes())
        ckpt = find_folder_checkpoint(self.folder)
        h.update(file_digest(ckpt).encode() if ckpt else b"no-weights")
        return f"local-dir-{h.hexdigest()[:12]}"


# -- resolution -----------------------------------------------------------------------------------
def resolve_weights(
    model: str, pretrained: str | None, *, allow_download: bool = True
) -> WeightsSource:
    """Check that the weights named by ``model`` + ``pretrained`` can be had; see the module doc.

    Raises
    ------
    WeightsUnavailable
        Weights are neither local nor downloadable now (offline, ``HF_HUB_OFFLINE``, no network),
        or a named checkpoint file / folder does not exist.
    ValueError
        Unknown model or tag, or a checkpoint file that is visibly not one.
    """
    model = (model or "").strip()
    pretrained = (pretrained or "").strip()
    for value in (model, pretrained):  # a schema may come in either field
        if value.startswith(LOCAL_DIR):
            return _resolve_local_dir(Path(value[len(LOCAL_DIR) :]).expanduser())
        if value.startswith(HF_HUB):
            return _resolve_hf_hub(value[len(HF_HUB) :].strip("/"), allow_download)
    model = model.replace("/", "-")  # open_clip accepts 'ViT-B/32' and means 'ViT-B-32'
    _check_model_name(model)
    if not pretrained:  # never a silent random init: its vectors would look real
        raise ValueError(
            f"no CLIP weights named for {model}: give a pretrained tag, a checkpoint file or "
            "local-dir:/folder"
        )
    if pretrained.lower() in RANDOM:
        return WeightsSource("random", model, "random")
    from open_clip.pretrained import get_pretrained_cfg, list_pretrained_tags_by_model

    tag_cfg = get_pretrained_cfg(model, pretrained)
    if tag_cfg:
        return _resolve_tag(model, pretrained, tag_cfg, allow_download)
    path = Path(pretrained).expanduser()
    if path.is_dir() and (path / "open_clip_config.json").is_file():
        return _resolve_local_dir(path)  # a folder given without the local-dir: prefix
    if path.is_file():
        check_checkpoint_file(path)
        return WeightsSource("file", model, pretrained, checkpoint=path.resolve())
    if path.suffix.lower() in CHECKPOINT_SUFFIXES or os.sep in pretrained or "/" in pretrained:
        raise WeightsUnavailable(
            f"CLIP checkpoint file not found: {path}. Check the path, or use local-dir:/folder "
            "for a folder holding open_clip_config.json and the weights."
        )
    tags = ", ".join(list_pretrained_tags_by_model(model)) or "none"
    raise ValueError(
        f"{pretrained!r} is neither an open_clip pretrained tag for {model} nor an existing "
        f"checkpoint file. Tags for {model}: {tags}."
    )


def _check_model_name(model: str) -> None:
    import open_clip

    if model not in open_clip.list_models():
        close = [m for m in open_clip.list_models() if model.lower()[:5] in m.lower()][:8]
        hint = f" Similar: {', '.join(close)}." if close else ""
        raise ValueError(f"unknown CLIP model {model!r} (see open_clip.list_models()).{hint}")


def _resolve_tag(model: str, tag: str, cfg: dict, allow_download: bool) -> WeightsSource:
    cache = hf_cache_dir()
    if cfg.get("file"):
        return WeightsSource("tag", model, tag, checkpoint=Path(cfg["file"]), tag_cfg=cfg)
    hub = cfg.get("hf_hub", "")
    looked: list[str] = []
    if hub:
        # Same repo/filename open_clip's download_pretrained uses, safetensors first.
        repo, filename = os.path.split(hub)
        filename = filename or "open_clip_pytorch_model.bin"
        for name in (*safe_alternatives(filename), filename):
            found = cached_file(repo, name, cache)
            if found:
                return WeightsSource(
                    "tag", model, tag, checkpoint=found, tag_cfg=cfg, cache_dir=cache
                )
        looked.append(
            f"Hugging Face cache {cache} (repo {repo}, file {' or '.join((*safe_alternatives(filename), filename))})"
        )
    blocked = network_blocked(allow_download)
    if blocked:
        raise WeightsUnavailable(missing_message(f"{model} pretrained={tag!r}", blocked, looked))
    return WeightsSource("tag", model, tag, tag_cfg=cfg, cache_dir=cache)


def _resolve_hf_hub(repo: str, allow_download: bool) -> WeightsSource:
    if not repo:
        raise ValueError("empty repository after 'hf-hub:'")
    cache = hf_cache_dir()
    config = cached_file(repo, "open_clip_config.json", cache)
    if config is not None:
        for name in _WEIGHT_NAMES:
            weights = cached_file(repo, name, cache)
            if weights is not None and weights.parent == config.parent:
                return WeightsSource("hf-hub", repo, repo, folder=config.parent, cache_dir=cache)
    blocked = network_blocked(allow_download)
    if blocked:
        looked = [f"Hugging Face cache {cache} (repo {repo}, open_clip_config.json + weights)"]
        raise WeightsUnavailable(missing_message(f"hf-hub:{repo}", blocked, looked))
    return WeightsSource("hf-hub", repo, repo, cache_dir=cache)


def _resolve_local_dir(folder: Path) -> WeightsSource:
    config = folder / "open_clip_config.json"
    if not folder.is_dir():
        raise WeightsUnavailable(f"CLIP folder not found: local-dir:{folder}")
    if not config.is_file():
        raise WeightsUnavailable(
            f"local-dir:{folder} has no open_clip_config.json (open_clip's folder layout: "
            "open_clip_config.json with model_cfg, plus open_clip_model.safetensors or a .bin/.pth)"
        )
    cfg = _read_json(config)
    if "model_cfg" not in cfg:
        raise ValueError(f"{config}: no 'model_cfg' entry, so it is not an open_clip config")
    ckpt = find_folder_checkpoint(folder)
    if ckpt is None:
        raise WeightsUnavailable(f"local-dir:{folder} holds no weights (.safetensors/.bin/.pth)")
    check_checkpoint_file(ckpt)
    return WeightsSource("local-dir", str(folder), str(folder), folder=folder.resolve())


def weights_files(source: WeightsSource) -> list[Path]:
    """The local files whose content the loaded model depends on."""
    if source.checkpoint is not None:
        return [source.checkpoint]
    if source.folder is not None:
        ckpt = find_folder_checkpoint(source.folder)
        return [source.folder / "open_clip_config.json", *([ckpt] if ckpt else [])]
    return []


# -- local files ----------------------------------------------------------------------------------
def find_folder_checkpoint(folder: Path) -> Path | None:
    """The weights file open_clip picks in a folder (same preference order as open_clip)."""
    found = sorted([*folder.glob("*.safetensors"), *folder.glob("*.bin"), *folder.glob("*.pth")])
    preferred = [
        "open_clip_model.safetensors", "open_clip_pytorch_model.safetensors",
        "open_clip_pytorch_model.bin", "open_clip_pytorch_model.pth",
        "model.safetensors", "pytorch_model.bin", "pytorch_model.pth", "model.pth",
    ]  # fmt: skip
    for name in preferred:
        if (folder / name) in found:
            return folder / name
    found.sort(key=lambda p: p.suffix != ".safetensors")
    return found[0] if found else None


def check_checkpoint_file(path: Path) -> None:
    """Cheap structural check (no tensors read): a truncated or foreign file fails here."""
    import zipfile

    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"CLIP checkpoint {path} is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(8)
        if path.suffix.lower() == ".safetensors":
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if not 0 < n <= min(size - 8, 100 * 1024**2):
                raise ValueError(f"CLIP checkpoint {path} is not a safetensors file (bad header)")
            try:
                header = json.loads(fh.read(n))
                end = max(
                    (v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"),
                    default=0,
                )
            except (ValueError, KeyError, TypeError, IndexError):
                raise ValueError(
                    f"CLIP checkpoint {path} is not a safetensors file (bad header)"
                ) from None
            if 8 + n + end > size:
                raise ValueError(
                    f"CLIP checkpoint {path} is truncated ({size} bytes, header needs {8 + n + end})"
                )
            return
    if head[:2] == b"PK" and not zipfile.is_zipfile(path):
        raise ValueError(f"CLIP checkpoint {path} is truncated or corrupt (broken zip archive)")


_digests: dict[tuple[str, int, int], str] = {}
_digest_lock = threading.Lock()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's full content, memoised by (real path, size, mtime_ns).

    The whole file is hashed (~1 s for a 600 MB checkpoint at ~600 MB/s here; loading it takes
    ~3.5 s) because a sampled hash (size + first/last MiB) cannot tell apart two fine-tunes of
    one architecture that differ only in the middle (e.g. a locked image tower), and the store
    would then serve one model's vectors for the other's.
    """
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    with _digest_lock:
        if key in _digests:
            return _digests[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            h.update(chunk)
    digest = h.hexdigest()
    with _digest_lock:
        _digests[key] = digest
    return digest


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read {path}: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data
