"""Peak memory and time of the worst single hostile file of each class (issue 15).

Each file is small on disk and made to cost as much as it can: a 64 Mpx 16-bit PNG (0.14 MB),
the largest RGBA and float images the budget accepts, a 64 Mpx RGBA PNG (refused), a 50 MB
non-UTF-8 text, 60 s of 8-channel 96 kHz audio, a 3 MB NPZ that declares 3 GB, a data.csv with
an 8 MB cell. Each is loaded the way the embedding job loads it (offline encoder ``prepare``;
TF-IDF also fitted and applied; a table opened) in a fresh process, and the process's peak RSS
above its resident size once imports are done (``VmHWM``, reset through ``/proc/self/clear_refs``)
is printed with the time and the outcome. Linux only.

    python benchmarks/bench_hostile.py [--json] [--only KEY,...]
    MMVIEWER_BENCH_SRC=/path/to/older/checkout python benchmarks/bench_hostile.py   # compare
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
from benchlib import SCRATCH, SRC, parser, wanted

CHILD = r"""
import json, sys, time
from pathlib import Path
kind, path = sys.argv[1], Path(sys.argv[2])
from mmviewer.core.data.model import MediaRef
from mmviewer.core.data.open import open_dataset
from mmviewer.core.encoders import default_encoders
import numpy, PIL.Image, sklearn.feature_extraction.text, librosa, soundfile, pyarrow
encoders, _ = default_encoders(offline=True)
def status_mb(field):
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith(field)) / 1024
with open("/proc/self/clear_refs", "w") as fh:  # resets VmHWM: the peak counts from here
    fh.write("5")
base, t0 = status_mb("VmRSS"), time.perf_counter()
try:
    if kind == "table":
        outcome = f"opened: {len(open_dataset(path).items)} items"
    elif kind == "manifest":
        ds = open_dataset(path)
        outcome = f"{len(ds.items)} items, {len(ds.report.skipped)} skipped"
    else:
        enc = encoders[kind]
        loaded = enc.prepare(MediaRef(kind, path=path.resolve(), rel=path.name))
        if enc.needs_fit:
            enc.fit([loaded.value])
        if kind == "text":
            enc.encode([loaded.value])
        outcome = "decoded" + "".join(f"; {n}" for n in loaded.notes)
except Exception as err:
    outcome = f"{type(err).__name__}: {err}"
print(json.dumps({"peak_mb": round(status_mb("VmHWM") - base), "seconds": round(time.perf_counter() - t0, 2),
                  "outcome": outcome[:200]}))
"""


def make_files(folder: Path) -> dict[str, tuple[str, Path]]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    files = {}

    def once(key, kind, name, build):
        path = folder / name
        if not path.exists():
            build(path)
        files[key] = (kind, path)

    once("png_grey16_64mpx", "image", "grey16.png",
         lambda p: Image.fromarray(np.tile(np.arange(8000, dtype=np.uint16) * 8, (8000, 1))).save(p))
    once("png_rgba_48mpx", "image", "rgba48.png", lambda p: Image.new("RGBA", (7000, 7000), (9, 8, 7, 6)).save(p))
    once("tiff_float_47mpx", "image", "float.tif",
         lambda p: Image.new("F", (6900, 6900), 0.5).save(p, compression="tiff_adobe_deflate"))
    once("png_rgba_64mpx", "image", "rgba64.png", lambda p: Image.new("RGBA", (8000, 8000), (9, 8, 7, 6)).save(p))
    once("jpeg_72mpx", "image", "big.jpg", lambda p: Image.new("RGB", (9000, 8000), (200, 90, 10)).save(p, quality=30))
    once("text_50mb_cp1252", "text", "long.txt", _long_text)
    once("wav_8ch_96khz_60s", "audio", "wide.wav", _wide_audio)
    once("npz_3gb_declared", "table", "bomb.npz", _npz_bomb)
    once("csv_8mb_cell", "manifest", "manifest", _big_cell)
    return files


def _long_text(path: Path) -> None:
    line = ("crème brûlée à la française, numéro " * 8 + "\n").encode("cp1252")
    with open(path, "wb") as fh:
        for _ in range(50 * 1024**2 // len(line)):
            fh.write(line)


def _wide_audio(path: Path) -> None:
    import soundfile as sf

    rate, channels = 96_000, 8
    with sf.SoundFile(str(path), "w", rate, channels, "PCM_16") as out:
        t = np.arange(rate) / rate
        second = np.stack([0.2 * np.sin(2 * np.pi * (200 + 50 * c) * t) for c in range(channels)], axis=1)
        for _ in range(60):
            out.write(second)


def _npz_bomb(path: Path) -> None:
    from numpy.lib import format as npy

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("ids.npy", "w") as fh:
            np.save(fh, np.array([str(i) for i in range(10)]))
        for name in ("image", "text"):
            with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                npy.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (750_000, 512)})
                left = 750_000 * 512 * 4
                while left:
                    fh.write(bytes(min(left, 1 << 24)))
                    left -= min(left, 1 << 24)


def _big_cell(folder: Path) -> None:
    from PIL import Image

    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (32, 32), (50 * i, 9, 9)).save(folder / f"g{i}.png")
    (folder / "data.csv").write_text("id,image,text\na,g0.png,first\n"
                                     f"b,g1.png,{'word ' * 1_700_000}\nc,g2.png,third\n")


def measure(kind: str, path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], capture_output=True,
                             text=True, env=env, timeout=600)
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, IndexError, ValueError) as err:
        return {"peak_mb": None, "seconds": None, "outcome": f"no result ({type(err).__name__})"}


def main() -> None:
    args = parser(__doc__).parse_args()
    files = make_files(SCRATCH / "hostile")
    results = {}
    for key, (kind, path) in files.items():
        if not wanted(args, key):
            continue
        size = sum(f.stat().st_size for f in path.rglob("*")) if path.is_dir() else path.stat().st_size
        results[key] = {"file_mb": round(size / 1024**2, 2), **measure(kind, path)}
        if not args.json:
            r = results[key]
            print(f"{key:22s} {r['file_mb']:8.2f} MB on disk  peak +{r['peak_mb']} MB  {r['seconds']} s  {r['outcome']}",
                  flush=True)
    if args.json:
        print(json.dumps({"code": str(SRC), "results": results}))


if __name__ == "__main__":
    main()
