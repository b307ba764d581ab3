"""How responsive the whole window is (prints figures, asserts nothing).

    python benchmarks/bench_gui.py                 # 300 emoji items, offline encoders
    python benchmarks/bench_gui.py --json          # one JSON object on stdout
    python benchmarks/bench_gui.py --data FOLDER   # any dataset folder / manifest
    python benchmarks/bench_gui.py --clip-random   # CLIP ViT-B-32 with random weights

Runs offscreen unless ``QT_QPA_PLATFORM`` says otherwise (``xvfb-run -a`` works too).

* ``import``: the longest UI-thread stalls while a dataset of a few hundred items is scanned,
  embedded (no store, so everything is computed) and laid out: a QTimer beats every 10 ms on
  the UI thread and every gap between beats is recorded (max, p99, median), up to the first
  PCA map (``table_ready``) and up to the UMAP map.
* ``slider``: from a fusion-weight slider release (the final ``setValue`` of a drag) to
  updated match lists in the Matches panel (polled at every event-loop turn), and to the
  warm UMAP map (250 ms debounce included).
* ``startup``: from launching a fresh ``python`` to an interactive window (the first
  event-loop turn after ``show()``), and the in-process share of it.

Data: ``benchmarks/datasets/make_emoji.py --limit N`` output (generated into
``$MMVIEWER_BENCH_DIR``, default /tmp/mmbench, when espeak-ng and the emoji font exist),
otherwise N generated items (gradient images, short texts, tones).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCRATCH = Path(os.environ.get("MMVIEWER_BENCH_DIR", "/tmp/mmbench"))
BEAT_MS = 10


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


# -- data -----------------------------------------------------------------------------------------
def dataset(n: int) -> Path:
    """A folder with ``n`` items: the emoji generator's output, or generated files."""
    out = SCRATCH / f"emoji{n}"
    if (out / "data.csv").is_file():
        return out
    script = ROOT / "benchmarks" / "datasets" / "make_emoji.py"
    try:
        subprocess.run([sys.executable, str(script), str(out), "--limit", str(n)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
        if (out / "data.csv").is_file():
            return out
    except (OSError, subprocess.SubprocessError) as err:
        log(f"make_emoji.py failed ({err}); generating items instead")
    return generated(n)


def generated(n: int) -> Path:
    import numpy as np
    import soundfile as sf
    from PIL import Image

    out = SCRATCH / f"generated{n}"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    words = "red green blue cat dog car tree house river bird small large old new bright".split()
    for i in range(n):
        stem = out / f"item{i:04d}"
        if not stem.with_suffix(".wav").exists():
            colour = rng.integers(0, 255, 3)
            arr = np.zeros((96, 128, 3), np.uint8) + colour.astype(np.uint8)
            arr[:, :, (i % 3)] = np.linspace(0, 255, 128, dtype=np.uint8)[None, :]
            Image.fromarray(arr).save(stem.with_suffix(".png"))
            stem.with_suffix(".txt").write_text(" ".join(rng.choice(words, 8)))
            t = np.arange(8000) / 16000
            sf.write(str(stem.with_suffix(".wav")), 0.3 * np.sin(2 * np.pi * (200 + 5 * i) * t), 16000)
    return out


# -- event-loop helpers -----------------------------------------------------------------------------
class Heartbeat:
    """A 10 ms QTimer on the UI thread; ``gaps`` are the intervals between beats (ms)."""

    def __init__(self):
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self.last = time.perf_counter()
        self.timer = QTimer(interval=BEAT_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._beat)

    def start(self) -> None:
        self.gaps.clear()
        self.last = time.perf_counter()
        self.timer.start()

    def _beat(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self.last) * 1000)
        self.last = now

    def summary(self, gaps=None) -> dict:
        gaps = sorted(self.gaps if gaps is None else gaps)
        if not gaps:
            return {"beats": 0}
        return {"beats": len(gaps), "max_gap_ms": round(gaps[-1], 1),
                "p99_gap_ms": round(gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))], 1),
                "median_gap_ms": round(statistics.median(gaps), 1)}


def run_until(predicate, timeout_s: float) -> float | None:
    """Run the event loop until ``predicate()`` (checked at every loop turn); seconds or None."""
    from PySide6.QtCore import QEventLoop, QTimer

    t0 = time.perf_counter()
    loop = QEventLoop()
    poll = QTimer(interval=0)
    result = {"t": None}

    def check():
        if predicate():
            result["t"] = time.perf_counter() - t0
            loop.quit()
        elif time.perf_counter() - t0 > timeout_s:
            loop.quit()

    poll.timeout.connect(check)
    poll.start()
    check()
    if result["t"] is None:
        loop.exec()
    poll.stop()
    return result["t"]


# -- measurements -----------------------------------------------------------------------------------
def measure_import(window, folder: Path, options) -> dict:
    events: dict[str, float] = {}
    model = window.model
    t0 = time.perf_counter()
    model.table_ready.connect(lambda: events.setdefault("table_ready", time.perf_counter() - t0))
    model.layout_ready.connect(
        lambda _p, kind: kind == "umap" and events.setdefault("umap", time.perf_counter() - t0))
    beat = Heartbeat()
    beat.start()
    window.open_path(folder, options)
    run_until(lambda: "table_ready" in events, 1800)
    embed_gaps = list(beat.gaps)
    run_until(lambda: "umap" in events, 600)
    beat.timer.stop()
    n = model.workspace.table.n_items if model.workspace is not None else 0
    return {"items": n, "import_s": round(events.get("table_ready", float("nan")), 2),
            "to_umap_s": round(events.get("umap", float("nan")), 2),
            "until_table": beat.summary(embed_gaps), "until_umap": beat.summary()}


def _similar_scores(panel):
    return [(r["match_id"], round(r["score"], 6)) for r in panel.rows_for_export()
            if r["list"] == "similar"]


def measure_slider(window, trials: int = 5) -> dict:
    model, state = window.model, window.model.state
    panel = window.panels.get("matches")
    slider = window.panels["fusion"].sliders.get("image") or next(iter(window.panels["fusion"].sliders.values()))
    state.current = 0
    if not hasattr(panel, "rows_for_export"):
        return {"error": "the Matches panel is not available"}
    if run_until(lambda: bool(_similar_scores(panel)), 300) is None:
        return {"error": "the match lists never appeared"}
    umaps: list[float] = []
    model.layout_ready.connect(lambda _p, kind: kind == "umap" and umaps.append(time.perf_counter()))
    lists_ms, map_s = [], []
    for i in range(trials):
        before = _similar_scores(panel)
        seen = len(umaps)
        value = 0.2 if i % 2 == 0 else 1.5
        t0 = time.perf_counter()
        slider.setValue(value)  # the last step of a drag, then the release
        slider.sliderReleased.emit()
        t1 = time.perf_counter()
        took = run_until(lambda b=before: _similar_scores(panel) not in ([], b), 60)
        if took is not None:
            lists_ms.append((t1 - t0 + took) * 1000)
        if run_until(lambda s=seen: len(umaps) > s, 300) is not None:
            map_s.append(umaps[-1] - t0)
    return {"trials": trials,
            "to_match_lists_ms": _stats(lists_ms, 2),
            "to_umap_map_s": _stats(map_s, 2)}


def _stats(values, digits) -> dict:
    if not values:
        return {}
    return {"median": round(statistics.median(values), digits), "max": round(max(values), digits),
            "min": round(min(values), digits)}


STARTUP_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from PySide6.QtCore import QSettings, QTimer
from mmviewer.gui.app import create_app
app = create_app()
from mmviewer.gui.main_window import MainWindow
t_import = time.perf_counter()
window = MainWindow(settings=QSettings({ini!r}, QSettings.Format.IniFormat))
window.show()
window.model.layouts.warm_up()  # as run_gui does
t_show = time.perf_counter()
def ready():
    print(json.dumps({{"imports_s": t_import - t0, "window_s": t_show - t_import,
                      "in_process_s": time.perf_counter() - t0}}), flush=True)
    app.quit()
QTimer.singleShot(0, ready)
app.exec()
"""


def measure_startup(runs: int = 3) -> dict:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        code = STARTUP_CHILD.format(root=str(ROOT), ini=str(Path(tmp) / "s.ini"))
        for _ in range(runs):
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
            line = proc.stdout.readline()
            elapsed = time.perf_counter() - t0
            proc.wait(timeout=60)
            if line.strip():
                inner = json.loads(line)
                out.append({"startup_s": elapsed, **inner})
    if not out:
        return {"error": "the window did not start"}
    best = min(out, key=lambda r: r["startup_s"])
    return {"runs": len(out), "startup_s": round(statistics.median(r["startup_s"] for r in out), 3),
            "startup_min_s": round(best["startup_s"], 3),
            "imports_s": round(best["imports_s"], 3), "window_s": round(best["window_s"], 3)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--items", type=int, default=300, help="dataset size (default: %(default)s)")
    p.add_argument("--data", default=None, help="use this dataset instead of generating one")
    p.add_argument("--clip-random", action="store_true",
                   help="CLIP ViT-B-32 with random weights instead of the offline encoders")
    p.add_argument("--trials", type=int, default=5, help="slider trials (default: %(default)s)")
    args = p.parse_args()

    from PySide6.QtCore import QSettings

    from mmviewer.core.embed.options import EmbedOptions
    from mmviewer.gui.app import create_app
    from mmviewer.gui.main_window import MainWindow

    folder = Path(args.data) if args.data else dataset(args.items)
    options = (EmbedOptions(offline=False, clip_pretrained="random", use_store=False)
               if args.clip_random else EmbedOptions(offline=True, use_store=False))
    log(f"dataset: {folder}")
    startup = measure_startup()
    log(f"startup: {startup}")
    app = create_app()
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, options=options)
        window.ask_encoders = False
        window.resize(1400, 900)
        window.show()
        run_until(lambda: False, 0.3)  # let the window settle
        imported = measure_import(window, folder, options)
        log(f"import: {imported}")
        slider = measure_slider(window, args.trials)
        log(f"slider: {slider}")
        window.close()
    del app
    result = {
        "benchmark": "gui", "platform": os.environ.get("QT_QPA_PLATFORM"),
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "dataset": str(folder), "encoders": "clip-random" if args.clip_random else "offline",
        "import": imported, "slider": slider, "startup": startup,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
