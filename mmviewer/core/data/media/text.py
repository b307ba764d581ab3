"""Text: UTF-8, a byte-order mark, UTF-16 without one, or a detected code page; within a budget."""

from __future__ import annotations

import codecs

from mmviewer.core.data.media.common import Loaded, MediaError, open_media
from mmviewer.core.data.model import DEFAULT_LIMITS, LoadLimits, MediaRef

#: Charset detection looks at this much of a file: its cost grows with the bytes it is given
#: (8 MiB took seconds), its answer does not.
DETECT_BYTES = 64 * 1024

# UTF-32 first: its little-endian mark begins with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", None),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def load_text(ref: MediaRef, limits: LoadLimits = DEFAULT_LIMITS) -> Loaded:
    """Return the text of a file (or inline manifest text), stripped.

    At most ``limits.max_text_bytes`` are read (the rest is noted as dropped). UTF-8 (with or
    without BOM) first, then UTF-16/32 by their byte-order mark or, without one, by where the
    zero bytes sit; otherwise the most likely code page is detected on a sample and noted.
    """
    notes: list[str] = []
    if ref.path is None:
        text = ref.text or ""
    else:
        fh, size = open_media(ref.path, limits)
        try:
            with fh:
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


def clip_text(loaded: Loaded, max_chars: int, note: bool = True) -> Loaded:
    """The first ``max_chars`` characters (cut at a space when one is near), noted when cut.

    Encoders use it: their cost grows with the text (TF-IDF took 52 s and 1.3 GB for 8 MB of
    text), what they make of a document does not, past its first pages.
    """
    text = loaded.value
    if len(text) <= max_chars:
        return loaded
    cut = text.rfind(" ", max_chars - 200, max_chars)
    text = text[: cut if cut > 0 else max_chars]
    notes = list(loaded.notes)
    if note:
        notes.append(f"text has {len(loaded.value):,} characters; the first {len(text):,} were embedded")
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
    """Decode bytes (see :func:`load_text`); NUL-heavy data that is not UTF-16 is refused."""
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            if name is not None:
                notes.append(f"not UTF-8; read as {name} (byte-order mark)")
            return _decode_whole(data[len(bom):], codec, notes)
    codec = _utf16_without_bom(data)  # before UTF-8: ASCII in UTF-16 is also valid UTF-8
    if codec is not None:
        notes.append(f"not UTF-8; read as {codec.upper()} (detected)")
        return _decode_whole(data, codec, notes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if data.count(b"\x00") > len(data) // 10:
        raise MediaError("not a text file (binary content)")
    encoding = _detect_code_page(data)
    notes.append(f"not UTF-8; read as {encoding}")
    return _decode_whole(data, encoding, notes)


def _decode_whole(data: bytes, codec: str, notes: list[str]) -> str:
    if codec.startswith(("utf-16", "utf-32")):
        unit = 2 if codec.startswith("utf-16") else 4
        data = data[: len(data) - len(data) % unit]  # a byte cap may split the last unit
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        text = data.decode(codec, errors="replace")
        notes.append(f"some bytes are not valid {codec}; shown as \ufffd")
        return text


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a mark: mostly-Latin text has a zero in every other byte."""
    sample = data[: DETECT_BYTES - DETECT_BYTES % 2]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= 0.3 * pairs and even <= 0.02 * pairs:
        codec = "utf-16-le"
    elif even >= 0.3 * pairs and odd <= 0.02 * pairs:
        codec = "utf-16-be"
    else:
        return None
    try:
        sample.decode(codec)
    except UnicodeDecodeError:
        return None
    return codec


def _detect_code_page(data: bytes) -> str:
    """The most likely code page, from the first :data:`DETECT_BYTES` (cut at a line end)."""
    from charset_normalizer import from_bytes

    sample = data[:DETECT_BYTES]
    if len(data) > DETECT_BYTES:
        # No multi-byte encoding charset_normalizer knows uses "\n" inside a character.
        end = sample.rfind(b"\n")
        sample = sample[: end + 1] if end > DETECT_BYTES // 2 else sample
    matches = list(from_bytes(sample))
    # Short texts fit many code pages equally well (café reads as cp1250 or cp1252); among the
    # least chaotic candidates Western Windows wins, being by far the most common. Otherwise
    # (Cyrillic, Greek, CJK, ...) the detector's best guess is trusted.
    if matches:
        least = min(m.chaos for m in matches)
        tied = [m for m in matches if m.chaos <= least + 1e-9]
        if not any("cp1252" in m.could_be_from_charset for m in tied) and tied[0].encoding:
            try:
                codecs.lookup(tied[0].encoding)
                return tied[0].encoding
            except LookupError:
                pass
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"
