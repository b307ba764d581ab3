"""Throughput of every encoder on synthetic data (prints figures, asserts nothing).

    python benchmarks/bench_encoders.py            # full: 128 images, 512 texts, 64 clips
    python benchmarks/bench_encoders.py --quick    # a smoke run in well under a minute
    python benchmarks/bench_encoders.py --json     # one JSON object on stdout

CLIP runs with random-init weights (``pretrained="random"``: no download, same compute as real
weights). For each encoder: ``prepare`` (decode + preprocess, one thread), ``encode`` (the batch
step) and ``total`` (both, sequentially) in items per second; for CLIP text also the forward
pass without the token cut (``encode_text`` over the full context), for comparison.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmviewer.core.data.model import MediaRef  # noqa: E402
from mmviewer.core.encoders import describe_encoders, make_encoder  # noqa: E402

WORDS = (
    "a photo of the small red dog cat car bus house tree river mountain beach city street "
    "woman man child playing running sitting next to under over in on with large old new"
).split()


def make_images(folder: Path, n: int, size: tuple[int, int]) -> list[MediaRef]:
    from PIL import Image

    rng = np.random.default_rng(0)
    refs = []
    for i in range(n):
        w, h = size
        yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
        arr = np.stack([(xx * rng.random() + yy * rng.random()) % 1 for _ in range(3)], axis=-1)
        arr += 0.1 * rng.standard_normal(arr.shape)
        path = folder / f"img{i:04d}.jpg"
        Image.fromarray((np.clip(arr, 0, 1) * 255).astype(np.uint8)).save(path, quality=90)
        refs.append(MediaRef("image", path=path))
    return refs


def make_texts(n: int, words: int = 14) -> list[MediaRef]:
    rng = np.random.default_rng(1)
    return [MediaRef("text", text=" ".join(rng.choice(WORDS, words))) for _ in range(n)]


def make_clips(folder: Path, n: int, seconds: float) -> list[MediaRef]:
    import soundfile as sf

    rng = np.random.default_rng(2)
    rate = 16000
    t = np.arange(int(seconds * rate)) / rate
    refs = []
    for i in range(n):
        y = 0.3 * np.sin(2 * np.pi * (200 + 40 * i) * t) + 0.02 * rng.standard_normal(t.size)
        path = folder / f"clip{i:04d}.wav"
        sf.write(str(path), y.astype(np.float32), rate)
        refs.append(MediaRef("audio", path=path))
    return refs


def measure(encoder, refs, batch: int) -> dict:
    """Items/s for prepare, encode and both; the first batch is a warm-up (not timed)."""
    warm = [encoder.prepare(r).value for r in refs[: min(len(refs), batch)]]
    encoder.encode(warm)
    t0 = time.perf_counter()
    payloads = [encoder.prepare(r).value for r in refs]
    t1 = time.perf_counter()
    for s in range(0, len(payloads), batch):
        encoder.encode(payloads[s : s + batch])
    t2 = time.perf_counter()
    n = len(refs)
    return {
        "items": n,
        "batch": batch,
        "prepare_per_s": round(n / (t1 - t0), 1),
        "encode_per_s": round(n / (t2 - t1), 1),
        "total_per_s": round(n / (t2 - t0), 1),
    }


def full_context_text_rate(encoder, texts: list[str], batch: int) -> float:
    """Captions/s through ``model.encode_text`` (no token cut), for comparison."""
    import torch

    clip = encoder.loaded
    t0 = time.perf_counter()
    with torch.inference_mode():
        for s in range(0, len(texts), batch):
            tokens = clip.tokenizer(texts[s : s + batch]).to(clip.device)
            clip.model.encode_text(tokens)
    return round(len(texts) / (time.perf_counter() - t0), 1)


def run(args) -> dict:
    n_img, n_txt, n_aud = (16, 64, 8) if args.quick else (args.images, args.texts, args.clips)
    results: dict = {"machine": f"{platform.machine()}, {platform.processor() or ''}".strip(", ")}
    with tempfile.TemporaryDirectory(prefix="mmv-bench-") as tmp:
        folder = Path(tmp)
        images = make_images(folder, n_img, (640, 480))
        (folder / "small").mkdir()
        small = make_images(folder / "small", n_img * 4, (256, 256))
        texts = make_texts(n_txt)
        clips = make_clips(folder, n_aud, args.seconds)
        log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr))

        log("pixels ...")
        results["pixels (256 px)"] = measure(make_encoder("pixels"), small, 256)
        log("tfidf ...")
        tfidf = make_encoder("tfidf")
        corpus = [r.text for r in texts]
        t0 = time.perf_counter()
        tfidf.fit(corpus)
        results["tfidf"] = {
            **measure(tfidf, texts, 1024),
            "fit_s": round(time.perf_counter() - t0, 2),
        }
        for name in ("mfcc", "logmel"):
            log(f"{name} ...")
            results[f"{name} ({args.seconds:g} s clips)"] = measure(make_encoder(name), clips, 64)
        if not args.no_clip:
            log(f"CLIP {args.clip_model} (random init) ...")
            opts = {"model": args.clip_model, "pretrained": "random", "device": args.device}
            t0 = time.perf_counter()
            image = make_encoder("clip-image", **opts).load()
            build_s = round(time.perf_counter() - t0, 2)
            text = make_encoder("clip-text", **opts)
            results[f"clip-image {args.clip_model} (640x480 JPEG)"] = {
                **measure(image, images, 32),
                "build_s": build_s,
                "device": str(image.loaded.device),
            }
            cut = measure(text, texts, 64)
            cut["encode_full_context_per_s"] = full_context_text_rate(text, corpus, 64)
            results[f"clip-text {args.clip_model} ({len(corpus[0].split())}-word captions)"] = cut
    results["libraries"] = describe_encoders()[-1].removeprefix("Libraries: ")
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--images", type=int, default=128)
    p.add_argument("--texts", type=int, default=512)
    p.add_argument("--clips", type=int, default=64)
    p.add_argument("--seconds", type=float, default=5.0, help="audio clip length")
    p.add_argument("--clip-model", default="ViT-B-32")
    p.add_argument("--device", default=None, help="torch device (default: CUDA when present)")
    p.add_argument("--no-clip", action="store_true", help="only the offline encoders")
    args = p.parse_args(argv)
    results = run(args)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for name, row in results.items():
        if isinstance(row, dict):
            figures = ", ".join(f"{k}={v}" for k, v in row.items())
            print(f"{name:40s} {figures}")
        else:
            print(f"{name:40s} {row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
