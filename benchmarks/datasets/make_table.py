"""A precomputed embeddings table of the size users open: the scenario of issue 12.

    python benchmarks/datasets/make_table.py OUT.parquet --n 200000

Columns: ``id``, ``label`` (50 classes), ``image`` (512-d), ``text`` (512-d), ``audio`` (560-d,
null for 10 % of the items), float32 fixed-size lists. Each modality is an unrelated "model": its
own random linear map of a shared 64-d latent (class centre + item detail), seen through noise of
its own (in the latent and in the output), so image and text have equal dimensions but do *not*
share a space (zero-shot image -> text is at chance), while a learned alignment recovers the
pairs, imperfectly (an item's own partner is often, not always, its best match), as with real
encoders. Written in row groups, so memory stays at one
block whatever N is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DIMS = {"image": 512, "text": 512, "audio": 560}
LATENT = 64
N_CLASSES = 50
AUDIO_MISSING = 0.10
BLOCK = 50_000


def model_maps(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {m: rng.standard_normal((LATENT, d), dtype=np.float32) / np.sqrt(LATENT) for m, d in DIMS.items()}


def block(start: int, stop: int, maps: dict[str, np.ndarray], centres: np.ndarray, seed: int):
    """Rows ``start:stop``: ids, labels, {modality: (rows, d) float32}, audio presence."""
    rng = np.random.default_rng([seed, start])
    n = stop - start
    labels = rng.integers(0, N_CLASSES, n)
    latent = centres[labels] + 0.6 * rng.standard_normal((n, LATENT), dtype=np.float32)
    vectors = {}
    for m, w in maps.items():
        seen = latent + 0.9 * rng.standard_normal((n, LATENT), dtype=np.float32)  # this model's view
        x = seen @ w + 0.35 * rng.standard_normal((n, w.shape[1]), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        vectors[m] = x.astype(np.float32)
    has_audio = rng.random(n) >= AUDIO_MISSING
    ids = np.array([f"item{i:07d}" for i in range(start, stop)], dtype=object)
    return ids, labels, vectors, has_audio


def write_table(path: str | Path, n: int, seed: int = 0) -> Path:
    """Write the table of N items to ``path`` (Parquet); returns the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    maps = model_maps(seed)
    centres = np.random.default_rng(seed + 1).standard_normal((N_CLASSES, LATENT), dtype=np.float32) * 1.5
    schema = pa.schema([("id", pa.string()), ("label", pa.string())]
                       + [(m, pa.list_(pa.float32(), d)) for m, d in DIMS.items()])
    tmp = path.with_suffix(".partial")
    with pq.ParquetWriter(str(tmp), schema, compression="none") as writer:
        for start in range(0, n, BLOCK):
            ids, labels, vectors, has_audio = block(start, min(n, start + BLOCK), maps, centres, seed)
            cols = {"id": pa.array(ids, pa.string()),
                    "label": pa.array([f"class{k:02d}" for k in labels], pa.string())}
            for m, x in vectors.items():
                mask = pa.array(~has_audio) if m == "audio" else None
                cols[m] = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), DIMS[m], mask=mask)
            writer.write_table(pa.table(cols, schema=schema))
    tmp.replace(path)
    return path


def raw_vector_bytes(n: int) -> int:
    """Bytes of the float32 vectors the table holds (audio only where present, on average)."""
    return int(n * 4 * (DIMS["image"] + DIMS["text"] + DIMS["audio"] * (1 - AUDIO_MISSING)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    print(write_table(args.out, args.n, args.seed))


if __name__ == "__main__":
    main()
