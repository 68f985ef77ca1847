"""Emoji: ~1.9k labelled colour images rendered offline from two Debian packages, one class per emoji group.

``ensure_emoji(folder)`` renders every fully-qualified emoji of ``emoji-test.txt`` (package ``unicode-data``)
with the Noto Color Emoji bitmap font (package ``fonts-noto-color-emoji``) into an image folder,
``<folder>/<group>/<codepoints>.png``: 64×64 RGB on white, one sub-folder per group, read like any other
image folder (``datamodule=image_folder``).

Skin-tone variants are left out: one image per base emoji. With them, People & Body would hold 2148 of
3655 images (the other groups 85 to 269 each), and most of them would be five recolourings of one drawing,
so a random train/test split would put near-copies of training images into the test split.

The images are deterministic: ``manifest.txt`` lists the sha256 of every image's decoded pixels, and the
sha256 of that file must equal ``MANIFEST_SHA256``, the hash of the dataset made from the package versions
below. A folder that differs is never overwritten; a render that differs is never written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

from condgan.data.sources import ChecksumError, DatasetUnavailableError

log = logging.getLogger(__name__)

FONT_PATH = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_LIST_PATH = Path("/usr/share/unicode/emoji/emoji-test.txt")
PACKAGES = "fonts-noto-color-emoji unicode-data"
MADE_FROM = "fonts-noto-color-emoji 2.042 and unicode-data 15.0.0 (Debian 12)"
MANIFEST_SHA256 = "7c8143d2d081d0715c4729694799220725fce9ef06871351997aa65a835032e7"
MANIFEST = "manifest.txt"

# emoji-test.txt's group → class folder. "Component" (skin-tone and hair swatches) is not a picture group.
GROUPS = {
    "Smileys & Emotion": "smileys_emotion",
    "People & Body": "people_body",
    "Animals & Nature": "animals_nature",
    "Food & Drink": "food_drink",
    "Travel & Places": "travel_places",
    "Activities": "activities",
    "Objects": "objects",
    "Symbols": "symbols",
    "Flags": "flags",
}
CLASS_NAMES = tuple(sorted(GROUPS.values()))  # label i = i-th class folder in name order, as image folders go
SKIN_TONES = range(0x1F3FB, 0x1F400)  # the five Fitzpatrick modifiers
# The held-out test split of every emoji run and of the metrics: image_folder's own defaults.
TEST_SIZE = 0.1
SPLIT_SEED = 42

# Noto Color Emoji holds one size of bitmaps: 136×128 glyphs at 109 px. Each is centred on a white
# 136×136 square and shrunk to 64×64 with Lanczos (Pillow's fixed-point resampling: the same bytes anywhere).
FONT_SIZE = 109
GLYPH_SIZE = (136, 128)
IMAGE_SIZE = 64
BACKGROUND = (255, 255, 255)


@dataclass(frozen=True)
class Emoji:
    group: str  # class folder, e.g. "smileys_emotion"
    codepoints: tuple[int, ...]

    @property
    def text(self) -> str:
        return "".join(map(chr, self.codepoints))

    @property
    def path(self) -> str:
        """``<group>/<codepoints>.png``, e.g. ``flags/1f1eb_1f1f7.png``."""
        return f"{self.group}/{'_'.join(f'{c:x}' for c in self.codepoints)}.png"


def read_emoji_list(path: Path) -> list[Emoji]:
    """The fully-qualified emoji of the picture groups, without skin-tone variants, in the file's order.

    Lines look like ``1F44B 1F3FB ; fully-qualified # 👋🏻 E1.0 waving hand: light skin tone``, below a
    ``# group: People & Body`` line.
    """
    emoji, group = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = GROUPS.get(line.split(":", 1)[1].strip())
            continue
        if group is None or not line.strip() or line.startswith("#"):
            continue
        codes, status = (part.strip() for part in line.split("#", 1)[0].split(";"))
        codepoints = tuple(int(code, 16) for code in codes.split())
        if status == "fully-qualified" and not any(c in SKIN_TONES for c in codepoints):
            emoji.append(Emoji(group, codepoints))
    if not emoji:
        raise ValueError(f"{path} lists no fully-qualified emoji in the groups {', '.join(GROUPS)}")
    return emoji


def render(emoji: Emoji, font: ImageFont.FreeTypeFont) -> Image.Image:
    """One emoji as a 64×64 RGB image on white. Raises ValueError when the font draws it as several glyphs."""
    if font.getbbox(emoji.text) != (0, 0, *GLYPH_SIZE):
        raise ValueError(
            f"{FONT_PATH.name} has no single glyph for {emoji.path} ({emoji.text}): the font is older than the "
            f"emoji list; condgan's emoji are made from {MADE_FROM}"
        )
    glyph = Image.new("RGBA", GLYPH_SIZE, (0, 0, 0, 0))
    ImageDraw.Draw(glyph).text((0, 0), emoji.text, font=font, embedded_color=True)
    square = Image.new("RGBA", (GLYPH_SIZE[0], GLYPH_SIZE[0]), (*BACKGROUND, 255))
    square.alpha_composite(glyph, (0, (GLYPH_SIZE[0] - GLYPH_SIZE[1]) // 2))
    return square.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)


def pixel_sha256(image: Image.Image) -> str:
    """sha256 of the decoded RGB pixels (row-major, 3 bytes a pixel): independent of how the PNG was compressed."""
    return hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()


def manifest_text(digests: dict[str, str]) -> str:
    """The manifest file: a comment, then ``<pixel sha256>  <group>/<file>.png`` per image, sorted by path."""
    lines = [f"{digests[path]}  {path}" for path in sorted(digests)]
    return "# sha256 of each image's decoded RGB pixels, then its path (condgan.data.emoji)\n" + "\n".join(lines) + "\n"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def folder_digests(folder: Path) -> dict[str, str]:
    """{``<group>/<file>.png``: pixel sha256} of every PNG in the class folders of ``folder``."""
    return {
        path.relative_to(folder).as_posix(): pixel_sha256(Image.open(path))
        for path in sorted(folder.glob("*/*.png"))
    }


def ensure_emoji(folder: str | Path) -> Path:
    """Return ``folder`` holding the verified emoji images, rendering them first if it is absent or empty.

    Raises ``DatasetUnavailableError`` when the font or the list is missing, and ``ChecksumError`` when the
    folder holds other images (they are left untouched) or when this machine renders different pixels
    (nothing is written). The font, list and hash are this module's FONT_PATH, EMOJI_LIST_PATH and
    MANIFEST_SHA256, read at call time.
    """
    folder, font_path, list_path, expected_sha256 = Path(folder), FONT_PATH, EMOJI_LIST_PATH, MANIFEST_SHA256
    if folder.is_dir() and any(folder.iterdir()):
        verify_emoji(folder, expected_sha256)
        log.info("emoji: %s present (manifest verified)", folder)
        return folder
    missing = [str(path) for path in (font_path, list_path) if not path.is_file()]
    if missing:
        raise DatasetUnavailableError(
            f"emoji: {' and '.join(missing)} not found; install them with `sudo apt-get install {PACKAGES}`"
        )
    if not features.check("raqm"):
        raise DatasetUnavailableError(
            "emoji: this Pillow has no libraqm, so it cannot draw emoji sequences (flags, families) as one glyph; "
            "install a Pillow wheel from PyPI (they bundle it) or the system package libraqm0"
        )
    emoji = read_emoji_list(list_path)
    font = ImageFont.truetype(str(font_path), FONT_SIZE)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))  # renamed into place at the end
    try:
        digests = {}
        for item in emoji:
            image = render(item, font)
            (staging / item.group).mkdir(exist_ok=True)
            image.save(staging / item.path)
            digests[item.path] = pixel_sha256(image)
        manifest = manifest_text(digests)
        if sha256_text(manifest) != expected_sha256:
            raise ChecksumError(
                f"emoji: the {len(digests)} images rendered here have manifest sha256 {sha256_text(manifest)}, "
                f"expected {expected_sha256}; nothing was written to {folder}. They are made from {MADE_FROM} "
                f"(`apt-cache policy {PACKAGES}` shows yours); another font version draws other pixels"
            )
        (staging / MANIFEST).write_text(manifest)
        os.chmod(staging, 0o755)  # mkdtemp makes it private
        os.replace(staging, folder)  # replaces only an empty folder
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("emoji: rendered %d images into %s (manifest verified)", len(digests), folder)
    return folder


def verify_emoji(folder: Path, expected_sha256: str) -> None:
    """Raise ``ChecksumError`` naming the differences when ``folder``'s images are not the emoji dataset."""
    digests = folder_digests(folder)
    actual = sha256_text(manifest_text(digests))
    if actual == expected_sha256:
        return
    differences = []
    listed_path = folder / MANIFEST
    if listed_path.is_file():  # name the images that changed since the render
        rows = (line.split("  ", 1) for line in listed_path.read_text().splitlines()[1:])
        listed = {path: digest for digest, path in rows}
        differences = [
            *(f"changed: {p}" for p in sorted(digests.keys() & listed.keys()) if digests[p] != listed[p]),
            *(f"missing: {p}" for p in sorted(listed.keys() - digests.keys())),
            *(f"added: {p}" for p in sorted(digests.keys() - listed.keys())),
        ]
    details = f" ({len(differences)} differences from its {MANIFEST}, e.g. {', '.join(differences[:3])})" if differences else ""
    raise ChecksumError(
        f"emoji: {folder} holds {len(digests)} images whose manifest sha256 is {actual}, expected "
        f"{expected_sha256}{details}. They are left untouched; move or delete {folder} and run "
        f"`python -m condgan.data emoji --data-dir {folder.parent}` to render the emoji again."
    )
