"""The emoji set that needs no download: every fully-qualified emoji of ``emoji-test.txt`` (package
``unicode-data``) drawn with the Noto Color Emoji bitmap font (package ``fonts-noto-color-emoji``), style "noto".

It is the fallback for style "noto" when the npm set ``emoji-datasource-google`` (the same Noto drawings, a
newer Unicode version) is not available. The font and list paths are read at call time.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

from condgan.data.emoji_art import BACKGROUND, GROUPS, IMAGE_SIZE, Drawing, Emoji, has_skin_tone

FONT_PATH = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_LIST_PATH = Path("/usr/share/unicode/emoji/emoji-test.txt")
PACKAGES = "fonts-noto-color-emoji unicode-data"
MADE_FROM = "fonts-noto-color-emoji 2.042 and unicode-data 15.0.0 (Debian 12)"
LICENCE = "OFL-1.1 (the font); the drawings are Noto Emoji's, Apache-2.0"
# The sha256 of this set's "<pixel sha256>  <group>/<codepoints>" lines (emoji.set_sha256) made from MADE_FROM.
PIXELS_SHA256 = "8c2b86bb46fba5c25bcb6a37bd95bc72ca768d368f3c3e4cac01f8031dcaca3f"

# Noto Color Emoji holds one size of bitmaps: 136×128 glyphs at 109 px. Each is centred on a white
# 136×136 square and shrunk to 64×64 with Lanczos (Pillow's fixed-point resampling: the same bytes anywhere).
FONT_SIZE = 109
GLYPH_SIZE = (136, 128)


def missing() -> str | None:
    """Why this machine cannot draw the set (one line), or None when it can."""
    absent = [str(path) for path in (FONT_PATH, EMOJI_LIST_PATH) if not path.is_file()]
    if absent:
        return f"{' and '.join(absent)} not found; install them with `sudo apt-get install {PACKAGES}`"
    if not features.check("raqm"):
        return (
            "this Pillow has no libraqm, so it cannot draw emoji sequences (flags, families) as one glyph; "
            "install a Pillow wheel from PyPI (they bundle it) or the system package libraqm0"
        )
    return None


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
        if status == "fully-qualified" and not has_skin_tone(codepoints):
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


def font_drawings() -> list[Drawing]:
    """Every emoji of the list, drawn in style "noto"; check ``missing()`` first."""
    font = ImageFont.truetype(str(FONT_PATH), FONT_SIZE)
    return [Drawing(item, "noto", render(item, font)) for item in read_emoji_list(EMOJI_LIST_PATH)]
