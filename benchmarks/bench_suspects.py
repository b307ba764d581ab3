"""Finding swapped media: precision@k of ``find_suspects`` on real paired sets with a known
share of captions, audio clips or images swapped, beside the single-pair cosine baseline.

    python benchmarks/bench_suspects.py [--digits DIR] [--emoji DIR] [--json] [--quick]
    python benchmarks/bench_suspects.py --scale 100000,1000000 --json   # time at scale only

For each set (the digits of ``datasets/make_digits.py``, generated into the bench scratch folder
when no folder is given; the emoji of ``datasets/make_emoji.py`` when a folder is given or
found), each modality and each share (1 %, 5 %, 20 %), that share of the items get another
item's vector of that modality, always one of a different label (a seeded cyclic shift among the
chosen items sorted by label). Embedding uses the offline encoders and the dataset's store.

Figures per case: k (items swapped), ``precision@k`` (swapped items among the k most suspect),
``odd_right`` (hits whose odd modality is the swapped one), the items above the threshold with
their precision and recall; and the baselines, fitted on everything (no cross-fitting) with the
same aligners: ``cosine`` (score = minus the mean aligned cosine of the item's pairs; odd = the
modality whose pairs have the lowest mean cosine) and ``cosine_best_pair`` (the best of the
swapped modality's single pairs, chosen knowing which modality was swapped: a generous
baseline). Nothing is asserted; ``suspects_digits_audio5_*`` are the issue's targets.

``--scale N,...``: instead, the synthetic table of the other benchmarks (``benchlib.Synth``: 64
classes, CLIP-like image and text sharing a space, 80-d audio) at N items with 5 % of the audio
swapped: the seconds ``find_suspects`` takes, its peak memory and precision@k.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchlib import SCRATCH, Synth, emit, machine, parser, peak_rss_bytes, rounded  # noqa: E402

SHARES = (0.01, 0.05, 0.2)
MODALITIES = ("audio", "text", "image")
DEFAULT_EMOJI = (Path("/work/scratch/data/emoji"), SCRATCH / "emoji")


def load_table(folder: Path):
    from mmviewer.core.embed.options import EmbedOptions, embedding_job, open_path
    from mmviewer.core.runtime.generators import run_to_end

    options = EmbedOptions(offline=True)
    return run_to_end(embedding_job(open_path(str(folder), options), options)).table


def digits_folder(given: str | None) -> Path:
    if given:
        return Path(given)
    folder = SCRATCH / "digits"
    if not (folder / "data.csv").is_file():
        subprocess.run([sys.executable, str(HERE / "datasets" / "make_digits.py"), str(folder)],
                       check=True, stdout=subprocess.DEVNULL)
    return folder


def swap(table, modality: str, share: float, seed: int = 1):
    """A copy of ``table`` with ``share`` of the items' ``modality`` vectors taken from other
    items of a different label; returns ``(table, swapped rows)``."""
    from dataclasses import replace

    labels = np.asarray(table.metadata["label"]).astype(str)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(table.n_items, int(round(share * table.n_items)), replace=False)
    chosen = chosen[np.argsort(labels[chosen], kind="stable")]
    source = np.roll(chosen, len(chosen) // 2)  # half the chosen items away: another label
    keep = labels[chosen] != labels[source]
    chosen, source = chosen[keep], source[keep]
    vectors = dict(table.vectors)
    vectors[modality] = table.vectors[modality].copy()
    vectors[modality][chosen] = table.vectors[modality][source]
    return replace(table, vectors=vectors, content_digest=""), chosen


def cosine_baseline(ws, method: str) -> tuple[dict, dict]:
    """Per pair, the aligned cosine of every item's own media, the aligner fitted on every pair
    (``{"a:b": (N,)}``), and the pairs' resolved methods."""
    from mmviewer.core.align.registry import make_aligner
    from mmviewer.core.evaluate.suspects import default_pairs, pair_name
    from mmviewer.core.match.pair import AlignedPair

    t, out = ws.table, {}
    for a, b in default_pairs(t):
        resolved = ws.resolve_method(a, b, method)
        rows = t.paired(a, b)
        model = None if resolved == "none" else make_aligner(resolved).fit(t.vectors[a][rows], t.vectors[b][rows])
        pair = AlignedPair(t, a, b, model, resolved)
        cos = np.full(t.n_items, np.nan, np.float32)
        cos[rows] = np.einsum("ij,ij->i", pair.query_vectors(rows), pair.target_vectors(rows))
        out[pair_name(a, b)] = cos
    return out


def precision_at_k(score: np.ndarray, truth: np.ndarray) -> tuple[float, np.ndarray]:
    k = int(truth.sum())
    order = np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable")[:k]
    return float(truth[order].mean()), order[truth[order]]


def one_case(table, modality: str, share: float, method: str, robust_share: float | None) -> dict:
    from mmviewer.core.evaluate.suspects import find_suspects
    from mmviewer.core.match.workspace import Workspace

    swapped, rows = swap(table, modality, share)
    truth = np.zeros(table.n_items, bool)
    truth[rows] = True
    ws = Workspace(swapped)
    t0 = time.perf_counter()
    extra = {} if robust_share is None else {"robust_share": robust_share}
    found = find_suspects(ws, method, **extra)
    seconds = time.perf_counter() - t0
    p_at_k, hits = precision_at_k(found.score, truth)
    flagged = found.flagged()
    cos = cosine_baseline(ws, method)
    mods = sorted({m for p in cos for m in p.split(":")})
    mean_cos = np.nanmean(np.stack(list(cos.values()), axis=1), axis=1)
    base_p, base_hits = precision_at_k(-mean_cos, truth)
    per_mod = np.stack([np.nanmean(np.stack([c for p, c in cos.items() if m in p.split(":")], axis=1), axis=1)
                        for m in mods], axis=1)
    base_odd = np.asarray(mods)[np.argmin(np.nan_to_num(per_mod, nan=np.inf), axis=1)]
    single = max(precision_at_k(-c, truth)[0] for p, c in cos.items() if modality in p.split(":"))
    return {
        "modality": modality, "share": share, "k": int(truth.sum()),
        "precision@k": rounded(p_at_k, 3),
        "odd_right": rounded(np.mean(found.odd[hits] == modality) if len(hits) else None, 3),
        "flagged": int(flagged.sum()),
        "flagged_precision": rounded(truth[flagged].mean() if flagged.any() else None, 3),
        "flagged_recall": rounded(flagged[truth].mean(), 3),
        "cosine_precision@k": rounded(base_p, 3),
        "cosine_odd_right": rounded(np.mean(base_odd[base_hits] == modality) if len(base_hits) else None, 3),
        "cosine_best_pair_precision@k": rounded(single, 3),
        "method": found.method, "n_fit": found.n_fit, "seconds": round(seconds, 2),
    }


def at_scale(n: int, method: str) -> dict:
    from mmviewer.core.evaluate.suspects import find_suspects
    from mmviewer.core.match.workspace import Workspace

    table, rows = swap(Synth().table(n), "audio", 0.05)
    truth = np.zeros(n, bool)
    truth[rows] = True
    before = peak_rss_bytes()
    t0 = time.perf_counter()
    found = find_suspects(Workspace(table), method)
    seconds = time.perf_counter() - t0
    p_at_k, hits = precision_at_k(found.score, truth)
    return {"n": n, "seconds": round(seconds, 1), "method": found.method, "n_fit": found.n_fit,
            "k": int(truth.sum()), "precision@k": rounded(p_at_k, 3),
            "odd_right": rounded(np.mean(found.odd[hits] == "audio") if len(hits) else None, 3),
            "peak_rss_gib_before": round(before / 2**30, 2), "peak_rss_gib": round(peak_rss_bytes() / 2**30, 2)}


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--digits", default=None, help="digits folder (default: generate into the scratch folder)")
    p.add_argument("--emoji", default=None, help="emoji folder (default: one of the usual places, if there)")
    p.add_argument("--method", default="auto")
    p.add_argument("--robust-share", type=float, default=None, help="override find_suspects' robust_share")
    p.add_argument("--cases", default=None, help="e.g. audio:0.05,text:0.2 (default: every modality and share)")
    p.add_argument("--sets", default=None, help="e.g. digits (default: digits and emoji)")
    p.add_argument("--scale", default=None, help="comma-separated sizes of the synthetic table to time")
    args = p.parse_args()
    if args.scale:
        runs = [at_scale(int(n), args.method) for n in args.scale.split(",")]
        emit({"machine": machine(), "scale": runs}, args, [str(r) for r in runs])
        return 0
    sets = {"digits": digits_folder(args.digits)}
    emoji = Path(args.emoji) if args.emoji else next((d for d in DEFAULT_EMOJI if (d / "data.csv").is_file()), None)
    if emoji is not None and not args.quick:
        sets["emoji"] = emoji
    if args.sets:
        sets = {k: v for k, v in sets.items() if k in args.sets.split(",")}
    cases = [("audio", 0.05)] if args.quick else [(m, s) for m in MODALITIES for s in SHARES]
    if args.cases:
        cases = [(m, float(s)) for m, s in (c.split(":") for c in args.cases.split(","))]
    result, lines = {"machine": machine(), "sets": {k: str(v) for k, v in sets.items()}, "cases": []}, []
    for name, folder in sets.items():
        table = load_table(folder)
        for modality, share in cases:
            case = {"set": name, **one_case(table, modality, share, args.method, args.robust_share)}
            result["cases"].append(case)
            lines.append(" | ".join(str(case[k]) for k in (
                "set", "modality", "share", "k", "precision@k", "odd_right", "flagged", "flagged_precision",
                "flagged_recall", "cosine_precision@k", "cosine_odd_right", "cosine_best_pair_precision@k",
                "seconds")))
            print(lines[-1], file=sys.stderr, flush=True)  # progress: one line per case
            if name == "digits" and modality == "audio" and share == 0.05:
                result["suspects_digits_audio5_precision"] = case["precision@k"]
                result["suspects_digits_audio5_odd"] = case["odd_right"]
    emit(result, args, ["set | swapped | share | k | P@k | odd right | flagged | flagged prec | flagged rec "
                        "| cosine P@k | cosine odd | best pair P@k | s", *lines])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
