"""Turn scikit-learn's 1,797 handwritten digits into image / caption / speech items.

Usage::

    python benchmarks/datasets/make_digits.py OUT [--limit N] [--voices V ...] [--size 64]

Needs Debian's ``espeak-ng`` plus scikit-learn, Pillow, numpy, scipy and soundfile: the
project's venv is enough. ``load_digits`` is bundled with scikit-learn, so nothing is fetched.

For each digit it writes ``digit_NNNN.png`` (the 8x8 scan, ink dark on white, padded by one
pixel and upscaled bicubically), ``digit_NNNN.txt`` (one of several phrasings, "a handwritten
seven", "the digit 7, written by hand", ...), ``digit_NNNN.wav`` (espeak-ng saying the digit
word, voice, speed and pitch drawn per item) and ``data.csv`` (``id,image,text,audio,label``;
label = the digit). Ten classes over 1,797 items: a class-level benchmark (retrieve any item of
the right digit), not an instance-level one. Reruns skip files that exist.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_common_args, generate, item_rng  # noqa: E402

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEMPLATES = [
    "a handwritten {word}",
    "the digit {n}, written by hand",
    "{a_word} written by hand",
    "a handwritten number {word}",
    "the number {n} in someone's handwriting",
    "a scanned, hand-drawn digit {word}",
    "a small, blurry handwritten {n}",
    "handwritten digit: {n}",
]


def caption(digit: int, rng) -> str:
    word = WORDS[digit]
    a_word = ("an " if word == "eight" else "a ") + word
    text = rng.choice(TEMPLATES).format(word=word, n=digit, a_word=a_word)
    return text[:1].upper() + text[1:] + "."


class _Renderer:
    """Picklable factory: ``_Renderer(size)()`` returns ``render(job) -> PIL.Image``."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self):
        import numpy as np
        from PIL import Image

        size = self.size

        def render(job: dict) -> Image.Image:
            ink = np.asarray(job["pixels"], dtype=np.float32).reshape(8, 8)  # 0..16
            paper = np.full((10, 10), 255, dtype=np.uint8)
            paper[1:9, 1:9] = np.round(255 - ink * (255 / 16)).astype(np.uint8)
            return Image.fromarray(paper, "L").resize((size, size), Image.Resampling.BICUBIC)

        return render


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--size", type=int, default=64, help="PNG side (default: 64)")
    args = parser.parse_args(argv)
    from sklearn.datasets import load_digits

    digits = load_digits()
    n = len(digits.target) if args.limit is None else min(args.limit, len(digits.target))
    items = []
    for i in range(n):
        item_id = f"digit_{i:04d}"
        digit = int(digits.target[i])
        items.append({"id": item_id, "pixels": digits.images[i].astype(int).ravel().tolist(),
                      "text": caption(digit, item_rng(args.seed + 1, item_id)),
                      "spoken": WORDS[digit], "label": str(digit)})
    generate(items, args.out, _Renderer(args.size), audio_format=args.audio_format,
             workers=args.workers, voices=args.voices, seed=args.seed)


if __name__ == "__main__":
    main()
