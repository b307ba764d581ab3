"""Command line: open the GUI, or run a headless job (embed, eval, match).

    mmviewer [FOLDER] [--demo]           open the window (optionally on a dataset)
    mmviewer embed FOLDER [--json]       embed a dataset into its store
    mmviewer eval FOLDER --query M --target M [--align METHOD]
    mmviewer match FOLDER --item ID [--query M] [--target M] [--weights image=1,text=1]
    mmviewer report FOLDER -o report.html   one self-contained HTML file to share
    mmviewer suspects FOLDER [--pair audio:text] [--k 50]   the items whose media disagree

Only argparse and the standard library are imported at start-up, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

SUBCOMMANDS = ("embed", "eval", "match", "report", "suspects")
METHODS = ("auto", "none", "procrustes", "ridge", "cca", "contrastive")
EXIT_NOTHING, EXIT_INTERRUPTED = 1, 130


def _add_encoder_options(p: argparse.ArgumentParser) -> None:
    from mmviewer.core.embed.options import EmbedOptions

    defaults = EmbedOptions()  # one source of default options, for the CLI and the GUI
    g = p.add_argument_group("encoders")
    g.add_argument("--offline", action="store_true",
                   help="use only the offline encoders (TF-IDF text, pixel image, MFCC audio): no weights, no network")
    g.add_argument("--clip-model", default=defaults.clip_model, help="open_clip model name (default: %(default)s)")
    g.add_argument("--clip-pretrained", default=defaults.clip_pretrained, metavar="TAG|PATH|local-dir:DIR",
                   help="pretrained tag (Hugging Face hub cache), a local checkpoint file, or local-dir:DIR "
                        "(default: %(default)s)")
    g.add_argument("--audio", default=defaults.audio, choices=("mfcc", "logmel"), help="audio encoder (default: %(default)s)")
    g.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: CUDA when present)")
    g.add_argument("--batch-size", type=int, default=None, help="encoder batch size")
    g.add_argument("--max-audio-seconds", type=float, default=defaults.max_audio_seconds,
                   help="decode at most this much of each clip (default: %(default)s)")
    g.add_argument("--workers", type=int, default=None,
                   help="decoding workers (default: CPU count, max 4); with --engine dask, local worker processes")
    g.add_argument("--no-cache", action="store_true", help="do not read or write the embedding store")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mmviewer",
        description="Explore multimodal alignments: images, texts and audio that belong together.",
        epilog="Headless commands: 'mmviewer embed|eval|match|report|suspects --help'.",
    )
    p.add_argument("folder", nargs="?", help="dataset folder, manifest (.csv/.jsonl) or embeddings table (.parquet/.npz)")
    p.add_argument("--demo", action="store_true", help="open the bundled demo dataset")
    p.add_argument("--version", action="version", version=_version())
    _add_encoder_options(p)
    return p


def build_subparser(name: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"mmviewer {name}")
    p.add_argument("folder", help="dataset folder, manifest or embeddings table")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    if name == "embed":
        p.description = "Embed a dataset into its store (<folder>/.mmviewer) and print a summary."
        p.add_argument("--engine", choices=("local", "dask"), default="local",
                       help="where encoding runs (dask needs the 'dask' extra)")
        p.add_argument("--scheduler", default=None, help="dask scheduler address (default: a local cluster)")
    elif name == "eval":
        p.description = "Evaluate cross-modal retrieval on a held-out split."
        p.add_argument("--query", required=True, help="query modality (image, text, audio)")
        p.add_argument("--target", required=True, help="target modality")
        p.add_argument("--align", default="none", choices=METHODS[1:], help="alignment method (default: %(default)s)")
        p.add_argument("--label-column", default=None, help="metadata column for label precision@k")
        p.add_argument("--test-size", type=float, default=0.3, help="held-out fraction (default: %(default)s)")
        p.add_argument("--seed", type=int, default=0, help="random state for the split and fitting")
    elif name == "match":
        p.description = "Print the ranked matches of one item."
        p.add_argument("--item", required=True, help="item id")
        p.add_argument("--query", default=None, help="query modality (default: fused similar items)")
        p.add_argument("--target", default=None, help="target modality")
        p.add_argument("--weights", default=None, help="fusion weights, e.g. image=1,text=1,audio=0.5")
        p.add_argument("--align", default="none", choices=METHODS[1:])
        p.add_argument("--k", type=int, default=10, help="number of matches (default: %(default)s)")
    elif name == "report":
        _add_report_options(p)
    elif name == "suspects":
        p.description = "Rank the items whose media disagree, most suspect first, naming the odd modality."
        p.add_argument("--pair", action="append", default=None, metavar="A:B",
                       help="modality pair to score, e.g. audio:text; repeat for more (default: every pair)")
        p.add_argument("--k", type=int, default=50, help="suspects listed (default: %(default)s)")
        p.add_argument("--method", default="auto", choices=METHODS, help="alignment method (default: %(default)s)")
        p.add_argument("--folds", type=int, default=5, help="cross-fitting folds (default: %(default)s)")
        p.add_argument("--seed", type=int, default=0, help="random state of folds, samples and fits")
    _add_encoder_options(p)
    return p


def _add_report_options(p: argparse.ArgumentParser) -> None:
    p.description = ("Write one self-contained HTML report (map, metrics, matches; no network, "
                     "no server) that anyone can open in a browser.")
    p.add_argument("-o", "--output", required=True, help="the HTML file to write")
    p.add_argument("--title", default=None, help="heading of the report (default: the folder's name)")
    p.add_argument("--layout", default="auto", choices=("auto", "umap", "pca"),
                   help="map: auto = the app's saved map when it matches, else UMAP (default: %(default)s)")
    p.add_argument("--weights", default=None, help="fusion weights, e.g. image=1,text=1,audio=0.5")
    p.add_argument("--align", default="auto", choices=METHODS, help="alignment method (default: %(default)s)")
    p.add_argument("--label-column", default=None, help="metadata column for label figures and the first colouring")
    p.add_argument("--items", type=int, default=12, help="items shown with their matches (default: %(default)s)")
    p.add_argument("--max-points", type=int, default=20_000,
                   help="points on the map; bigger sets are sampled (default: %(default)s)")
    p.add_argument("--max-thumbs", type=int, default=5_000,
                   help="thumbnails embedded for map points (default: %(default)s) ...")
    p.add_argument("--thumbs-mb", type=float, default=3.0,
                   help="... within this many megabytes of the file (default: %(default)s)")
    p.add_argument("--thumb-size", type=int, default=64, help="thumbnail size in pixels (default: %(default)s)")
    p.add_argument("--suspects", default=None, metavar="JSON",
                   help="include the output of 'mmviewer suspects --json' as a Suspects section")
    p.add_argument("--seed", type=int, default=0, help="random state of the samples (default: %(default)s)")


def _version() -> str:
    from mmviewer import __version__

    return f"mmviewer {__version__}"


def options_from_args(args):
    from mmviewer.core.embed.options import EmbedOptions

    return EmbedOptions(
        offline=args.offline, clip_model=args.clip_model, clip_pretrained=args.clip_pretrained,
        audio=args.audio, device=args.device, batch_size=args.batch_size,
        max_audio_seconds=args.max_audio_seconds, workers=args.workers, use_store=not args.no_cache,
    )


def _eprint(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def run_embedding(args, quiet: bool = False):
    """Open the dataset and run the embedding job with a progress bar; returns the result."""
    from tqdm import tqdm

    from mmviewer.core.embed.options import choose_encoders, embedding_job, open_path

    options = options_from_args(args)
    dataset = open_path(args.folder, options)
    encoders, notices = ({}, []) if dataset.precomputed is not None else choose_encoders(options)
    for notice in notices:
        _eprint(f"note: {notice}")
    if getattr(args, "engine", "local") == "dask":
        from mmviewer.core.embed.dask_engine import embedding_job_dask

        gen = embedding_job_dask(dataset, options, encoders, scheduler=args.scheduler)
    else:
        gen = embedding_job(dataset, options, encoders)
    bar, bar_label = None, None
    try:
        while True:
            try:
                progress = next(gen)
            except StopIteration as stop:
                result = stop.value
                break
            if quiet:
                continue
            label = f"{progress.stage} {progress.modality or ''}".strip()
            if bar is None or bar_label != label:
                if bar is not None:
                    bar.close()
                bar_label = label
                # disable=None: no bar when stderr is not a terminal (CI logs, pipes).
                bar = tqdm(total=progress.total, desc=label, unit="item", file=sys.stderr,
                           leave=False, disable=None)
            bar.update(progress.done - bar.n)
    except KeyboardInterrupt:
        gen.close()
        if bar is not None:
            bar.close()
        _eprint("Interrupted: every finished batch is saved; run the same command again to finish.")
        raise
    finally:
        if bar is not None:
            bar.close()
    result.stats["notices"] = notices
    return dataset, result


def cmd_embed(args) -> int:
    t0 = time.perf_counter()
    _, result = run_embedding(args, quiet=False)
    summary = result.summary()
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    if args.json:
        print(json.dumps(summary))
    else:
        print(_format_summary(summary, result.report))
    if result.table.n_items == 0:
        _eprint(f"mmviewer embed: no usable item in {args.folder}" + (
            " (every file was skipped: see the list above)" if result.report.skipped else ""))
        return EXIT_NOTHING
    return 0


def _format_summary(summary: dict, report) -> str:
    per = ", ".join(f"{m} {n}" for m, n in summary["modalities"].items()) or "none"
    lines = [
        f"Items: {summary['items']} ({per})",
        "Encoders: " + ", ".join(f"{m}={e}" for m, e in summary["encoders"].items()),
        f"Computed {summary['computed']}, from cache {summary['cached']}, in {summary['seconds']:.1f} s",
    ]
    if report.skipped or report.notes:
        lines.append(report.format(limit=30))
    return "\n".join(lines)


def cmd_eval(args) -> int:
    from mmviewer.core.evaluate.evaluation import evaluate

    _, result = run_embedding(args, quiet=args.json)
    figures = evaluate(result.table, args.query, args.target, method=args.align,
                       label_column=args.label_column, test_size=args.test_size, random_state=args.seed)
    if args.json:
        print(json.dumps(figures))
    else:
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            shown = f"{value:.4f}" if isinstance(value, float) else value
            print(f"{key:<{width}}  {shown}")
    return 0


def parse_weights(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    weights = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if not _:
            raise ValueError(f"weights must look like image=1,text=0.5 (got {part!r})")
        weights[name.strip()] = float(value)
    return weights


def match_rows(table, item_id: str, query, target, weights, k: int, method: str) -> tuple[dict, list[dict]]:
    """The match list ``mmviewer match`` prints: cross-modal (query and target), fused -> target
    (target only), or fused similar items (neither)."""
    from mmviewer.core.match.workspace import Workspace

    ws = Workspace(table)
    row = table.index_of(item_id)
    weights = weights or {m: 1.0 for m in table.modalities}
    for m in (query, target):
        if m is not None and m not in table.modalities:
            raise ValueError(f"modality {m!r} is not in this dataset (it has {', '.join(table.modalities)})")
    if query and target:
        result = ws.cross_matches(row, query, target, method, k)
    elif target:
        result = ws.fused_matches(row, weights, target, method, k)
    else:
        result = ws.similar(row, weights, k)
    rows = [
        {"id": str(table.ids[r]), "score": round(float(s), 6), "is_partner": int(r) == row}
        for r, s in zip(result.rows, result.scores, strict=True)
    ]
    info = {"method": result.method, "partner_rank": result.partner_rank,
            "in_training": result.in_training, "note": result.note}
    return info, rows


def cmd_match(args) -> int:
    weights = parse_weights(args.weights)
    _, result = run_embedding(args, quiet=args.json)
    info, rows = match_rows(result.table, args.item, args.query, args.target, weights, args.k, args.align)
    if args.json:
        print(json.dumps({"item": args.item, "query": args.query, "target": args.target, **info,
                          "matches": rows}))
        return 0
    if info["note"]:
        print(info["note"])
    for rank, row in enumerate(rows, start=1):
        mark = "  <- true partner" if row["is_partner"] else ""
        print(f"{rank:>3}. {row['id']}  {row['score']:.4f}{mark}")
    if info["partner_rank"] is not None:
        print(f"True partner's rank: {info['partner_rank']} (method {info['method']})")
    return 0


def cmd_suspects(args) -> int:
    from mmviewer.core.evaluate.suspects import find_suspects
    from mmviewer.core.evaluate.suspects.output import format_table, parse_pairs, summary
    from mmviewer.core.match.workspace import Workspace

    pairs = parse_pairs(args.pair)
    _, result = run_embedding(args, quiet=args.json)
    found = find_suspects(Workspace(result.table), args.method, pairs, args.folds, args.seed)
    data = summary(found, result.table.n_items, args.k)
    print(json.dumps(data) if args.json else format_table(data))
    return 0


def _leave_stuck_decoders(code: int) -> None:
    """A decode given up on (core/embed/deadline.py) may never return; a normal exit would wait
    for its worker forever, after everything else is done and saved. End the process instead."""
    deadline = sys.modules.get("mmviewer.core.embed.deadline")
    if deadline is not None and deadline.ABANDONED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def cmd_report(args) -> int:
    from tqdm import tqdm

    from mmviewer.core.report import ReportInput, ReportOptions, report_job, write_report
    from mmviewer.core.report.layout import map_positions
    from mmviewer.core.report.suspects import discover, read_suspects
    from mmviewer.core.store.embedding_store import store_dir_for

    options = ReportOptions(max_points=args.max_points, max_thumbs=args.max_thumbs,
                            thumb_px=args.thumb_size, sample_items=args.items, seed=args.seed,
                            thumb_bytes=int(args.thumbs_mb * 1e6))
    suspects = read_suspects(args.suspects) if args.suspects else None
    dataset, result = run_embedding(args, quiet=args.json)
    table = result.table
    if table.n_items == 0:
        _eprint(f"mmviewer report: no usable item in {args.folder}")
        return EXIT_NOTHING
    weights = parse_weights(args.weights) or {m: 1.0 for m in table.modalities}
    unknown = sorted(set(weights) - set(table.modalities))
    if unknown:
        raise ValueError(f"--weights names {', '.join(unknown)}, not in this dataset "
                         f"(it has {', '.join(table.modalities)})")
    store = (store_dir_for(dataset.root) if dataset.precomputed is None and not args.no_cache
             else None)
    label = args.label_column or next((c for c in ("label", "labels", "class", "category")
                                       if c in table.metadata), None)
    if label is not None and label not in table.metadata:
        raise ValueError(f"no metadata column {label!r}; the table has {sorted(table.metadata) or 'none'}")
    if not args.json:
        _eprint("Laying out the map…")
    positions, kind = map_positions(table, weights, store, args.layout, args.seed)
    from mmviewer.core.match.workspace import Workspace

    ws = Workspace(table)
    if suspects is None:
        suspects = discover(ws, args.align)
    inp = ReportInput(table, positions, dataset, title=args.title or "", source=str(args.folder),
                      layout_kind=kind, weights=weights, method=args.align, label_column=label,
                      suspects=suspects, store_root=store, workspace=ws)
    gen = report_job(inp, options)
    bar = tqdm(total=100, desc="report", unit="%", file=sys.stderr, leave=False,
               disable=True if args.json else None)
    try:
        while True:
            try:
                step = next(gen)
            except StopIteration as stop:
                data = stop.value
                break
            bar.set_description(step.text)
            bar.update(int(step.fraction * 100) - bar.n)
    finally:
        bar.close()
    size = write_report(data, args.output)
    summary = {"path": str(args.output), "bytes": size, "points": data["map"]["n_points"],
               "items_total": table.n_items, "thumbnails": len(data["thumbs"]),
               "items": len(data["samples"]), "layout": kind,
               "suspects": None if data["suspects"] is None else len(data["suspects"])}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"Wrote {summary['path']} ({summary['bytes'] / 1e6:.2f} MB: {summary['points']:,} "
              f"points, {summary['thumbnails']:,} thumbnails, {summary['items']} items with matches)")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        name = argv[0]
        args = build_subparser(name).parse_args(argv[1:])
        handler = globals()[f"cmd_{name}"]  # cmd_embed, cmd_eval, ... one per SUBCOMMANDS entry
        try:
            code = handler(args)
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        except (OSError, ValueError, KeyError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else (
                err.args[0] if err.args else err)
            _eprint(f"mmviewer {name}: {reason}")
            code = EXIT_NOTHING
        _leave_stuck_decoders(code)
        return code
    args = build_parser().parse_args(argv)
    from mmviewer.gui.app import run_gui

    return run_gui(args.folder, args.demo, options_from_args(args))
