"""The embedding job against its own encoder: decoding overlapped, MFCC on both cores.

    python benchmarks/bench_embed.py            # 256 images, 2048 clips
    python benchmarks/bench_embed.py --quick    # 32 images, 576 clips
    python benchmarks/bench_embed.py --json     # one JSON object on stdout

Media: the emoji set (``/tmp/mmdata/emoji``, made by ``benchmarks/datasets/make_emoji.py``;
override with ``--media``), else the demo images/clips of ``resources/demo`` repeated.

* ``embed_pipeline_ratio`` = throughput of the embedding job (``embed_dataset`` with a
  fresh store: hashing, ``prepare`` in the thread pool a few batches ahead, ``encode``,
  writing shards) / throughput of the bare ``encode`` over the same images, prepared
  beforehand, in the same batches. CLIP ViT-B-32 with random weights (same compute as real
  ones). The bare pass runs before and after the job; their mean is the baseline. Target >= 0.9.
* ``mfcc_parallel_speedup`` = extraction throughput of the embedding job as shipped, which
  prepares the clips in its forkserver process pool (``prepare_in_processes``, workers with
  single-threaded numerics), over that of a single-process loop (``prepare`` of every clip,
  then ``encode``) with one BLAS thread (its fastest setting: with OpenBLAS's default two
  threads the loop thrashes on a busy machine, 60-95 instead of ~500 clips/s, which would
  flatter the job). Both in steady state: the job from its first encoded batch (256 clips) to
  its last, the loop after its first clip (librosa's import and numba cache loading, ~2 s per
  process, are start-up, reported apart with the end-to-end ratio). Each run is a fresh
  process; ``parallel_capacity`` says how many cores the machine gave. Target >= 1.6.

Asserts nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from benchlib import ROOT, emit, machine, parser, rounded

EMOJI = Path("/tmp/mmdata/emoji")


def media_files(folder: Path, suffixes: tuple[str, ...], n: int) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes) if folder.is_dir() else []
    if not files:
        demo = ROOT / "resources" / "demo"
        files = sorted(p for sub in ("images", "audio") for p in (demo / sub).iterdir()
                       if p.suffix.lower() in suffixes)
    return [files[i % len(files)] for i in range(n)]


def stage(files: list[Path], dest: Path) -> list[Path]:
    """Copy (or link) the files under unique names, so repeats are distinct items."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for i, f in enumerate(files):
        p = dest / f"m{i:05d}{f.suffix}"
        try:
            p.symlink_to(f)
        except OSError:
            shutil.copyfile(f, p)
        out.append(p)
    return out


def dataset_of(paths: list[Path], modality: str):
    from mmviewer.core.data.model import Dataset, Item, MediaRef
    from mmviewer.core.data.report import ImportReport

    items = [Item(p.stem, {modality: MediaRef(modality, path=p.resolve(), rel=p.name)}) for p in paths]
    return Dataset(paths[0].parent, items, ImportReport(), "stem", paths[0].parent)


def clip_pipeline(paths: list[Path]) -> dict:
    import numpy as np
    import torch

    from mmviewer.core.embed.job import embed_dataset, run_job
    from mmviewer.core.encoders import make_encoder
    from mmviewer.core.store.embedding_store import EmbeddingStore

    encoder = make_encoder("clip-image", model="ViT-B-32", pretrained="random").load()
    refs = dataset_of(paths, "image")
    prepared = [encoder.prepare(it.media["image"]).value for it in refs.items]
    batch = encoder.batch_size
    encoder.encode(prepared[:batch])  # first forward pass (allocations), not counted

    def bare() -> float:
        t0 = time.perf_counter()
        for s in range(0, len(prepared), batch):
            encoder.encode(prepared[s : s + batch])
        return time.perf_counter() - t0

    bare1 = bare()
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddingStore(Path(tmp) / "store")
        t0 = time.perf_counter()
        result = run_job(embed_dataset(refs, {"image": encoder}, store))
        job_s = time.perf_counter() - t0
    bare2 = bare()
    n = len(prepared)
    bare_rate = n / ((bare1 + bare2) / 2)
    job_rate = result.stats["computed"] / job_s
    return {
        "embed_pipeline_ratio": rounded(job_rate / bare_rate),
        "embed_pipeline_ratio_abs": {
            "n_images": n, "batch": batch, "bare_encode_s": [rounded(bare1), rounded(bare2)],
            "job_s": rounded(job_s), "bare_img_per_s": rounded(bare_rate, 2),
            "job_img_per_s": rounded(job_rate, 2), "computed": result.stats["computed"],
            "skipped": len(result.report.skipped), "torch_threads": torch.get_num_threads(),
            "model": "ViT-B-32 random init, fp32", "numpy": np.__version__,
        },
    }


def mfcc_loop(paths: list[Path]) -> dict:
    t0 = time.perf_counter()
    from mmviewer.core.encoders import make_encoder

    encoder = make_encoder("mfcc")
    refs = dataset_of(paths, "audio")
    payloads = [encoder.prepare(refs.items[0].media["audio"]).value]
    t1 = time.perf_counter()  # after the first clip: librosa imported, numba caches loaded
    payloads += [encoder.prepare(it.media["audio"]).value for it in refs.items[1:]]
    encoder.encode(payloads)
    t2 = time.perf_counter()
    return {"seconds": t2 - t0, "n": len(payloads), "first_s": t1 - t0,
            "steady_per_s": (len(payloads) - 1) / (t2 - t1)}


def mfcc_job(paths: list[Path]) -> dict:
    t0 = time.perf_counter()
    from mmviewer.core.embed.job import default_workers, embed_dataset
    from mmviewer.core.encoders import make_encoder

    encoder = make_encoder("mfcc")
    gen = embed_dataset(dataset_of(paths, "audio"), {"audio": encoder}, None)
    marks = []  # (seconds, items done) after every encoded batch
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            result = stop.value
            break
        if p.stage == "encoding" and p.done > 0:
            marks.append((time.perf_counter() - t0, p.done))
    seconds = time.perf_counter() - t0
    steady = None
    if len(marks) >= 2:  # from the first finished batch (workers started and warm) to the last
        (ta, da), (tb, db) = marks[0], marks[-1]
        steady = (db - da) / (tb - ta) if tb > ta else None
    return {"seconds": seconds, "n": result.stats["computed"], "workers": default_workers(),
            "first_batch_s": marks[0][0] if marks else None, "batches": len(marks),
            "steady_per_s": steady}


def in_fresh_process(kind: str, folder: Path, env: dict | None = None) -> dict:
    import os

    out = subprocess.run([sys.executable, __file__, "--" + kind, str(folder)], check=True,
                         capture_output=True, text=True, env={**os.environ, **(env or {})})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = parser(__doc__)
    p.add_argument("--media", type=Path, default=EMOJI, help="folder of .png/.jpg and .wav/.ogg files")
    for flag in ("--clip", "--mfcc-loop", "--mfcc-job"):
        p.add_argument(flag, type=Path, help=__import__("argparse").SUPPRESS)
    args = p.parse_args(argv)
    if args.clip or args.mfcc_loop or args.mfcc_job:
        folder = args.clip or args.mfcc_loop or args.mfcc_job
        paths = sorted(folder.iterdir())
        func = clip_pipeline if args.clip else mfcc_loop if args.mfcc_loop else mfcc_job
        print(json.dumps(func(paths)))
        return 0
    n_img, n_clips = (32, 576) if args.quick else (256, 2048)
    result: dict = {"quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="mmbench-embed-") as tmp:
        if benchlib.wanted(args, "embed_pipeline_ratio"):
            imgs = stage(media_files(args.media, (".png", ".jpg", ".jpeg"), n_img), Path(tmp) / "img")
            result.update(in_fresh_process("clip", imgs[0].parent))
        if benchlib.wanted(args, "mfcc_parallel_speedup"):
            clips = stage(media_files(args.media, (".wav", ".ogg", ".flac"), n_clips), Path(tmp) / "aud")
            capacity = benchlib.parallel_capacity()
            one = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
            loop = in_fresh_process("mfcc-loop", clips[0].parent, one)  # the loop at its best
            job = in_fresh_process("mfcc-job", clips[0].parent)  # as shipped
            loop_default = None if args.quick else in_fresh_process("mfcc-loop", clips[0].parent)
            steady = job["steady_per_s"] / loop["steady_per_s"] if job["steady_per_s"] else None
            result["mfcc_parallel_speedup"] = rounded(steady)
            result["mfcc_parallel_speedup_abs"] = {
                "definition": "steady throughput: job (as shipped) after its first batch / "
                              "single-process loop with one BLAS thread after its first clip",
                "n_clips": loop["n"], "batch": 256, "workers": job["workers"],
                "parallel_capacity": capacity,
                "end_to_end_speedup": rounded(loop["seconds"] / job["seconds"]),
                "loop_one_blas_thread": {k: rounded(v) for k, v in loop.items()},
                "job": {k: rounded(v) for k, v in job.items()},
                "loop_default_threads": None if loop_default is None else
                {k: rounded(v) for k, v in loop_default.items()},
                "media": str(args.media if args.media.is_dir() else "resources/demo"),
            }
    result["machine"] = machine()
    emit(result, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
