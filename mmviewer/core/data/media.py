"""Safe loaders for the three media types.

Each loader takes a :class:`~mmviewer.core.data.model.MediaRef` and returns a
:class:`Loaded` value plus notes for the import report (an encoding fallback, a capped clip), or
raises :class:`MediaError` with a reason a person understands. Loaders never read outside the
path they are given (confinement to the dataset folder is the scanner's job) and never decode
more than the configured limits allow.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmviewer.core.data.model import DEFAULT_LIMITS, LoadLimits, MediaRef


class MediaError(Exception):
    """A media file cannot be used; ``str(err)`` is the reason for the import report."""


@dataclass
class Loaded:
    """A decoded value and the non-fatal notes made while decoding it."""

    value: Any
    notes: list[str] = field(default_factory=list)


def _check_file(path: Path, limits: LoadLimits) -> int:
    try:
        size = path.stat().st_size
    except OSError as err:
        raise MediaError(f"unreadable: {err.strerror or err}") from None
    if size == 0:
        raise MediaError("empty file (0 bytes)")
    if size > limits.max_file_bytes:
        raise MediaError(f"too large ({size / 1024**3:.1f} GiB > {limits.max_file_bytes / 1024**3:.1f} GiB limit)")
    return size


# -- images -------------------------------------------------------------------------------------
def load_image(ref: MediaRef, limits: LoadLimits = DEFAULT_LIMITS):
    """Decode an image to an 8-bit RGB ``PIL.Image``.

    EXIF orientation is applied; palette, greyscale, 16-bit, CMYK and alpha images are
    converted (alpha composited on white). Oversized JPEGs are decoded at reduced scale.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = ref.path
    _check_file(path, limits)
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            # Our own pixel limit replaces PIL's bomb warning/error.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
            w, h = im.size
            if w * h > limits.max_image_pixels:
                if im.format == "JPEG":
                    # libjpeg decodes at 1/2, 1/4 or 1/8 scale for almost nothing.
                    scale = next((s for s in (2, 4, 8) if (w // s) * (h // s) <= limits.max_image_pixels), 8)
                    im.draft("RGB", (w // scale, h // scale))
                    notes.append(f"large image {w}×{h} decoded at {im.size[0]}×{im.size[1]}")
                    w, h = im.size
                if w * h > limits.max_image_pixels:
                    raise MediaError(
                        f"image too large to decode safely ({w}×{h} = {w * h / 1e6:.0f} Mpx, "
                        f"limit {limits.max_image_pixels / 1e6:.0f} Mpx)"
                    )
            im.load()
    except MediaError:
        raise
    except UnidentifiedImageError:
        raise MediaError("not a readable image (unknown or corrupt format)") from None
    except Image.DecompressionBombError as err:
        raise MediaError(f"image too large to decode safely ({err})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        text = str(err)
        if "truncated" in text.lower():
            raise MediaError("truncated image (file ends early)") from None
        raise MediaError(f"corrupt image ({text or type(err).__name__})") from None

    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # a broken EXIF block must not lose the picture
        notes.append("EXIF orientation unreadable; used as stored")
    return Loaded(to_rgb(im), notes)


def to_rgb(im):
    """Convert any PIL mode to 8-bit RGB (alpha composited on white, 16-bit rescaled)."""
    import numpy as np
    from PIL import Image

    if getattr(im, "n_frames", 1) > 1:
        im.seek(0)
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return Image.fromarray(arr.astype(np.uint8), "L").convert("RGB")
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, im).convert("RGB")
    return im.convert("RGB")


# -- text ---------------------------------------------------------------------------------------
def load_text(ref: MediaRef, limits: LoadLimits = DEFAULT_LIMITS) -> Loaded:
    """Return the text of a file (or inline manifest text), stripped.

    UTF-8 (with or without BOM) first; otherwise the most likely encoding is detected and noted.
    """
    notes: list[str] = []
    if ref.path is None:
        text = ref.text or ""
    else:
        size = _check_file(ref.path, limits)
        try:
            with open(ref.path, "rb") as fh:
                data = fh.read(limits.max_text_bytes)
        except OSError as err:
            raise MediaError(f"unreadable: {err.strerror or err}") from None
        if size > limits.max_text_bytes:
            notes.append(f"text longer than {_size(limits.max_text_bytes)}; the rest was dropped")
            data = _drop_partial_utf8(data)
        text = decode_text(data, notes)
    text = _clean_controls(text).strip()
    if not text:
        raise MediaError("empty text")
    return Loaded(text, notes)


_CONTROLS = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r\x0c") + "\x7f"
_CONTROL_TABLE = str.maketrans(_CONTROLS, " " * len(_CONTROLS))


def _clean_controls(text: str) -> str:
    """Refuse binary data that happens to decode; blank out stray control characters.

    Valid UTF-8 can still be binary (NULs and other C0 controls). A few strays in real text
    become spaces, so no encoder (or a NumPy string array, which drops trailing NULs) sees them.
    """
    sample = text[:100_000]
    n_controls = sum(sample.count(c) for c in _CONTROLS) if sample else 0
    if n_controls > max(2, len(sample) // 20):
        raise MediaError("not a text file (binary content)")
    return text.translate(_CONTROL_TABLE) if n_controls else text


def _size(n: int) -> str:
    return f"{n / 1024**2:g} MiB" if n >= 1024**2 else f"{n / 1024:g} KiB"


def _drop_partial_utf8(data: bytes) -> bytes:
    """Cut a UTF-8 sequence that a byte limit split in two (so the head still decodes)."""
    i = len(data)
    while i > 0 and len(data) - i < 3 and (data[i - 1] & 0xC0) == 0x80:
        i -= 1
    if i > 0 and data[i - 1] >= 0xC0:  # a lead byte whose continuation was cut off
        need = 2 if data[i - 1] < 0xE0 else 3 if data[i - 1] < 0xF0 else 4
        if len(data) - (i - 1) < need:
            return data[: i - 1]
    return data


def decode_text(data: bytes, notes: list[str]) -> str:
    """Decode bytes as UTF-8, else detect the encoding (noted); NUL-heavy data is refused."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if data.count(b"\x00") > len(data) // 10:
        raise MediaError("not a text file (binary content)")
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    # Short texts fit many code pages equally well (café reads as cp1250 or cp1252); among the
    # least chaotic candidates Western Windows wins, being by far the most common. Otherwise
    # (Cyrillic, Greek, CJK, ...) the detector's best guess is trusted.
    candidates = ["cp1252", "latin-1"]
    if matches:
        least = min(m.chaos for m in matches)
        tied = [m for m in matches if m.chaos <= least + 1e-9]
        if not any("cp1252" in m.could_be_from_charset for m in tied):
            candidates.insert(0, tied[0].encoding)
    for encoding in filter(None, candidates):
        try:
            text = data.decode(encoding)
            break
        except (UnicodeDecodeError, LookupError):
            continue
    notes.append(f"not UTF-8; read as {encoding}")
    return text


# -- audio --------------------------------------------------------------------------------------
def load_audio(ref: MediaRef, limits: LoadLimits = DEFAULT_LIMITS) -> Loaded:
    """Decode to mono float32 at ``limits.audio_sample_rate``; returns ``(samples, rate)``.

    Clips longer than ``ref.max_seconds`` (or the limit) are cut, and the cut is noted.
    """
    import numpy as np

    path = ref.path
    _check_file(path, limits)
    cap = ref.max_seconds or limits.max_audio_seconds
    notes: list[str] = []
    total = _audio_duration(path)
    if total is not None and total > cap:
        notes.append(f"audio is {total:.0f} s; only the first {cap:.0f} s were used")
    try:
        import librosa

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # audioread fallback warnings; failures still raise
            samples, rate = librosa.load(
                str(path), sr=limits.audio_sample_rate, mono=True, duration=cap
            )
    except Exception as err:  # soundfile, audioread and ffmpeg each raise their own types
        raise MediaError(f"not a readable audio file ({_short(err)})") from None
    if samples.size == 0:
        raise MediaError("audio has no samples")
    if not np.isfinite(samples).all():
        samples = np.nan_to_num(samples)
        notes.append("audio contained NaN/inf samples; replaced with 0")
    return Loaded((samples.astype(np.float32, copy=False), rate), notes)


def _audio_duration(path: Path) -> float | None:
    try:
        import soundfile

        info = soundfile.info(str(path))
        return info.frames / info.samplerate if info.samplerate else None
    except Exception:
        return None


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:160]


LOADERS = {"image": load_image, "text": load_text, "audio": load_audio}


def load(ref: MediaRef, limits: LoadLimits = DEFAULT_LIMITS) -> Loaded:
    """Load any media by its modality."""
    return LOADERS[ref.modality](ref, limits)


