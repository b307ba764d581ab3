"""Media loaders on the bad and unusual inputs users really have."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mmviewer.core.data.media import MediaError, load_audio, load_image, load_text
from mmviewer.core.data.model import LoadLimits, MediaRef


def img(path):
    return MediaRef("image", path=path)


@pytest.mark.parametrize("mode", ["P", "RGBA", "L", "LA", "CMYK", "I;16", "1", "I", "F"])
def test_every_image_mode_becomes_rgb(tmp_path, make, mode):
    fmt = "TIFF" if mode in ("CMYK", "I", "F") else "PNG"
    if mode == "I;16":
        p = tmp_path / "x16.png"
        Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 20).astype(np.uint16)).save(p)
        assert Image.open(p).mode.startswith("I")
    else:
        p = make.image(tmp_path / f"x.{fmt.lower()}", mode=mode, fmt=fmt)
    loaded = load_image(img(p))
    assert loaded.value.mode == "RGB" and loaded.value.size == (64, 48)


def test_rgba_alpha_composited_on_white(tmp_path):
    p = tmp_path / "a.png"
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(p)
    assert load_image(img(p)).value.getpixel((0, 0)) == (255, 255, 255)


def test_exif_orientation_is_applied(tmp_path):
    p = tmp_path / "rot.jpg"
    im = Image.new("RGB", (40, 20), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    im.save(p, exif=exif)
    assert load_image(img(p)).value.size == (20, 40)


def test_random_bytes_truncated_and_empty_images_give_reasons(tmp_path, make):
    junk = tmp_path / "junk.png"
    junk.write_bytes(np.random.default_rng(0).bytes(4000))
    with pytest.raises(MediaError, match="not a readable image"):
        load_image(img(junk))
    full = make.image(tmp_path / "t.jpg", size=(400, 300), fmt="JPEG")
    trunc = tmp_path / "trunc.jpg"
    trunc.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 3])
    with pytest.raises(MediaError, match="truncated|corrupt"):
        load_image(img(trunc))
    empty = tmp_path / "e.png"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        load_image(img(empty))


def test_huge_png_is_refused_without_decoding(tmp_path):
    # 11,000 x 10,000 = 1.1e8 pixels of one colour compresses to a small file.
    p = tmp_path / "huge.png"
    Image.new("L", (11_000, 10_000), 128).save(p, optimize=False)
    assert p.stat().st_size < 2_000_000
    with pytest.raises(MediaError, match="too large"):
        load_image(img(p))


def test_huge_jpeg_is_decoded_reduced(tmp_path):
    p = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (90, 30, 200)).save(p, quality=50)
    loaded = load_image(img(p), LoadLimits(max_image_pixels=2_000_000))
    w, h = loaded.value.size
    assert w * h <= 2_000_000 and loaded.notes and "decoded at" in loaded.notes[0]


def test_text_utf8_bom_latin1_empty_and_long(tmp_path, make):
    assert load_text(MediaRef("text", path=make.text(tmp_path / "a.txt", "\ufeffhello"))).value == "hello"
    latin = load_text(MediaRef("text", path=make.text(tmp_path / "b.txt", "crème brûlée", "latin-1")))
    assert latin.value == "crème brûlée" and "not UTF-8" in latin.notes[0]
    with pytest.raises(MediaError, match="empty"):
        load_text(MediaRef("text", path=make.text(tmp_path / "c.txt", "  \n\t ")))
    big = "word " * 220_000  # ~1 MB
    long = load_text(MediaRef("text", path=make.text(tmp_path / "d.txt", big)))
    assert len(long.value) == len(big.strip())  # kept whole: truncation is the encoder's job
    capped = load_text(MediaRef("text", path=tmp_path / "d.txt"), LoadLimits(max_text_bytes=1000))
    assert len(capped.value) <= 1000 and "dropped" in capped.notes[0]
    assert load_text(MediaRef("text", text="inline words")).value == "inline words"


def test_binary_file_named_txt_is_refused(tmp_path):
    p = tmp_path / "bin.txt"
    p.write_bytes(b"\x00\x01\x02\x00" * 100 + b"\xff\xfe\x00")
    with pytest.raises(MediaError, match="binary"):
        load_text(MediaRef("text", path=p))


@pytest.mark.parametrize(
    "kw",
    [
        dict(rate=8000, subtype="PCM_U8", fmt="WAV"),  # 8-bit
        dict(rate=48000, channels=2, fmt="WAV"),  # stereo 48 kHz
        dict(rate=44100, fmt="FLAC"),
        dict(rate=22050, fmt="OGG", subtype="VORBIS"),
    ],
)
def test_audio_formats_become_mono_16k(tmp_path, make, kw):
    ext = kw["fmt"].lower()
    p = make.tone(tmp_path / f"a.{ext}", seconds=0.5, **kw)
    samples, rate = load_audio(MediaRef("audio", path=p)).value
    assert rate == 16000 and samples.ndim == 1
    assert abs(len(samples) - 8000) < 200
    assert np.abs(samples).max() > 0.1


def test_long_audio_is_capped_and_noted(tmp_path, make):
    p = make.tone(tmp_path / "long.wav", seconds=600, rate=8000)
    loaded = load_audio(MediaRef("audio", path=p, max_seconds=5))
    samples, rate = loaded.value
    assert len(samples) == 5 * rate
    assert "600 s" in loaded.notes[0]


def test_text_named_wav_and_empty_audio(tmp_path):
    fake = tmp_path / "fake.wav"
    fake.write_text("I am not audio at all, just words")
    with pytest.raises(MediaError, match="not a readable audio file"):
        load_audio(MediaRef("audio", path=fake))
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        load_audio(MediaRef("audio", path=empty))
