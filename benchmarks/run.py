"""Every performance figure of issues 5 and 12, as one JSON object.

    python benchmarks/run.py --quick --json          # small sizes, a smoke run
    python benchmarks/run.py --json                  # the full sizes (see benchmarks/RESULTS.md)
    python benchmarks/run.py --only startup_s,map_fps_1m

Each figure comes from a benchmark script run as its own subprocess (``--json``, ``--quick``
passed through), so memory peaks, numba and Qt state never leak between figures. Every figure
is a ratio against a baseline measured in the same run (or an absolute time/size where the
target is one), with ``<key>_abs`` holding the absolute times and sizes behind it, and
``targets_met`` saying, key by key, whether the target is met (null when the figure is
missing). A script that is absent or fails gives null figures and its error under ``errors``.
Nothing here asserts anything about time.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: key -> (comparison, target, script that measures it)
TARGETS: dict[str, tuple[str, float, str]] = {
    "slider_update_ratio": ("<=", 3.0, "bench_matches.py"),
    "map_redraw_speedup": (">=", 10.0, "bench_map.py"),
    "map_fps_1m": (">=", 30.0, "bench_map.py"),
    "first_layout_ratio": ("<=", 0.02, "bench_layout.py"),
    "warm_layout_ratio": ("<=", 0.25, "bench_layout.py"),
    "umap_1m_peak_gib": ("<", 24.0, "bench_layout.py"),
    "reopen_100k_s": ("<=", 2.0, "bench_reopen.py"),
    "embed_pipeline_ratio": (">=", 0.9, "bench_embed.py"),
    "mfcc_parallel_speedup": (">=", 1.6, "bench_embed.py"),
    "startup_s": ("<=", 3.0, "bench_gui.py"),
    "peak_mem_ratio_1m": ("<=", 2.0, "bench_memory.py"),
    # The assembled window played as a user does (issue 12); at 1M items, 100k with --quick.
    "scenario_open_ratio": ("<=", 2.0, "bench_scenario.py"),
    "scenario_first_picture_s": ("<=", 10.0, "bench_scenario.py"),
    "scenario_umap_s": ("<=", 180.0, "bench_scenario.py"),
    "scenario_lists_s": ("<=", 2.0, "bench_scenario.py"),
    "scenario_metrics_s": ("<=", 60.0, "bench_scenario.py"),
    "scenario_quit_s": ("<=", 2.0, "bench_scenario.py"),
    "scenario_rss_budget_ratio": ("<=", 1.0, "bench_scenario.py"),
    "scenario_pss_budget_ratio": ("<=", 1.0, "bench_scenario.py"),
    # Swapped media found (issue 14): digits, 5 % of the audio swapped between different digits.
    "suspects_digits_audio5_precision": (">=", 0.95, "bench_suspects.py"),
    "suspects_digits_audio5_odd": (">=", 0.9, "bench_suspects.py"),
}
OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt}
#: Scripts written by this suite accept --only; the others are run whole.
TAKES_ONLY = {"bench_layout.py", "bench_embed.py"}
#: With --quick a script may report a key under another name (bench_map: 100k, "map_fps").
QUICK_ALIASES = {"map_fps_1m": "map_fps"}


def accepts(path: Path, flag: str) -> bool:
    """Whether a script's ``--help`` mentions ``flag`` (colleagues' scripts may lack --quick)."""
    try:
        out = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True,
                             timeout=120, cwd=HERE.parent)
    except subprocess.TimeoutExpired:
        return False
    return flag in out.stdout


def run_script(script: str, keys: list[str], quick: bool, timeout: float) -> tuple[dict, str | None, float]:
    """``(figures, error or None, seconds)`` of one script run as a subprocess."""
    path = HERE / script
    t0 = time.perf_counter()
    if not path.is_file():
        return {}, f"{script} does not exist (yet)", 0.0
    cmd = [sys.executable, str(path), "--json"]
    if quick and accepts(path, "--quick"):
        cmd.append("--quick")
    if script in TAKES_ONLY:
        cmd += ["--only", ",".join(keys)]
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent, env=env)
    except subprocess.TimeoutExpired:
        return {}, f"{script} timed out after {timeout:.0f} s", time.perf_counter() - t0
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
        return {}, f"{script} exited {out.returncode}: {' | '.join(tail)}", seconds
    for line in reversed(out.stdout.strip().splitlines()):
        try:
            figures = json.loads(line)
        except ValueError:
            continue
        if isinstance(figures, dict):
            return figures, None, seconds
    return {}, f"{script} printed no JSON object", seconds


def merge(keys: list[str], figures: dict, quick: bool) -> dict:
    """This script's keys plus ``<key>_abs``: the script's own ``_abs`` or, for scripts that
    print flat figures, everything else it printed."""
    out = {}
    extra = {k: v for k, v in figures.items()
             if k not in TARGETS and not k.endswith("_abs") and k not in ("quick",)}
    for key in keys:
        value = figures.get(key)
        details = figures.get(f"{key}_abs", extra if extra else None)
        if value is None and quick and QUICK_ALIASES.get(key) in figures:
            value = figures[QUICK_ALIASES[key]]
        if value is None:  # one level down, e.g. bench_gui's {"startup": {"startup_s": ...}}
            for sub in figures.values():
                if isinstance(sub, dict) and sub.get(key) is not None:
                    value, details = sub[key], sub
                    break
        out[key] = value
        out[f"{key}_abs"] = details
    return out


def met(key: str, value) -> bool | None:
    if value is None:
        return None
    op, target, _ = TARGETS[key]
    return bool(OPS[op](float(value), target))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under a minute unloaded)")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--only", default="", help="comma-separated keys (default: all)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per script")
    args = parser.parse_args(argv)
    only = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in only if k not in TARGETS]
    if unknown:
        parser.error(f"unknown keys {unknown}; known: {', '.join(TARGETS)}")
    keys = only or list(TARGETS)
    by_script: dict[str, list[str]] = {}
    for key in keys:
        by_script.setdefault(TARGETS[key][2], []).append(key)

    sys.path.insert(0, str(HERE))
    from benchlib import parallel_capacity

    capacity = [parallel_capacity()]
    t0 = time.perf_counter()
    result: dict = {"quick": args.quick, "command": " ".join(["python", "benchmarks/run.py"] + (argv or sys.argv[1:]))}
    errors, seconds = {}, {}
    for script, script_keys in by_script.items():
        if not args.json:
            print(f"running {script} ({', '.join(script_keys)})...", file=sys.stderr, flush=True)
        figures, error, secs = run_script(script, script_keys, args.quick, args.timeout)
        seconds[script] = round(secs, 1)
        result.update(merge(script_keys, figures, args.quick))
        for key in script_keys:
            if error is not None:
                errors[key] = error
            elif result.get(key) is None:
                abs_ = figures.get(f"{key}_abs")
                errors[key] = (abs_.get("error") if isinstance(abs_, dict) else None) or f"{script} gave no {key}"
    result["targets"] = {k: f"{TARGETS[k][0]} {TARGETS[k][1]:g}" for k in keys}
    result["targets_met"] = {k: met(k, result.get(k)) for k in keys}
    result["errors"] = errors
    result["script_seconds"] = seconds
    result["total_seconds"] = round(time.perf_counter() - t0, 1)
    capacity.append(parallel_capacity())
    # Cores this run could get (2.0 = both idle), before and after: the machine is shared.
    result["parallel_capacity"] = capacity
    try:
        result["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    if args.json:
        print(json.dumps(result))
    else:
        for key in keys:
            print(f"{key:24s} {result.get(key)!s:>10}  target {result['targets'][key]:>8}  "
                  f"met: {result['targets_met'][key]}", file=sys.stderr)
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
