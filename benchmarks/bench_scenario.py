"""The assembled window on a large table, played as a user does (prints figures, asserts nothing).

    python benchmarks/bench_scenario.py --json                    # 100k, 300k and 1M items
    python benchmarks/bench_scenario.py --quick --json            # 100k only
    python benchmarks/bench_scenario.py --sizes 200000

For each size it writes the table of ``datasets/make_table.py`` (ids, 50 labels, image and text
512-d from unrelated models, audio 560-d with 10 % missing; cached in ``$MMVIEWER_BENCH_DIR``),
times pyarrow's own ``read_table`` of it in a fresh process (the floor for opening it), then
starts the real window (offscreen) in a child process that plays a session:

open the table -> first picture (PCA) -> UMAP map -> rest the mouse on a map point for a second
and click it -> its cross-modal lists -> drag a weight slider (lists must follow every step) ->
metrics -> Ctrl+Q while the warm re-layout and the metrics run.

The child prints timestamped events; this process samples the resident memory of the child and
all its descendants every 0.2 s. Figures (seconds unless named otherwise): ``open_s`` (open ->
table shown), ``arrow_read_s`` and ``open_ratio``, ``first_picture_s`` (table shown -> PCA map),
``umap_s`` (table shown -> UMAP map), ``lists_s`` (click -> lists drawn), ``drag_update_ms``
(each slider step -> lists redrawn: median and max), ``metrics_s`` (table shown -> metrics),
``metrics_after_drag_s``, ``quit_s`` (Ctrl+Q -> process gone), ``peak_rss_gib`` and
``peak_pss_gib`` (whole tree: the sum of RSS counts shared library pages once per process, the
sum of PSS once), ``processes_at_peak`` (each process's RSS and PSS at the PSS peak),
``raw_vector_gib``, ``rss_ratio``/``pss_ratio`` and ``rss_budget_gib`` (2x raw + 1 GiB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCRATCH = Path(os.environ.get("MMVIEWER_BENCH_DIR", "/tmp/mmbench"))
SIZES = (100_000, 300_000, 1_000_000)
GIB = 1024**3


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


# -- the orchestrator ---------------------------------------------------------------------------
def table_path(n: int) -> Path:
    sys.path.insert(0, str(HERE / "datasets"))
    from make_table import write_table

    path = SCRATCH / f"scenario_{n}.parquet"
    if not path.exists():
        log(f"writing {path} ...")
        write_table(path, n)
    return path


def arrow_read_s(path: Path) -> float:
    code = ("import time, pyarrow.parquet as pq; t = time.perf_counter(); "
            f"pq.read_table({str(path)!r}); print(time.perf_counter() - t)")
    subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)  # page cache
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def tree_memory(pid: int) -> dict[int, tuple[str, int, int]]:
    """``{pid: (name, rss, pss)}`` for ``pid`` and all its descendants (from /proc).

    RSS counts a page in every process that maps it: the forkserver's children share its
    imported libraries (torch, numba, Qt) copy-on-write, so a sum of RSS counts them once per
    process. PSS divides each shared page among its sharers; its sum is the tree's real cost.
    """
    parents, names = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry.name)] = int(fields[1])
            names[int(entry.name)] = stat[stat.index("(") + 1 : stat.rindex(")")]
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {pid}, {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - tree
        tree |= frontier
    out = {}
    for p in tree:
        try:
            rollup = dict(line.split(":", 1) for line in
                          (Path("/proc") / str(p) / "smaps_rollup").read_text().splitlines()[1:])
            out[p] = (names.get(p, "?"), int(rollup["Rss"].split()[0]) * 1024,
                      int(rollup["Pss"].split()[0]) * 1024)
        except (OSError, ValueError, KeyError):
            continue
    return out


def run_scenario(path: Path, timeout_s: float, trace_memory: bool = False) -> dict:
    # A first open, every time: the table's store keeps the last session (its weights: each run
    # ends by halving the audio weight, which left the drag nothing to move), the map and the
    # fitted aligners, all of which would make a rerun faster than a new user's first.
    import shutil

    from mmviewer.core.store.embedding_store import EmbeddingStore

    shutil.rmtree(EmbeddingStore.for_table(path).root, ignore_errors=True)
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(SCRATCH / "config"))
    extra = ["--trace-memory"] if trace_memory else []
    proc = subprocess.Popen([sys.executable, __file__, "--play", str(path), *extra], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = {"rss": 0, "pss": 0, "at_peak": []}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            tree = tree_memory(proc.pid)
            rss, pss = sum(v[1] for v in tree.values()), sum(v[2] for v in tree.values())
            peak["rss"] = max(peak["rss"], rss)
            if pss > peak["pss"]:
                peak["pss"] = pss
                peak["at_peak"] = sorted(({"pid": p, "name": n, "rss_mib": r >> 20, "pss_mib": q >> 20}
                                          for p, (n, r, q) in tree.items()),
                                         key=lambda d: -d["pss_mib"])
            done.wait(0.2)

    threading.Thread(target=sample, daemon=True).start()
    events, figures = {}, {}
    try:
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            msg = json.loads(line)
            if "event" in msg:
                events[msg["event"]] = msg["t"]
                log(f"  {msg['event']}  +{msg['t'] - events.get('start', msg['t']):.2f} s")
            else:
                figures.update(msg)
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
    gone = time.monotonic()
    done.set()
    err = proc.stderr.read()
    if proc.returncode not in (0, None):
        log(err[-3000:])
    e = events
    out = dict(figures)
    out["peak_rss_bytes"], out["peak_pss_bytes"] = peak["rss"], peak["pss"]
    out["processes_at_peak"] = peak["at_peak"]

    def span(a, b):
        return round(e[b] - e[a], 3) if a in e and b in e else None

    out.update(open_s=span("start", "table"), first_picture_s=span("table", "first_picture"),
               umap_s=span("table", "umap"), lists_s=span("click", "lists"),
               metrics_s=span("table", "metrics"),
               metrics_after_drag_s=span("drag_done", "metrics_after_drag"),
               quit_s=round(gone - e["quit"], 3) if "quit" in e else None,
               exit_code=proc.returncode)
    return out


def measure(n: int, timeout_s: float, trace_memory: bool = False) -> dict:
    sys.path.insert(0, str(HERE / "datasets"))
    from make_table import raw_vector_bytes

    path = table_path(n)
    arrow = arrow_read_s(path)
    log(f"{n} items: pyarrow read_table {arrow:.2f} s")
    out = run_scenario(path, timeout_s, trace_memory)
    raw = raw_vector_bytes(n)
    out.update(n=n, arrow_read_s=round(arrow, 3), raw_vector_gib=round(raw / GIB, 3),
               peak_rss_gib=round(out.pop("peak_rss_bytes") / GIB, 3),
               peak_pss_gib=round(out.pop("peak_pss_bytes") / GIB, 3),
               rss_budget_gib=round((2 * raw + GIB) / GIB, 3))
    out["open_ratio"] = round(out["open_s"] / arrow, 2) if out.get("open_s") else None
    out["rss_ratio"] = round(out["peak_rss_gib"] * GIB / raw, 2)
    out["pss_ratio"] = round(out["peak_pss_gib"] * GIB / raw, 2)
    out["rss_budget_ratio"] = round(out["peak_rss_gib"] / out["rss_budget_gib"], 3)
    out["pss_budget_ratio"] = round(out["peak_pss_gib"] / out["rss_budget_gib"], 3)
    return out


# -- the player (runs inside the app's process) -------------------------------------------------
def memory_by_line(snapshot, top: int = 12) -> list[dict]:
    """Where the app's live Python/numpy bytes were allocated (tracemalloc), biggest first."""
    stats = snapshot.statistics("lineno")
    return [{"where": f"{Path(s.traceback[0].filename).name}:{s.traceback[0].lineno}",
             "mib": round(s.size / 2**20, 1)} for s in stats[:top]]


def play(path: str, trace_memory: bool = False) -> int:
    sys.path.insert(0, str(ROOT))
    if trace_memory:
        import tracemalloc

        tracemalloc.start(1)
    from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer
    from PySide6.QtTest import QTest

    from mmviewer.core.embed.options import EmbedOptions
    from mmviewer.gui.app import create_app
    from mmviewer.gui.main_window import MainWindow

    def mark(name: str) -> None:
        print(json.dumps({"event": name, "t": time.monotonic()}), flush=True)

    def wait(predicate, timeout_s: float) -> bool:
        loop = QEventLoop()
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                return False
            loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        return True

    app = create_app()
    window = MainWindow(options=EmbedOptions(offline=True))
    window.resize(1400, 900)
    window.show()
    model = window.model
    seen: set[str] = set()

    def on_layout(_pos, kind: str) -> None:
        name = {"pca": "first_picture", "umap": "umap", "cached": "first_picture"}.get(kind)
        if name and name not in seen:
            seen.add(name)
            mark(name)

    def on_table() -> None:
        if "table" not in seen:
            seen.add("table")
            mark("table")

    def on_metrics(_result) -> None:
        name = "metrics_after_drag" if "drag_done" in seen else "metrics"
        if name not in seen:
            seen.add(name)
            mark(name)

    model.table_ready.connect(on_table)
    model.layout_ready.connect(on_layout)
    model.metrics_ready.connect(on_metrics)
    mark("start")
    window.open_path(path, EmbedOptions(offline=True))
    if not wait(lambda: "umap" in seen, 900):
        print(json.dumps({"error": "no UMAP map within 15 min"}), flush=True)
        return 1

    # Rest the mouse on a point for a second, then click it (as a person does), once the UMAP
    # map has glided in and the view has fitted it (a target taken earlier moves away).
    panel = window.panels["map"]
    wait(lambda: not panel.layer.gliding, 10)
    wait(lambda: False, 0.5)
    row = model.workspace.table.n_items // 3
    x, y = (float(v) for v in panel.items.item.positions()[row])
    from pyqtgraph import Point

    target = panel.plot.mapFromScene(panel.view_box.mapViewToScene(Point(x, y)))
    viewport = panel.plot.viewport()
    QTest.mouseMove(viewport, QPoint(target.x() + 25, target.y() + 25))
    wait(lambda: False, 0.3)
    QTest.mouseMove(viewport, QPoint(target.x(), target.y()))
    wait(lambda: False, 1.0)
    matches = window.panels["matches"]
    ready = []
    matches.lists_ready.connect(lambda: ready.append(time.monotonic()))
    mark("click")
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(target.x(), target.y()))
    selected = wait(lambda: model.state.current >= 0, 2.0)
    print(json.dumps({"click_selected": selected, "clicked_row": model.state.current}), flush=True)
    if not selected:  # the click missed (a bug to report): select as the lists' time still counts
        mark("click")
        model.state.current = row
    if wait(lambda: bool(ready) and model.state.current >= 0, 300):
        mark("lists")

    # Drag the audio weight slider: the lists must follow every step.
    slider = window.panels["fusion"].sliders["audio"]
    steps, delays = 12, []
    redrawn = []
    matches.reweighted.connect(lambda: redrawn.append(time.monotonic()))
    start = slider.value()
    for i in range(1, steps + 1):
        before = len(redrawn)
        t0 = time.monotonic()
        slider.setValue(start - i * start / (steps + 2))
        if wait(lambda b=before: len(redrawn) > b, 30):
            delays.append((redrawn[-1] - t0) * 1000)
        wait(lambda: False, 0.05)
    seen.add("drag_done")
    mark("drag_done")
    delays.sort()
    print(json.dumps({"drag_update_ms": {"median": round(delays[len(delays) // 2], 1) if delays else None,
                                         "max": round(delays[-1], 1) if delays else None,
                                         "steps": steps, "redrawn": len(delays)}}), flush=True)
    wait(lambda: "metrics_after_drag" in seen, 600)
    if trace_memory:
        import tracemalloc

        current, peak = tracemalloc.get_traced_memory()
        print(json.dumps({"traced_current_mib": round(current / 2**20), "traced_peak_mib": round(peak / 2**20),
                          "traced_by_line": memory_by_line(tracemalloc.take_snapshot())}), flush=True)

    # Ctrl+Q while jobs still run: move the slider again and quit once the re-layout runs.
    slider.setValue(slider.value() * 0.5)
    wait(lambda: model.jobs.running_for("layout") > 0.5 or model.jobs.running_for("metrics") > 0.5, 60)
    print(json.dumps({"running_at_quit": sorted(str(s) for s in model.jobs._slots
                                                if model.jobs.running_for(s) > 0)}), flush=True)
    window.activateWindow()
    quit_action = window.actions_by_name["quit"]

    def press_ctrl_q() -> None:
        mark("quit")
        QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        if window.isVisible():  # offscreen, the window may not be active: the shortcut's action
            print(json.dumps({"ctrl_q_reached_window": False}), flush=True)
            quit_action.trigger()

    # From inside the event loop, as a key press arrives: the app quits when its window closes.
    QTimer.singleShot(0, press_ctrl_q)
    QTimer.singleShot(30_000, app.quit)  # never hang the benchmark
    code = app.exec()
    from mmviewer.gui.app import exit_now

    return exit_now(code, clean=window.clean_exit)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="100k items only")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--sizes", default="", help="comma-separated item counts")
    p.add_argument("--timeout", type=float, default=1800, help="per size, seconds")
    p.add_argument("--trace-memory", action="store_true",
                   help="also report where the app's bytes were allocated (tracemalloc; slower)")
    p.add_argument("--play", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.play:
        return play(args.play, args.trace_memory)
    sizes = [int(s) for s in args.sizes.split(",") if s] or ([SIZES[0]] if args.quick else list(SIZES))
    results = {}
    for n in sizes:
        results[str(n)] = measure(n, args.timeout, args.trace_memory)
        log(json.dumps(results[str(n)]))
    out = {"scenario": results}
    # The targets are met (or not) at the largest size measured.
    top = results[str(max(sizes))]
    out.update({f"scenario_{k}": top.get(k) for k in ("open_ratio", "first_picture_s", "umap_s", "lists_s",
                                                      "metrics_s", "quit_s", "rss_budget_ratio",
                                                      "pss_budget_ratio")})
    out["scenario_n"] = max(sizes)
    print(json.dumps(out) if args.json else json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
