"""Render every colour emoji as a paired image / caption / speech item.

Usage::

    python benchmarks/datasets/make_emoji.py OUT [--limit N] [--voices V ...] [--skin-tones]

Needs Debian's ``espeak-ng``, ``fonts-noto-color-emoji`` and ``unicode-data`` (for the names,
groups and CLDR order in ``emoji-test.txt``), plus Pillow with raqm (the PyPI wheels have it),
numpy, scipy and soundfile: the project's venv is enough.

For each fully-qualified emoji in ``emoji-test.txt`` it writes ``<id>.png`` (the Noto glyph
centred on a transparent square), ``<id>.txt`` (a short sentence built from the CLDR name,
e.g. "an emoji of a red apple"), ``<id>.wav`` (espeak-ng saying the name, voice, speed and
pitch drawn per item) and ``data.csv`` (``id,image,text,audio,label``; label = emoji group).
Skin-tone variants are left out unless ``--skin-tones`` is given: they repeat a concept in
five colours, which blurs instance-level matching. Without ``emoji-test.txt`` it falls back to
the single code points of the emoji blocks that Python's ``unicodedata`` names, labelled by
block. Reruns skip files that exist.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_common_args, generate, item_rng, render_emoji  # noqa: E402

EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
SKIN_TONES = {0x1F3FB, 0x1F3FC, 0x1F3FD, 0x1F3FE, 0x1F3FF}
FALLBACK_BLOCKS = [  # (first, last, label) for when emoji-test.txt is missing
    (0x1F300, 0x1F5FF, "Miscellaneous Symbols and Pictographs"),
    (0x1F600, 0x1F64F, "Emoticons"),
    (0x1F680, 0x1F6FF, "Transport and Map Symbols"),
    (0x1F900, 0x1F9FF, "Supplemental Symbols and Pictographs"),
    (0x1FA70, 0x1FAFF, "Symbols and Pictographs Extended-A"),
]
TEMPLATES = [
    "an emoji of {np}",
    "an emoji of {np}",
    "the emoji for {np}",
    "{Np}, drawn as an emoji",
    "a small colourful picture of {np}",
    "an icon showing {np}",
]
_LINE = re.compile(r"^([0-9A-F ]+?)\s*;\s*fully-qualified\s*#\s*\S+\s+E[\d.]+\s+(.+)$")


def read_emoji_test(path: Path, skin_tones: bool) -> list[dict]:
    """Fully-qualified emoji from ``emoji-test.txt`` in CLDR order: chars, name, group."""
    out, group, subgroup = [], "", ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif m := _LINE.match(line):
            cps = [int(cp, 16) for cp in m.group(1).split()]
            if not skin_tones and SKIN_TONES & set(cps):
                continue
            out.append({"chars": "".join(map(chr, cps)), "name": m.group(2).strip(),
                        "label": group, "subgroup": subgroup})
    return out


def read_unicodedata() -> list[dict]:
    """Fallback: single code points of the emoji blocks that unicodedata names."""
    out = []
    for first, last, label in FALLBACK_BLOCKS:
        for cp in range(first, last + 1):
            name = unicodedata.name(chr(cp), "")
            if name and not 0x1F3FB <= cp <= 0x1F3FF:
                out.append({"chars": chr(cp), "name": name.lower(), "label": label})
    return out


def slug(name: str) -> str:
    name = name.replace("#", " number sign").replace("*", " asterisk")
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:80] or "emoji"


def spoken_name(name: str) -> str:
    """What espeak-ng says: "flag: France" -> "flag of France", other colons -> commas."""
    if name.startswith("flag: "):
        return "flag of " + name[len("flag: "):]
    if name.startswith("keycap: "):
        return "keycap " + name[len("keycap: "):]
    return name.replace(": ", ", ")


_PEOPLE = {"man", "woman", "boy", "girl", "person"}
_HEAD_END = re.compile(r" (?:with|in|of|on|at|holding|and|pointing|wearing|for|from|under|"
                       r"without|doing|getting|raising|frowning|pouting|bowing|tipping|"
                       r"gesturing|facepalming|shrugging|walking|running|standing|kneeling)\b")


def with_article(phrase: str, subgroup: str = "") -> str:
    """Put a fitting article before a CLDR name: "a red apple", "an ox", "flexed biceps"."""
    first = phrase.split()[0]
    if subgroup == "zodiac" or phrase in {"Santa Claus", "Mrs. Claus"}:
        return phrase
    if subgroup == "time" and ("o\u2019clock" in phrase or "-thirty" in phrase):
        return "a clock showing " + phrase.replace("-thirty", " thirty")
    if (first.isupper() and len(first) > 1 or first.startswith("Japanese \u201c")
            or phrase in {"Statue of Liberty", "Tokyo tower"}):
        return "the " + phrase
    head = _HEAD_END.split(phrase, maxsplit=1)[0]
    last = head.split()[-1]
    if first in {"people", "men", "women"} or (
        last.endswith("s") and not last.endswith(("ss", "us", "is", "ous"))
    ):
        return phrase
    an = phrase[0].lower() in "aeio" or phrase.startswith(("hour", "umbrella", "up", "ul", "x-"))
    an = an and not phrase.startswith(("one", "uni", "use", "eu"))
    return ("an " if an else "a ") + phrase


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def noun_phrase(name: str, subgroup: str = "") -> str:
    """A caption-ready phrase: "the flag of France", "a family: a man, a woman and a girl"."""
    if name.startswith(("flag: ", "keycap: ")):
        return "the " + spoken_name(name)
    head, _, tail = name.partition(": ")
    parts = tail.split(", ") if tail else []
    if "bald" in parts:
        head = "bald " + head
    phrase = with_article(head, subgroup)
    people = [p for p in parts if p in _PEOPLE]
    extras = ["a beard" if p == "beard" else p for p in parts if p not in _PEOPLE | {"bald"}]
    if people:
        phrase += ": " + _join([with_article(p) for p in people])
    if extras:
        phrase += " with " + _join(extras)
    return phrase


def caption(name: str, rng, subgroup: str = "") -> str:
    np_ = noun_phrase(name, subgroup)
    text = rng.choice(TEMPLATES).format(np=np_, Np=np_[:1].upper() + np_[1:])
    return text[:1].upper() + text[1:] + "."


def emoji_renderer(size: int):
    """Factory run in each worker: load the font once, return ``render(job) -> Image``."""
    from PIL import Image, ImageFont

    font = ImageFont.truetype(str(EMOJI_FONT), 109, layout_engine=ImageFont.Layout.RAQM)

    def render(job: dict) -> Image.Image:
        return render_emoji(job["chars"], font, size)

    return render


class _Renderer:  # picklable stand-in for functools.partial(emoji_renderer, size)
    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self):
        return emoji_renderer(self.size)


def supported(entries: list[dict]) -> list[dict]:
    """Drop emoji the font draws as more than one glyph (no ligature) or not at all."""
    from PIL import ImageFont

    font = ImageFont.truetype(str(EMOJI_FONT), 109, layout_engine=ImageFont.Layout.RAQM)
    one = font.getlength("\U0001F600")
    keep = []
    for e in entries:
        width = font.getlength(e["chars"])
        bbox = font.getbbox(e["chars"])
        if 0 < width <= 1.2 * one and bbox[2] > bbox[0]:
            keep.append(e)
    return keep


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--size", type=int, default=128, help="PNG side (default: 128)")
    parser.add_argument("--skin-tones", action="store_true",
                        help="also render the skin-tone variants (about 3,650 items in all)")
    parser.add_argument("--emoji-test", type=Path, default=EMOJI_TEST,
                        help="Unicode emoji-test.txt (default: %(default)s)")
    args = parser.parse_args(argv)
    if not EMOJI_FONT.exists():
        sys.exit(f"{EMOJI_FONT} is missing: apt-get install fonts-noto-color-emoji")
    from PIL import features

    if not features.check("raqm"):
        sys.exit("Pillow lacks raqm: multi-code-point emoji would not join into one glyph")

    if args.emoji_test.exists():
        entries = read_emoji_test(args.emoji_test, args.skin_tones)
    else:
        print(f"{args.emoji_test} missing (apt-get install unicode-data): "
              "falling back to unicodedata names, labelled by block", file=sys.stderr)
        entries = read_unicodedata()
    found = len(entries)
    entries = supported(entries)
    if len(entries) < found:
        print(f"{found - len(entries)} of {found} emoji have no single glyph in the font; "
              "skipped", file=sys.stderr)
    if args.limit is not None:
        entries = entries[: args.limit]

    items, seen = [], set()
    for e in entries:
        item_id = slug(e["name"])
        while item_id in seen:  # never happens with emoji-test.txt; guards the fallback
            item_id += "_"
        seen.add(item_id)
        rng = item_rng(args.seed + 1, item_id)  # apart from the voice stream
        items.append({"id": item_id, "chars": e["chars"], "name": e["name"],
                      "text": caption(e["name"], rng, e.get("subgroup", "")),
                      "spoken": spoken_name(e["name"]), "label": e["label"]})
    generate(items, args.out, _Renderer(args.size), audio_format=args.audio_format,
             workers=args.workers, voices=args.voices, seed=args.seed)


if __name__ == "__main__":
    main()
