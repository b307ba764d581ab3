"""The systematic bad-input suite: one folder holding every kind of trouble users bring.

For each case: the scan and the embedding finish, every good item is embedded, every bad file
is in the import report with a reason a person understands, and nothing outside the dataset
folder is opened (Python-level opens are audited; media references are checked for
confinement, which also covers libsndfile's C-level opens).
"""

from __future__ import annotations

import os
import sys

import numpy as np
from PIL import Image

from mmviewer.core.data.open import open_dataset
from mmviewer.core.embed.job import embed_dataset
from mmviewer.core.embed.options import EmbedOptions, choose_encoders
from mmviewer.core.runtime.generators import run_to_end
from mmviewer.core.store.embedding_store import EmbeddingStore

GOOD = {
    "good/palette": "image", "good/rgba": "image", "good/cmyk": "image", "good/sixteen": "image",
    "good/rotated": "image", "good/UPPER": "image", "good/huge_jpeg": "image",
    "good/eight_bit": "audio", "good/stereo48k": "audio", "good/clip": "audio",
    "good/vorbis": "audio", "good/ten_minutes": "audio",
    "good/latin1": "text", "good/megabyte": "text", "good/unicode é 名前": "text",
    "good/only_text": "text",
}


def build(root, outside, make):
    g = root / "good"
    Image.new("P", (32, 32), 3).save(g.mkdir(parents=True) or g / "palette.png")
    Image.new("RGBA", (32, 32), (10, 20, 30, 128)).save(g / "rgba.png")
    Image.new("CMYK", (32, 32), (0, 50, 100, 0)).save(g / "cmyk.tif")
    Image.fromarray((np.arange(1024).reshape(32, 32) * 60).astype(np.uint16)).save(g / "sixteen.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (40, 20), (1, 2, 3)).save(g / "rotated.jpg", exif=exif)
    make.image(g / "UPPER.JPEG", fmt="JPEG")
    Image.new("RGB", (9000, 8000), (200, 100, 0)).save(g / "huge_jpeg.jpg", quality=30)  # 72 Mpx
    make.tone(g / "eight_bit.wav", rate=8000, subtype="PCM_U8", fmt="WAV")
    make.tone(g / "stereo48k.wav", rate=48000, channels=2, fmt="WAV")
    make.tone(g / "clip.flac", fmt="FLAC")
    make.tone(g / "vorbis.ogg", fmt="OGG", subtype="VORBIS")
    make.tone(g / "ten_minutes.wav", seconds=600, rate=8000, fmt="WAV")
    make.text(g / "latin1.txt", "crème brûlée à la française", "latin-1")
    make.text(g / "megabyte.txt", "lorem ipsum dolor " * 60_000)
    make.text(g / "unicode é 名前.txt", "unicode name")
    make.text(g / "only_text.md", "an item with one modality")
    deep = root
    for i in range(40):
        deep = deep / f"level{i}"
    make.text(deep / "deep.txt", "deeply nested")

    b = root / "bad"
    b.mkdir()
    (b / "random.png").write_bytes(np.random.default_rng(0).bytes(3000))
    full = make.image(b / "tmp.jpg", size=(300, 300), fmt="JPEG")
    (b / "truncated.jpg").write_bytes(full.read_bytes()[:400])
    full.unlink()
    (b / "zero.png").write_bytes(b"")
    Image.new("L", (12_000, 10_000), 7).save(b / "flat_huge.png")  # 1.2e8 px, small file
    (b / "zero.wav").write_bytes(b"")
    (b / "text.wav").write_text("this is not audio")
    (b / "empty.txt").write_text("   \n")
    (b / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 200)
    (b / "unknown.xyz").write_text("?")
    for junk in (".DS_Store", "Thumbs.db", ".hidden.txt"):
        (root / junk).write_bytes(b"junk")
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "._x.png").write_bytes(b"junk")

    make.text(outside / "secret.txt", "outside the dataset")
    make.image(outside / "secret.png")
    os.symlink(outside / "secret.txt", root / "bad" / "link_out.txt")
    os.symlink(root / "bad", root / "bad" / "loop")
    return root


def test_every_bad_input_is_reported_and_every_good_item_embedded(tmp_path, make):
    root = build(tmp_path / "dataset", tmp_path / "outside", make)
    outside = str(tmp_path / "outside")
    opened_outside: list[str] = []

    def audit(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.fsdecode(args[0]) if not isinstance(args[0], os.PathLike) else os.fspath(args[0])
            if path.startswith(outside):
                opened_outside.append(path)

    sys.addaudithook(audit)
    ds = open_dataset(root)
    for item in ds.items:
        for ref in item.media.values():
            assert ref.path is None or str(ref.path).startswith(str(root)), ref.path
    options = EmbedOptions(offline=True)
    encoders, _ = choose_encoders(options)
    result = run_to_end(embed_dataset(ds, encoders, EmbeddingStore.for_dataset(ds.root), workers=2))
    assert opened_outside == []

    table_ids = set(result.table.ids)
    for item_id, modality in GOOD.items():
        assert item_id in table_ids, f"{item_id} was not embedded"
        assert result.table.present[modality][result.table.index_of(item_id)]
    assert any(i.endswith("deep") for i in table_ids)

    skipped = {p.path: p.reason for p in result.report.skipped}
    expected = {
        "bad/random.png": "not a readable image",
        "bad/truncated.jpg": "truncated",
        "bad/zero.png": "empty file",
        "bad/flat_huge.png": "too large",
        "bad/zero.wav": "empty file",
        "bad/text.wav": "not a readable audio file",
        "bad/empty.txt": "empty text",
        "bad/binary.txt": "binary",
        "bad/unknown.xyz": "unsupported file type",
        "bad/link_out.txt": "outside the dataset folder",
    }
    for path, reason in expected.items():
        assert path in skipped, f"{path} missing from the report"
        assert reason in skipped[path], f"{path}: {skipped[path]!r}"
    assert not any("DS_Store" in p or "MACOSX" in p or "Thumbs" in p or "hidden" in p for p in skipped)
    notes = {p.path: p.reason for p in result.report.notes}
    assert "only the first" in notes["good/ten_minutes.wav"]
    assert "not UTF-8" in notes["good/latin1.txt"]
    assert "decoded at" in notes["good/huge_jpeg.jpg"]
    assert "already scanned" in notes["bad/loop"]
    # Every skipped item's good siblings still made it: nothing was lost to a neighbour's fault.
    assert len(table_ids) == len({*GOOD, *[i for i in table_ids if i.endswith("deep")]})
