"""Images: Pillow, restricted to the formats we list, within a decoded-bytes budget."""

from __future__ import annotations

import math
import struct
import warnings

from mmviewer.core.data.media.common import Loaded, MediaError, mib, open_media
from mmviewer.core.data.model import DEFAULT_LIMITS, LoadLimits, MediaRef

#: The only Pillow decoders ever tried, whatever a file is named (Pillow's own advice for
#: untrusted input); camera JPEGs that Pillow calls MPO come through its JPEG opener. EPS/PS
#: (Ghostscript), PDF and the rarer formats are never reached: sniffing a file's content must
#: not pick its decoder for us.
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")

#: Bytes per pixel as Pillow holds an image in memory (RGB takes 4, like RGBA).
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}

#: Rows converted at a time when a 16/32-bit image is rescaled to 8 bits.
_STRIP_PIXELS = 4_000_000


def _no_ghostscript() -> None:
    """Even a caller that bypasses ``formats=`` cannot make Pillow run Ghostscript here."""
    try:
        from PIL import EpsImagePlugin

        EpsImagePlugin.gs_binary = False
        EpsImagePlugin.gs_windows_binary = False
    except ImportError:
        pass


def decoded_bytes(mode: str, size: tuple[int, int]) -> int:
    """What decoding an image of ``mode`` and ``size`` allocates."""
    return size[0] * size[1] * _PIXEL_BYTES.get(mode, 4)


def load_image(ref: MediaRef, limits: LoadLimits = DEFAULT_LIMITS) -> Loaded:
    """Decode an image to an 8-bit RGB ``PIL.Image``.

    Only :data:`IMAGE_FORMATS` are decoded. EXIF orientation is applied; palette, greyscale,
    16-bit, CMYK and alpha images are converted (alpha composited on white). An image whose
    decoded pixels exceed ``limits.max_image_pixels`` or ``limits.max_image_bytes`` is refused
    before decoding, except JPEGs, which libjpeg decodes at 1/2, 1/4 or 1/8 scale for almost
    nothing.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    _no_ghostscript()
    fh, _ = open_media(ref.path, limits)
    notes: list[str] = []
    with fh:
        try:
            with warnings.catch_warnings():
                # Our own budget replaces Pillow's bomb warning/error.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(fh, formats=IMAGE_FORMATS)
                _fit_budget(im, limits, notes)
                im.load()
        except MediaError:
            raise
        except UnidentifiedImageError:
            # Also what a format we do not decode gets (EPS, PSD, ...): see IMAGE_FORMATS.
            raise MediaError("not a readable image (unknown or corrupt format)") from None
        except Image.DecompressionBombError as err:
            raise MediaError(f"image too large to decode safely ({err})") from None
        except MemoryError:
            raise MediaError("out of memory while decoding the image") from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as err:
            text = str(err)
            if "truncated" in text.lower():
                raise MediaError("truncated image (file ends early)") from None
            raise MediaError(f"corrupt image ({text or type(err).__name__})") from None

    try:
        if im.getexif().get(0x0112, 1) != 1:  # no orientation: no transposed copy
            im = ImageOps.exif_transpose(im)
    except Exception:  # a broken EXIF block must not lose the picture
        notes.append("EXIF orientation unreadable; used as stored")
    return Loaded(to_rgb(im), notes)


def _fit_budget(im, limits: LoadLimits, notes: list[str]) -> None:
    w, h = im.size
    if w <= 0 or h <= 0:
        raise MediaError(f"corrupt image (size {w}×{h})")

    def over() -> bool:
        return (im.size[0] * im.size[1] > limits.max_image_pixels
                or decoded_bytes(im.mode, im.size) > limits.max_image_bytes)

    if not over():
        return
    if im.format in ("JPEG", "MPO"):  # draft works once: pick the scale, then ask for it
        per_pixel = _PIXEL_BYTES.get(im.mode, 4)
        scale = next((s for s in (2, 4, 8)
                      if math.ceil(w / s) * math.ceil(h / s) <= limits.max_image_pixels
                      and math.ceil(w / s) * math.ceil(h / s) * per_pixel <= limits.max_image_bytes), 8)
        im.draft("RGB", (math.ceil(w / scale), math.ceil(h / scale)))
        if (w, h) != im.size:
            notes.append(f"large image {w}×{h} decoded at {im.size[0]}×{im.size[1]}")
    if over():
        need = decoded_bytes(im.mode, im.size)
        raise MediaError(
            f"image too large to decode safely ({w}×{h} = {w * h / 1e6:.0f} Mpx, {mib(need)} "
            f"decoded; limits {limits.max_image_pixels / 1e6:.0f} Mpx, {mib(limits.max_image_bytes)})"
        )


def to_rgb(im):
    """Convert any PIL mode to 8-bit RGB (alpha composited on white, 16/32-bit rescaled).

    Each conversion holds at most the source and one RGB image at a time: a 48 Mpx RGBA costs
    about twice its own size, not five times.
    """
    from PIL import Image

    mode = im.mode
    if mode == "RGB":
        return im
    if mode.startswith("I") or mode == "F":
        return _rescaled_to_l(im).convert("RGB")
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        if mode != "RGBA":
            im = im.convert("RGBA")
        out = Image.new("RGB", im.size, (255, 255, 255))
        out.paste(im, mask=im.getchannel("A"))
        return out
    return im.convert("RGB")


def _rescaled_to_l(im):
    """A 16/32-bit or float image stretched to 0..255 (its own min..max), strip by strip."""
    import numpy as np
    from PIL import Image

    w, h = im.size
    lo, hi = im.getextrema()
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return Image.new("L", (w, h), 0)
    out = np.empty((h, w), dtype=np.uint8)
    rows = max(1, _STRIP_PIXELS // max(1, w))
    scale = 255.0 / (hi - lo)
    for top in range(0, h, rows):
        strip = np.array(im.crop((0, top, w, min(h, top + rows))), dtype=np.float32)
        np.clip((strip - lo) * scale, 0, 255, out=strip)
        out[top : top + len(strip)] = np.nan_to_num(strip)
    return Image.fromarray(out, "L")
