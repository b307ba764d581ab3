"""Hostile datasets, as an attacker would make them: each case a tiny generated folder.

For every case: the run finishes (no hang), runs no program, touches nothing outside the
dataset folder (tests/hostile.py), reports the bad file with its reason, and imports the good
items. Store and snapshot attacks are in tests/core/store/test_hostile_store.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmviewer.core.data.media import MediaError, load_audio, load_text
from mmviewer.core.data.model import LoadLimits, MediaRef
from mmviewer.core.data.open import open_dataset
from mmviewer.core.data.precomputed import PrecomputedError
from mmviewer.core.embed.job import embed_dataset
from mmviewer.core.embed.options import EmbedOptions, choose_encoders
from mmviewer.core.runtime.generators import run_to_end
from mmviewer.core.store.embedding_store import EmbeddingStore
from tests.hostile import assert_imported, embed, finishes, good_items, reasons, unblock, watch

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n(printed by PostScript) print flush\nshowpage\n"


@pytest.fixture
def fake_programs(tmp_path, monkeypatch):
    """``gs`` and ``ffmpeg`` on PATH that only record that they ran (as the real ones would
    run: Ghostscript executes PostScript, ffmpeg follows playlists to other files and hosts)."""
    bin_dir, log = tmp_path / "bin", tmp_path / "ran.log"
    bin_dir.mkdir()
    for name in ("gs", "ffmpeg", "ffprobe"):
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\necho {name} \"$@\" >> {log}\nexit 1\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


# -- 1. nothing runs on dataset content ------------------------------------------------------------
def test_postscript_named_png_and_a_playlist_named_mp3_run_nothing(tmp_path, make, fake_programs):
    folder = tmp_path / "ds"
    good = good_items(folder, make)
    (folder / "evil.png").write_bytes(EPS)  # Pillow sniffs EPS and hands it to Ghostscript
    (folder / "evil2.jpg").write_bytes(EPS.replace(b"EPSF-3.0", b""))
    playlist = f"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile://{tmp_path}/outside/secret.wav\n#EXT-X-ENDLIST\n"
    (folder / "evil.mp3").write_text(playlist)  # libsndfile refuses it; audioread gave it to ffmpeg
    make.tone(tmp_path / "outside" / "secret.wav")
    with watch(tmp_path / "outside"):
        result = finishes(embed, folder)
    assert not fake_programs.exists(), fake_programs.read_text()
    assert_imported(result, good)
    why = reasons(result)
    assert "not a readable image" in why["evil.png"] and "not a readable image" in why["evil2.jpg"]
    assert "not a readable audio file" in why["evil.mp3"]


@pytest.mark.slow
def test_embed_json_stays_one_object_and_leaves_no_temporary_files(tmp_path, make):
    """Ghostscript printed PostScript's output onto stdout, ahead of the JSON summary, and
    Pillow left its temporary files; a gs that prints and succeeds stands in for it here."""
    folder, tmp = tmp_path / "ds", tmp_path / "tmp"
    good_items(folder, make, 2)
    (folder / "evil.png").write_bytes(EPS)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tmp.mkdir()
    (bin_dir / "gs").write_text("#!/bin/sh\necho printed by PostScript\nexit 0\n")
    (bin_dir / "gs").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", TMPDIR=str(tmp),
               PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    out = subprocess.run([sys.executable, "-m", "mmviewer", "embed", str(folder), "--offline", "--json"],
                         capture_output=True, text=True, env=env, timeout=300, stdin=subprocess.DEVNULL)
    summary = json.loads(out.stdout)  # one object, nothing before it
    assert out.returncode == 0 and summary["items"] == 2
    assert any(p["path"] == "evil.png" for p in summary["skipped"])
    assert [p.name for p in tmp.iterdir() if not p.name.startswith("pymp-")] == []


def test_m4a_is_decoded_in_process_and_an_mp4_only_by_its_own_demuxer(tmp_path, make, fake_programs):
    av = pytest.importorskip("av")
    folder = tmp_path / "ds"
    good = good_items(folder, make, 2)
    with av.open(str(folder / "good0.m4a"), "w", format="mp4") as out:  # a real AAC clip
        stream = out.add_stream("aac", rate=22050)
        t = np.arange(22050) / 22050
        frame = av.AudioFrame.from_ndarray((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None],
                                           format="fltp", layout="mono")
        frame.rate = 22050
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    (folder / "good1.m4a").write_bytes(b"\0\0\0\x18ftypM4A " + b"#EXTM3U\nfile:///etc/passwd\n" * 4)
    with watch(tmp_path / "outside"):
        result = finishes(embed, folder)
    assert not fake_programs.exists()
    assert_imported(result, {**good, "good0": ("image", "text", "audio")})
    assert "not a readable audio file" in reasons(result)["good1.m4a"]


# -- 4. one odd file stops nothing --------------------------------------------------------------
def test_a_file_name_that_is_not_utf8_is_reported_and_the_rest_imported(tmp_path, make):
    folder = tmp_path / "ds"
    good = good_items(folder, make)
    with open(os.fsencode(folder) + b"/caf\xe9.txt", "w") as fh:  # Latin-1 bytes in a name
        fh.write("a caption whose name is not UTF-8")
    os.mkdir(os.fsencode(folder) + b"/dir\xff")
    with watch(tmp_path / "outside"):
        result = finishes(embed, folder)
    assert_imported(result, good)
    why = reasons(result)
    assert "not valid UTF-8" in why["caf\\xe9.txt"] and "folder name" in why["dir\\xff"]


def test_manifest_rows_cells_and_lines_fail_alone(tmp_path, make):
    csv_ds, hf_ds = tmp_path / "csv", tmp_path / "hf"
    for folder in (csv_ds, hf_ds):
        for i in range(3):
            make.image(folder / f"g{i}.png", (70 * i, 40, 90))
    long_caption = "word " * 30_000  # 150 KB: over the csv module's default 128 KiB cell limit
    (csv_ds / "data.csv").write_text(
        f"id,image,text\na,g0.png,first\nb,g1.png,{long_caption}\nc,g2.png,\"unterminated\n")
    deep = "[" * 200_000 + "]" * 200_000
    (hf_ds / "metadata.jsonl").write_text(
        '{"file_name": "g0.png", "text": "zero"}\n'
        f'{{"file_name": "g1.png", "x": {deep}}}\n'
        '{"file_name": "g2.png", "text": "two"}\n')
    with watch(tmp_path / "outside"):
        csv_result = finishes(embed, csv_ds)
        hf_result = finishes(embed, hf_ds)
    assert_imported(csv_result, {"a": ("image", "text"), "b": ("image", "text")})
    assert "were embedded" in reasons(csv_result)["data.csv:3 (text)"]  # long, so cut, not refused
    assert_imported(hf_result, {"g0": ("image", "text"), "g2": ("image", "text")})
    assert "nested too deeply" in reasons(hf_result)["metadata.jsonl:2"]
    small = open_dataset(csv_ds, LoadLimits(max_text_bytes=100_000))  # a cell over the limit
    assert [i.id for i in small.items] == ["a", "c"]  # the row after it still counts
    assert "longer than 100,000 characters" in {p.path: p.reason for p in small.report.skipped}["data.csv:3"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_texts_and_manifests_are_read(tmp_path, make, encoding):
    folder = tmp_path / "ds"
    good = good_items(folder, make, 2)
    make.text(folder / "good0.txt", "a caption in UTF-16 with accents: crème brûlée", encoding)
    manifest_ds = tmp_path / "manifest"
    make.image(manifest_ds / "m.png")
    make.text(manifest_ds / "data.csv", "id,image,text\nm,m.png,légende\n", encoding)
    with watch(tmp_path / "outside"):
        result = finishes(embed, folder)
        manifest_result = finishes(embed, manifest_ds)
    assert_imported(result, good)
    assert "not UTF-8; read as UTF-" in reasons(result)["good0.txt"]
    assert_imported(manifest_result, {"m": ("image", "text")})
    assert load_text(MediaRef("text", path=folder / "good0.txt")).value.endswith("crème brûlée")


def test_every_text_unreadable_still_embeds_the_images(tmp_path, make):
    folder = tmp_path / "ds"
    for i in range(2):
        make.image(folder / f"x{i}.png", (90 * i, 10, 10))
        (folder / f"x{i}.txt").write_bytes(b"\x00\x01\x02\x03" * 64)
    result = finishes(embed, folder)
    assert_imported(result, {"x0": ("image",), "x1": ("image",)})
    assert "binary" in reasons(result)["x0.txt"]


def test_a_fifo_or_a_link_swapped_in_after_the_scan_is_refused(tmp_path, make):
    folder, outside = tmp_path / "ds", tmp_path / "outside"
    good = good_items(folder, make, 2)
    make.image(folder / "late_fifo.png")
    make.image(folder / "late_link.png")
    make.image(outside / "secret.png", (1, 2, 3))
    ds = open_dataset(folder)
    (folder / "late_fifo.png").unlink()
    os.mkfifo(folder / "late_fifo.png")  # a read would wait for a writer forever
    (folder / "late_link.png").unlink()
    os.symlink(outside / "secret.png", folder / "late_link.png")
    encoders, _ = choose_encoders(EmbedOptions(offline=True))
    try:
        with watch(outside):
            result = finishes(lambda: run_to_end(embed_dataset(ds, encoders, EmbeddingStore.for_dataset(ds.root))), timeout_s=60)
    finally:
        unblock(folder / "late_fifo.png")
    assert_imported(result, good)
    why = reasons(result)
    assert "not a regular file" in why["late_fifo.png"] and "symbolic link" in why["late_link.png"]
    assert "late_link" not in set(map(str, result.table.ids))


def test_a_decoder_that_never_returns_costs_one_file(tmp_path, make, monkeypatch):
    """A decode stuck inside a library (spinning on a crafted file, a stalled network drive)
    is given up on after the per-file limit; the job finishes and reports it."""
    import threading

    from mmviewer.core.embed import deadline

    monkeypatch.setattr(deadline, "FILE_SECONDS", 2.0)
    monkeypatch.setattr(deadline, "ABANDONED", 0)
    folder = tmp_path / "ds"
    good = good_items(folder, make, 3)
    make.image(folder / "stall.png")
    ds = open_dataset(folder)
    encoders, _ = choose_encoders(EmbedOptions(offline=True))
    release, image = threading.Event(), encoders["image"]
    decode = image.prepare
    image.prepare = lambda ref: (release.wait() if ref.rel == "stall.png" else None) or decode(ref)
    try:
        result = finishes(lambda: run_to_end(embed_dataset(ds, encoders, EmbeddingStore.for_dataset(ds.root), workers=2)),
                          timeout_s=60)
    finally:
        release.set()
    assert_imported(result, good)
    assert "took longer than 2 s" in reasons(result)["stall.png"]
    assert deadline.ABANDONED == 1


# -- 6. memory in proportion ----------------------------------------------------------------------
PEAK = textwrap.dedent("""
    import resource, sys
    from pathlib import Path
    from mmviewer.core.data.media import load_image
    from mmviewer.core.data.model import MediaRef
    import numpy, PIL.Image
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        load_image(MediaRef("image", path=Path(sys.argv[1])))
        outcome = "decoded"
    except Exception as err:
        outcome = str(err)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024, outcome)
""")


@pytest.mark.slow
@pytest.mark.parametrize("mode,bits", [("I;16", 16), ("RGBA", 8)])
def test_a_small_png_costs_a_few_hundred_mb_at_most(tmp_path, mode, bits):
    """64 Mpx of a gradient is a 0.2 MB PNG: its 16-bit grey took 1.1 GB to convert, RGBA 1.2 GB."""
    path = tmp_path / "flat.png"
    if mode == "I;16":
        Image.fromarray(np.tile(np.arange(8000, dtype=np.uint16) * 8, (8000, 1))).save(path)
    else:
        Image.new(mode, (8000, 8000), (1, 2, 3, 4)).save(path)
    assert path.stat().st_size < 500_000
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    out = subprocess.run([sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True,
                         env=env, check=True, timeout=120).stdout.split(" ", 1)
    extra_mb, outcome = int(out[0]), out[1].strip()
    assert extra_mb < 600, f"{mode}: +{extra_mb} MB ({outcome})"
    assert outcome == "decoded" if mode == "I;16" else "too large to decode safely" in outcome


def test_an_npz_bomb_is_refused_from_its_headers(tmp_path):
    """A 0.6 MB NPZ that declares 600 MB of zeros (and ids that do not match) is refused before
    anything is decompressed; it used to be decompressed whole, then refused."""
    import zipfile

    from numpy.lib import format as npy

    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("ids.npy", "w") as fh:
            np.save(fh, np.array(["a", "b"]))
        with zf.open("image.npy", "w", force_zip64=True) as fh:
            npy.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (300_000, 512)})
            left = 300_000 * 512 * 4
            while left:
                fh.write(bytes(min(left, 1 << 22)))
                left -= min(left, 1 << 22)
    assert path.stat().st_size < 1_000_000
    with pytest.raises(PrecomputedError, match="decompression bomb"):
        finishes(open_dataset, path)


def test_a_presence_mask_of_the_wrong_length_is_refused(tmp_path):
    path = tmp_path / "t.npz"
    np.savez(path, ids=np.array(["a", "b", "c"]), image=np.eye(3, 4, dtype=np.float32),
             image_present=np.array([True, False]))
    with pytest.raises(PrecomputedError, match="image_present.*3 items"):
        open_dataset(path)


def test_long_text_is_detected_on_a_sample_and_embedded_in_part(tmp_path, make, monkeypatch):
    """A 50 MB text took 70 s and 1.5 GB: charset detection saw 8 MiB, TF-IDF all of it."""
    import charset_normalizer

    seen = []
    real = charset_normalizer.from_bytes
    monkeypatch.setattr(charset_normalizer, "from_bytes", lambda data, *a, **k: seen.append(len(data)) or real(data, *a, **k))
    folder = tmp_path / "ds"
    good = good_items(folder, make, 2)
    (folder / "good0.txt").write_bytes(("crème brûlée à la française\n" * 70_000).encode("cp1252"))
    result = finishes(embed, folder)
    assert_imported(result, good)
    assert seen and max(seen) <= 64 * 1024
    assert "were embedded" in reasons(result)["good0.txt"] and "read as cp1252" in reasons(result)["good0.txt"]


def test_audio_whose_decode_exceeds_its_budget_is_refused_before_decoding(tmp_path, make):
    path = make.tone(tmp_path / "wide.wav", seconds=2, rate=48000, channels=8)
    with pytest.raises(MediaError, match="too large to decode safely"):
        load_audio(MediaRef("audio", path=path), LoadLimits(max_audio_bytes=1024**2))
    samples, rate = load_audio(MediaRef("audio", path=path)).value
    assert rate == 16000 and len(samples) == 32000
