"""What one emoji image is, whichever set drew it: its group (the class), its codepoints, its style, and the
64×64 RGB picture on white that every set's drawing is turned into."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from PIL import Image

# Unicode's emoji group (emoji-test.txt's "# group:", emoji.json's "category") → class folder.
# "Component" (skin-tone and hair swatches) is not a picture group.
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
STYLES = ("noto", "twemoji")  # style label i; a build holds those whose set was available
SKIN_TONES = range(0x1F3FB, 0x1F400)  # the five Fitzpatrick modifiers
IMAGE_SIZE = 64
BACKGROUND = (255, 255, 255)


@dataclass(frozen=True, order=True)
class Emoji:
    group: str  # class folder, e.g. "smileys_emotion"
    codepoints: tuple[int, ...]  # fully qualified, as emoji-test.txt and emoji.json's "unified" write them

    @property
    def text(self) -> str:
        return "".join(map(chr, self.codepoints))

    @property
    def name(self) -> str:
        """The codepoints as a file name stem, e.g. ``1f1eb_1f1f7``."""
        return "_".join(f"{c:x}" for c in self.codepoints)

    @property
    def path(self) -> str:
        """``<group>/<codepoints>``, e.g. ``flags/1f1eb_1f1f7``: the emoji whatever its style."""
        return f"{self.group}/{self.name}"


@dataclass(frozen=True)
class Drawing:
    emoji: Emoji
    style: str  # one of STYLES
    image: Image.Image  # 64×64 RGB on white


def has_skin_tone(codepoints: tuple[int, ...]) -> bool:
    return any(c in SKIN_TONES for c in codepoints)


def on_white(image: Image.Image) -> Image.Image:
    """A drawing with transparency composited on white, then 64×64 RGB (Lanczos when it is another size)."""
    rgba = image.convert("RGBA")
    square = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
    square.alpha_composite(rgba)
    rgb = square.convert("RGB")
    if rgb.size != (IMAGE_SIZE, IMAGE_SIZE):
        rgb = rgb.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)
    return rgb


def pixel_sha256(image: Image.Image) -> str:
    """sha256 of the decoded RGB pixels (row-major, 3 bytes a pixel): independent of how the PNG was compressed."""
    return hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()
