"""Build the demo dataset in ``resources/demo/`` from redistributable material.

Every picture comes from a package: public-domain / CC0 photographs shipped inside the
scikit-image and matplotlib wheels, two CC BY 2.0 photographs shipped with scikit-learn, and
colour emoji rendered from Debian's Noto Color Emoji font. Captions are written by hand below;
each audio clip is espeak-ng reading the caption, resampled to 16 kHz mono Ogg Vorbis.
``resources/README.md`` lists the source and licence of every part.

Prerequisites (none of them go into the project's venv)::

    apt-get install espeak-ng fonts-noto-color-emoji
    python3 -m venv /tmp/demo-venv
    /tmp/demo-venv/bin/pip install scikit-image matplotlib scikit-learn pillow soundfile scipy
    /tmp/demo-venv/bin/python resources/make_demo.py          # writes resources/demo/

The script only reads the sample files that those packages ship (it finds them on disk and
does not import the packages), so their versions barely matter: it was run with
scikit-image 0.26.0, matplotlib 3.11.2, scikit-learn 1.9.1, Pillow 13.0.0 (with raqm),
espeak-ng 1.51 and fonts-noto-color-emoji 2.042. Pixels, captions and the manifest come out
the same on every run; the Ogg files differ byte-wise (random stream serial numbers).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
from PIL import Image, ImageFont, features

# The media helpers are shared with the benchmark dataset generators.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "datasets"))
from _common import render_emoji, speak  # noqa: E402

EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
MAX_SIDE = 512  # longest side of a photograph, in pixels
EMOJI_SIDE = 128
JPEG_QUALITY = 85
AUDIO_RATE = 16_000
VORBIS_COMPRESSION = 0.6  # libsndfile's scale: 0 = best quality, 1 = smallest file

# (espeak-ng voice, words per minute, pitch 0-99); item i uses VOICES[i % len(VOICES)].
VOICES = [
    ("en-us", 165, 50),
    ("en-gb+f3", 150, 60),
    ("en-gb-scotland+m3", 155, 40),
    ("en-us+f2", 170, 65),
    ("en-gb-x-rp+m1", 145, 45),
    ("en-029+f4", 160, 55),
    ("en-us-nyc+m4", 175, 35),
    ("en-gb-x-gbclan+f1", 150, 50),
    ("en-gb-x-gbcwmd+m2", 160, 45),
    ("en-us+m7", 140, 40),
]


@dataclass(frozen=True)
class Item:
    """One demo item: where its picture comes from, its caption and its category.

    ``source`` is ``"<package>:<file>"`` for a shipped sample file or ``"emoji:<chars>"``.
    ``omit`` names the modalities left out on purpose, so the app has gaps to show.
    """

    id: str
    source: str
    caption: str
    label: str
    omit: tuple[str, ...] = ()


ITEMS: list[Item] = [
    # -- photographs shipped with scikit-image (public domain / CC0, see README) --------------
    Item("astronaut", "skimage:astronaut.png",
         "A smiling astronaut in an orange flight suit holds her helmet, with an American flag "
         "and a model of the space shuttle behind her.", "space"),
    Item("brick_wall", "skimage:brick.png",
         "A black and white close-up of a brick wall, the long bricks laid in even rows.",
         "texture"),
    Item("cameraman", "skimage:camera.png",
         "A black and white photo of a man in a dark coat looking through a camera on a tripod, "
         "standing on a lawn with buildings far behind him.", "person"),
    Item("cell", "skimage:cell.png",
         "A microscope image of a single round cell, a bright disc floating in a dark grey "
         "background.", "science"),
    Item("chelsea_cat", "skimage:chelsea.png",
         "A close-up of a tabby cat with green eyes and long white whiskers.", "animal"),
    Item("blurred_clock", "skimage:clock_motion.png",
         "A wall clock blurred by a moving camera, a smeared white circle on a grey wall.",
         "object"),
    Item("coffee_cup", "skimage:coffee.png",
         "A cup of espresso and a spoon on a red saucer, on a wooden table.", "food"),
    Item("greek_coins", "skimage:coins.png",
         "Four rows of ancient Greek coins from Pompeii, laid out on a dark background.",
         "object", omit=("audio",)),
    Item("grass", "skimage:grass.png",
         "A black and white close-up of a dense lawn, thin blades of grass in every direction.",
         "texture"),
    Item("gravel", "skimage:gravel.png",
         "Small grey pebbles of gravel, seen from straight above.", "texture",
         omit=("text",)),
    Item("horse_silhouette", "skimage:horse.png",
         "The black silhouette of a standing horse on a white background.", "animal"),
    Item("deep_field", "skimage:hubble_deep_field.jpg",
         "The Hubble Deep Field: thousands of distant galaxies scattered across a black sky.",
         "space"),
    Item("stained_tissue", "skimage:ihc.png",
         "A microscope slide of colon tissue stained brown and blue, showing rounded glands.",
         "science"),
    Item("retina", "skimage:retina.jpg",
         "A photograph of the back of a human eye: an orange-red retina with branching blood "
         "vessels around a bright optic disc.", "science"),
    Item("rocket_launch_pad", "skimage:rocket.jpg",
         "A Falcon 9 rocket stands on its launch pad at night, lit by floodlights under a deep "
         "blue sky.", "space"),
    Item("handwritten_maths", "skimage:text.png",
         "Handwritten mathematical formulas on a sheet of paper, photographed at a slant.",
         "writing"),
    # -- matplotlib sample data (public domain US Navy photograph) ----------------------------
    Item("grace_hopper", "matplotlib:grace_hopper.jpg",
         "A portrait of computer scientist Grace Hopper in her navy uniform and cap, in front of "
         "an American flag.", "person"),
    # -- scikit-learn sample images (CC BY 2.0, attribution in README) -----------------------
    Item("chinese_temple", "sklearn:china.jpg",
         "A tall Chinese temple tower with many tiled roofs rises above green trees, with a lake "
         "and hazy hills behind it.", "place"),
    Item("orange_dahlia", "sklearn:flower.jpg",
         "An orange dahlia in full bloom against dark green leaves.", "nature"),
    # -- Noto Color Emoji (SIL OFL 1.1) ------------------------------------------------------
    Item("emoji_cat", "emoji:\U0001F408",
         "An emoji of an orange striped cat standing with its tail raised.", "animal"),
    Item("emoji_cat_face", "emoji:\U0001F431",
         "An emoji of a smiling cat face with pointed ears and whiskers.", "animal"),
    Item("emoji_horse", "emoji:\U0001F40E",
         "An emoji of a light brown horse galloping, with a dark mane and tail.", "animal"),
    Item("emoji_horse_face", "emoji:\U0001F434",
         "An emoji of a horse's head in profile, tan with a brown mane.", "animal"),
    Item("emoji_paw_prints", "emoji:\U0001F43E",
         "An emoji of two blue animal paw prints.", "animal"),
    Item("emoji_coffee", "emoji:\u2615",
         "An emoji of a steaming cup of coffee on a white saucer.", "food"),
    Item("emoji_green_tea", "emoji:\U0001F375",
         "An emoji of a cup of green tea without a handle, with steam rising.", "food"),
    Item("emoji_red_apple", "emoji:\U0001F34E",
         "An emoji of a shiny red apple with a green leaf on its stem.", "food"),
    Item("emoji_croissant", "emoji:\U0001F950",
         "An emoji of a golden, crescent-shaped croissant.", "food"),
    Item("emoji_doughnut", "emoji:\U0001F369",
         "An emoji of a chocolate doughnut covered in rainbow sprinkles.", "food"),
    Item("emoji_rocket", "emoji:\U0001F680",
         "An emoji of a silver rocket with red fins flying up through space.", "space"),
    Item("emoji_astronaut", "emoji:\U0001F9D1\u200D\U0001F680",
         "An emoji of an astronaut smiling inside a round white space helmet.", "space"),
    Item("emoji_woman_astronaut", "emoji:\U0001F469\u200D\U0001F680",
         "An emoji of a woman astronaut in a white spacesuit and helmet.", "space"),
    Item("emoji_milky_way", "emoji:\U0001F30C",
         "An emoji of the Milky Way, a purple band of stars across the night sky.", "space"),
    Item("emoji_ringed_planet", "emoji:\U0001FA90",
         "An emoji of a pale orange planet circled by a ring, like Saturn.", "space"),
    Item("emoji_telescope", "emoji:\U0001F52D",
         "An emoji of a white telescope standing on a tripod.", "space"),
    Item("emoji_camera", "emoji:\U0001F4F7",
         "An emoji of a silver and black photo camera with a big blue lens.", "object"),
    Item("emoji_movie_camera", "emoji:\U0001F3A5",
         "An emoji of an old grey movie camera with two film reels on top.", "object"),
    Item("emoji_alarm_clock", "emoji:\u23F0",
         "An emoji of a red alarm clock with two bells on top.", "object"),
    Item("emoji_mantel_clock", "emoji:\U0001F570\uFE0F",
         "An emoji of a wooden mantelpiece clock with a gold face.", "object"),
    Item("emoji_coin", "emoji:\U0001FA99",
         "An emoji of a gold coin stamped with a building with columns.", "object"),
    Item("emoji_bricks", "emoji:\U0001F9F1",
         "An emoji of a wall of red bricks.", "texture"),
    Item("emoji_rock", "emoji:\U0001FAA8",
         "An emoji of a big grey rock.", "nature"),
    Item("emoji_memo", "emoji:\U0001F4DD",
         "An emoji of a pencil writing notes on a sheet of paper.", "writing"),
    Item("emoji_microscope", "emoji:\U0001F52C",
         "An emoji of a white laboratory microscope.", "science", omit=("audio",)),
    Item("emoji_petri_dish", "emoji:\U0001F9EB",
         "An emoji of a petri dish with colourful cultures growing on red jelly.", "science"),
    Item("emoji_grinning_face", "emoji:\U0001F600",
         "An emoji of a yellow face with a big open-mouthed grin.", "person"),
    Item("emoji_woman_technologist", "emoji:\U0001F469\u200D\U0001F4BB",
         "An emoji of a woman working on a laptop in front of a screen of green code.",
         "person"),
    Item("emoji_eye", "emoji:\U0001F441\uFE0F",
         "An emoji of a single eye with a brown iris.", "person"),
    Item("emoji_blossom", "emoji:\U0001F33C",
         "An emoji of a yellow blossom with an orange centre.", "nature"),
    Item("emoji_sunflower", "emoji:\U0001F33B",
         "An emoji of a sunflower with yellow petals and a dark brown centre on a green stem.",
         "nature", omit=("image",)),
    Item("emoji_hibiscus", "emoji:\U0001F33A",
         "An emoji of a pink hibiscus flower with a yellow stamen.", "nature"),
    Item("emoji_herb", "emoji:\U0001F33F",
         "An emoji of a green sprig of herbs with oval leaves.", "nature"),
    Item("emoji_japanese_castle", "emoji:\U0001F3EF",
         "An emoji of a white Japanese castle with layered dark grey roofs on a stone base.",
         "place"),
]


# -- sources -----------------------------------------------------------------------------------
def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        sys.exit(f"package {package!r} is not installed here; see this script's docstring")
    return Path(spec.origin).parent


SAMPLE_DIRS = {
    "skimage": lambda: _package_dir("skimage") / "data",
    "matplotlib": lambda: _package_dir("matplotlib") / "mpl-data" / "sample_data",
    "sklearn": lambda: _package_dir("sklearn") / "datasets" / "images",
}


def load_photo(source: str) -> Image.Image:
    package, name = source.split(":", 1)
    im = Image.open(SAMPLE_DIRS[package]() / name)
    im.load()
    return im


def save_image(item: Item, font: ImageFont.FreeTypeFont, images_dir: Path) -> Path:
    """Write the item's picture; photographs as JPEG, emoji and silhouettes as PNG."""
    if item.source.startswith("emoji:"):
        im, suffix = render_emoji(item.source[len("emoji:"):], font, EMOJI_SIDE), ".png"
    else:
        im = load_photo(item.source)
        im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        if im.mode in ("1", "RGBA", "LA", "P"):  # line art with transparency: keep it crisp
            im, suffix = im.convert("RGBA"), ".png"
        else:
            im, suffix = im.convert("L" if im.mode in ("L", "I;16") else "RGB"), ".jpg"
    path = images_dir / f"{item.id}{suffix}"
    if suffix == ".jpg":
        im.save(path, quality=JPEG_QUALITY, optimize=True)
    else:
        im.save(path, optimize=True)
    return path


# -- speech ------------------------------------------------------------------------------------
def save_audio(item: Item, index: int, audio_dir: Path) -> Path:
    voice, speed, pitch = VOICES[index % len(VOICES)]
    path = audio_dir / f"{item.id}.ogg"
    sf.write(path, speak(item.caption, voice, speed, pitch), AUDIO_RATE, format="OGG",
             subtype="VORBIS", compression_level=VORBIS_COMPRESSION)
    return path


# -- main --------------------------------------------------------------------------------------
def build(out: Path) -> None:
    if not features.check("raqm"):
        sys.exit("Pillow lacks raqm text layout; emoji sequences (ZWJ) would not join")
    if not EMOJI_FONT.exists():
        sys.exit(f"{EMOJI_FONT} is missing: apt-get install fonts-noto-color-emoji")
    font = ImageFont.truetype(str(EMOJI_FONT), 109, layout_engine=ImageFont.Layout.RAQM)
    images_dir, audio_dir = out / "images", out / "audio"
    images_dir.mkdir(parents=True, exist_ok=True)
    audio_dir.mkdir(parents=True, exist_ok=True)
    if len({item.id for item in ITEMS}) != len(ITEMS):
        sys.exit("duplicate item ids")

    rows, written = [], set()
    for i, item in enumerate(ITEMS):
        image = audio = None
        if "image" not in item.omit:
            image = save_image(item, font, images_dir)
            written.add(image)
        if "audio" not in item.omit:
            audio = save_audio(item, i, audio_dir)
            written.add(audio)
        rows.append({
            "id": item.id,
            "image": image.relative_to(out).as_posix() if image else "",
            "text": "" if "text" in item.omit else item.caption,
            "audio": audio.relative_to(out).as_posix() if audio else "",
            "label": item.label,
        })
        print(f"[{i + 1:2d}/{len(ITEMS)}] {item.id}", flush=True)

    for folder in (images_dir, audio_dir):  # drop files of items that were renamed or removed
        for path in folder.iterdir():
            if path.is_file() and path not in written:
                path.unlink()
    with open(out / "data.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "image", "text", "audio", "label"])
        writer.writeheader()
        writer.writerows(rows)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{len(rows)} items, {size / 1e6:.2f} MB in {out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "demo",
                        help="output folder (default: resources/demo next to this script)")
    build(parser.parse_args(argv).out)


if __name__ == "__main__":
    main()
